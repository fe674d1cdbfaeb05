"""``mibench score``: every snapshot of a dump, I(X;T) and I(T;Y), each with a verdict.

I(X;T): with count-based estimators and distinct inputs, a deterministic layer has
I(X;T) = H(T) (Shwartz-Ziv & Tishby's convention), so H(T) is estimated and judged;
with repeated inputs, I(T;X) against the input ids; other estimators use ``inputs``.
Without inputs or input ids, H(T) is scored and the table says so.

A **population** dump (``"population": true``) enumerates its input distribution, each
input once with equal weight, so the plug-in values of the binned variables over all its
rows are their exact values (:func:`population_truth`). Every count-based estimate is
held against that truth by the map's rules (:func:`mibench.judging.regime`, one exact
"seed"): plug-in on the population is exact, and ``reliable``; NSB, Chao-Shen or
Miller-Madow are off by what their corrections add to a distribution that has no unseen
mass, and are ``biased`` beyond the tolerance (their expected bias is then exact too). An
estimate above the quantity's own bound (I(X;T) <= H(X) = log2 N, I(T;Y) <= H(Y)) says so.
A right value on a binned layer that is (all but) injective on the rows (distinct
patterns >= N 2^-delta: H(T) within about delta of log2 N = H(X)) is ``saturated``: the
point then says nothing about the network beyond "every input got its own pattern".
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from mibench.dumps.format import Dump
from mibench.dumps.plane import plane_limits, plot_plane
from mibench.judging import Regime, Tolerances, regime
from mibench.measures import input_information_source
from mibench.registry import make_estimator
from mibench.verdicts.verdict import Verdict, load_atlas, trust

COLUMNS = ["snapshot", "layer", "epoch", "quantity", "estimator", "estimate", "regime", "expected_bias", "bias_lo",
           "bias_hi", "n", "d", "bins", "distinct", "coverage", "ceiling", "ceiling_of", "map_regime", "data_regime",
           "reason"]
BOUNDED = ("tanh", "sign", "quantized", "bnn")  # activations that live in [-1, 1]


def default_estimators(dump: Dump, bins: Iterable[int] = (30,)) -> list[str]:
    """Binned plug-in at each bin count: fixed bins on [-1, 1] for bounded activations
    (tanh, sign, quantized tanh), else bins spread over each snapshot's own range."""
    activation = str(dump.meta.get("activation", "")).lower()
    rule = "rule=fixed, range=(-1.0, 1.0)" if any(a in activation for a in BOUNDED) else "rule=uniform"
    return [make_estimator(f"binned(plugin, {rule}, bins={b})").spec for b in bins]


def score_dump(dump: Dump, estimators: Iterable[str] | None = None, *, maps: Any = None,
               tolerances: Tolerances | dict[str, float] | None = None, progress: bool = False) -> pd.DataFrame:
    """One row per snapshot, quantity and estimator (columns :data:`COLUMNS`)."""
    tol = Tolerances.of(tolerances)
    atlas = maps if maps is not None and not isinstance(maps, (str, Path)) else load_atlas(None if maps is None else str(maps))
    specs = list(estimators or default_estimators(dump))
    ids = _input_ids(dump)
    rows = []
    snapshots = dump.snapshots()
    if progress:
        from tqdm import tqdm

        snapshots = tqdm(snapshots, desc="scoring", unit="snapshot")
    for layer, epoch in snapshots:
        t = dump.snapshot(layer, epoch)
        for spec in specs:
            est = make_estimator(spec)
            for quantity, verdict in _verdicts(est, t, dump, ids, atlas, tol):
                row = _row(layer, epoch, quantity, est, verdict)
                if dump.population and est.count_based:
                    _hold_against_population(row, population_truth(est, quantity, t, dump.labels), tol)
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _input_ids(dump: Dump) -> np.ndarray | None:
    if dump.input_ids is not None:
        return np.asarray(dump.input_ids)
    if dump.inputs is not None:
        return np.unique(dump.inputs, axis=0, return_inverse=True)[1].reshape(-1)
    return None


def _verdicts(est: Any, t: np.ndarray, dump: Dump, ids: np.ndarray | None, atlas: Any,
              tol: Tolerances) -> list[tuple[str, Verdict]]:
    """The quantities of one snapshot, each with its verdict: I(X;T) by the plane's rule
    (:func:`mibench.measures.input_information_source`) and I(T;Y). A layer that gives one
    pattern per input, as the estimator codes it, has I(X;T) = H(T) exactly, whether or not
    inputs repeat: H(T) is then estimated and judged (judging I(X;T) against its own H(T)
    as a ceiling would call a right value saturated). I(T;Y) is bounded by log2 of the number
    of classes, which its interval never passes; rows that repeat an input (same input id)
    count once as evidence (see :func:`mibench.verdicts.verdict.trust`'s ``input_ids``)."""
    out = []
    from_entropy = input_information_source(est) == "H(T)"
    if ids is None:
        out.append(("H(T)", trust(t, None, est, maps=atlas, tolerances=tol)))
    elif from_entropy and _function_of_input(est, t, ids):
        out.append(("I(X;T)", trust(t, None, est, maps=atlas, tolerances=tol)))  # = H(T): deterministic layer
    elif from_entropy:
        out.append(("I(X;T)", trust(t, ids, est, maps=atlas, tolerances=tol)))
    elif dump.inputs is not None:
        out.append(("I(X;T)", trust(t, dump.inputs.astype(np.float64), est, maps=atlas, tolerances=tol)))
    classes = len(np.unique(dump.labels, axis=0))  # I(T;Y) <= H(Y) <= log2 of the number of classes
    out.append(("I(T;Y)", trust(t, dump.labels, est, maps=atlas, tolerances=tol, input_ids=ids,
                                bound=math.log2(classes) if classes > 1 else 0.0)))
    return out


def _function_of_input(est: Any, t: np.ndarray, ids: np.ndarray) -> bool:
    """Whether each input id gets a single pattern of ``t`` as the count-based ``est``
    codes it (a deterministic layer; a stochastic one can give an input two patterns)."""
    if len(np.unique(ids)) == len(ids):
        return True
    codes = est.codes(t)
    rows = np.column_stack([np.asarray(ids).reshape(len(ids), -1), codes[0].cpu().numpy().reshape(len(ids), -1)])
    return len(np.unique(rows, axis=0)) == len(np.unique(ids))


def _row(layer: str, epoch: int, quantity: str, est: Any, v: Verdict) -> dict[str, Any]:
    params = est.get_params()
    return {"snapshot": f"{layer}@{epoch}", "layer": layer, "epoch": epoch, "quantity": quantity, "estimator": est.spec,
            "estimate": v.estimate, "regime": v.regime, "expected_bias": v.expected_bias, "bias_lo": v.bias_range[0],
            "bias_hi": v.bias_range[1], "n": v.n, "d": v.d, "bins": params.get("bins"), "distinct": v.data.distinct,
            "coverage": v.data.coverage, "ceiling": v.ceiling, "ceiling_of": v.ceiling_of, "map_regime": v.map.regime,
            "data_regime": v.data.regime, "reason": v.reason}


def population_truth(est: Any, quantity: str, t: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The exact value (bits) of ``quantity`` for the binned variables of a population
    snapshot, as the count-based ``est`` bins them, and the bound no estimate of it may
    exceed: plug-in with the same binning over every input (each once, equal weight),
    against H(X) = log2 N for I(X;T) or H(T), H(Y) for I(T;Y)."""
    exact = est.counted_by(make_estimator("plugin"))
    if quantity == "I(T;Y)":
        return {"value": float(exact.mutual_information(t, labels)), "bound": float(exact.entropy(labels)),
                "bound_of": "H(Y)"}
    return {"value": float(exact.entropy(t)), "bound": math.log2(len(t)), "bound_of": "H(X)"}


def _hold_against_population(row: dict[str, Any], truth: dict[str, float], tol: Tolerances) -> None:
    """A population row's verdict and expected bias, from its exact value (module notes)."""
    estimate, exact = row["estimate"], truth["value"]
    bias = estimate - exact
    at_ceiling = math.isfinite(row["ceiling"]) and abs(estimate - row["ceiling"]) <= tol.delta
    judged = regime(0, estimate, bias, 0.0, 1, exact, at_ceiling, tol)
    row.update(expected_bias=bias, bias_lo=bias, bias_hi=bias, regime=judged)
    if judged is Regime.UNDEFINED:
        row["reason"] = "the estimator gives no finite value on this population"
        return
    injective = row["distinct"] >= row["n"] * 2.0 ** (-tol.delta)  # H(T) near log2 N = H(X)
    if judged is Regime.RELIABLE and injective:
        row["regime"] = Regime.SATURATED
        row["reason"] = (f"population dump: the binned layer gives {int(row['distinct'])} distinct patterns for "
                         f"{row['n']} inputs (H(T) = log2 N = {math.log2(row['n']):.2f} bits), so the value is exact but "
                         "only says the layer is injective at this bin grid")
        return
    if abs(bias) <= 1e-9:
        row["reason"] = "population dump: every input counted once, so the value is exact for the binned variables"
        return
    row["reason"] = (f"population dump: the exact value of the binned variables is {exact:.3f} bits (every input "
                     f"counted once, plug-in); this estimator gives {estimate:.3f}, {bias:+.3f} bits off")
    if estimate > truth["bound"] + tol.abs_tol:
        row["reason"] += (f", above {truth['bound_of']} = {truth['bound']:.3f} bits, which no {row['quantity']} "
                          "can exceed")


# -- outputs ---------------------------------------------------------------------------
def write_scores(dump: Dump, scores: pd.DataFrame, out: str | Path, source: str = "") -> dict[str, Path]:
    """scores.csv, plane.png (one panel per estimator) and report.md in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"scores": out / "scores.csv", "plane": out / "plane.png", "report": out / "report.md"}
    scores.to_csv(paths["scores"], index=False)
    limits = plane_limits(dump)
    plot_plane(plane_points(scores), limits, paths["plane"], title=source)
    paths["report"].write_text(render_report(scores, limits, source, dump))
    return paths


def plane_points(scores: pd.DataFrame) -> pd.DataFrame:
    """The scored information plane: one row per estimator and snapshot with ``I(X;T)``
    (or H(T)), ``I(T;Y)`` and their regimes, as :func:`mibench.dumps.plane.plot_plane`
    draws it."""
    keys = ["estimator", "layer", "epoch"]
    xt = scores[scores["quantity"].isin(["I(X;T)", "H(T)"])].set_index(keys)
    ty = scores[scores["quantity"] == "I(T;Y)"].set_index(keys)
    merged = xt[["estimate", "regime"]].reset_index().merge(ty[["estimate", "regime"]].reset_index(), on=keys,
                                                             suffixes=("_xt", "_ty"))
    return merged.rename(columns={"estimate_xt": "I(X;T)", "estimate_ty": "I(T;Y)"})


def render_report(scores: pd.DataFrame, limits: dict[str, float], source: str, dump: Dump) -> str:
    """report.md: which layers and epochs can be interpreted, which cannot and why, and
    what would help at this N."""
    n = int(scores["n"].iloc[0]) if len(scores) else dump.n
    lines = [f"# Scores of {source or 'the dump'}", "",
             f"N = {n} rows ({'a population: values are exact for the binned variables' if dump.population else 'a sample'}); "
             f"H(X) = {limits['H(X)']:.2f}, H(Y) = {limits['H(Y)']:.2f}, log2 N = {limits['log2 N']:.2f} bits.", ""]
    if limits["H(Y)"] == 0:
        lines += ["Every row has the same label: I(T;Y) = 0 exactly for every layer.", ""]
    lines += ["| estimator | layer | snapshots | I(X;T) trusted | I(T;Y) trusted | main problem |", "|---|---|---:|---:|---:|---|"]
    for (spec, layer), g in scores.groupby(["estimator", "layer"], sort=False):
        xt = g[g["quantity"] != "I(T;Y)"]
        ty = g[g["quantity"] == "I(T;Y)"]
        bad = g[g["regime"] != Regime.RELIABLE]
        problem = bad["regime"].value_counts().idxmax() if len(bad) else "none"
        lines.append(f"| {spec} | {layer} | {len(ty)} | {(xt['regime'] == Regime.RELIABLE).mean():.0%} | "
                     f"{(ty['regime'] == Regime.RELIABLE).mean():.0%} | {problem} |")
    lines += ["", "## What can be read", ""]
    for spec, g in scores.groupby("estimator", sort=False):
        ok = g.groupby("layer", sort=False)["regime"].apply(lambda r: (r == Regime.RELIABLE).all())
        fine = [layer for layer, v in ok.items() if v]
        lines.append(f"- **{spec}**: " + (f"every snapshot of {', '.join(fine)} can be interpreted. " if fine else
                                          "no layer can be interpreted at every epoch. "))
        saturated = g[g["regime"] == Regime.SATURATED]
        if len(saturated):
            layers = ", ".join(dict.fromkeys(saturated["layer"]))
            lines.append(f"  Saturated in {layers} ({len(saturated)} values): the binned layer gives (nearly) every input "
                         f"its own pattern, so I(X;T) sits at log2 N and I(T;Y) at H(Y) whatever the network does.")
        biased = g[g["regime"].isin([Regime.BIASED, Regime.UNSTABLE, Regime.UNKNOWN])]
        if len(biased):
            lines.append(f"  {len(biased)} values are biased, unstable or unmapped; e.g. {biased['snapshot'].iloc[0]} "
                         f"{biased['quantity'].iloc[0]}: {biased['reason'].iloc[0]}")
    lines += ["", "## What would help at this N", ""]
    lines += _advice(scores, n)
    lines += ["", "Columns of scores.csv: " + ", ".join(COLUMNS) + ". Bits throughout.", ""]
    return "\n".join(lines)


def _advice(scores: pd.DataFrame, n: int) -> list[str]:
    saturated = scores[scores["regime"] == Regime.SATURATED]
    if saturated.empty:
        return ["- Nothing is saturated at this bin grid."]
    bins = saturated["bins"].dropna()
    width = int(scores.loc[saturated.index, "d"].max())
    out = []
    if len(bins):
        b = int(bins.min())
        # a pattern space of b**width cells is counted reliably from N of ~8x the occupied cells (plug-in's frontier)
        fitting = max(2, int(math.floor((n / 8) ** (1 / max(width, 1)))))
        out.append(f"- Fewer bins: at N = {n}, a layer of width {width} stays off its ceiling only when it occupies well "
                   f"under N/8 = {n // 8} patterns, i.e. about {fitting} bins per unit or fewer (now {b}).")
    out.append("- Or a noise-based estimator that does not count patterns (kolchinsky_tracey), reported as I(T+Z; Y), "
               "a different quantity; or more rows (N).")
    return out
