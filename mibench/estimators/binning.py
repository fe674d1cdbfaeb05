"""Binning: a discretizer in front of any discrete estimator.

Rules (edges are computed once per call, per batch element):

- ``fixed``: B equal bins over a fixed ``range`` (lo, hi) shared by every unit, as in
  Shwartz-Ziv & Tishby's code. Bins are half-open [e_k, e_k+1), the last one closed;
  values below lo fall in the first bin and values above hi in the last. (Their
  ``np.digitize(a, np.linspace(-1, 1, 30))`` is ``bins=29`` here for a in (-1, 1).)
- ``uniform``: per-unit min-max, B equal-width bins between each unit's min and max
  (the max falls in the last bin; a constant unit is one bin).
- ``width``: fixed bin width w, code ``floor(a / w)`` (Saxe et al.'s ibsgd code);
  the number of bins follows from the data's spread.
- ``quantile``: equal-mass bins per unit, edges at the empirical quantiles k/B; a
  value equal to an edge goes to the upper bin, so ties stay together and heavy ties
  give fewer, unequal bins.

Float inputs are binned; integer inputs (e.g. class labels) are already discrete and
pass through unchanged. Float inputs that hold whole numbers only (labels saved as
float32, +-1 unit codes) are read as integer codes too, never merged by binning, with an
:class:`~mibench.interface.AmbiguousInputWarning` when binning would have merged them;
``rule=fixed`` warns with the share of values outside its range.
"""
from __future__ import annotations

import math

import functools
import warnings
from typing import Any, Sequence

import torch

from mibench._validate import Prepared, check_codes, check_pair, check_range
from mibench.core.counting import pattern_ids
from mibench.core.memo import once
from mibench.estimators.discrete import (
    ChaoShen,
    CountBased,
    DiscreteEstimator,
    Grassberger,
    Jackknife,
    JamesStein,
    MillerMadow,
    PlugIn,
    Subset,
)
from mibench.estimators.nsb import NSB
from mibench.estimators.polynomial import JVHW, WuYang
from mibench.interface import AmbiguousInputWarning
from mibench.spec import instantiate, parse_call

#: The discrete estimators a binned estimator can put behind its discretizer.
DISCRETE: dict[str, type[DiscreteEstimator]] = {
    cls.name: cls for cls in (PlugIn, MillerMadow, Jackknife, Grassberger, ChaoShen, JamesStein, NSB, JVHW, WuYang)
}

RULES = ("fixed", "uniform", "width", "quantile")
_RULE_PARAMS = {"fixed": ("bins", "range"), "uniform": ("bins",), "width": ("width",), "quantile": ("bins",)}
_CHUNK_ELEMENTS = 1 << 18  # values binned at a time: keeps the float temporaries in cache


def _code_dtype(top: int) -> torch.dtype:
    return torch.uint8 if top < 256 else torch.int64


def _scaled_codes(x: torch.Tensor, lo: torch.Tensor, scale: torch.Tensor, bins: int) -> torch.Tensor:
    """floor((x - lo) * scale) clipped to [0, bins - 1].

    ``lo`` and ``scale`` are scalars or ``(b, 1, d)``. Works through cache-sized chunks
    (several small batch elements at once, or rows of a large one): one pass of small
    temporaries beats whole-array ops.
    """
    b, n, d = x.shape
    out = torch.empty((b, n, d), dtype=_code_dtype(bins - 1), device=x.device)
    per_block = _CHUNK_ELEMENTS // (n * d)
    if per_block >= 2:
        for i in range(0, b, per_block):
            block = slice(i, i + per_block)
            v = (x[block] - (lo[block] if lo.ndim else lo)).mul_(scale[block] if scale.ndim else scale).clamp_(0, bins - 1)
            out[block] = v  # truncation == floor, as v >= 0
        return out
    rows = max(1, _CHUNK_ELEMENTS // d)
    for i in range(b):
        lo_i = lo[i] if lo.ndim else lo
        scale_i = scale[i] if scale.ndim else scale
        for start in range(0, n, rows):
            v = (x[i, start : start + rows] - lo_i).mul_(scale_i).clamp_(0, bins - 1)
            out[i, start : start + rows] = v
    return out


def discretize(
    x: torch.Tensor, rule: str, bins: int = 30, value_range: Sequence[float] = (-1.0, 1.0), width: float | None = None
) -> torch.Tensor:
    """Bin a float tensor ``(b, n, d)`` into non-negative integer codes ``(b, n, d)``.

    See the module docstring for the rules and their edge conventions.
    """
    if rule == "fixed":
        lo, hi = float(value_range[0]), float(value_range[1])
        if not math.isfinite(hi - lo):
            raise ValueError(f"binned: range=({lo:g}, {hi:g}) spans more than a float holds (hi - lo overflows); "
                             "rescale the data and the range, e.g. divide both by max |value|")
        scale = torch.tensor(bins / (hi - lo), dtype=x.dtype, device=x.device)
        return _scaled_codes(x, torch.tensor(lo, dtype=x.dtype, device=x.device), scale, bins)
    if rule == "uniform":
        lo = x.amin(dim=1, keepdim=True)
        span = x.amax(dim=1, keepdim=True) - lo
        if not bool(torch.isfinite(span).all()):
            raise ValueError(f"binned(rule=uniform): the data span max - min overflows {x.dtype} (values near its "
                             "limits, e.g. +-1e308); rescale the data first, e.g. divide by its max |value|")
        scale = torch.where(span > 0, bins / torch.where(span > 0, span, torch.ones_like(span)), torch.zeros_like(span))
        return _scaled_codes(x, lo, scale, bins)
    if rule == "width":
        assert width is not None
        scaled = torch.floor(x.to(torch.float64) / width)
        low = scaled.amin(dim=1, keepdim=True)
        top = float((scaled - low).max()) if scaled.numel() else 0.0
        if not (math.isfinite(top) and abs(float(scaled.abs().max())) < 2.0**62):
            raise ValueError(f"binned(rule=width): width={width:g} cuts the data into about {top:.3g} bins, beyond "
                             "what exact integer codes hold (2**62); use a larger width or rule=uniform")
        codes = (scaled - low).to(torch.int64)
        return codes.to(_code_dtype(int(codes.max())))
    if rule == "quantile":
        n = x.shape[1]
        if bins == 1:
            return torch.zeros(x.shape, dtype=torch.uint8, device=x.device)
        cols = x.transpose(1, 2).contiguous()  # (b, d, n)
        ordered = torch.sort(cols, dim=-1).values
        cut = torch.tensor([(k * n) // bins for k in range(1, bins)], dtype=torch.int64, device=x.device)
        edges = ordered.index_select(-1, cut).contiguous()
        codes = torch.searchsorted(edges, cols, right=True)
        return codes.transpose(1, 2).to(_code_dtype(bins - 1))
    raise ValueError(f"unknown binning rule {rule!r}; valid rules: {', '.join(RULES)}")


def _as_float(value: Any) -> Any:
    """Show 1 and 1.0 alike in specs; leave malformed values for check_params to report."""
    try:
        if isinstance(value, (tuple, list)):
            return tuple(float(v) for v in value)
        return float(value)
    except (TypeError, ValueError):
        return value


def _whole_numbers(t: torch.Tensor) -> bool:
    """True when every value of a float tensor is a whole number (a quick look at the
    first values settles the usual case of real activations)."""
    head = t.reshape(-1)[:4096]
    if not bool(torch.all(head == torch.round(head))):
        return False
    if not bool(torch.all(t == torch.round(t))):
        return False
    # codes need an exact integer span: huge whole floats (1e200) are numbers, not labels
    span = t.to(torch.float64).amax(dim=1) - t.to(torch.float64).amin(dim=1)
    return bool((span < 2.0**53).all())


def _warn_outside_range(t: torch.Tensor, name: str, value_range: Sequence[float], spec: str) -> None:
    """rule=fixed puts values outside its range into the end bins; say how many."""
    lo, hi = float(value_range[0]), float(value_range[1])
    if float(t.amin()) >= lo and float(t.amax()) <= hi:  # the usual case, in two reductions
        return
    outside = int(((t < lo) | (t > hi)).sum())
    if outside:
        share = outside / t.numel()
        warnings.warn(
            f"{share:.1%} of the values of {name} (range {float(t.min()):.3g} to {float(t.max()):.3g}) lie outside "
            f"range=({lo:g}, {hi:g}) and were put in the end bins by {spec}; give a range that covers the data, "
            "or rule=uniform",
            AmbiguousInputWarning,
            stacklevel=2,
        )


class Binned(CountBased):
    """A discretizer in front of a discrete estimator (values in bits).

    ``binned(plugin, rule=uniform, bins=30)``: bin each float variable by ``rule``,
    then estimate with the discrete estimator ``discrete`` on the codes. Integer
    variables (labels) pass through unchanged.
    """

    name = "binned"
    params = {"discrete": "plugin", "rule": "uniform", "bins": 30, "range": (-1.0, 1.0), "width": None}
    summary = "bins continuous data (fixed / uniform / width / quantile), then a discrete estimator"
    reference = "Shwartz-Ziv & Tishby (2017) arXiv:1703.00810; Saxe et al. (2019) J. Stat. Mech. 124020"

    @functools.cached_property
    def inner(self) -> DiscreteEstimator:
        """The discrete estimator applied after binning (built once, on first use)."""
        inner = self._params["discrete"]
        if isinstance(inner, str):
            call = parse_call(inner, kind="estimator", example="binned(plugin, rule=uniform, bins=30)", nested=True)
            inner = instantiate(call, DISCRETE, kind="estimator", text=inner) if call.name in DISCRETE else call.name
        if not isinstance(inner, DiscreteEstimator):
            shown = inner.spec if hasattr(inner, "spec") else inner
            raise ValueError(
                f"binned needs a discrete estimator inside, got {shown!r}; choose one of {', '.join(DISCRETE)}, "
                "e.g. binned(plugin, rule=uniform, bins=30)"
            )
        return inner

    @property
    def ceiling_is_bound(self) -> bool:  # type: ignore[override]
        return self.inner.ceiling_is_bound

    @property
    def discrete(self) -> DiscreteEstimator:
        return self.inner

    def counted_by(self, discrete: DiscreteEstimator) -> "Binned":
        return Binned(**{**self.get_params(), "discrete": discrete})

    @property
    def bin_count(self) -> int | None:
        return None if self._params["rule"] == "width" else self._params["bins"]

    def _codes(self, t: torch.Tensor, name: str) -> torch.Tensor:
        """The codes the discrete estimator counts: integer input as it is, whole-number
        floats as codes, other floats binned (no warning: the estimate already gave it)."""
        if not t.is_floating_point():
            return t
        return self._whole_number_codes(t, name) if _whole_numbers(t) else self._bin(t, name, warn=False)

    def ceiling(self, n: int) -> float:
        return self.inner.ceiling(n)

    def _spec_items(self) -> tuple[list[Any], list[tuple[str, Any]]]:
        rule = self._params["rule"]
        shown = _RULE_PARAMS.get(rule, ())
        items = [("rule", rule)] + [(k, _as_float(self._params[k]) if k != "bins" else self._params[k]) for k in shown]
        return [self.inner], items

    def check_params(self, n_variables: int) -> None:
        p = self._params
        if p["rule"] not in RULES:
            raise ValueError(f"binned: unknown rule {p['rule']!r}; valid rules: {', '.join(RULES)}")
        shown = _RULE_PARAMS[p["rule"]]
        for key in ("bins", "range", "width"):
            if key not in shown and p[key] != self.params[key]:
                raise ValueError(
                    f"binned: {key}= does not apply to rule={p['rule']} (it uses {', '.join(shown)}); drop it"
                )
        if "bins" in shown:
            check_range("bins", p["bins"], 1, integer=True, owner=self.name)
        if p["rule"] == "fixed":
            check_pair("range", p["range"], owner=self.name)
        if p["rule"] == "width":
            if p["width"] is None:
                raise ValueError("binned: rule=width needs a bin width, e.g. width=0.5")
            check_range("width", p["width"], 0, open_lo=True, owner=self.name)
        self.inner.check_params(n_variables)

    def _subset_entropies(self, prepared: Prepared, names: list[str], subsets: Sequence[Subset]) -> dict[Subset, torch.Tensor]:
        inner = self.inner
        codes = []
        for t, name in zip(prepared.variables, names):
            if not t.is_floating_point():
                check_codes(t, name, inner.spec)
                codes.append(t)
            elif once("whole_numbers", [t], None, lambda: _whole_numbers(t)):
                codes.append(self._whole_number_codes(t, name))
            else:
                codes.append(self._bin(t, name))
        return inner.subset_entropies(codes, subsets)

    def _bin(self, t: torch.Tensor, name: str, warn: bool = True) -> torch.Tensor:
        p = self._params
        if p["rule"] == "fixed" and warn:
            _warn_outside_range(t, name, p["range"], self.spec)
        grid = (p["rule"], p["bins"], tuple(p["range"]), p["width"])  # the memo's key: hashable
        return once("discretize", [t], grid, lambda: discretize(t, p["rule"], bins=p["bins"], value_range=p["range"], width=p["width"]))

    def _whole_number_codes(self, t: torch.Tensor, name: str) -> torch.Tensor:
        """Codes of a float variable that holds whole numbers only (class labels saved as
        floats, +-1 unit codes): each value its own code, never merged by binning. Warns
        when binning would have merged values, with the size of the effect."""
        codes = (t.to(torch.float64) - t.amin(dim=1, keepdim=True).to(torch.float64)).to(torch.int64)
        distinct = int(pattern_ids(codes)[1].max())
        merged = int(pattern_ids(self._bin(t, name, warn=False))[1].max())
        if merged < distinct:
            warnings.warn(
                f"{name} is {t.dtype} but holds whole numbers only ({distinct} distinct rows): read as integer codes, "
                f"not binned ({self.spec} would have merged them into {merged}); pass integer codes "
                "(x.astype(int)) to say so",
                AmbiguousInputWarning,
                stacklevel=2,
            )
        return codes
