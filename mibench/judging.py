"""The language estimates are judged in (bits): regimes, tolerances and ceilings.

One vocabulary for the regime map (a group of seeds held against an exact truth), the
verdicts (one sample and no truth), the regression gate and the command line alike.
This module sits on a low floor: it imports nothing of mibench but the parameter checks
and the array helpers.

**Regimes**, in one order of severity (:class:`Regime`): ``reliable`` < ``biased`` <
``unstable`` < ``saturated`` < ``undefined``, and ``unknown`` (a verdict with no
evidence to go on; a group of seeds never earns it). A group of seeds of one (estimator,
task, N), with bias = mean - truth, SE = std / sqrt(seeds) and the tolerance
tol = max(abs_tol, rel_tol * |truth|), is, in this order (:func:`regime`):

1. ``undefined``: some seed gave NaN or an error (e.g. NSB without coincidences).
2. ``saturated``: the mean sits within ``delta`` of the ceiling that applies and
   |bias| > tol, whichever side of that ceiling the truth lies: the estimate is what
   the sample size allows, not what the data say.
3. ``reliable``: |bias| <= tol and the seed std <= tol.
4. ``biased``: |bias| > tol and |bias| > 3 SE (significant).
5. ``unstable``: otherwise: the spread exceeds tol while the bias is not significant.

Every group also carries ``at_ceiling`` (mean within delta of the ceiling that
applies), so an estimate that is right but sits at its ceiling stays visible.

**Ceilings.** An estimator's declared ceiling at N (:func:`declared_ceiling`) is its
value when every row is distinct (log2 N for plug-in). The ceiling that *applies* to an
I(X;Y) estimate (:func:`applicable_ceiling`) is that, except for count-based
estimators once the richer side is exhausted (its own H estimate within delta of the
declared ceiling: its rows all but distinct): the estimate then equals the other
side's own H estimate (``"H(Y)"`` / ``"H(X)"``; ``"N"`` when both are exhausted). With
class labels on one side only (Kolchinsky-Tracey) the ceiling is min(c, H(Y)).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any, Iterable, Mapping

import numpy as np

from mibench._validate import range_problem
from mibench.arrays import floats

try:
    from enum import StrEnum
except ImportError:  # Python 3.10

    class StrEnum(str, Enum):  # type: ignore[no-redef]
        __str__ = str.__str__
        __format__ = str.__format__


class Regime(StrEnum):
    """What an estimate (or a group of seeds) is, in order of severity. A member equals
    its name as a plain string (``Regime.RELIABLE == "reliable"``), so stored tables,
    JSON and CSV hold the words themselves."""

    RELIABLE = "reliable"
    BIASED = "biased"
    UNSTABLE = "unstable"
    SATURATED = "saturated"
    UNDEFINED = "undefined"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """0 for reliable up to 5 for unknown: the order in which verdicts break ties."""
        return _ORDER.index(self)

    @property
    def grade(self) -> int:
        """The gate's coarse scale: 0 trusted (reliable), 1 not trusted (biased, unstable,
        saturated, unknown), 2 failed (undefined). A change to a higher grade is a
        regression; a change within one grade is not."""
        return 0 if self is Regime.RELIABLE else 2 if self is Regime.UNDEFINED else 1


_ORDER = list(Regime)
#: The regimes a group of seeds can earn against an exact truth, in order of severity.
REGIMES: tuple[Regime, ...] = tuple(r for r in Regime if r is not Regime.UNKNOWN)

RULES_TEXT = (
    "A group of seeds (one estimator, task and N) is, in this order: **undefined** if a seed failed or gave NaN; "
    "**saturated** if its mean sits within delta = {delta:g} bit of the ceiling that applies (the estimator's value "
    "when every row is distinct, e.g. log2 N for plug-in, or, for I(X;Y) once one side's rows are all distinct, the "
    "estimator's own H of the other side, e.g. H(Y) of the labels) while |bias| exceeds the tolerance; **reliable** if "
    "|bias| and the seed std are both within the tolerance; **biased** if |bias| exceeds the tolerance and 3 standard "
    "errors; **unstable** otherwise (the spread exceeds the tolerance, the bias is not significant). Tolerance: "
    "{tolerance}. A group at its ceiling but within tolerance stays reliable and is flagged `at_ceiling`."
)


# -- tolerances ------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerances:
    """Regime tolerances (bits): the bias (and the seed spread) allowed, an optional share
    of the truth allowed on top (off), and how near the ceiling counts as at it."""

    abs_tol: float = 0.1
    rel_tol: float = 0.0
    delta: float = 0.1

    @classmethod
    def of(cls, value: "Tolerances | Mapping[str, float] | None" = None) -> "Tolerances":
        """The defaults with ``value``'s entries on top (a mapping or Tolerances); raises
        ValueError naming each unknown key or out-of-range value."""
        if isinstance(value, Tolerances):
            return value
        given = dict(value or {})
        problems = tolerance_problems(given)
        if problems:
            raise ValueError("tolerances: " + "; ".join(f"{key} {why}" for key, why in problems))
        return cls(**given)

    def allowed(self, truth: float) -> float:
        """The |bias| (and seed std) a group of this truth may have and be reliable (bits)."""
        return max(self.abs_tol, self.rel_tol * abs(truth))

    def text(self) -> str:
        if self.rel_tol:
            return f"{self.abs_tol:g} bit or {self.rel_tol:.0%} of the truth, whichever is larger"
        return f"{self.abs_tol:g} bit"

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


TOLERANCES = Tolerances()
TOLERANCE_KEYS = tuple(f.name for f in fields(Tolerances))
_TOLERANCE_RANGES = {"abs_tol": {"lo": 0, "open_lo": True}, "rel_tol": {"lo": 0}, "delta": {"lo": 0}}


def tolerance_problems(tolerances: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, what is wrong) for each unknown key or out-of-range value of a tolerances table."""
    problems = []
    for key, value in tolerances.items():
        if key not in _TOLERANCE_RANGES:
            problems.append((key, f"unknown key; valid keys: {', '.join(TOLERANCE_KEYS)}"))
        elif problem := range_problem(value, **_TOLERANCE_RANGES[key]):
            problems.append((key, problem))
    return problems


def rules_text(tolerances: Tolerances | Mapping[str, float] | None = None) -> str:
    """The regime rules in plain words, with the tolerances in force."""
    tol = Tolerances.of(tolerances)
    return RULES_TEXT.format(delta=tol.delta, tolerance=tol.text())


# -- ceilings --------------------------------------------------------------------------
def declared_ceiling(estimator: Any, n: int) -> float:
    """The estimator's ceiling (bits) at n samples: its value when every row is distinct;
    NaN where it declares none."""
    try:
        value = float(estimator.ceiling(n))
    except (NotImplementedError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def applicable_ceiling(declared: float, h_x: float, h_y: float, delta: float) -> tuple[float, str | None]:
    """(ceiling, what it is: "N", "H(Y)", "H(X)" or None) of an I(X;Y) estimate, from the
    declared ceiling and the estimator's own H(X) and H(Y) on the sample (NaN where it
    has none): see the module notes."""
    if math.isnan(h_x) and math.isnan(h_y):
        return declared, ("N" if math.isfinite(declared) else None)
    if math.isnan(h_x) or math.isnan(h_y):  # a label side only: the estimate cannot exceed its entropy
        side, of = (h_y, "H(Y)") if math.isnan(h_x) else (h_x, "H(X)")
        return (side, of) if not side >= declared else (declared, "N")
    richer, poorer, of = (h_x, h_y, "H(Y)") if h_x >= h_y else (h_y, h_x, "H(X)")
    if math.isfinite(declared) and richer >= declared - delta and poorer < declared - delta:
        return poorer, of
    return declared, ("N" if math.isfinite(declared) else None)


def quantity_ceiling(estimator: Any, quantity: str, n: int, h_x: float = math.nan, h_y: float = math.nan,
                     delta: float = TOLERANCES.delta) -> tuple[float, str | None]:
    """The ceiling (bits) of an estimated quantity and what it is: the declared ceiling
    for an entropy, :func:`applicable_ceiling` for I(X;Y) (with the estimator's own H(X)
    and H(Y), NaN where it has none); (NaN, None) for anything else."""
    declared = declared_ceiling(estimator, n)
    if quantity == "entropy":
        return declared, ("N" if math.isfinite(declared) else None)
    if quantity == "mutual_information":
        return applicable_ceiling(declared, h_x, h_y, delta)
    return math.nan, None


_CEILING_WORDS = {  # what: (short, as a reason, in full)
    "N": ("every row distinct", "its value when every row is distinct",
          "the estimator's value when every row is distinct at this N"),
    "H(Y)": ("H(Y): every X row distinct", "its own H(Y): every X row is distinct",
             "the estimator's own H(Y) on this sample: the X rows are (all but) distinct, so I(X;Y) can reach no higher"),
    "H(X)": ("H(X): every Y row distinct", "its own H(X): every Y row is distinct",
             "the estimator's own H(X) on this sample: the Y rows are (all but) distinct, so I(X;Y) can reach no higher"),
}
_CEILING_FALLBACK = ("declared", "its ceiling", "none known")


def describe_ceiling(of: str | None, form: str = "full") -> str:
    """What a ceiling is, in words: ``form`` "short" (a parenthesis), "reason" (inside a
    sentence about the estimate) or "full"."""
    index = ("short", "reason", "full").index(form)
    return _CEILING_WORDS.get(of or "", _CEILING_FALLBACK)[index]


# -- judging a group of seeds ------------------------------------------------------------
def regime(failed: int, mean: float, bias: float, std: float, seeds: int, truth: float, at_ceiling: bool,
           tol: Tolerances | Mapping[str, float] | None = None) -> Regime:
    """The regime of one group of seeds, by the rules in the module notes."""
    tol = Tolerances.of(tol)
    if failed > 0 or not math.isfinite(mean):
        return Regime.UNDEFINED
    allowed = tol.allowed(truth)
    if at_ceiling and abs(bias) > allowed:
        return Regime.SATURATED
    if abs(bias) <= allowed and std <= allowed:
        return Regime.RELIABLE
    if abs(bias) > allowed and abs(bias) > 3 * std / math.sqrt(seeds):
        return Regime.BIASED
    return Regime.UNSTABLE


@dataclass(frozen=True)
class Judgement:
    """A group of seeds against its exact truth (bits): mean, seed std (over the finite
    estimates), bias, how many seeds and how many failed, the ceiling that applies and
    whether the mean sits at it, and the regime."""

    mean: float
    std: float
    bias: float
    seeds: int
    failed: int
    ceiling: float
    ceiling_of: str | None
    at_ceiling: bool
    regime: Regime


def judge(*, mean: float, std: float, seeds: int, failed: int, truth: float, declared: float = math.nan,
          entropy_x: float = math.nan, entropy_y: float = math.nan,
          tol: Tolerances | Mapping[str, float] | None = None) -> Judgement:
    """Judge a group from its summary: the mean and std of its finite estimates, its
    seeds and failures, the truth, the declared ceiling and the mean H(X), H(Y) the
    estimator reported (NaN where it reports none)."""
    tol = Tolerances.of(tol)
    ceiling, ceiling_of = applicable_ceiling(declared, entropy_x, entropy_y, tol.delta)
    at_ceiling = bool(abs(mean - ceiling) <= tol.delta)
    bias = mean - truth
    return Judgement(mean, std, bias, seeds, failed, ceiling, ceiling_of, at_ceiling,
                     regime(failed, mean, bias, std, seeds, truth, at_ceiling, tol))


def judge_seeds(values: Iterable[float | None], truth: float, declared: float = math.nan,
                entropy_x: Iterable[float | None] | None = None, entropy_y: Iterable[float | None] | None = None,
                tol: Tolerances | Mapping[str, float] | None = None) -> Judgement:
    """Judge the per-seed estimates of one group (None or NaN: a failed seed) against
    ``truth``, as the map judges its groups: mean and std over the finite estimates."""
    estimates = floats(values, 0)
    finite = estimates[np.isfinite(estimates)]
    mean = float(finite.mean()) if len(finite) else math.nan
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return judge(mean=mean, std=std, seeds=len(estimates), failed=len(estimates) - len(finite), truth=truth,
                 declared=declared, entropy_x=_mean(entropy_x), entropy_y=_mean(entropy_y), tol=tol)


def _mean(values: Iterable[float | None] | None) -> float:
    known = floats(values, 0)
    known = known[~np.isnan(known)]
    return float(known.mean()) if len(known) else math.nan
