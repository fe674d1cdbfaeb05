"""What the data alone say about an estimate (bits): coincidences, coverage, the ceiling it
sits under, and a subsampling curve with an extrapolated value and an interval.

Subsampling (Strong et al. 1998; Holmes & Nemenman 2019): the rows are shuffled and cut
into k disjoint blocks of N/k rows, k = 2, 4, a few times over; each block is
estimated (all in one batched call). The spread of the block estimates of N/2 and N/4
rows, scaled to N (variance ~ 1/N), is the estimate's own sampling spread. Never the bootstrap: repeating
rows makes kNN estimators see coincidences that are not there.

The remaining bias is read from the last doubling (Richardson): if the estimate
approaches its limit as N^-a, its bias at N is (I(N/2) - I(N)) / (2^a - 1). ``a`` is read
from the last two doublings where both moved the same way by more than 3 standard errors,
held to [0.5, 2]; otherwise a = 1, the leading 1/N bias of count-based estimators. With
a <= 1 the bias is at least the last doubling's step, so a step beyond the tolerance
means ``biased``. Where the curve rises with N while the N/2 blocks sit within a bit of
their own ceiling (log2 of their size for plug-in), it follows that ceiling, not the
estimator's bias, and no bias is read from it. ``remaining_bias_bounds`` is the bias for every a in [0.5, 2], which the
verdict's interval holds (:func:`mibench.verdicts.verdict.truth_interval`).

A line in 1/N through the curve is also fitted and reported (its intercept I_inf, and
I_inf +- z sqrt(spread^2 + extrapolation^2) with z the 90 % normal quantile), but nothing
rests on it: count-based estimators leave their saturated corner along a bent curve, so
over N/4 ... N the intercept can lie on the wrong side of the estimate, and its interval
held about 40 % of held-out truths (measured when the curve ran down to N/8).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from mibench.arrays import floats
from mibench.core.counting import codes_to_counts, pattern_ids
from mibench.interface import UndefinedEstimateWarning
from mibench.judging import Regime, applicable_ceiling, declared_ceiling, describe_ceiling
from mibench.tasks.base import binary_entropy

SPLITS = (2, 4)  # N/8 blocks, once in the curve, fed only the 1/N line below: a third of the rows saved
DECAY_RANGE = (0.5, 2.0)  # the bias's decay exponent a read from the curve is held here
CEILING_PULL = 1.0  # bits: blocks this close under their own ceiling, on a rising curve, ride it
STEP_Z = 3.0  # standard errors a doubling's step must exceed before the curve's shape gives a
REPEATS = 4
MIN_BLOCK = 16  # rows: smaller blocks say nothing
MIN_REPEATS = 20  # coincidences of X rows needed before "Y is a function of X here" is said
MAX_MERGE_SHIFT = 8  # ... read on codes with up to 2^8 neighbouring values merged where X's own rarely repeat
INTERVAL_Z = 1.645  # the 90 % normal quantile


@dataclass
class DataEvidence:
    """The data-only diagnostics of one estimate (bits)."""

    regime: Regime
    reason: str
    n: int
    distinct: int | None = None  # distinct rows of X (of the codes a count-based estimator sees)
    coincidences: int | None = None  # N - distinct
    coverage: float | None = None  # Good-Turing 1 - (singletons / N) of the joint (X, Y) codes (each input once)
    # True when the repeated X rows show Y to be a function of X up to half the tolerance
    # (:func:`_label_bound`: H(Y|X) by Fano from the share of repeated rows off their X value's
    # most common Y; a nearly injective layer's few mixed patterns pass, a label drawn afresh
    # per row does not), seen on at least MIN_REPEATS coincidences of X's codes or of their
    # first coarsening that has them (:func:`_y_function_of_codes`; of different inputs where
    # ids are given; 20 clean repeats bound H(Y|X) only loosely, to ~0.6 bit for a binary Y by
    # the rule of three and Fano, yet held on held-out networks), Y label-like
    # (:func:`_label_like`: its H(Y) estimated within half the tolerance); None when it cannot be told
    y_function_of_x: bool | None = None
    # "Y" where every X code carries a single Y code on the sample, seen on at least MIN_REPEATS
    # repeated X rows (of different inputs where ids are given); "X" the other way round; None
    # otherwise. Then the joint codes repeat as the other side's do, so a count estimate of
    # I(X;Y) is its estimate of the named side's entropy, and I(X;Y) = H(Y) (or H(X)) where the
    # repeats speak for the population (:func:`_function_side`)
    function_side: str | None = None
    # bits of H(side | other) the repeats cannot rule out (95 %): by the rule of three a share up to
    # 3 / repeats of rows may differ from their partner's single value, and Fano bounds what that holds
    function_slack: float = math.nan
    ceiling: float = math.nan
    ceiling_of: str | None = None
    at_ceiling: bool = False
    entropy_x: float = math.nan  # the estimator's own H(X), H(Y) and H(X) + H(Y) - I(X;Y) (count-based)
    entropy_y: float = math.nan
    joint_entropy: float = math.nan
    curve: list[dict[str, float]] = field(default_factory=list)  # n, mean, std per subsample size
    extrapolated: float = math.nan
    remaining_bias: float = math.nan  # bits, from the last doubling of the curve (Richardson; module notes)
    remaining_bias_bounds: tuple[float, float] = (math.nan, math.nan)  # the same for every decay in DECAY_RANGE
    step_noise: float = math.nan  # standard error of the last doubling's step (bits)
    blocks_at_ceiling: bool = False  # the curve rises with N while the N/2 blocks sit within CEILING_PULL of their ceiling
    spread: float = math.nan  # the estimate's sampling std at N
    interval: tuple[float, float] = (math.nan, math.nan)
    notes: list[str] = field(default_factory=list)  # what the subsampling could not use, and why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _estimate(est: Any, x: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, H(X), H(Y)) per batch element: I(X;Y) and its marginals, or H(X)."""
    if y is None:
        return floats(est.entropy(x)), floats(None), floats(None)
    value, h_x, h_y = est.mutual_information_parts(x, y)
    values = floats(value)
    return values, floats(h_x, len(values)), floats(h_y, len(values))


def data_evidence(est: Any, x: np.ndarray, y: np.ndarray | None, tol: float, delta: float, seed: int = 0,
                  input_ids: np.ndarray | None = None) -> DataEvidence:
    """Diagnostics, the ceiling that applies, the subsampling curve, the extrapolated value,
    the interval and a data-only regime for one estimate (see the module notes).
    ``input_ids`` (one per row, optional): rows sharing an id are one input recorded again."""
    n = x.shape[0]
    value, h_x, h_y = _estimate(est, x, y)
    full = float(value[0])
    evidence = DataEvidence(regime=Regime.RELIABLE, reason="", n=n)
    codes = est.codes(x)
    if codes is not None:
        y_codes = None if y is None else est.codes(y, "y")
        if input_ids is not None:  # coincidences and coverage count each input once
            codes, y_codes = _one_row_per_input(codes, y_codes, input_ids, evidence)
        rows = codes.shape[1]
        evidence.distinct = int(codes_to_counts(codes).distinct()[0])
        evidence.coincidences = rows - evidence.distinct
        joint = codes if y_codes is None else torch.cat([codes.to(torch.int64), y_codes.to(torch.int64)], dim=2)
        joint_counts = codes_to_counts(joint)
        evidence.coverage = 1.0 - int((joint_counts.values == 1).sum()) / rows
        labels = None if y_codes is None else int(codes_to_counts(y_codes).distinct()[0])
        if labels is not None:
            evidence.function_side, evidence.function_slack = _function_side(
                rows, evidence.distinct, labels, int(joint_counts.distinct()[0]))
        if labels is not None and _label_like(labels, rows, tol):
            evidence.y_function_of_x = _y_function_of_codes(codes, y_codes, labels, tol, evidence)
    evidence.entropy_x, evidence.entropy_y = float(h_x[0]), float(h_y[0])
    evidence.joint_entropy = float(h_x[0] + h_y[0] - full)
    declared = declared_ceiling(est, n)
    evidence.ceiling, evidence.ceiling_of = applicable_ceiling(declared, float(h_x[0]), float(h_y[0]), delta) \
        if y is not None else (declared, "N" if math.isfinite(declared) else None)
    evidence.at_ceiling = bool(math.isfinite(evidence.ceiling) and abs(full - evidence.ceiling) <= delta)
    _subsample(evidence, est, x, y, full, seed)
    evidence.regime, evidence.reason = _data_regime(evidence, full, tol)
    if evidence.notes:
        evidence.reason += f" ({'; '.join(evidence.notes)})"
    return evidence


def _function_side(rows: int, x_distinct: int, y_distinct: int, joint_distinct: int) -> tuple[str | None, float]:
    """Which side is a function of the other on the sample's codes ("Y": each X code
    carries one Y code, so the joint codes are as many as X's), judged only on at least
    MIN_REPEATS repeated rows of the other side (distinct rows are a function of anything),
    and the H(side | other) those repeats cannot rule out: a share up to 3 / repeats of rows
    off their partner's single value (rule of three, 95 %), h(share) + share log2(values - 1)
    bits by Fano (20 repeats of a binary label: 0.61 bit). (None, NaN) where neither is."""
    if joint_distinct == x_distinct and rows - x_distinct >= MIN_REPEATS:
        side, repeats, values = "Y", rows - x_distinct, y_distinct
    elif joint_distinct == y_distinct and rows - y_distinct >= MIN_REPEATS:
        side, repeats, values = "X", rows - y_distinct, x_distinct
    else:
        return None, math.nan
    return side, _fano(min(3.0 / repeats, 0.5), values)


def _label_like(labels: int, rows: int, tol: float) -> bool:
    """Whether Y's entropy is estimated within half the tolerance: the plug-in's leading
    bias (K - 1) / (2 N ln 2) bits for K values seen on N rows (Miller 1955), which the
    other half of the tolerance leaves for H(Y|X). A label with 10 classes needs 130
    rows at tol = 0.1 bit; Y a copy of an X of thousands of values never qualifies."""
    return (labels - 1) / (2 * rows * math.log(2)) <= tol / 2


def _y_function_of_codes(codes: torch.Tensor, y_codes: torch.Tensor, labels: int, tol: float,
                         evidence: DataEvidence) -> bool | None:
    """Whether the repeated X rows show Y to be a function of X (:func:`_label_bound` within
    half the tolerance), read on X's codes or, where they repeat too rarely (distinct rows
    at small N), on the first coarsening that repeats enough: codes >> j merges 2^j
    neighbouring values (bins of a binned layer). Y a function of a coarsening of X is a
    function of X (H(Y|X) <= H(Y|coarse X)), and a finer repeat that mixes labels is among
    the coarse repeats too; a coarsening that mixes labels says nothing of X itself. None
    when no coarsening (up to 2^MAX_MERGE_SHIFT values merged) repeats enough."""
    rows = codes.shape[1]
    top = int(codes.max()) if codes.numel() else 0
    for shift in range(0, min(top.bit_length(), MAX_MERGE_SHIFT) + 1):
        coarse = codes >> shift if shift else codes
        coincidences = evidence.coincidences if not shift else rows - int(codes_to_counts(coarse).distinct()[0])
        if coincidences < MIN_REPEATS:
            continue
        function = bool(_label_bound(coarse, y_codes, labels) <= tol / 2)
        if not shift:
            return function
        if function:
            evidence.notes.append(f"Y is a function of X's codes with {2**shift} neighbouring values merged "
                                  f"({coincidences} repeated rows), so of X")
        return True if function else None  # a function of X need not be one of a coarsening
    return None


def _label_bound(codes: torch.Tensor, y_codes: torch.Tensor, labels: int) -> float:
    """Fano's bound on H(Y|X) (bits) from the rows whose X value repeats: the share d of them
    whose Y is not their X value's most common one gives H(Y|X) <= h(d) + d log2(labels - 1)."""
    (x_ids, x_kinds), (y_ids, y_kinds) = pattern_ids(codes[:1]), pattern_ids(y_codes[:1])  # exact, no row sort
    xi, yi, ky = x_ids[0].cpu().numpy(), y_ids[0].cpu().numpy(), int(y_kinds[0])
    xc = np.bincount(xi, minlength=int(x_kinds[0]))
    repeated = xc[xi] >= 2
    if not repeated.any():
        return 0.0
    pairs, counts = np.unique(xi[repeated].astype(np.int64) * ky + yi[repeated], return_counts=True)
    most = np.zeros(len(xc), dtype=np.int64)
    np.maximum.at(most, pairs // ky, counts)
    return _fano(1.0 - most.sum() / repeated.sum(), labels)


def _fano(off: float, values: int) -> float:
    """Fano's bound on H(Y|X) (bits) when a share ``off`` of rows differs from its X value's
    most common Y, of ``values`` possible Y values: h(off) + off log2(values - 1)."""
    return binary_entropy(off) + off * math.log2(max(values - 1, 1))


def _one_row_per_input(codes: torch.Tensor, y_codes: torch.Tensor | None, input_ids: np.ndarray,
                       evidence: DataEvidence) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The codes of the first row of each input id. A row that repeats an input (a data set
    duplicated, an input recorded twice) repeats its X and its Y by construction: counted
    as a coincidence it would pass for evidence that Y is a function of X, and for seen
    probability mass (Good-Turing)."""
    keep = torch.as_tensor(first_rows(input_ids), device=codes.device)
    if len(keep) < codes.shape[1]:
        evidence.notes.append(f"{codes.shape[1] - len(keep)} rows repeat an input already drawn and are counted once "
                              "for coincidences and coverage")
    return codes[:, keep], None if y_codes is None else y_codes[:, keep]


def first_rows(input_ids: np.ndarray) -> np.ndarray:
    """The index of each input's first row, in row order (one row per input)."""
    return np.sort(np.unique(np.asarray(input_ids).reshape(len(input_ids), -1), axis=0, return_index=True)[1])


def _subsample(evidence: DataEvidence, est: Any, x: np.ndarray, y: np.ndarray | None, full: float, seed: int) -> None:
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    points = [{"n": n, "mean": full, "std": math.nan}]
    block_vars = []
    for k in SPLITS:
        size = n // k
        if size < MIN_BLOCK:
            break
        order = np.concatenate([rng.permutation(n)[: k * size] for _ in range(REPEATS)]).reshape(REPEATS * k, size)
        xs = x[order]
        ys = None if y is None else y[order]
        try:
            with warnings.catch_warnings():  # a block too small to estimate is counted below, not a warning
                warnings.simplefilter("ignore", UndefinedEstimateWarning)
                values = _estimate(est, xs, ys)[0]
        except (ValueError, TypeError, RuntimeError) as exc:  # e.g. a covariance of more dimensions than rows
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            evidence.notes.append(f"the estimator fails on blocks of {size} rows ({why}), so the subsampling curve "
                                  f"stops at {points[-1]['n']} rows")
            break
        finite = values[np.isfinite(values)]
        if len(finite) < len(values):
            evidence.notes.append(f"{len(values) - len(finite)} of {len(values)} blocks of {size} rows gave no finite "
                                  "estimate and were left out of the curve")
        if len(finite) < 2:
            break
        points.append({"n": size, "mean": float(finite.mean()), "std": float(finite.std(ddof=1))})
        block_vars.append(float(finite.var(ddof=1)) * size / n)  # the spread at N: variance ~ 1/N
    evidence.curve = points
    if len(points) < 3:
        return
    # the block sizes nearest N (N/2, N/4): variance ~ 1/N holds least far from N (an
    # undersampled count's variance falls faster); N/8 blocks, tried, extrapolated furthest
    evidence.spread = math.sqrt(float(np.mean(block_vars)))
    inv = np.array([1.0 / p["n"] for p in points])
    means = np.array([p["mean"] for p in points])
    weights = np.array([1.0] + [REPEATS * k for k in SPLITS[: len(points) - 1]], dtype=float)  # blocks averaged
    design = np.column_stack([np.ones_like(inv), inv]) * np.sqrt(weights)[:, None]
    coef, *_ = np.linalg.lstsq(design, means * np.sqrt(weights), rcond=None)
    residual = means - (coef[0] + coef[1] * inv)
    dof = max(1, len(points) - 2)
    sigma2 = max(float(np.sum(weights * residual**2)) / dof, evidence.spread**2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    evidence.extrapolated = float(coef[0])
    half = INTERVAL_Z * math.sqrt(evidence.spread**2 + float(cov[0, 0]))
    evidence.interval = (evidence.extrapolated - half, evidence.extrapolated + half)
    half_ceiling = declared_ceiling(est, points[1]["n"])
    rising = points[0]["mean"] > points[1]["mean"]
    if math.isfinite(half_ceiling) and rising and half_ceiling - points[1]["mean"] <= CEILING_PULL:
        evidence.blocks_at_ceiling = True  # the curve climbs with the blocks' ceiling: it cannot show the bias
        return
    evidence.remaining_bias = _remaining_bias(points, evidence.spread)
    step = points[1]["mean"] - points[0]["mean"]
    over_decays = [step / (2.0**a - 1.0) for a in DECAY_RANGE]
    evidence.remaining_bias_bounds = (min(over_decays), max(over_decays))
    evidence.step_noise = _step_noise(points, evidence.spread, 1)


def _remaining_bias(points: list[dict[str, float]], spread: float) -> float:
    """The estimate's bias at N (bits) from the last doubling of the curve, with the decay
    exponent read from the two last doublings (see the module notes)."""
    step = points[1]["mean"] - points[0]["mean"]
    decay = 1.0
    if len(points) >= 3:
        before = points[2]["mean"] - points[1]["mean"]
        if step * before > 0 and abs(step) > STEP_Z * _step_noise(points, spread, 2):
            decay = min(max(-math.log2(step / before), DECAY_RANGE[0]), DECAY_RANGE[1])
    return step / (2.0**decay - 1.0)


def _step_noise(points: list[dict[str, float]], spread: float, doublings: int) -> float:
    """Standard error (bits) of the curve's steps over its last ``doublings`` doublings:
    the full estimate's spread and each block mean's (std over its REPEATS x k blocks)."""
    blocks = sum(points[i]["std"] ** 2 / (REPEATS * SPLITS[i - 1]) for i in range(1, doublings + 1))
    return math.sqrt(spread**2 + blocks)


def _data_regime(evidence: DataEvidence, full: float, tol: float) -> tuple[Regime, str]:
    if not math.isfinite(full):
        return Regime.UNDEFINED, "the estimator returned no finite value"
    if evidence.at_ceiling:
        what = describe_ceiling(evidence.ceiling_of, "reason")
        return Regime.SATURATED, (f"the estimate sits at {what} ({evidence.ceiling:.3f} bits), so it says what N "
                                  "allows, not what the data hold")
    if not math.isfinite(evidence.extrapolated):
        return Regime.UNKNOWN, "too few rows to subsample"
    if evidence.blocks_at_ceiling:
        return Regime.UNKNOWN, ("the subsampled blocks sit at their own ceiling, so the subsampling curve rises with "
                                "their size and cannot show the bias")
    if evidence.spread > tol:
        return Regime.UNSTABLE, f"its sampling spread at this N is {evidence.spread:.3f} bits, more than the tolerance"
    if abs(evidence.remaining_bias) > tol:
        (big, small) = evidence.curve[0], evidence.curve[1]
        return Regime.BIASED, (f"the subsampling curve still moves with N: going from {small['n']} to {big['n']} rows moved "
                          f"the estimate by {big['mean'] - small['mean']:+.3f} bits, so about "
                          f"{evidence.remaining_bias:+.3f} bits of bias remain")
    return Regime.RELIABLE, "the subsampling curve is flat within the tolerance and the spread is small"
