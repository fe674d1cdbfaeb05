"""The main job's outputs: what a suite's cells say, as tables, figures and a summary.

Written into the suite's results directory (beside ``results.sqlite``, every cell):
``cells.csv``, ``regimes.csv``, ``frontiers.csv`` (per estimator, family and N: where
reliability ends, how finely that is known, and where exact theory puts it),
``frontier_laws.csv``, one heatmap and one bias-curve PNG per task family, and
``summary.md``. :mod:`mibench.map.run` runs the suite and calls :func:`write_outputs`.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from mibench._version import __version__
from mibench.judging import REGIMES, Regime, rules_text
from mibench.map.locate import resolution_note, theory_biases, theory_frontiers
from mibench.map import plots
from mibench.map.plots import bias_curves, regime_heatmap
from mibench.map.regimes import classify, describe_law, frontier_axis, frontiers
from mibench.map.suite import Suite
from mibench.map.sweep import WorkerPool
from mibench.tasks import TASKS

OUTPUT_GLOBS = ("map_*.png", "bias_*.png", "*.csv", "summary.md", "figures.json")  # what write_outputs owns in a results directory


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def family_order(suite: Suite, families: list[str]) -> list[str]:
    """Network-like families (a layer's units or codes) first, then the suite's order."""
    entries = {t.family: t for t in suite.tasks}
    listed = [f for f in (t.family for t in suite.tasks) if f in families]
    return sorted(listed, key=lambda f: not TASKS[entries[f].name].network_like)


def _counts_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its bin counts and dimensions as integers (empty where none): a column
    with a missing value is float in pandas, and would be written 30.0 in one file, 30 in another."""
    counts = [c for c in ("bins", "d") if c in frame and pd.api.types.is_numeric_dtype(frame[c])]
    return frame.astype({c: "Int64" for c in counts}) if counts else frame


def write_outputs(suite: Suite, cells: pd.DataFrame, out: Path, stats: dict[str, Any],
                  workers: WorkerPool | None = None) -> dict[str, Any]:
    """Tidy CSVs, figures and summary.md from the cells of one suite; outputs of an
    earlier run that this one does not rewrite (a family no longer mapped) are removed.
    Figures are drawn on the warm ``workers`` when given, side by side."""
    stats = {**stats, "failed": int((~cells["ok"]).sum()) if not cells.empty else 0, "stored": len(cells)}
    regimes = classify(cells, suite.tolerances)
    regimes["theory_bias"] = theory_biases(regimes)
    points, laws = frontiers(regimes)
    if not points.empty:
        points["theory"] = theory_frontiers(suite, points)
    families = family_order(suite, list(regimes["family"].unique()))
    written = [out / "cells.csv", out / "regimes.csv", out / "frontiers.csv", out / "frontier_laws.csv", out / "summary.md"]
    for frame, path in zip((cells, regimes, points, laws), written):
        _counts_as_integers(frame).to_csv(path, index=False)
    draw, drawn_before = [], _fingerprints(out)
    for family in families:
        label = suite.d_label(family)
        fam_points = points[points["family"] == family] if not points.empty else points
        rows = regimes[regimes["family"] == family]  # each figure gets only its family's rows
        for suffix, part, part_rows in figure_parts(rows):
            name = _slug(family) + suffix
            draw.append((regime_heatmap, part_rows, family, label, out / f"map_{name}.png", fam_points,
                         _caps(suite, family), part))
            draw.append((bias_curves, part_rows, family, label, suite.tolerances, out / f"bias_{name}.png", part))
    figures = [_figure_path(job) for job in draw]
    prints = {path.name: _fingerprint(job) for path, job in zip(figures, draw)}
    todo = [job for job in draw if not _current(_figure_path(job), prints, drawn_before)]  # redraw only what changed
    if workers is None or len(todo) < 2:
        for job in todo:
            _draw(job)
    else:
        list(workers.executor().map(_draw, todo))
    (out / FINGERPRINTS).write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    written[4].write_text(render_summary(suite, regimes, points, laws, stats, figures, families))
    keep = set(written) | set(figures) | {out / "results.sqlite", out / FINGERPRINTS}
    for pattern in OUTPUT_GLOBS:
        for stale in out.glob(pattern):
            if stale not in keep:
                stale.unlink()
    return {"regimes": regimes, "points": points, "laws": laws, "figures": figures, "summary": written[4],
            "failed": stats["failed"], "stored": stats["stored"], "redrawn": len(todo)}


MAX_PANELS = 12  # panels in one family's figure before it is drawn in two parts (26 read as colour only)


def figure_parts(rows: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(file-name suffix, title part, rows) of each figure a family's rows are drawn in: one
    figure, or, past MAX_PANELS panels with binned and other estimators both present (the
    continuous families, layer codes), the estimators on the values as given and the binned
    ones apart."""
    binned = rows["estimator"].str.startswith("binned(")
    panels = len(rows[["estimator", "bins"]].drop_duplicates()) if not rows.empty else 0
    if panels <= MAX_PANELS or binned.all() or not binned.any():
        return [("", "", rows)]
    return [("", "estimators on the values as given", rows[~binned]), ("_binned", "binned estimators", rows[binned])]


FINGERPRINTS = "figures.json"  # each figure's fingerprint, so that a rerun redraws only the figures whose data changed


def _fingerprint(job: tuple) -> str:
    """What a figure is drawn from: its rows and arguments, and the drawing code itself."""
    digest = hashlib.sha256()
    digest.update(_PLOT_SOURCE)
    for arg in job[1:]:
        if isinstance(arg, pd.DataFrame):
            digest.update(pd.util.hash_pandas_object(arg, index=False).to_numpy().tobytes())
            digest.update(",".join(map(str, arg.columns)).encode())
        elif not isinstance(arg, Path):
            digest.update(repr(arg).encode())
    return digest.hexdigest()


def _fingerprints(out: Path) -> dict[str, str]:
    try:
        found = json.loads((out / FINGERPRINTS).read_text())
    except (OSError, ValueError):  # none yet, or unreadable: everything is drawn
        return {}
    return found if isinstance(found, dict) else {}


def _figure_path(job: tuple) -> Path:
    """Where a drawing job writes its figure (the one Path among its arguments)."""
    return next(arg for arg in job[1:] if isinstance(arg, Path))


def _current(path: Path, prints: dict[str, str], before: dict[str, str]) -> bool:
    return path.is_file() and before.get(path.name) == prints[path.name]


def _plot_source() -> bytes:
    """The drawing code (a change to it redraws every figure); the version where no source ships."""
    try:
        return inspect.getsource(plots).encode()
    except (OSError, TypeError):
        return __version__.encode()


_PLOT_SOURCE = _plot_source()


def _draw(job: tuple) -> Path:
    plot, *args = job
    return plot(*args)


def _own_grid(entry: Any) -> str:
    """"; family F on its own N / D ..." for a family that does not use the suite's grid."""
    axes = [f"{axis} = {', '.join(map(str, values))}" for axis, values in (("N", entry.n), ("D", entry.d)) if values]
    return f"; {entry.family} on its own {' and '.join(axes)}" if axes else ""


def _caps(suite: Suite, family: str) -> dict[str, tuple[float, float]]:
    """(max_n, max_d) of each estimator the suite caps on this family, by spec (max_d
    does not bound a family with its own D axis)."""
    entry = next(t for t in suite.tasks if t.family == family)
    caps = {e.spec: limit.bounds(entry) for e, limit in zip(suite.estimators, suite.limits) if limit.allows(entry)}
    return {spec: cap for spec, cap in caps.items() if cap != (math.inf, math.inf)}


LONG_SPEC = 40  # characters: a spec longer than this (a critic's budget) is shortened in "Where to start"


def abbreviations(specs: Any) -> dict[str, str]:
    """Short names for long specs ("infonce(…)" for a critic's full budget), where the
    estimator's name has only one such spec among ``specs``; the summary lists each in full
    once, under the table."""
    long_specs = [s for s in dict.fromkeys(specs) if len(s) > LONG_SPEC and "(" in s and not s.startswith("binned(")]
    names = [s[: s.index("(")] for s in long_specs]
    return {s: f"{name}(…)" for s, name in zip(long_specs, names) if names.count(name) == 1}


def best_by_n(points: pd.DataFrame, families: list[str], short: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """For each family and N: the estimator(s) reliable to the largest value on the
    frontier's axis, that value, and the largest grid D they handle reliably; ``short``
    names long specs (:func:`abbreviations`)."""
    short = short or {}
    rows = []
    for family in families:
        fam = points[points["family"] == family]
        for n, g in fam.groupby("n", sort=True):
            usable = g[g["max"].notna()]
            if usable.empty:
                rows.append({"family": family, "n": int(n), "best": "none reliable", "max": math.nan, "axis": g["axis"].iloc[0],
                             "d_max": math.nan, "beyond": False})
                continue
            top = usable["max"].max()
            winners = usable[usable["max"] >= top - 1e-9]
            names = [_with_bins(short.get(r.estimator, r.estimator), r.bins) for r in winners.itertuples()]
            rows.append({"family": family, "n": int(n), "best": _tied_names(names),
                         "max": float(top), "axis": g["axis"].iloc[0], "d_max": float(winners["d_max"].max()),
                         "beyond": bool((winners["status"] == "beyond grid").any())})
    return rows


FALL = 0.25  # bits: a reach lower at a larger N by more than the frontier's resolution is explained


def falling_reach(best: list[dict[str, Any]], points: pd.DataFrame, regimes: pd.DataFrame) -> list[str]:
    """A line for each family whose best reach falls as N grows (more rows cannot make an
    estimate worse on their own), saying why from the cells: the estimators that reached
    further are not run at the larger N (their cap), or the one that did has a bias on that
    task that moves away from 0 as N grows — where it crosses 0, it was reliable at the
    smaller N because biases of opposite sign cancelled (a difference of entropies whose
    terms' biases shrink at different rates), not because N sufficed."""
    lines = []
    by_family: dict[str, list[dict[str, Any]]] = {}
    for row in best:
        if not math.isnan(row["max"]):
            by_family.setdefault(row["family"], []).append(row)
    for family, rows in by_family.items():
        for before, after in zip(rows, rows[1:]):
            if after["max"] >= before["max"] - FALL:
                continue
            head = (f"Reach falls with N on {family}: {before['axis']} = {before['max']:.2f} at N = {before['n']}, "
                    f"{after['max']:.2f} at N = {after['n']}.")
            winners = points[(points["family"] == family) & (points["n"] == before["n"])
                             & (points["max"] >= before["max"] - 1e-9)]["estimator"].unique()
            mine = regimes[regimes["family"] == family]
            column, _ = frontier_axis(mine)  # H(X,Y) on discrete families, the true I on continuous ones
            task = mine[(mine[column] - before["max"]).abs() < 1e-6]  # the task(s) at that level, any D
            curves = {spec: task[task["estimator"] == spec].groupby("n")["bias"].mean() for spec in winners}
            ran = [spec for spec in winners if after["n"] in curves[spec].index]
            if not ran:
                lines.append(f"{head} The estimators that reached it ({', '.join(f'`{w}`' for w in winners)}) are not "
                             f"run at N = {after['n']} (the suite caps them), so that N's best is another estimator.")
                continue
            spec = ran[0]
            bias = curves[spec]
            trail = ", ".join(f"{b:+.2f} at N = {n}" for n, b in bias.items() if n <= after["n"])
            crossed = bool(((bias[bias.index < before["n"]] * bias[before["n"]]) < 0).any())
            why = (f"its bias crosses 0 as N grows, so at N = {before['n']} it was reliable because biases of opposite "
                   "sign cancelled, not because N sufficed" if crossed else "its bias there moves away from 0 as N grows")
            lines.append(f"{head} Real, not an artefact: `{spec}` on the task of {before['axis']} = {before['max']:.2f} "
                         f"is off by {trail}; {why}.")
    return lines


_BINNED = re.compile(r"^binned\((?P<inner>[^,()]+(?:\([^()]*\))?), (?P<binning>.*)\)$")
SHOWN_TIED = 3  # names in a "Where to start" cell; the rest are counted (every one is in frontiers.csv)


def _tied_names(specs: list[str]) -> str:
    """Estimators tied for the best, in a few words: binned forms by their discrete
    estimator, each binning said once ("`grassberger`, `jackknife` and 4 more, binned:
    rule=fixed, bins=8"), the others after them by spec ("...; `ksg`"), rather than each
    full spec joined by "="."""
    matches = [(spec, _BINNED.match(spec)) for spec in specs]
    parts = [m for _, m in matches if m]
    others = [spec for spec, m in matches if not m]
    said = []
    if parts:  # each discrete estimator once, each binning once
        binnings = " or ".join(dict.fromkeys(m["binning"] for m in parts))
        said.append(_few(list(dict.fromkeys(m["inner"] for m in parts))) + ", binned: " + binnings)
    if others:
        said.append(_few(others))
    return "; ".join(said)


def _few(names: list[str]) -> str:
    """Up to SHOWN_TIED names in backticks, the rest counted."""
    if len(names) > SHOWN_TIED:
        return ", ".join(f"`{name}`" for name in names[:SHOWN_TIED]) + f" and {len(names) - SHOWN_TIED} more"
    if len(names) > 1:
        return ", ".join(f"`{name}`" for name in names[:-1]) + f" and `{names[-1]}`"
    return f"`{names[0]}`"


def _with_bins(spec: str, bins: Any) -> str:
    return spec if pd.isna(bins) or f"bins={int(bins)}" in spec else f"{spec} [bins={int(bins)}]"


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def render_summary(suite: Suite, regimes: pd.DataFrame, points: pd.DataFrame, laws: pd.DataFrame, stats: dict[str, Any],
                   figures: list[Path], families: list[str]) -> str:
    lines = [f"# mibench map: suite `{suite.name}`", "", suite.description, ""]
    lines += ["## Where to start", "",
              "For each task family (a network layer's units and codes first) and N: the estimator that stays reliable "
              "to the largest joint entropy H(X,Y) (or, on continuous families, the largest true I), that value, and the "
              "largest grid D it handles; estimators tied there are listed together (every one, with its reach, is in "
              "frontiers.csv). `>=` marks a frontier beyond the grid's largest task.", "",
              "| family | N | use | reliable up to | largest reliable D |", "|---|---|---|---|---|"]
    short = abbreviations(points["estimator"]) if not points.empty else {}
    best = best_by_n(points, families, short) if not points.empty else []
    for row in best:
        reach = "-" if math.isnan(row["max"]) else f"{'>= ' if row['beyond'] else ''}{row['axis']} = {row['max']:.2f}"
        lines.append(f"| {row['family']} | {row['n']} | {row['best']} | {reach} | {_fmt(row['d_max'], 0)} |")
    shown = [(name, spec) for spec, name in short.items() if any(f"`{name}`" in row["best"] for row in best)]
    if shown:
        lines += ["", "Shortened above: " + "; ".join(f"`{name}` is `{spec}`" for name, spec in shown) + "."]
    falls = falling_reach(best, points, regimes)
    if falls:
        lines += [""] + falls
    lines += ["", "## Each estimator in plain words", "",
              "Where a law is claimed it rests on at least 3 N whose frontier was located to within 0.25 bit; theory is "
              "the exact finite-sample expectation (`mibench.theory`) where a family allows it.", "",
              "| estimator | family | where reliability ends | theory | saturated | undefined |", "|---|---|---|---|---|---|"]
    for law in laws.to_dict("records") if not laws.empty else []:
        lines.append(_estimator_line(law, regimes, points))
    lines += ["", "## How the map is made", "", rules_text(suite.tolerances), "",
              f"{stats['stored']} cells stored for this suite ({stats['cells_run']} run now in {stats['seconds']:.0f} s, "
              f"{stats['cells_skipped']} already stored; {stats.get('probe_cells', 0)} placed between grid points to "
              f"locate frontiers; {stats['failed']} failed, see the error column of cells.csv). Grid: N = "
              f"{', '.join(map(str, suite.n))}; D = {', '.join(map(str, suite.d))}; bins = {', '.join(map(str, suite.bins))}; "
              f"{len(suite.seeds)} seeds" + "".join(_own_grid(t) for t in suite.tasks) + ". " + resolution_note(points), ""]
    lines += [f"Note: {note}." for note in suite.notes] + ([""] if suite.notes else [])
    for family in families:
        data = regimes[regimes["family"] == family]
        lines += [f"## {family} ({suite.d_label(family)} on the vertical axis)", "",
                  "| estimator | " + " | ".join(REGIMES) + " | at ceiling |", "|---|" + "---|" * (len(REGIMES) + 1)]
        for (spec, bins), g in data.groupby(["estimator", "bins"], sort=True, dropna=False):
            shares = g["regime"].value_counts(normalize=True)
            lines.append(f"| `{_with_bins(spec, bins)}` | " + " | ".join(f"{shares.get(r, 0):.0%}" for r in REGIMES)
                         + f" | {g['at_ceiling'].mean():.0%} |")
        lines.append("")
        own = {f"{kind}_{_slug(family)}{suffix}" for kind in ("map", "bias") for suffix in ("", "_binned")}
        lines += [f"![{fig.stem}]({fig.name})" for fig in figures if fig.stem in own]
        lines.append("")
    lines += ["Files: `results.sqlite` (every cell), `cells.csv`, `regimes.csv`, `frontiers.csv`, `frontier_laws.csv`."]
    return "\n".join(lines) + "\n"


def _estimator_line(law: dict, regimes: pd.DataFrame, points: pd.DataFrame) -> str:
    mine = regimes[(regimes["estimator"] == law["estimator"]) & (regimes["family"] == law["family"])]
    if pd.notna(law["bins"]):
        mine = mine[mine["bins"] == law["bins"]]
    theory = points[(points["estimator"] == law["estimator"]) & (points["family"] == law["family"])]
    theory_margin = (pd.Series([math.log2(n) for n in theory["n"]], index=theory.index) - theory["theory"]).median() \
        if "theory" in theory and theory["theory"].notna().any() else math.nan
    theory_text = f"log2 N - H(X,Y) >= {theory_margin:.2f}" if math.isfinite(theory_margin) else "-"
    undefined = mine[mine["regime"] == Regime.UNDEFINED]
    why = ""
    if len(undefined):
        why = f" (N <= {int(undefined['n'].max())})" if undefined["n"].max() < mine["n"].max() else ""
    return (f"| `{_with_bins(law['estimator'], law['bins'])}` | {law['family']} | {describe_law(law)} | {theory_text} | "
            f"{(mine['regime'] == Regime.SATURATED).mean():.0%} | {(mine['regime'] == Regime.UNDEFINED).mean():.0%}{why} |")
