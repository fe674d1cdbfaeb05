"""How often verdicts are right: agreement with the measured error class on cases the
map never saw, and the coverage of the 90 % intervals.

A *case* is one estimator on one source of samples with an exact truth (a task, or a
population dump subsampled with replacement) at one N. Its **measured class** is the
regime its seeds earn against that truth by the map's own rules
(:func:`mibench.judging.judge_seeds`, with the ceiling that applies from the seeds' mean
H estimates): the truth is computed another way than the verdict, which sees one
sample and no truth. ``held_out_atlas`` drops whole task families from the map, so the
verdicts on those families are made without any cell of them.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from mibench.judging import Regime, Tolerances, declared_ceiling, judge_seeds
from mibench.registry import parse_spec
from mibench.tasks import parse_task
from mibench.verdicts.atlas import COLUMNS, Atlas
from mibench.verdicts.evidence import _estimate
from mibench.verdicts import verdict as verdicts
from mibench.verdicts.verdict import trust, widened, within

Sampler = Callable[[int, int], tuple[np.ndarray, np.ndarray]]  # (n, seed) -> x, y


@dataclass
class Case:
    """One estimator on one source of samples at one N, with the exact truth (bits)."""

    source: str
    family: str
    estimator: str
    n: int
    truth: float
    sample: Sampler


def task_cases(tasks: Iterable[str], estimators: Iterable[str], ns: Iterable[int], family: str) -> list[Case]:
    """Cases from task ids (``"parity(dim=8, noise=0.2)"``) x estimators x N."""
    out = []
    for text in tasks:
        task = parse_task(text)
        for spec in estimators:
            truth = parse_spec(spec).target(task)
            if truth is None:
                continue
            out += [Case(task.id, family, spec, n, float(truth), task.sample) for n in ns]
    return out


def dump_cases(dump: Any, estimator: str, ns: Iterable[int], snapshots: Iterable[tuple[str, int]] | None = None
               ) -> list[Case]:
    """I(T;Y) cases from a population dump for a count-based ``estimator`` with a fixed
    binning: rows drawn with replacement (i.i.d. from the population), truth = the
    population's exact I(T;Y) under that binning (plug-in over every input, each once)."""
    labels = dump.labels
    exact = parse_spec(estimator).counted_by(parse_spec("plugin"))
    out = []
    for layer, epoch in snapshots or dump.snapshots():
        t = dump.snapshot(layer, epoch)
        truth = float(exact.mutual_information(t, labels))

        def sample(n: int, seed: int, t: np.ndarray = t) -> tuple[np.ndarray, np.ndarray]:
            rows = _drawn(len(t), n, seed)
            return t[rows], labels[rows][:, None]

        out += [Case(f"{layer}@{epoch}", "dump", estimator, n, truth, sample) for n in ns]
    return out


def entropy_dump_cases(dump: Any, estimator: str, ns: Iterable[int], snapshots: Iterable[tuple[str, int]] | None = None
                       ) -> list[Case]:
    """H(T) cases from a population dump (I(X;T) of a deterministic layer, as the plane
    reads it) for a count-based ``estimator`` with a fixed binning: rows drawn with
    replacement, truth = the population's exact H(T) under that binning (plug-in over
    every input, each once), the sample's y None."""
    exact = parse_spec(estimator).counted_by(parse_spec("plugin"))
    out = []
    for layer, epoch in snapshots or dump.snapshots():
        t = dump.snapshot(layer, epoch)
        truth = float(exact.entropy(t))

        def sample(n: int, seed: int, t: np.ndarray = t) -> tuple[np.ndarray, None]:
            return t[_drawn(len(t), n, seed)], None

        out += [Case(f"{layer}@{epoch}", "dump", estimator, n, truth, sample) for n in ns]
    return out


def _drawn(population: int, n: int, seed: int) -> np.ndarray:
    """The population rows (input ids) a dump case's seed draws, with replacement."""
    return np.random.default_rng([seed, n, 7]).integers(0, population, n)


def measured_class(case: Case, seeds: int = 10, tolerances: Tolerances | dict[str, float] | None = None,
                   first_seed: int = 0) -> dict[str, Any]:
    """The regime a case's seeds (``first_seed`` onwards) earn against its truth (the map's rules)."""
    est = parse_spec(case.estimator)
    samples = [case.sample(case.n, s) for s in range(first_seed, first_seed + seeds)]
    xs = np.stack([x for x, _ in samples])
    ys = None if samples[0][1] is None else np.stack([y for _, y in samples])
    values, h_x, h_y = _estimate(est, xs, ys)
    judged = judge_seeds(values, case.truth, declared_ceiling(est, case.n), h_x, h_y, tolerances)
    return {"mean": judged.mean, "std": judged.std, "bias": judged.bias, "measured": judged.regime,
            "at_ceiling": judged.at_ceiling}


def agrees(verdict: str, measured: dict[str, Any]) -> bool:
    """A verdict agrees with the measured class when they match, or when it says saturated
    and the seeds' mean sits at the ceiling that applies: where the truth lies at that
    ceiling as well (an injective layer's I(T;Y) = H(Y)), the map's rules call the group
    reliable-at-ceiling, and no single sample can tell the two apart."""
    return verdict == measured["measured"] or (verdict == Regime.SATURATED and measured["at_ceiling"])


def evaluate(cases: list[Case], atlas: Atlas, seeds: int = 10, tolerances: Tolerances | dict[str, float] | None = None,
             replicate: bool = False) -> pd.DataFrame:
    """One row per case: the verdict on seed 0's sample, the measured class, whether they
    agree, and whether the 90 % interval holds the truth. ``replicate``: the class measured
    again on the next ``seeds`` seeds (``measured_again``), so that a table can say how
    often the measured class agrees with itself, the most any verdict can be expected to
    agree with it (``self_agree``), and how often the verdict agrees with the second
    measurement, which its sample had no part in (``agree_again``)."""
    tol = Tolerances.of(tolerances)
    rows = []
    for case in cases:
        measured = measured_class(case, seeds, tol)
        again = measured_class(case, seeds, tol, first_seed=seeds) if replicate else None
        x, y = case.sample(case.n, 0)
        v = trust(x, y, case.estimator, maps=atlas, tolerances=tol)
        lo, hi = v.interval
        rows.append({"family": case.family, "source": case.source, "estimator": case.estimator, "n": case.n,
                     "quantity": v.quantity, "count_based": parse_spec(case.estimator).count_based,
                     "truth": case.truth, **measured, "estimate": v.estimate, "verdict": v.regime, "map": v.map.regime,
                     "data": v.data.regime,
                     "expected_bias": v.expected_bias, "interval_lo": lo, "interval_hi": hi,
                     "interval_from": v.interval_from, "map_bias": v.map.expected_bias, "map_spread": v.map.spread,
                     "remaining_bias": v.data.remaining_bias, "data_spread": v.data.spread, "coverage": v.data.coverage,
                     "coincidences": v.data.coincidences, "ceiling": v.ceiling,
                     "checks": None if v.checks is None else v.checks.regime,
                     "reference": math.nan if v.checks is None else v.checks.reference,
                     "reference_se": math.nan if v.checks is None else v.checks.reference_se,
                     "null": math.nan if v.checks is None else v.checks.null,
                     "agree": agrees(v.regime, measured),
                     "covered": bool(lo <= case.truth <= hi) if math.isfinite(lo) else None,
                     "gross_error": abs(measured["bias"]) > 3 * tol.abs_tol})
        if again is not None:
            rows[-1].update({"measured_again": again["measured"], "agree_again": agrees(v.regime, again),
                             "self_agree": same_class(measured, again)})
    return pd.DataFrame(rows)


def same_class(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two measurements of one case (two sets of seeds) put it in one class, the
    saturated of one counting as the other's class where its mean sits at the ceiling (as
    :func:`agrees` reads a verdict)."""
    return agrees(first["measured"], second) or agrees(second["measured"], first)


def agreement_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per family: cases, share unknown, agreement among known verdicts, reliable verdicts
    on gross errors (|bias| > 3 tol: must be 0), interval coverage of the truth where the
    measured class is reliable or biased (the interval is about sampling, not saturation),
    and the median interval width (bits) where it is reliable; for replicated rows
    (:func:`evaluate`), also how often the measured class agrees with itself on other
    seeds and how often the verdict agrees with that second measurement."""
    def summary(g: pd.DataFrame) -> pd.Series:
        known = g[g["verdict"] != Regime.UNKNOWN]
        sampled = g[g["measured"].isin([Regime.RELIABLE, Regime.BIASED, Regime.UNSTABLE]) & g["covered"].notna()]
        reliable = sampled[sampled["measured"] == Regime.RELIABLE]
        again = {} if "self_agree" not in g else {  # replicated rows: the measured class against itself
            "measured_self_agreement": known["self_agree"].astype(float).mean() if len(known) else math.nan,
            "agreement_again": known["agree_again"].astype(float).mean() if len(known) else math.nan}
        return pd.Series({"cases": len(g), "unknown": (g["verdict"] == Regime.UNKNOWN).mean(),
                          "agreement": known["agree"].mean() if len(known) else math.nan, **again,
                          "reliable_on_gross_error": int(((g["verdict"] == Regime.RELIABLE) & g["gross_error"]).sum()),
                          "interval_coverage": sampled["covered"].astype(float).mean() if len(sampled) else math.nan,
                          "median_width_reliable": float((reliable["interval_hi"] - reliable["interval_lo"]).median())
                          if len(reliable) else math.nan})

    per_family = results.groupby("family").apply(summary, include_groups=False)
    per_family.loc["all"] = summary(results)
    return per_family


def print_report(results: pd.DataFrame, seconds: float, out: str | None = None) -> None:
    """The agreement tables of development and confirmation rows (families named
    "confirm: ..."), verdict x measured class counts per family, and every case's row to
    ``out`` (CSV) when given: what the scripts/ tables print."""
    confirm = results["family"].str.startswith("confirm")
    for name, part in (("development rows", results[~confirm]), ("confirmation rows", results[confirm])):
        print(f"{name}:\n{agreement_table(part).round(3).to_string()}\n")
    for family, g in results.groupby("family"):
        print(f"\n{family}: verdict (rows) x measured class (columns)")
        print(pd.crosstab(g["verdict"], g["measured"]).to_string())
    print(f"\n{len(results)} cases in {seconds:.0f} s")
    if out:
        results.to_csv(out, index=False)


def held_out_atlas(atlas: Atlas, families: Iterable[str]) -> Atlas:
    """The map without the given families (the verdicts on them then rest on other families).
    A name leaves out the family of that name and every family named after it with a suffix
    (``student_t`` also drops ``student_t_dof1_r50``: the trust suite names its variants so)."""
    families = list(families)
    names = atlas.cells["family"].astype(str)
    keep = ~(names.isin(families) | names.str.startswith(tuple(f"{f}_" for f in families)))
    return Atlas(atlas.cells.loc[keep, COLUMNS].reset_index(drop=True), {**atlas.provenance, "held_out": list(families)})


# -- intervals calibrated by held-out family (split conformal) ---------------------------------
SAMPLING = (Regime.RELIABLE, Regime.BIASED, Regime.UNSTABLE)  # measured classes an interval is judged on
NOT_SCALED = verdicts.STATED  # intervals that state what the sample proves, not an estimate's error
STATED_ENDS = (" and unseen mass", " and repeats")  # intervals with an end stated, not estimated
MIN_SCORES = 30  # judged cases a source needs before it gets a factor of its own


@contextmanager
def unscaled_intervals() -> Iterator[None]:
    """Verdicts with every interval at its raw width (INTERVAL_SCALE 1), as the fit needs them."""
    saved = dict(verdicts.INTERVAL_SCALE)
    verdicts.INTERVAL_SCALE.clear()
    verdicts.INTERVAL_SCALE.update({"counts": 1.0, "continuous": 1.0})
    try:
        yield
    finally:
        verdicts.INTERVAL_SCALE.clear()
        verdicts.INTERVAL_SCALE.update(saved)


def _kind(results: pd.DataFrame) -> pd.Series:
    return np.where(results["count_based"].astype(bool), "counts", "continuous")


def interval_scores(results: pd.DataFrame) -> pd.Series:
    """|truth - centre| / half-width of each case's interval, in half-widths (NaN where the
    interval is not judged: no interval, an exact one, a zero width, or a measured class
    that is not about sampling error)."""
    lo, hi = results["interval_lo"].astype(float), results["interval_hi"].astype(float)
    half = (hi - lo) / 2
    judged = (results["measured"].isin(SAMPLING) & np.isfinite(half) & (half > 0)
              & ~results["interval_from"].isin(NOT_SCALED)
              # an interval dropped to 0 for unseen mass (or lowered for what repeats cannot rule out) is
              # the rule's, not an estimate's error (never widened)
              & ~results["interval_from"].fillna("").str.endswith(STATED_ENDS))
    return ((results["truth"] - (lo + hi) / 2).abs() / half).where(judged)


def conformal_scale(scores: Iterable[float], weights: Iterable[float] | None = None, level: float = 0.9) -> float:
    """The split-conformal factor: the smallest score s with a (weighted) share of at least
    level x (n + 1) / n of the scores at or below it (with equal weights, the
    ceil((n + 1) level)-th smallest score). NaN scores are left out; inf when too few."""
    s = np.asarray(list(scores), dtype=float)
    w = np.ones_like(s) if weights is None else np.asarray(list(weights), dtype=float)
    keep = np.isfinite(s)
    s, w = s[keep], w[keep]
    target = level * (len(s) + 1) / len(s) if len(s) else math.inf
    if target > 1:
        return math.inf
    order = np.argsort(s, kind="stable")
    share = np.cumsum(w[order]) / w.sum()
    return float(s[order][np.searchsorted(share, target - 1e-12)])


def family_scales(results: pd.DataFrame, level: float = 0.9, leave_out: str | None = None) -> dict[str, float]:
    """INTERVAL_SCALE fitted on the cases of every family but ``leave_out``, each family
    weighing the same (a family of many cases must not set the factor for all): one factor
    per estimator kind, and one per kind and interval source ("continuous: truth-free
    checks", ...) where that source has at least MIN_SCORES judged cases from two families
    or more (the sources err by different amounts)."""
    scores, kind = interval_scores(results), _kind(results)
    judged = (results["family"] != leave_out) & scores.notna()
    # an interval the count estimators' panel widened counts with the source it came from (scale_for)
    sources = results["interval_from"].map(verdicts.widened_from, na_action="ignore")
    out = {}
    for name in ("counts", "continuous"):
        part = judged & (kind == name)
        out[name] = _fit(scores, results["family"], part, level)
        for source in sorted(set(sources[part].dropna())):
            here = part & (sources == source)
            if here.sum() >= MIN_SCORES and results.loc[here, "family"].nunique() >= 2:
                out[f"{name}: {source}"] = _fit(scores, results["family"], here, level)
    return out


def _fit(scores: pd.Series, family: pd.Series, part: pd.Series, level: float) -> float:
    """The conformal factor, never below 1: an interval is only ever widened. Below 1 it would
    shrink about its centre, and an interval that had been held at I >= 0 would leave 0: on
    independent pairs (truth 0, raw intervals [0, h], 100 % coverage) a factor of 0.86 fitted
    on other families held the truth in 7 of 40."""
    families = family[part]
    return max(1.0, conformal_scale(scores[part], 1.0 / families.map(families.value_counts()), level))


def rescaled(results: pd.DataFrame, scales: dict[str, float]) -> pd.DataFrame:
    """The rows with each raw interval widened by its factor (its kind and source's, else its
    kind's: :func:`mibench.verdicts.verdict.scale_for`), within [0, inf) as trust does
    (I >= 0; a count-based H >= 0), and ``covered`` recomputed."""
    out = results.copy()
    kind = _kind(results)
    for i in range(len(out)):
        lo, hi, source = out["interval_lo"].iat[i], out["interval_hi"].iat[i], out["interval_from"].iat[i]
        if not (math.isfinite(lo) and math.isfinite(hi)) or source in NOT_SCALED or str(source).endswith(STATED_ENDS):
            continue  # stated, not estimated: trust does not widen them either
        floor = 0.0 if out["quantity"].iat[i] == "I(X;Y)" or kind[i] == "counts" else -math.inf
        lo, hi = within(widened((lo, hi), verdicts.scale_for(scales, kind[i], source)), floor, math.inf)
        out.iloc[i, out.columns.get_loc("interval_lo")] = lo
        out.iloc[i, out.columns.get_loc("interval_hi")] = hi
    finite = np.isfinite(out["interval_lo"].astype(float))
    out["covered"] = ((out["interval_lo"] <= out["truth"]) & (out["truth"] <= out["interval_hi"])).where(finite)
    return out


def held_out_table(results: pd.DataFrame, level: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-family-out: each family's rows with intervals widened by factors fitted on
    the other families only (raw rows, from :func:`unscaled_intervals`), its agreement
    table row, and the factors used. Returns (table, factors per family)."""
    parts, factors = [], {}
    for family in results["family"].unique():
        factors[family] = family_scales(results, level, leave_out=family)
        parts.append(rescaled(results[results["family"] == family], factors[family]))
    return agreement_table(pd.concat(parts)), pd.DataFrame(factors).T
