"""The speed gate: core workloads timed against a plain NumPy reference in the same run.

Absolute times mean little on a shared CI machine; the ratio to a reference that runs
beside it on the same data, interleaved, best of several repeats, is stable. Each
workload states a floor: the gate fails when a ratio falls below it. The references
are what a user would otherwise write: the IDNNs-style NumPy pipeline
(:func:`mibench.gates.reference.ib_numpy_mi`) and NumPy's ``unique`` over a void view of
each row.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from mibench.core.counting import codes_to_counts
from mibench.gates.reference import ib_numpy_mi

IB_SPEC = "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))"  # the IDNNs grid: 30 edges on [-1, 1]


@dataclass(frozen=True)
class Workload:
    name: str
    reference: str
    floor: float  # fails when reference time / mibench time falls below this
    make: Callable[[int], tuple[Callable[[], Any], Callable[[], Any]]]  # n -> (mibench call, reference call)
    n: int


def _pipeline(n: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    from mibench.api import mutual_information

    rng = np.random.default_rng(0)
    x = np.tanh(0.5 * rng.standard_normal((n, 64), dtype=np.float32))
    y = rng.integers(0, 10, n)
    return (lambda: mutual_information(x, y, IB_SPEC)), (lambda: ib_numpy_mi(x, y, n_edges=30))


def _numpy_unique_rows(rows: np.ndarray) -> np.ndarray:
    view = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
    return np.unique(view, return_counts=True)[1]


def _counting(columns: int, alphabet: int) -> Callable[[int], tuple[Callable[[], Any], Callable[[], Any]]]:
    def make(n: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
        rows = np.random.default_rng(1).integers(0, alphabet, (n, columns), dtype=np.int8)
        codes = torch.from_numpy(rows)[None]
        return (lambda: codes_to_counts(codes)), (lambda: _numpy_unique_rows(rows))
    return make


WORKLOADS = (
    Workload("plug-in I(T;Y), float activations D=64, 10 classes", "IDNNs-style NumPy pipeline", 8.0, _pipeline, 1_000_000),
    # measured idle on 2 cores: 27x and 8.1-8.6x (one bincount of the chunk-built exact keys; a
    # multilinear hash whose values alone NumPy sorts). Floors leave room for a busy CI machine.
    Workload("pattern counting, 12 binary columns", "NumPy unique of void rows", 8.0, _counting(12, 2), 1_000_000),
    Workload("pattern counting, 64 random int8 columns", "NumPy unique of void rows", 4.0, _counting(64, 128), 1_000_000),
)


@dataclass(frozen=True)
class SpeedResult:
    workload: Workload
    n: int
    mibench_s: float
    reference_s: float

    @property
    def ratio(self) -> float:
        return self.reference_s / self.mibench_s

    @property
    def passed(self) -> bool:
        return self.ratio >= self.workload.floor


def measure(workloads: tuple[Workload, ...] = WORKLOADS, repeat: int = 3, scale: float = 1.0) -> list[SpeedResult]:
    """Time each workload and its reference, interleaved, best of ``repeat``; ``scale``
    shrinks N (for tests)."""
    results = []
    for w in workloads:
        n = max(1000, int(w.n * scale))
        ours, theirs = w.make(n)
        ours()  # warm-up: first-call allocations and lazy imports
        best = [float("inf"), float("inf")]
        for _ in range(repeat):
            for i, fn in enumerate((ours, theirs)):
                start = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - start)
        results.append(SpeedResult(w, n, best[0], best[1]))
    return results


def render(results: list[SpeedResult]) -> str:
    lines = [f"  {'workload':<52} {'N':>9} {'mibench':>9} {'reference':>10} {'ratio':>7} {'floor':>6}"]
    for r in results:
        w = r.workload
        lines.append(f"  {w.name:<52} {r.n:>9,} {r.mibench_s:>8.3f}s {r.reference_s:>9.3f}s {r.ratio:>6.1f}x "
                     f"{w.floor:>5.1f}x  {'ok' if r.passed else 'BELOW FLOOR'} (vs {w.reference})")
    failed = [r for r in results if not r.passed]
    lines.append("PASS: every ratio at or above its floor" if not failed
                 else f"FAIL: {len(failed)} ratio(s) below the floor: " + "; ".join(r.workload.name for r in failed))
    return "\n".join(lines)
