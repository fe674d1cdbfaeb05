"""Regimes and frontiers: pure functions of the cells table.

Per (estimator, family, task, N, D, bins), over seeds, with bias = mean - truth:

- ``reliable``: |bias| <= abs_tol or |bias| <= rel_tol * truth, and std <= std_tol;
- ``saturated``: the mean is within ``delta`` of the estimator's ceiling for that N
  (e.g. log2 N for plug-in) while the truth lies above the ceiling;
- ``unstable``: std > std_tol;
- ``biased``: otherwise;
- ``undefined``: some seed gave NaN or an error (e.g. NSB without coincidences).

Frontier: for each estimator x family x bins and each N, the largest value of the
family's difficulty axis such that every group at or below it is reliable, and the
largest D reliably estimated. The axis is the joint entropy H(X,Y) where the task
states one (discrete and quantized families: the entropy of the codes a count-based
estimator must resolve, so the margin log2 N - H(X,Y) at the boundary says how far
below its log2 N ceiling it stays reliable), else the truth I(X;Y). Then a
least-squares line max = a + b log2 N over the N where the frontier lies inside the
grid, and the median margin.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mibench.map.suite import TOLERANCES

REGIMES = ("reliable", "biased", "saturated", "unstable", "undefined")
GROUP_KEYS = ["estimator", "family", "task_id", "n", "d", "bins"]


def classify(cells: pd.DataFrame, tolerances: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per group: mean, std, bias, ceiling and regime. ``cells`` has the
    columns of :class:`mibench.map.cells.Cell` (the ceiling is stored per cell)."""
    tol = {**TOLERANCES, **(tolerances or {})}
    if cells.empty:
        return pd.DataFrame(columns=GROUP_KEYS + ["truth", "joint_entropy", "mean", "std", "bias", "seeds", "failed", "ceiling", "regime"])
    frame = cells.assign(bad=~cells["ok"] | cells["estimate"].isna(), ceiling=cells["ceiling"].astype(float))
    grouped = frame.groupby(GROUP_KEYS, sort=True, dropna=False)  # bins is absent where nothing is binned
    out = grouped.agg(
        truth=("truth", "first"),
        joint_entropy=("joint_entropy", "first"),
        ceiling=("ceiling", "first"),
        mean=("estimate", "mean"),
        std=("estimate", lambda v: float(np.std(v.dropna(), ddof=1)) if v.notna().sum() > 1 else 0.0),
        seeds=("seed", "size"),
        failed=("bad", "sum"),
    ).reset_index()
    out["bias"] = out["mean"] - out["truth"]
    out["regime"] = [_regime(r, tol) for r in out.itertuples()]
    return out


def _regime(row: object, tol: dict[str, float]) -> str:
    if row.failed > 0 or not math.isfinite(row.mean):  # type: ignore[attr-defined]
        return "undefined"
    bias, std, truth, top = row.bias, row.std, row.truth, row.ceiling  # type: ignore[attr-defined]
    if (abs(bias) <= tol["abs_tol"] or abs(bias) <= tol["rel_tol"] * abs(truth)) and std <= tol["std_tol"]:
        return "reliable"
    if math.isfinite(top) and abs(row.mean - top) <= tol["delta"] and truth > top:  # type: ignore[attr-defined]
        return "saturated"
    if std > tol["std_tol"]:
        return "unstable"
    return "biased"


def frontier_axis(groups: pd.DataFrame) -> tuple[str, str]:
    """(column, name) of the frontier's axis for these groups: the joint entropy where
    every group states one, else the truth I(X;Y)."""
    return ("joint_entropy", "H(X,Y)") if groups["joint_entropy"].notna().all() else ("truth", "I(X;Y)")


def frontiers(regimes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-N frontier points and the fitted line per estimator x family x bins."""
    points = []
    for (est, fam, bins, n), g in regimes.groupby(["estimator", "family", "bins", "n"], sort=True, dropna=False):
        column, axis = frontier_axis(g)
        top, _ = _last_reliable(g, column)
        d_max, all_reliable = _last_reliable(g, "d")
        points.append({"estimator": est, "family": fam, "bins": bins, "n": n, "axis": axis, "max": top,
                       "margin": math.log2(n) - top if axis == "H(X,Y)" else math.nan,
                       "d_max": d_max, "all_reliable": all_reliable})
    points_df = pd.DataFrame(points)
    fits = []
    if not points_df.empty:
        for (est, fam, bins), g in points_df.groupby(["estimator", "family", "bins"], sort=True, dropna=False):
            # Only N where the frontier sits inside the grid says where reliability ends.
            inner = g[g["max"].notna() & ~g["all_reliable"]]
            slope = intercept = math.nan
            if len(inner) >= 2:
                slope, intercept = np.polyfit(np.log2(inner["n"].astype(float)), inner["max"], 1)
            d_max = ", ".join(f"N={int(n)}: {'-' if math.isnan(d) else int(d)}" for n, d in zip(g["n"], g["d_max"]))
            fits.append({"estimator": est, "family": fam, "bins": bins, "axis": g["axis"].iloc[0], "points": len(inner),
                         "intercept": float(intercept), "slope": float(slope),
                         "median_margin": float(inner["margin"].median()) if len(inner) else math.nan,
                         "d_max_by_n": d_max})
    return points_df, pd.DataFrame(fits)


def _last_reliable(g: pd.DataFrame, column: str) -> tuple[float, bool]:
    """Largest value of ``column`` such that every group at or below it is reliable
    (groups that tie on the value must all be reliable)."""
    per_value = (g["regime"] == "reliable").groupby(g[column].astype(float)).all()  # sorted by value
    reliable = per_value.to_numpy()
    upto = int(np.argmin(reliable)) if not reliable.all() else len(reliable)
    return (float(per_value.index[upto - 1]) if upto else math.nan), bool(reliable.all())


def describe_fit(fit: dict) -> str:
    """One line a person can read: where reliability ends."""
    if not fit["points"]:
        return f"no interior frontier on this grid; largest reliable D by N: {fit['d_max_by_n']}"
    axis = fit["axis"]
    if math.isfinite(fit["median_margin"]):
        text = f"reliable iff log2 N - {axis} >= {fit['median_margin']:.1f} bits (median over {fit['points']} N)"
    else:
        text = f"reliability ends inside the grid at {fit['points']} N"
    if math.isfinite(fit["slope"]):
        text += f"; largest reliable {axis} ~ {fit['intercept']:.2f} + {fit['slope']:.2f} log2 N"
    return text + f"; largest reliable D by N: {fit['d_max_by_n']}"
