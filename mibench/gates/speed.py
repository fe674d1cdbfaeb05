"""The speed gate: core workloads timed against a plain NumPy reference in the same run.

Absolute times mean little on a shared CI machine; the ratio to a reference that runs
beside it on the same data, interleaved, best of several repeats, is stable. Each
workload goes through the public API (what a user calls) and states two floors: one on
an idle machine and one with two busy processes beside it (the gate starts them itself,
so a regression under load fails here, not on a user's busy machine); the gate fails
when a ratio falls below its floor. The references are what a user would otherwise
write: the IDNNs-style NumPy pipeline (:func:`mibench.gates.reference.ib_numpy_mi`) and
the plug-in entropy of the counts of NumPy's ``unique`` over a void view of each row.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from mibench.gates.reference import ib_numpy_mi

IB_SPEC = "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))"  # the IDNNs grid: 30 edges on [-1, 1]


@dataclass(frozen=True)
class Workload:
    name: str
    reference: str
    floor: float  # fails when reference time / mibench time falls below this, idle ...
    loaded_floor: float  # ... or with BUSY busy processes beside it
    make: Callable[[int], tuple[Callable[[], Any], Callable[[], Any]]]  # n -> (mibench call, reference call)
    n: int


BUSY = 2  # busy processes beside the loaded measurement


def _pipeline(n: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    from mibench.api import mutual_information

    rng = np.random.default_rng(0)
    x = np.tanh(0.5 * rng.standard_normal((n, 64), dtype=np.float32))
    y = rng.integers(0, 10, n)
    return (lambda: mutual_information(x, y, IB_SPEC)), (lambda: ib_numpy_mi(x, y, n_edges=30))


def _numpy_unique_rows(rows: np.ndarray) -> np.ndarray:
    view = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
    return np.unique(view, return_counts=True)[1]


def _numpy_plugin_entropy(rows: np.ndarray) -> float:
    p = _numpy_unique_rows(rows) / len(rows)
    return float(-np.sum(p * np.log2(p)))


def _counting(columns: int, alphabet: int) -> Callable[[int], tuple[Callable[[], Any], Callable[[], Any]]]:
    def make(n: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
        from mibench.api import entropy

        rows = np.random.default_rng(1).integers(0, alphabet, (n, columns), dtype=np.int8)
        return (lambda: entropy(rows, "plugin")), (lambda: _numpy_plugin_entropy(rows))
    return make


WORKLOADS = (
    # measured by this gate on 2 cores, idle / two busy processes beside: 21-23x / 15-18x,
    # 24-29x / 19-37x, 10.2x / 9.2x (the last 2.9x / 4.5x while NumPy sorted the row hashes,
    # 5.8x / 8.5x with torch's 64-bit sort before only their top halves were sorted). The
    # floors leave room for a CI machine busier than that.
    Workload("plug-in I(T;Y), float activations D=64, 10 classes", "IDNNs-style NumPy pipeline", 8.0, 4.0, _pipeline,
             1_000_000),
    Workload("plug-in H(T), 12 binary columns", "NumPy unique of void rows", 8.0, 4.0, _counting(12, 2), 1_000_000),
    Workload("plug-in H(T), 64 random int8 columns", "NumPy unique of void rows", 6.0, 4.0, _counting(64, 128), 1_000_000),
)


@dataclass(frozen=True)
class SpeedResult:
    workload: Workload
    n: int
    mibench_s: float
    reference_s: float
    busy: int = 0  # busy processes that ran beside it

    @property
    def ratio(self) -> float:
        return self.reference_s / self.mibench_s

    @property
    def floor(self) -> float:
        return self.workload.loaded_floor if self.busy else self.workload.floor

    @property
    def passed(self) -> bool:
        return self.ratio >= self.floor


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` processes spinning on a core each while the code inside runs."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5 if count else 0.0)  # let them start
        yield
    finally:
        for p in spinning:
            p.kill()
            p.wait()


def measure(workloads: tuple[Workload, ...] = WORKLOADS, repeat: int = 3, scale: float = 1.0, busy: int = 0) -> list[SpeedResult]:
    """Time each workload and its reference, interleaved, best of ``repeat``, with ``busy``
    busy processes beside; ``scale`` shrinks N (for tests)."""
    with busy_processes(busy):
        return [_measure(w, repeat, scale, busy) for w in workloads]


def _measure(w: Workload, repeat: int, scale: float, busy: int) -> SpeedResult:
    n = max(1000, int(w.n * scale))
    ours, theirs = w.make(n)
    ours()  # warm-up: first-call allocations and lazy imports
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, fn in enumerate((ours, theirs)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return SpeedResult(w, n, best[0], best[1], busy)


def render(results: list[SpeedResult]) -> str:
    lines = [f"  {'workload':<52} {'machine':<9} {'N':>9} {'mibench':>9} {'reference':>10} {'ratio':>7} {'floor':>6}"]
    for r in results:
        w = r.workload
        state = f"{r.busy} busy" if r.busy else "idle"
        lines.append(f"  {w.name:<52} {state:<9} {r.n:>9,} {r.mibench_s:>8.3f}s {r.reference_s:>9.3f}s {r.ratio:>6.1f}x "
                     f"{r.floor:>5.1f}x  {'ok' if r.passed else 'BELOW FLOOR'} (vs {w.reference})")
    failed = [r for r in results if not r.passed]
    lines.append("PASS: every ratio at or above its floor" if not failed
                 else f"FAIL: {len(failed)} ratio(s) below the floor: " + "; ".join(r.workload.name for r in failed))
    return "\n".join(lines)
