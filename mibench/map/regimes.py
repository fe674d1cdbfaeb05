"""Regimes and frontiers: pure functions of the cells table (:class:`mibench.map.cells.Cell`).

The regime of each group of seeds of one (estimator, family, task, N) is judged by
:mod:`mibench.judging` (its rules, tolerances and the ceiling that applies).

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

from mibench.judging import Regime, Tolerances, judge

GROUP_KEYS = ["estimator", "family", "task_id", "n", "d", "bins"]  # one group of seeds, placed on the map
#: One row of :func:`classify`: the group, what it is scored against, and its judgement.
GROUP_COLUMNS = GROUP_KEYS + ["truth", "joint_entropy", "mean", "std", "bias", "seeds", "failed", "entropy_x", "entropy_y",
                              "ceiling", "ceiling_of", "at_ceiling", "regime"]
FRONTIER_KEY = ["estimator", "family", "bins", "n"]  # one frontier point: see :func:`frontiers`
RESOLUTION = 0.25  # bits: a frontier located at least this finely is "located"
MIN_LAW_POINTS = 3  # located N needed before a frontier law is claimed


def classify(cells: pd.DataFrame, tolerances: Tolerances | dict[str, float] | None = None) -> pd.DataFrame:
    """One row per group (:data:`GROUP_COLUMNS`): mean, std, bias, the ceiling that
    applies, at_ceiling and the regime, judged by :func:`mibench.judging.judge`."""
    tol = Tolerances.of(tolerances)
    if cells.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    frame = cells.assign(bad=~cells["ok"] | cells["estimate"].isna(),
                         **{c: cells[c].astype(float) for c in ("ceiling", "entropy_x", "entropy_y")})
    grouped = frame.groupby(GROUP_KEYS, sort=True, dropna=False)  # bins and d are absent where they do not apply
    out = grouped.agg(
        truth=("truth", "first"),
        joint_entropy=("joint_entropy", "first"),
        mean=("estimate", "mean"),
        std=("estimate", "std"),  # sample std (ddof 1) of the finite seeds; 0 below two of them (filled below)
        seeds=("seed", "size"),
        failed=("bad", "sum"),
        entropy_x=("entropy_x", "mean"),
        entropy_y=("entropy_y", "mean"),
        declared=("ceiling", "mean"),
    ).reset_index()
    out["std"] = out["std"].fillna(0.0)
    judged = [judge(mean=r.mean, std=r.std, seeds=r.seeds, failed=r.failed, truth=r.truth, declared=r.declared,
                    entropy_x=r.entropy_x, entropy_y=r.entropy_y, tol=tol) for r in out.itertuples()]
    for column in ("bias", "ceiling", "ceiling_of", "at_ceiling", "regime"):
        out[column] = [getattr(j, column) for j in judged]
    return out[GROUP_COLUMNS]


def frontier_axis(groups: pd.DataFrame) -> tuple[str, str]:
    """(column, name) of the frontier's axis for these groups: the joint entropy where
    every group states one, else the truth I(X;Y)."""
    return ("joint_entropy", "H(X,Y)") if groups["joint_entropy"].notna().all() else ("truth", "I(X;Y)")


def frontier_point(g: pd.DataFrame, column: str) -> tuple[float, float, str]:
    """(max, upper, status) along ``column`` for the groups of one estimator x family x N."""
    values = g[column].to_numpy(float)
    known = ~np.isnan(values)
    levels, where = np.unique(values[known], return_inverse=True)  # sorted distinct values along the axis
    reliable = np.ones(len(levels), dtype=bool)
    np.logical_and.at(reliable, where, (g["regime"] == Regime.RELIABLE).to_numpy()[known])  # ties must all be reliable
    if reliable.all():
        return float(levels[-1]), math.nan, "beyond grid"
    first_bad = int(np.argmin(reliable))
    if first_bad == 0:
        return math.nan, float(levels[0]), "below grid"
    top, upper = float(levels[first_bad - 1]), float(levels[first_bad])
    return top, upper, ("located" if upper - top <= RESOLUTION + 1e-9 else "bracketed")


def frontiers(regimes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-N frontier points, and per estimator x family x bins the law they support."""
    points = []
    for (est, fam, bins, n), g in regimes.groupby(FRONTIER_KEY, sort=True, dropna=False):
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
        return f"on the true I(X;Y) axis (each N in frontiers.csv): frontier {law['statuses']} over the N of the grid"
    if law["located"] < MIN_LAW_POINTS:
        return f"no law claimed: frontier {law['statuses']} over the N of the grid"
    axis = law["axis"]
    text = ""
    if math.isfinite(law["margin"]):
        text = (f"reliable while log2 N - {axis} >= {law['margin']:.2f} bits "
                f"(located N: {law['margin_lo']:.2f} to {law['margin_hi']:.2f}); ")
    return text + (f"largest reliable {axis} = ({law['intercept']:.2f} ± {law['intercept_se']:.2f}) + "
                   f"({law['slope']:.2f} ± {law['slope_se']:.2f}) log2 N over {law['located']} located N")
