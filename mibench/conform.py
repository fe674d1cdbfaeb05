"""``mibench conform``: the checks every built-in estimator passes, run on anyone's
estimator, with a readable pass/fail table (the scikit-learn ``check_estimator`` of MI
estimators).

Each check is independent; a check that raises fails with the error. Data suited to
the estimator: integer codes for one that counts (a discrete or binned estimator, or
an adapter with ``inputs = "codes"``), floats otherwise. Truths are exact: a uniform
4-symbol X copied into Y carries 2 bits, a Gaussian pair with correlation rho
carries -1/2 log2(1 - rho^2) = 1.68 bits at rho = 0.95; the units check allows 0.25
bit, which an estimate in nats (x ln 2: 0.6 and 0.5 bit short) cannot pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from mibench.estimators.discrete import CountBased
from mibench.interface import Estimator
from mibench.registry import make_estimator

RHO = 0.95  # I = 1.68 bits: in nats (1.16) it misses by 0.5 bit
UNITS_TOL = 0.25  # bits
AGREE_TOL = 1e-6


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def takes_codes(est: Estimator) -> bool:
    """Count-based estimators (binned ones pass integer codes through unbinned) and
    adapters that declare ``inputs = "codes"`` are checked on codes."""
    return isinstance(est, CountBased) or getattr(est, "inputs", None) == "codes"


def _pair(est: Estimator, rng: np.random.Generator, n: int, dependent: bool = True) -> tuple[np.ndarray, np.ndarray, float]:
    """(x, y, exact I in bits) suited to the estimator."""
    if takes_codes(est):
        x = rng.integers(0, 4, (n, 1))
        y = x.copy() if dependent else rng.integers(0, 4, (n, 1))
        return x, y, 2.0 if dependent else 0.0
    x = rng.standard_normal((n, 1))
    rho = RHO if dependent else 0.0
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, 1))
    return x, y, -0.5 * math.log2(1 - rho**2)


def _value(v: Any) -> float:
    return float(v.item() if hasattr(v, "item") else v)


def check_units(est: Estimator, rng: np.random.Generator) -> str:
    x, y, truth = _pair(est, rng, 4000)
    value = _value(est.mutual_information(x, y))
    ok = abs(value - truth) <= UNITS_TOL
    detail = f"I = {value:.3f} on a case with exactly {truth:.3f} bits"
    if not ok and truth > 0 and abs(value - truth * math.log(2)) < UNITS_TOL / 2:
        detail += " (that is the truth in nats: return bits)"
    return _verdict(ok, detail)


def check_batched_equals_looped(est: Estimator, rng: np.random.Generator) -> str:
    pairs = [_pair(est, rng, 500) for _ in range(3)]
    xs = np.stack([p[0] for p in pairs])
    ys = np.stack([p[1] for p in pairs])
    batched = np.asarray(est.mutual_information(xs, ys), dtype=float).reshape(-1)
    looped = np.array([_value(est.mutual_information(p[0], p[1])) for p in pairs])
    ok = batched.shape == (3,) and np.allclose(batched, looped, atol=AGREE_TOL, rtol=0)
    return _verdict(ok, f"batched {np.round(batched, 4).tolist()} vs one at a time {np.round(looped, 4).tolist()}")


def check_numpy_torch(est: Estimator, rng: np.random.Generator) -> str:
    x, y, _ = _pair(est, rng, 500)
    from_numpy = est.mutual_information(x, y)
    from_torch = est.mutual_information(torch.as_tensor(x), torch.as_tensor(y))
    ok = isinstance(from_torch, torch.Tensor) and not isinstance(from_numpy, torch.Tensor) \
        and abs(_value(from_numpy) - _value(from_torch)) <= AGREE_TOL
    return _verdict(ok, f"numpy -> {type(from_numpy).__name__} {_value(from_numpy):.6f}; "
                        f"torch -> {type(from_torch).__name__} {_value(from_torch):.6f}")


def check_deterministic(est: Estimator, rng: np.random.Generator) -> str:
    x, y, _ = _pair(est, rng, 500)
    a, b = _value(est.mutual_information(x, y)), _value(est.mutual_information(x, y))
    return _verdict(a == b, f"two calls: {a!r}, {b!r}")


def check_row_permutation(est: Estimator, rng: np.random.Generator) -> str:
    x, y, _ = _pair(est, rng, 500)
    perm = rng.permutation(len(x))
    a, b = _value(est.mutual_information(x, y)), _value(est.mutual_information(x[perm], y[perm]))
    return _verdict(abs(a - b) <= 1e-9, f"{a:.6f} before, {b:.6f} after shuffling the rows together")


def check_relabelling(est: Estimator, rng: np.random.Generator) -> str:
    if not takes_codes(est):
        x, y, _ = _pair(est, rng, 500)
        a, b = _value(est.mutual_information(x, y)), _value(est.mutual_information(x + 3.0, y))
        return _verdict(abs(a - b) <= 1e-6, f"{a:.6f} before, {b:.6f} after shifting x by 3")
    x, y, _ = _pair(est, rng, 500)
    y = (y + rng.integers(0, 2, y.shape)) % 4
    relabel = np.array([2, 0, 3, 1])
    a, b = _value(est.mutual_information(x, y)), _value(est.mutual_information(relabel[x], y))
    return _verdict(abs(a - b) <= 1e-9, f"{a:.6f} before, {b:.6f} after renaming the symbols of x")


def check_independence(est: Estimator, rng: np.random.Generator) -> str:
    x, y, _ = _pair(est, rng, 4000, dependent=False)
    value = _value(est.mutual_information(x, y))
    return _verdict(abs(value) < 0.05, f"I = {value:.4f} bits on independent data (|I| < 0.05 expected)")


def _refuses(est: Estimator, make: Callable[[], tuple[Any, Any]], what: str) -> str:
    x, y = make()
    try:
        value = est.mutual_information(x, y)
    except (ValueError, TypeError) as exc:
        return _verdict(True, f"{what}: {type(exc).__name__}: {str(exc)[:80]}")
    return _verdict(False, f"{what}: returned {value!r} instead of raising ValueError or TypeError")


def check_bad_input(est: Estimator, rng: np.random.Generator) -> str:
    x, y, _ = _pair(est, rng, 100)
    nan = x.astype(float)
    nan[3, 0] = np.nan
    results = [
        _refuses(est, lambda: (nan, y), "NaN in x"),
        _refuses(est, lambda: (x, y[:-1]), "x and y of different n"),
        _refuses(est, lambda: (x[:, :, None, None], y), "x of rank 4"),
    ]
    failed = [r for r in results if r.startswith("FAIL")]
    return failed[0] if failed else _verdict(True, "NaN, mismatched n and rank 4 each refused with a clear error")


def _verdict(ok: bool, detail: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}: {detail}"


CHECKS: dict[str, Callable[[Estimator, np.random.Generator], str]] = {
    "units in bits": check_units,
    "batched == looped": check_batched_equals_looped,
    "numpy / torch agree": check_numpy_torch,
    "deterministic": check_deterministic,
    "row permutation invariant": check_row_permutation,
    "relabelling / shift invariant": check_relabelling,
    "independence -> 0": check_independence,
    "bad input refused": check_bad_input,
}


def conform(estimator: str | Estimator) -> list[Check]:
    """Run every check on the estimator (a spec, ``module:Class(...)``, or an instance)."""
    est = make_estimator(estimator)
    results = []
    for i, (name, check) in enumerate(CHECKS.items()):
        try:
            verdict = check(est, np.random.default_rng(1000 + i))
        except Exception as exc:  # a check that raises is a failed check, with its error
            verdict = f"FAIL: raised {type(exc).__name__}: {exc}"
        status, detail = verdict.split(": ", 1)
        results.append(Check(name, status == "PASS", detail))
    return results


def render(spec: str, results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"mibench conform {spec}"]
    lines += [f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<{width}}  {r.detail}" for r in results]
    failed = [r.name for r in results if not r.passed]
    lines.append(f"{len(results) - len(failed)} of {len(results)} checks passed"
                 + (f"; failing: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)
