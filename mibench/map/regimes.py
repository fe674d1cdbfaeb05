"""Regimes and frontiers: pure functions of the cells table (:class:`mibench.map.cells.Cell`).

The rules, in the order they are decided, per group of seeds of one (estimator,
family, task, N), with bias = mean - truth, SE = std / sqrt(seeds) and the tolerance
tol = max(abs_tol, rel_tol * |truth|) (rel_tol is off, 0, unless a suite sets it):

1. ``undefined``: some seed gave NaN or an error (e.g. NSB without coincidences).
2. ``saturated``: the mean sits within ``delta`` of the ceiling that applies and
   |bias| > tol, whichever side of that ceiling the truth lies: the estimate is what
   the sample size allows, not what the data say.
3. ``reliable``: |bias| <= tol and the seed std <= tol.
4. ``biased``: |bias| > tol and |bias| > 3 SE (significant).
5. ``unstable``: otherwise: the spread exceeds tol while the bias is not significant.

Every group also carries ``at_ceiling`` (mean within delta of the ceiling that
applies), so an estimate that is right but sits at its ceiling stays visible.

The ceiling that applies (``ceiling``, and ``ceiling_of`` naming it): the estimator's
declared ceiling at N, c (its value when every row is distinct, e.g. log2 N for
plug-in; ``ceiling_of = "N"``), except for count-based I(X;Y): once the richer side is
exhausted (its own H estimate within delta of c: its rows all but distinct), the
estimate equals the other side's own H estimate, so that is the ceiling
(``"H(Y)"`` / ``"H(X)"``; ``"N"`` when both sides are exhausted). With class labels on
one side only (Kolchinsky-Tracey) the ceiling is min(c, H(Y) of the labels).

Frontier, per estimator x family x bins and N, on the family's difficulty axis (the
joint entropy H(X,Y) where every task states one, else the truth I(X;Y)): ``max`` is
the largest value such that every group at or below it is reliable, ``upper`` the
smallest value above it that is not; the frontier lies between, to within
``upper - max`` bits. ``status``: ``located`` (to within :data:`RESOLUTION`),
``bracketed`` (wider), ``beyond grid`` (every group reliable) or ``below grid`` (none).
Off-grid cells (``d`` absent) placed by the map to narrow a bracket count like any.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mibench.map.suite import TOLERANCES

REGIMES = ("reliable", "biased", "saturated", "unstable", "undefined")
GROUP_KEYS = ["estimator", "family", "task_id", "n", "d", "bins"]
RESOLUTION = 0.25  # bits: a frontier located at least this finely is "located"
MIN_LAW_POINTS = 3  # located N needed before a frontier law is claimed
RULES_TEXT = (
    "A group of seeds (one estimator, task and N) is, in this order: **undefined** if a seed failed or gave NaN; "
    "**saturated** if its mean sits within delta = {delta:g} bit of the ceiling that applies (the estimator's value "
    "when every row is distinct, e.g. log2 N for plug-in, or, for I(X;Y) once one side's rows are all distinct, the "
    "estimator's own H of the other side, e.g. H(Y) of the labels) while |bias| exceeds the tolerance; **reliable** if "
    "|bias| and the seed std are both within the tolerance; **biased** if |bias| exceeds the tolerance and 3 standard "
    "errors; **unstable** otherwise (the spread exceeds the tolerance, the bias is not significant). Tolerance: "
    "{tolerance}. A group at its ceiling but within tolerance stays reliable and is flagged `at_ceiling`."
)


def tolerance_text(tol: dict[str, float]) -> str:
    if tol["rel_tol"]:
        return f"{tol['abs_tol']:g} bit or {tol['rel_tol']:.0%} of the truth, whichever is larger"
    return f"{tol['abs_tol']:g} bit"


def rules_text(tolerances: dict[str, float] | None = None) -> str:
    """The regime rules in plain words, with the tolerances in force."""
    tol = {**TOLERANCES, **(tolerances or {})}
    return RULES_TEXT.format(delta=tol["delta"], tolerance=tolerance_text(tol))


def classify(cells: pd.DataFrame, tolerances: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per group: mean, std, bias, the ceiling that applies, at_ceiling, regime."""
    tol = {**TOLERANCES, **(tolerances or {})}
    columns = GROUP_KEYS + ["truth", "joint_entropy", "mean", "std", "bias", "seeds", "failed", "entropy_x", "entropy_y",
                            "ceiling", "ceiling_of", "at_ceiling", "regime"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    frame = cells.assign(bad=~cells["ok"] | cells["estimate"].isna(),
                         **{c: cells[c].astype(float) for c in ("ceiling", "entropy_x", "entropy_y")})
    grouped = frame.groupby(GROUP_KEYS, sort=True, dropna=False)  # bins and d are absent where they do not apply
    out = grouped.agg(
        truth=("truth", "first"),
        joint_entropy=("joint_entropy", "first"),
        mean=("estimate", "mean"),
        std=("estimate", lambda v: float(np.std(v.dropna(), ddof=1)) if v.notna().sum() > 1 else 0.0),
        seeds=("seed", "size"),
        failed=("bad", "sum"),
        entropy_x=("entropy_x", "mean"),
        entropy_y=("entropy_y", "mean"),
        declared=("ceiling", "mean"),
    ).reset_index()
    out["bias"] = out["mean"] - out["truth"]
    applied = [applicable_ceiling(c, hx, hy, tol["delta"]) for c, hx, hy in zip(out["declared"], out["entropy_x"], out["entropy_y"])]
    out["ceiling"] = [a[0] for a in applied]
    out["ceiling_of"] = [a[1] for a in applied]
    out["at_ceiling"] = (out["mean"] - out["ceiling"]).abs() <= tol["delta"]
    out["regime"] = [regime(r.failed, r.mean, r.bias, r.std, r.seeds, r.truth, r.at_ceiling, tol) for r in out.itertuples()]
    return out[columns]


def applicable_ceiling(declared: float, h_x: float, h_y: float, delta: float) -> tuple[float, str | None]:
    """(ceiling, what it is) for a group: see the module notes. NaN inputs mean unknown."""
    if math.isnan(h_x) and math.isnan(h_y):
        return declared, ("N" if math.isfinite(declared) else None)
    if math.isnan(h_x) or math.isnan(h_y):  # a label side only: the estimate cannot exceed its entropy
        side, of = (h_y, "H(Y)") if math.isnan(h_x) else (h_x, "H(X)")
        return (side, of) if not side >= declared else (declared, "N")
    richer, poorer, of = (h_x, h_y, "H(Y)") if h_x >= h_y else (h_y, h_x, "H(X)")
    if math.isfinite(declared) and richer >= declared - delta and poorer < declared - delta:
        return poorer, of
    return declared, ("N" if math.isfinite(declared) else None)


def regime(failed: int, mean: float, bias: float, std: float, seeds: int, truth: float, at_ceiling: bool,
           tol: dict[str, float]) -> str:
    """The regime of one group, by the rules in the module notes."""
    if failed > 0 or not math.isfinite(mean):
        return "undefined"
    allowed = max(tol["abs_tol"], tol["rel_tol"] * abs(truth))
    if at_ceiling and abs(bias) > allowed:
        return "saturated"
    if abs(bias) <= allowed and std <= allowed:
        return "reliable"
    if abs(bias) > allowed and abs(bias) > 3 * std / math.sqrt(seeds):
        return "biased"
    return "unstable"


def frontier_axis(groups: pd.DataFrame) -> tuple[str, str]:
    """(column, name) of the frontier's axis for these groups: the joint entropy where
    every group states one, else the truth I(X;Y)."""
    return ("joint_entropy", "H(X,Y)") if groups["joint_entropy"].notna().all() else ("truth", "I(X;Y)")


def frontier_point(g: pd.DataFrame, column: str) -> tuple[float, float, str]:
    """(max, upper, status) along ``column`` for the groups of one estimator x family x N."""
    per_value = (g["regime"] == "reliable").groupby(g[column].astype(float)).all()  # ties must all be reliable
    reliable = per_value.to_numpy()
    if reliable.all():
        return float(per_value.index[-1]), math.nan, "beyond grid"
    first_bad = int(np.argmin(reliable))
    if first_bad == 0:
        return math.nan, float(per_value.index[0]), "below grid"
    top, upper = float(per_value.index[first_bad - 1]), float(per_value.index[first_bad])
    return top, upper, ("located" if upper - top <= RESOLUTION + 1e-9 else "bracketed")


def frontiers(regimes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-N frontier points, and per estimator x family x bins the law they support."""
    points = []
    for (est, fam, bins, n), g in regimes.groupby(["estimator", "family", "bins", "n"], sort=True, dropna=False):
        column, axis = frontier_axis(g)
        top, upper, status = frontier_point(g, column)
        grid = g[g["d"].notna()]
        d_max = frontier_point(grid, "d")[0] if len(grid) else math.nan
        points.append({"estimator": est, "family": fam, "bins": bins, "n": n, "axis": axis, "max": top, "upper": upper,
                       "status": status, "margin": math.log2(n) - top if axis == "H(X,Y)" else math.nan, "d_max": d_max})
    points_df = pd.DataFrame(points)
    fits = []
    if not points_df.empty:
        for (est, fam, bins), g in points_df.groupby(["estimator", "family", "bins"], sort=True, dropna=False):
            fits.append({"estimator": est, "family": fam, "bins": bins, **frontier_law(g)})
    return points_df, pd.DataFrame(fits)


def frontier_law(points: pd.DataFrame) -> dict:
    """The law the located points of one estimator x family x bins support: the margin
    log2 N - H(X,Y) (median and range) and max ~ a + b log2 N with standard errors, only
    from at least :data:`MIN_LAW_POINTS` located N, and only on the H(X,Y) axis: on
    continuous families the largest reliable I is a grid value, not a law in log2 N."""
    located = points[points["status"] == "located"]
    law = {"axis": points["axis"].iloc[0], "located": len(located), "statuses": _status_counts(points),
           "margin": math.nan, "margin_lo": math.nan, "margin_hi": math.nan,
           "intercept": math.nan, "slope": math.nan, "intercept_se": math.nan, "slope_se": math.nan}
    if len(located) < MIN_LAW_POINTS or law["axis"] != "H(X,Y)":
        return law
    law.update(margin=float(located["margin"].median()), margin_lo=float(located["margin"].min()),
               margin_hi=float(located["margin"].max()))
    x = np.log2(located["n"].to_numpy(float))
    y = located["max"].to_numpy(float)
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(x) - 2
    resid = float(np.sum((y - design @ coef) ** 2)) / dof if dof > 0 else math.nan
    cov = resid * np.linalg.inv(design.T @ design)
    law.update(intercept=float(coef[0]), slope=float(coef[1]), intercept_se=float(math.sqrt(cov[0, 0])),
               slope_se=float(math.sqrt(cov[1, 1])))
    return law


def _status_counts(points: pd.DataFrame) -> str:
    counts = points["status"].value_counts()
    return ", ".join(f"{counts[s]} {s}" for s in ("located", "bracketed", "beyond grid", "below grid") if s in counts)


def describe_law(law: dict) -> str:
    """One line a person can read: where reliability ends, and how well that is known."""
    if law["axis"] != "H(X,Y)":
        return f"on the true I(X;Y) axis (see the table above): frontier {law['statuses']} over the N of the grid"
    if law["located"] < MIN_LAW_POINTS:
        return f"no law claimed: frontier {law['statuses']} over the N of the grid"
    axis = law["axis"]
    text = ""
    if math.isfinite(law["margin"]):
        text = (f"reliable while log2 N - {axis} >= {law['margin']:.2f} bits "
                f"(located N: {law['margin_lo']:.2f} to {law['margin_hi']:.2f}); ")
    return text + (f"largest reliable {axis} = ({law['intercept']:.2f} ± {law['intercept_se']:.2f}) + "
                   f"({law['slope']:.2f} ± {law['slope_se']:.2f}) log2 N over {law['located']} located N")
