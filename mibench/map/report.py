"""The main job: run a suite and write its regime maps.

Outputs in the results directory: ``results.sqlite`` (every cell), ``cells.csv``,
``regimes.csv``, ``frontiers.csv``, ``frontier_fits.csv``, one heatmap and one
bias-curve PNG per task family, and ``summary.md``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mibench.map.cells import COLUMNS, KEY
from mibench.map.plots import bias_curves, regime_heatmap
from mibench.map.regimes import REGIMES, classify, describe_fit, frontiers
from mibench.map.store import Store
from mibench.map.suite import Suite, load_suite
from mibench.map.sweep import run_sweep


def run_map(
    suite: str | Suite = "default",
    out: str | Path = "mibench-results",
    *,
    jobs: int = 1,
    client: Any = None,
    fresh: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Sweep ``suite`` into ``out`` (resuming what is there) and write every output."""
    suite = load_suite(suite) if isinstance(suite, str) else suite
    store = Store(out, fresh=fresh)
    try:
        stats = run_sweep(suite, store, jobs=jobs, client=client, progress=progress)
        cells = _suite_cells(suite, store)
    finally:
        store.close()
    return {**stats, **write_outputs(suite, cells, Path(out), stats)}


def _suite_cells(suite: Suite, store: Store) -> pd.DataFrame:
    """The stored cells of this suite's groups, placed on this suite's map: ``family``,
    ``d`` and ``bins`` come from the suite, whatever suite first wrote the cell."""
    placement = pd.DataFrame(
        [(*key, g.family, g.d, g.bins) for g in suite.groups for key in g.keys()],
        columns=[*KEY, "family", "d", "bins"],
    ).astype({"bins": "Int64"})
    cells = store.cells().drop(columns=["family", "d", "bins"])
    return placement.merge(cells, on=list(KEY), how="inner")[list(COLUMNS)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def write_outputs(suite: Suite, cells: pd.DataFrame, out: Path, stats: dict[str, Any]) -> dict[str, Any]:
    """Tidy CSVs, figures and summary.md from the cells of one suite."""
    stats = {**stats, "failed": int((~cells["ok"]).sum()) if not cells.empty else 0}
    regimes = classify(cells, suite.tolerances)
    points, fits = frontiers(regimes)
    cells.to_csv(out / "cells.csv", index=False)
    regimes.to_csv(out / "regimes.csv", index=False)
    points.to_csv(out / "frontiers.csv", index=False)
    fits.to_csv(out / "frontier_fits.csv", index=False)
    figures = []
    for family in sorted(regimes["family"].unique()):
        label = suite.d_label(family)
        figures.append(regime_heatmap(regimes, family, label, out / f"map_{_slug(family)}.png"))
        figures.append(bias_curves(regimes, family, label, suite.tolerances["abs_tol"], out / f"bias_{_slug(family)}.png"))
    summary = out / "summary.md"
    summary.write_text(render_summary(suite, regimes, fits, stats, figures))
    return {"regimes": regimes, "fits": fits, "figures": figures, "summary": summary, "failed": stats["failed"]}


def render_summary(suite: Suite, regimes: pd.DataFrame, fits: pd.DataFrame, stats: dict[str, Any], figures: list[Path]) -> str:
    tol = suite.tolerances
    lines = [
        f"# mibench map: suite `{suite.name}`",
        "",
        suite.description,
        "",
        f"{stats['cells_total']} cells ({stats['cells_run']} run now in {stats['seconds']:.0f} s, {stats['cells_skipped']} "
        f"already stored; {stats['failed']} failed, see the error column of cells.csv). Grid: N = {', '.join(map(str, suite.n))}; "
        f"D = {', '.join(map(str, suite.d))}; bins = {', '.join(map(str, suite.bins))}; {len(suite.seeds)} seeds.",
        "",
        f"A group of seeds is **reliable** when |mean bias| <= {tol['abs_tol']} bit (or {tol['rel_tol']:.0%} of the truth) "
        f"and the seed std <= {tol['std_tol']} bit; **saturated** when the mean sits within {tol['delta']} bit of the "
        "estimator's ceiling for that N (plug-in: log2 N) while the truth lies above it; **unstable** when the std is "
        "too large; **biased** otherwise; **undefined** when a seed gave NaN or failed.",
        "",
        "*Where reliability ends*: at each N, the largest value such that every group at or below it is reliable. "
        "On families whose joint entropy H(X,Y) is finite (discrete codes, quantized units) that value is H(X,Y), the "
        "entropy of the codes a count-based estimator must resolve, and the margin log2 N - H(X,Y) at the boundary says "
        "how far below its log2 N ceiling the estimator stays reliable; on continuous families it is I(X;Y). "
        "The dashed line on the heatmaps marks where that value equals log2 N.",
        "",
    ]
    for family in sorted(regimes["family"].unique()):
        data = regimes[regimes["family"] == family]
        lines += [f"## {family} ({suite.d_label(family)} on the vertical axis)", ""]
        lines += ["| estimator | " + " | ".join(REGIMES) + " | where reliability ends |", "|---|" + "---|" * (len(REGIMES) + 1)]
        for spec, g in data.groupby("estimator", sort=True):
            shares = g["regime"].value_counts(normalize=True)
            fit_rows = fits[(fits["estimator"] == spec) & (fits["family"] == family)] if not fits.empty else fits
            where = "; ".join(
                (f"bins={int(f['bins'])}: " if pd.notna(f["bins"]) else "") + describe_fit(f) for f in fit_rows.to_dict("records")
            )
            lines.append(f"| `{spec}` | " + " | ".join(f"{shares.get(r, 0):.0%}" for r in REGIMES) + f" | {where} |")
        lines.append("")
        for fig in figures:
            if fig.stem in (f"map_{_slug(family)}", f"bias_{_slug(family)}"):
                lines.append(f"![{fig.stem}]({fig.name})")
        lines.append("")
    lines += ["Files: `results.sqlite` (every cell), `cells.csv`, `regimes.csv`, `frontiers.csv`, `frontier_fits.csv`."]
    return "\n".join(lines) + "\n"
