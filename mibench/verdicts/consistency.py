"""Truth-free self-consistency checks of an I(X;Y) estimate on real values (bits): they
see bias that does not shrink with N, which the subsampling curve cannot.

* **Shuffle null.** Y's rows are permuted against X's (:data:`NULL_REPEATS` times): the
  pairs keep both marginals and lose all dependence, so their true I is 0 and whatever
  the estimator reports there is its bias at I = 0 (KDE reports bits of "information"
  between independent heavy tails; Kozachenko-Leonenko's three-entropy sum carries a
  dimension bias).
* **A copula kNN reference.** KSG (k = 3) on the normal scores of each column's ranks:
  invariant to any monotone transform of any marginal, as the true I is, and consistent
  for any continuous law. Heavy tails and nonlinear marginals bias raw kNN distances and
  hide dependence from Gaussian fits (a Gaussian-copula estimate of Student-t data with
  no correlation is 0 bits; the truth is 0.3 bits and up); the reference sees it. kNN
  estimators err low where I is large (they need samples exponential in I), so only a
  reference *above* the estimate by more than the tolerance and 3 standard errors is an
  alarm: the estimate misses dependence the reference sees.

* **Extremes.** On heavy-tailed marginals (:data:`HEAVY_TAILS`), the estimate again without
  the sample's most extreme 1 % of rows (:func:`extremes_shift`): how far it moves is how far
  the next sample's estimate may land, since its extreme rows will be others. The verdict
  takes it as the estimate's spread where it exceeds the subsampled one, before the two
  checks above weigh their alarms against that spread.

All apply to estimators of continuous values. The reference also judges binned estimators
where X and Y are both continuous (:func:`checks_apply`): binning loses the dependence finer
than its cells (a bias that does not shrink with N, which neither the curve nor a map of
other laws sees), and the reference, which bins nothing, sees the loss (the shuffle null
is reported there but raises no alarm: see :func:`_regime`). Other count-based estimates (codes,
labels, the binned variables themselves as the target) are judged by the map and the
subsampling curve. Each gives a number with its standard error; an alarm
makes the data's regime ``biased``, with the bias the check saw. A check that cannot run
(too few rows for k = 3, an estimator that fails on the shuffled pairs) says why.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from mibench.arrays import floats
from mibench.interface import UndefinedEstimateWarning
from mibench.judging import Regime

NULL_REPEATS = 2  # permutations of Y against X (the sample's own sampling error dominates their spread)
REFERENCE = "ksg"  # k = 3, the default
REFERENCE_PARTS = 4  # disjoint parts the reference's standard error is read from: 3 degrees of freedom
#: the tail index (:func:`mibench.verdicts.atlas.tail_index`) of normal scores: log2(z_0.99 / z_0.75)
NORMAL_TAILS = math.log2(2.3263478740408408 / 0.6744897501960817)
ALARM_Z = 3.0  # standard errors a check's bias must exceed, besides the tolerance
MIN_ROWS = 32  # fewer rows say nothing about either check


@dataclass
class ConsistencyEvidence:
    """What the truth-free checks say (bits; NaN where a check did not run)."""

    regime: Regime
    reason: str
    null: float = math.nan  # mean estimate on shuffled pairs: the bias at I = 0
    null_se: float = math.nan
    reference: float = math.nan  # KSG on the normal scores of each marginal
    reference_se: float = math.nan
    bias: float = math.nan  # the bias the alarming check saw (estimate - its truth)
    bias_se: float = math.nan
    alarm: str | None = None  # which check saw it: "null" (at I = 0) or "reference"
    other_kind: bool = False  # the reference is not a kNN estimator like the one checked: their agreement is evidence
    reference_map: str | None = None  # the map's regime for KSG at the reference's value (asked where no cell judges the estimate)
    reference_n: int = 0  # rows the reference read: one per input
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: a column is continuous when at least this share of its rows are distinct values
CONTINUOUS_SHARE = 0.5


def continuous_columns(a: np.ndarray) -> bool:
    """Whether every column of ``a`` holds mostly distinct values (real values, not codes or labels)."""
    n = a.shape[0]
    return all(len(np.unique(a[:, j])) >= CONTINUOUS_SHARE * n for j in range(a.shape[1]))


def checks_apply(est: Any, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the truth-free checks judge ``est`` on these samples: an estimator of
    continuous values, or a binned one on X and Y both continuous (not codes, not labels)."""
    if est.needs_label_y:
        return False
    if not est.count_based:
        return True
    return hasattr(est, "inner") and continuous_columns(x) and continuous_columns(y)  # a binned estimator of real values


def _values(est: Any, x: Any, y: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedEstimateWarning)
        return floats(est.mutual_information(x, y))


def _normal_scores(a: np.ndarray) -> np.ndarray:
    """Phi^-1(rank / (n + 1)) per column, ties averaged."""
    from mibench.estimators.parametric import copula_normal

    return copula_normal(torch.as_tensor(a, dtype=torch.float64)).numpy()


def consistency_evidence(est: Any, x: np.ndarray, y: np.ndarray, estimate: float, spread: float, tol: float,
                         seed: int = 0, distinct_inputs: np.ndarray | None = None) -> ConsistencyEvidence:
    """The shuffle null and the copula kNN reference for one estimate of I(X;Y) on ``x``
    (n, d_x) and ``y`` (n, d_y); ``spread`` is the estimate's own sampling std (from the
    subsampling curve, or :func:`extremes_shift` where larger; NaN where unknown). See the module notes.
    ``distinct_inputs``: the rows that are each input once (where ids mark rows recorded again):
    the reference reads the truth from them alone, since a row recorded twice sits at distance 0
    from its twin and inflates a kNN estimate (a duplicated Gaussian sample: 1.3 bits against 0.21)."""
    n = x.shape[0]
    evidence = ConsistencyEvidence(Regime.RELIABLE, "", other_kind=not est.nearest_neighbours)
    if not checks_apply(est, x, y):
        evidence.regime, evidence.reason = Regime.UNKNOWN, ("the checks are for estimators of continuous values and "
                                                            "binned estimates of them")
        return evidence
    if n < MIN_ROWS or not math.isfinite(estimate):
        evidence.regime, evidence.reason = Regime.UNKNOWN, f"too few rows ({n}) or no finite estimate to check"
        return evidence
    own = spread if math.isfinite(spread) else 0.0
    rng = np.random.default_rng([seed, 17])
    try:
        shuffled = np.stack([y[rng.permutation(n)] for _ in range(NULL_REPEATS)])
        nulls = _values(est, x, shuffled)  # one x broadcast over the batch of shuffled y
        nulls = nulls[np.isfinite(nulls)]
        if len(nulls) >= 2:
            evidence.null = float(nulls.mean())
            # the permutations share one sample: averaging them does not average its own sampling error
            evidence.null_se = math.sqrt(float(nulls.var(ddof=1)) / len(nulls) + own**2)
    except (ValueError, TypeError, RuntimeError) as exc:
        evidence.notes.append(f"the estimator fails on shuffled pairs ({str(exc).splitlines()[0]})")
    try:
        once = np.arange(n) if distinct_inputs is None else np.asarray(distinct_inputs)
        evidence.reference_n = len(once)
        if len(once) < MIN_ROWS:
            evidence.notes.append(f"no copula kNN reference: {len(once)} distinct inputs are too few")
        else:
            evidence.reference, evidence.reference_se = _reference(x[once], y[once], rng)
    except (ValueError, TypeError, RuntimeError) as exc:
        evidence.notes.append(f"no copula kNN reference here ({str(exc).splitlines()[0]})")
    evidence.regime, evidence.reason = _regime(evidence, estimate, own, tol, est.count_based)
    return evidence


EXTREME_SHARE = 0.01  # the share of rows extremes_shift leaves out: the sample's most extreme 1 %
#: tail index (:func:`mibench.verdicts.atlas.tail_index`) from which extremes_shift speaks: a
#: normal's is 1.79, a Laplace's 2.4, Student-t's 2.57 at 3 dof and 4.99 at 1
HEAVY_TAILS = 2.4


def extremes_shift(est: Any, x: np.ndarray, y: np.ndarray, estimate: float) -> tuple[float, int]:
    """How far the estimate (bits) moves when the sample's most extreme rows are left out:
    ``estimate`` minus the estimate on the others, and how many rows were left out
    (EXTREME_SHARE of N, at least one; a row's extremeness is its largest |value - median| /
    IQR over the columns of X and Y). On heavy tails a few rows far out set a kernel's
    bandwidth or a covariance, and the next sample draws other ones: its estimate moves by
    about this much from sample to sample, which subsampling one sample cannot show (its
    blocks share those rows; KDE on Student-t with 1-3 dof: subsampled spreads 4-10x under the
    seed std, this shift within about 2x of it). NaN where it cannot be computed."""
    n = x.shape[0]
    if n < MIN_ROWS or not math.isfinite(estimate):
        return math.nan, 0
    both = np.concatenate([np.asarray(x, dtype=float).reshape(n, -1), np.asarray(y, dtype=float).reshape(n, -1)], axis=1)
    q25, q50, q75 = np.percentile(both, [25, 50, 75], axis=0)
    iqr = np.where(q75 > q25, q75 - q25, 1.0)
    extremeness = (np.abs(both - q50) / iqr).max(axis=1)
    left_out = max(1, round(EXTREME_SHARE * n))
    keep = np.sort(np.argsort(extremeness, kind="stable")[: n - left_out])
    try:
        without = float(_values(est, x[keep], y[keep])[0])
    except (ValueError, TypeError, RuntimeError):
        return math.nan, left_out
    return (estimate - without if math.isfinite(without) else math.nan), left_out


def another_kind_agrees(checks: "ConsistencyEvidence | None", estimate: float, tol: float) -> bool:
    """Whether the checks raise no alarm while the reference, an estimator of another kind
    (kNN on normal scores, for a kernel, Gaussian or copula estimate), lands within the
    tolerance of the estimate and the shuffle null within the tolerance of 0: two methods
    that fail in different ways agree, where no map cell can speak. Only where the map's KSG
    cells see no bias at the reference's value (``reference_map`` reliable, or unstable: noisy,
    which its standard error carries): where kNN errs low, both may err low together."""
    return bool(checks is not None and checks.regime == Regime.RELIABLE and checks.other_kind
                and checks.reference_map in (Regime.RELIABLE, Regime.UNSTABLE)
                and abs(checks.reference - estimate) <= tol and abs(checks.null) <= tol)


def _reference(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """KSG on normal scores (bits) and its standard error, from REFERENCE_PARTS disjoint
    parts of a shuffle (variance ~ 1/N: the parts' spread over sqrt of their number). Two
    halves gave one degree of freedom: a standard error anywhere from 0.000 to 0.06 on one
    kind of sample, and a 0.14-bit gap hidden behind 3 x 0.057."""
    from mibench.registry import make_estimator

    ksg = make_estimator(REFERENCE)
    zx, zy = _normal_scores(x), _normal_scores(y)
    value = float(_values(ksg, zx, zy)[0])
    n, k = len(zx), REFERENCE_PARTS
    order = rng.permutation(n)[: k * (n // k)].reshape(k, n // k)
    parts = _values(ksg, zx[order], zy[order])
    se = float(parts.std(ddof=1)) / math.sqrt(k) if np.isfinite(parts).all() else math.nan
    return value, se


def _regime(evidence: ConsistencyEvidence, estimate: float, own: float, tol: float, count_based: bool = False
            ) -> tuple[Regime, str]:
    alarms = []
    # A count's bias at I = 0 is not its bias at the sample's I: shuffled pairs spread over more
    # joint cells than dependent ones (2 + 2 Gaussians at 8 bins: +0.15 bit shuffled, +0.09 as
    # drawn). The map and the curve judge counts' sampling bias; the null speaks for the others.
    if not count_based and math.isfinite(evidence.null) and abs(evidence.null) > max(tol, ALARM_Z * evidence.null_se):
        alarms.append((abs(evidence.null), evidence.null, evidence.null_se, "null",
                       f"on pairs whose dependence was destroyed by shuffling Y, where the truth is 0, it gives "
                       f"{evidence.null:+.3f} bits (SE {evidence.null_se:.3f}): a bias that does not shrink with N"))
    gap = evidence.reference - estimate
    gap_se = math.sqrt(evidence.reference_se**2 + own**2) if math.isfinite(evidence.reference_se) else math.nan
    if math.isfinite(gap) and math.isfinite(gap_se) and gap > max(tol, ALARM_Z * gap_se):
        alarms.append((gap, -gap, gap_se, "reference",
                       f"KSG on the normal scores of each marginal (invariant to monotone transforms, as the true I is) "
                       f"gives {evidence.reference:.3f} bits, {gap:.3f} above this estimate (SE {gap_se:.3f}): it misses "
                       "dependence the reference sees"))
    notes = f" ({'; '.join(evidence.notes)})" if evidence.notes else ""
    if not alarms:
        if math.isnan(evidence.null) and math.isnan(evidence.reference):
            return Regime.UNKNOWN, "neither check could run" + notes
        return Regime.RELIABLE, "the shuffle null and the copula kNN reference raise no alarm" + notes
    _, evidence.bias, evidence.bias_se, evidence.alarm, reason = max(alarms, key=lambda a: a[0])
    return Regime.BIASED, reason + notes
