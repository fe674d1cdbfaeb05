"""Checks shared by estimators, tasks and suites.

- Parameter values (:func:`check_range`, :func:`check_choice`, :func:`check_bool`,
  :func:`check_pair`): one wording everywhere, naming the parameter, its valid values
  and what was given.
- Data: :func:`prepare` turns user arrays into torch tensors of shape ``(b, n, d)`` on
  one device, checks them, and turns the ``(b,)`` result back into the form the user
  passed in; :func:`check_codes` for estimators that take integer codes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from mibench.core.memo import once


# -- parameter values ----------------------------------------------------------------
def _is_number(value: Any, integer: bool) -> bool:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    return isinstance(value, kinds) and not isinstance(value, bool)


def range_problem(value: Any, lo: float, hi: float = math.inf, *, integer: bool = False,
                  open_lo: bool = False, open_hi: bool = False) -> str | None:
    """What is wrong with ``value`` for the range, e.g. ``"must be an integer >= 1; got 0"``,
    or None when it is fine. Half-open ranges read as inequalities."""
    fine = _is_number(value, integer) and not (isinstance(value, float) and math.isnan(value))
    if fine:
        fine = (value > lo if open_lo else value >= lo) and (value < hi if open_hi else value <= hi)
    if fine:
        return None
    kind = "an integer" if integer else "a number"
    if math.isinf(hi):
        allowed = f"{'>' if open_lo else '>='} {lo:g}"
    else:
        allowed = f"in {'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
    return f"must be {kind} {allowed}; got {value!r}"


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def check_range(name: str, value: Any, lo: float, hi: float = math.inf, *, integer: bool = False,
                open_lo: bool = False, open_hi: bool = False, owner: str = "") -> None:
    """Raise ValueError naming the parameter (and its owner) and its valid range."""
    problem = range_problem(value, lo, hi, integer=integer, open_lo=open_lo, open_hi=open_hi)
    if problem:
        raise ValueError(f"{_prefix(owner)}{name} {problem}")


def check_choice(name: str, value: Any, choices: Sequence[Any], owner: str = "") -> None:
    if isinstance(value, bool) or value not in choices:  # True == 1 must not pass for 1
        raise ValueError(f"{_prefix(owner)}{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_bool(name: str, value: Any, owner: str = "") -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{_prefix(owner)}{name} must be True or False; got {value!r}")


def check_pair(name: str, value: Any, owner: str = "") -> tuple[float, float]:
    """A ``(lo, hi)`` pair of finite numbers with lo < hi, returned as floats."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_number(v, False) for v in value)
    if ok:
        lo, hi = float(value[0]), float(value[1])
        if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
            return lo, hi
    raise ValueError(f"{_prefix(owner)}{name} must be a pair (lo, hi) of finite numbers with lo < hi; got {value!r}")


# -- data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """Validated inputs: each variable as a ``(b, n, d)`` tensor on one device."""

    variables: list[torch.Tensor]
    batched: bool
    as_torch: bool
    out_dtype: torch.dtype

    @property
    def n(self) -> int:
        return self.variables[0].shape[1]

    @property
    def device(self) -> torch.device:
        return self.variables[0].device

    def finish(self, values: torch.Tensor) -> Any:
        """Return ``values`` (``(b,)``, bits) as the user expects: a torch tensor on
        the inputs' device for torch inputs (0-d when unbatched), else a float or a
        numpy array."""
        values = values.detach()
        if self.as_torch:
            out = values.to(device=self.device, dtype=self.out_dtype)
            return out if self.batched else out[0]
        arr = values.to(device="cpu", dtype=torch.float64).numpy()
        return arr if self.batched else float(arr[0])


_UNSUPPORTED_FLOATS = tuple(getattr(torch, n) for n in dir(torch) if n.startswith("float8_"))


def check_tensor(a: torch.Tensor, name: str) -> torch.Tensor:
    """A dense tensor with values that torch can reduce, detached; else a TypeError naming ``name``."""
    if a.layout != torch.strided:
        raise TypeError(f"{name} is a {a.layout} tensor; give a dense one ({name}.to_dense())")
    if a.device.type == "meta":
        raise TypeError(f"{name} is a meta tensor: it has a shape but no values; give a tensor with data")
    if a.dtype in _UNSUPPORTED_FLOATS or a.is_quantized:
        raise TypeError(f"{name} has dtype {a.dtype}, which torch cannot reduce; cast it first, e.g. {name}.float()")
    return a.detach()


def _to_tensor(a: Any, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return check_tensor(a, name)
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be a numpy array or torch tensor; got {type(a).__name__}") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} has dtype {arr.dtype}; give integer codes or real numbers "
            "(a numeric numpy array or torch tensor)"
        )
    if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
        if arr.dtype.itemsize == 8 and arr.size and int(arr.max()) >= 2**63:
            raise ValueError(_UINT64_TOO_LARGE.format(name=name, top=int(arr.max())))
        arr = arr.astype(np.int64)  # torch lacks wide unsigned kernels
    return torch.from_numpy(np.ascontiguousarray(arr))


_UINT64_TOO_LARGE = ("{name} has uint64 values up to {top}, beyond int64, which torch counts in; as codes, relabel "
                     "them with np.unique({name}, return_inverse=True)[1]; as numbers, cast to float64")


def _check_dtype(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    if t.is_complex():
        raise TypeError(f"{name} is complex ({t.dtype}); mibench takes real numbers or integer codes")
    if t.dtype == torch.uint64 and t.numel() and bool((t.view(torch.int64) < 0).any()):  # the top bit set: >= 2**63
        raise ValueError(_UINT64_TOO_LARGE.format(name=name, top="2**63 or more"))
    if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
        return t.to(torch.int64)
    return t


def _check_finite(t: torch.Tensor, name: str) -> None:
    if not t.is_floating_point():
        return
    # One reduction is much cheaper than an elementwise test; look closer only on
    # failure (a sum can also overflow, which the closer look clears).
    if torch.isfinite(t.sum()):
        return
    bad = ~torch.isfinite(t)
    if bad.any():
        count = int(bad.sum())
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        kinds = "NaN" if torch.isnan(t).any() else "Inf"
        raise ValueError(
            f"{name} contains {count} non-finite value(s) ({kinds}), the first at index {first}; "
            "remove or impute those rows before estimating"
        )


def prepare(arrays: Sequence[Any], names: Sequence[str]) -> Prepared:
    """Validate and reshape the variables of one estimate.

    Each array may have shape ``(n,)``, ``(n, d)`` or ``(b, n, d)``. Unbatched
    variables are broadcast against batched ones (e.g. one label vector for 16
    seeds of activations). Raises ``TypeError``/``ValueError`` naming the variable
    and what to change.
    """
    as_torch = any(isinstance(a, torch.Tensor) for a in arrays)
    tensors = [_check_dtype(_to_tensor(a, nm), nm) for a, nm in zip(arrays, names)]
    devices = {t.device for t, a in zip(tensors, arrays) if isinstance(a, torch.Tensor)}
    if len(devices) > 1:
        listing = ", ".join(f"{nm} on {t.device}" for t, nm in zip(tensors, names))
        raise ValueError(f"inputs are on different devices ({listing}); move them to one device")
    device = devices.pop() if devices else torch.device("cpu")

    shaped = []
    for t, nm in zip(tensors, names):
        if t.ndim == 1:
            t = t[None, :, None]
        elif t.ndim == 2:
            t = t[None]
        elif t.ndim != 3:
            raise ValueError(
                f"{nm} has rank {t.ndim} (shape {tuple(t.shape)}); expected (n,), (n, d) or batched (b, n, d)"
            )
        if t.shape[2] < 1:
            raise ValueError(f"{nm} has no columns (shape {tuple(t.shape)}); give at least one dimension")
        once("check_finite", [t], nm, lambda: _check_finite(t, nm))
        shaped.append(t.to(device))

    ns = {t.shape[1] for t in shaped}
    if len(ns) > 1:
        listing = ", ".join(f"{nm} has n={t.shape[1]}" for t, nm in zip(shaped, names))
        raise ValueError(f"sample counts differ ({listing}); rows must be paired samples")
    n = ns.pop()
    if n < 2:
        raise ValueError(f"need at least 2 samples, got n={n}")

    batch_sizes = {t.shape[0] for t, a in zip(shaped, tensors) if a.ndim == 3}
    if len(batch_sizes) > 1:
        listing = ", ".join(f"{nm} has b={t.shape[0]}" for t, a, nm in zip(shaped, tensors, names) if a.ndim == 3)
        raise ValueError(f"batch sizes differ ({listing}); batched inputs must share their leading dimension")
    batched = bool(batch_sizes)
    b = batch_sizes.pop() if batched else 1
    if b < 1:
        raise ValueError("batched input has an empty batch dimension (b=0)")
    shaped = [t.expand(b, -1, -1) if t.shape[0] != b else t for t in shaped]

    first = tensors[0]
    out_dtype = first.dtype if first.is_floating_point() else torch.float64
    return Prepared(shaped, batched, as_torch, out_dtype)


def check_scale(t: torch.Tensor, name: str, estimator: str) -> None:
    """Refuse float data whose squared differences would overflow or underflow its dtype
    (|x| beyond max**(1/4), or a non-constant column with std below tiny**(1/4)):
    distances and kernels there give NaN or 0 silently. MI does not change when a
    variable is rescaled, so the fix is always to rescale."""
    if not t.is_floating_point() or not t.numel():
        return
    info = torch.finfo(t.dtype)
    big, small = info.max ** 0.25, info.tiny ** 0.25
    top = float(t.abs().max())
    spread = t.amax(dim=-2) - t.amin(dim=-2)  # no squares: they would underflow here
    spread = spread[spread > 0]
    if top > big or (spread.numel() and float(spread.min()) < small):
        scale = f"|values| up to {top:.3g}" if top > big else f"a column spanning only {float(spread.min()):.3g}"
        raise ValueError(f"{estimator}: {name} has {scale}, where squared distances overflow or underflow "
                         f"{t.dtype}; rescale it (e.g. standardize each column: MI does not change when a "
                         "variable is rescaled)")


def check_codes(t: torch.Tensor, name: str, estimator: str) -> None:
    """Discrete estimators need non-negative integer codes."""
    if t.is_floating_point():
        integral = bool(torch.all(t == torch.round(t)))
        hint = (
            "the values are whole numbers: cast them with x.astype(int) / x.long(), or "
            if integral
            else ""
        )
        raise TypeError(
            f"{estimator} takes integer codes but {name} has float dtype {t.dtype}; {hint}"
            f"bin continuous data with estimator='binned({estimator}, rule=uniform, bins=30)'"
        )
    if t.numel() and int(t.min()) < 0:
        raise ValueError(
            f"{name} has negative codes (min {int(t.min())}); codes must be non-negative integers: "
            "relabel with np.unique(x, return_inverse=True) or shift by the minimum"
        )


def timeout_problem(seconds: Any) -> str | None:
    """Why ``seconds`` is no per-cell time limit (a number of seconds > 0), or None."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (0 < seconds < math.inf):
        return f"must be a number of seconds > 0 (an estimator's time per cell); got {seconds!r}"
    return None
