"""The leaderboard: every estimator of a results store (mibench's and other libraries')
ranked on the same cells, overall and per task family.

Score (the board's order): within each task family it runs on, the share of the
family's grid groups (one task and N over all seeds, any estimator's) that the
estimator ran *and* found ``reliable`` — a group it did not run (inputs it does not
take, or a cap of the suite) counts as not reliable — averaged over those families,
each weighing the same; ties are broken by the median |bias| over its cells. An
estimator that only takes codes is thus ranked on the code families, and the
per-family tables show that the best discrete estimator is not the best continuous
one. Equal score and median |bias| (to 3 decimals) share a rank, shown as ``=``.
Groups placed between grid points to locate one estimator's frontier are left out of
the score (other estimators have none there).

Peers report no H(X) and H(Y) of their own, so their I(X;Y) is held against log2 N only:
a group that mibench's plug-in calls saturated at H(Y) reads ``biased`` for the same
numbers from a peer (both are not reliable, so the score is the same).
"""
from __future__ import annotations

import base64
import html
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench.map.plots import regime_heatmap
from mibench.map.regimes import classify, frontiers
from mibench.map.store import FILENAME, Store
from mibench.judging import REGIMES, Regime, Tolerances
from mibench.map.suite import BUILTIN, Suite, SuiteError, load_suite, select

NOT_RELIABLE = tuple(r for r in REGIMES if r is not Regime.RELIABLE)  # the board's share of each
REFERENCE_N = 10_000  # the N at which the board reports how far each estimator reaches
TIMING_N = 1024  # the N of the median time per estimate
FORMATS = ("md", "html", "csv")
SCORE_TEXT = ("Score: per task family the estimator runs on, the share of the family's grid groups (one task and N "
              "over all seeds) it ran and found reliable (a group it did not run counts as not reliable), averaged over "
              "those families, each weighing the same; ties broken by the median |bias|. Rank `=`: tied to 3 decimals. Reach at N = {n}: the largest H(X,Y) (code families) or true "
              "I(X;Y) (continuous ones) below which every group is reliable (`>=`: every group of the grid is; "
              "`none`: not even the easiest). Regimes: see `mibench map`'s summary.")


class LeaderboardError(ValueError):
    """The results cannot be ranked as asked; the message says why and what to do."""


def read_results(results: str | Path, suite: str | None = None) -> tuple[pd.DataFrame, str]:
    """The cells of a results directory and the name of the suite that wrote them;
    refused when there is no store, when it is empty, or when it holds another suite."""
    path = Path(results)
    if not (path / FILENAME).is_file():
        # the root `map --out` was given holds the store one level down, in ROOT/SUITE
        inside = sorted(p.parent for p in path.glob(f"*/{FILENAME}")) if path.is_dir() else []
        if suite is not None and path / suite in inside:
            inside = [path / suite]
        if len(inside) == 1:
            path = inside[0]
        elif inside:
            raise LeaderboardError(f"{path} holds the results of several suites ({', '.join(p.name for p in inside)}); "
                                   f"give one of them, e.g. --results {inside[0]}")
        else:
            raise LeaderboardError(f"no results store ({FILENAME}) in {path} or in a suite folder under it; run "
                                   f"`mibench map SUITE --out {path}` first, or leave out --results to run the "
                                   "leaderboard suite")
    store = Store(path)
    try:
        row = store.db.execute("SELECT value FROM meta WHERE key='suite'").fetchone()
        cells = store.cells()
    finally:
        store.close()
    owner = row[0] if row else None
    if suite is not None and owner is not None and owner != suite:
        raise LeaderboardError(f"{path} holds the results of suite {owner!r}, not {suite!r}; give --suite {owner} "
                               f"or another --results")
    if cells.empty:
        raise LeaderboardError(f"{path} holds no cells yet; run `mibench map {owner or 'SUITE'} --out {path}`")
    return cells, owner or "unknown"


def gather(results: str | Path | None = None, suite: str | None = None, *, estimators: list[str] | None = None,
           add: list[str] | None = None, out_dir: str | Path = "mibench-results", jobs: int = 1, progress: bool = True,
           say: Any = lambda text: None, cell_timeout: float | None = None
           ) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    """The board, the suite's name and the estimators skipped, from a results directory
    (``results``, written by ``mibench map``) or by running ``suite`` (default:
    leaderboard) into ``out_dir``, resuming what is stored there. ``estimators``: rank
    only these (ids or specs); ``add``: run these beside the suite's own; ``cell_timeout``:
    seconds per cell (default: the suite's)."""
    if results is None:
        from mibench.map.run import run_map

        chosen = select(load_suite(suite or "leaderboard"), estimators=estimators, add=add)
        if cell_timeout is not None:
            chosen.cell_timeout = float(cell_timeout)
        for note in chosen.notes:
            say(f"note: {note}")
        results = Path(out_dir) / chosen.name
        run_map(chosen, results, jobs=jobs, progress=progress, say=say)
        cells, name = read_results(results, chosen.name)
        tolerances, skipped = chosen.tolerances, chosen.skipped
    else:
        if add:
            raise LeaderboardError("--add runs estimators, --results only reads stored ones: leave out --results to "
                                   "run the suite with them (or map them with `mibench map` first)")
        cells, name = read_results(results, suite)
        if estimators:
            cells = _only(cells, estimators, results)
        own = suite_for(name)
        tolerances, skipped = (own.tolerances, own.skipped) if own is not None else (None, [])
    return build(cells, tolerances), name, skipped


def _only(cells: pd.DataFrame, estimators: list[str], results: str | Path) -> pd.DataFrame:
    """The cells of these estimators (by id or spec); an estimator with no cells is refused."""
    stored = list(dict.fromkeys(cells["estimator"]))
    names = {spec: spec.split("(")[0].strip() for spec in stored}  # the id, without importing anyone's code
    unknown = [e for e in estimators if e not in stored and e not in names.values()]
    if unknown:
        raise LeaderboardError(f"no cells of {unknown[0]!r} in {results}; it holds {', '.join(stored)}")
    return cells[cells["estimator"].map(lambda spec: spec in estimators or names[spec] in estimators)]


def suite_for(name: str) -> Suite | None:
    """The built-in suite of this name (its tolerances and skipped peers), or None."""
    if name not in BUILTIN:
        return None
    try:
        return load_suite(name)
    except SuiteError:  # e.g. none of its estimators can run here
        return None


def _nearest_n(ns: list[int], target: int) -> int:
    return min(ns, key=lambda n: abs(math.log2(n) - math.log2(target)))


def build(cells: pd.DataFrame, tolerances: Tolerances | dict[str, float] | None = None) -> dict[str, Any]:
    """The board from stored cells: ``overall`` (one row per estimator, sorted by rank),
    ``families`` (one row per estimator and family, ranked within each family),
    ``regimes`` and ``reference_n`` (per family, its grid N nearest 10,000)."""
    regimes = classify(cells, tolerances)
    points, _ = frontiers(regimes)
    families = list(dict.fromkeys(cells["family"]))
    # each family's own grid N nearest 10,000 (a family may run on its own N, e.g. a benchmark's n = 5,000)
    ref_n = {f: _nearest_n(sorted(int(n) for n in regimes.loc[regimes["family"] == f, "n"].unique()), REFERENCE_N)
             for f in families}
    grid = regimes[regimes["d"].notna()]
    family_groups = grid.groupby("family")[["task_id", "n"]].apply(lambda g: len(g.drop_duplicates()))
    fam_rows = []
    for (est, fam), g in grid.groupby(["estimator", "family"], sort=False):
        c = cells[(cells["estimator"] == est) & (cells["family"] == fam)]
        fam_rows.append({"estimator": est, "family": fam, "groups": len(g), "of": int(family_groups[fam]),
                         "reliable": (g["regime"] == Regime.RELIABLE).sum() / family_groups[fam],
                         "median_abs_bias": _errors(c)["median_abs_bias"],
                         **_reach(points, est, fam, ref_n[fam])})
    fam = pd.DataFrame(fam_rows)
    fam["rank"] = ""
    fam["_position"] = 0
    for name, g in fam.groupby("family", sort=False):
        order = g.sort_values(["reliable", "reach_value", "median_abs_bias"], ascending=[False, False, True],
                              na_position="last", kind="stable")
        fam.loc[order.index, "rank"] = _ranks(order[["reliable", "reach_value", "median_abs_bias"]])
        fam.loc[order.index, "_position"] = range(len(order))
    fam["family"] = pd.Categorical(fam["family"], families, ordered=True)
    fam = fam.sort_values(["family", "_position"]).drop(columns="_position").reset_index(drop=True)

    rows = []
    for est, g in regimes.groupby("estimator", sort=False):
        c = cells[cells["estimator"] == est]
        mine = fam[fam["estimator"] == est]
        regime_share = g["regime"].value_counts(normalize=True)
        at_ref = c[c["n"] == TIMING_N]
        rows.append({
            "estimator": est,
            "score": float(mine["reliable"].mean()),
            "reliable_groups": float(regime_share.get(Regime.RELIABLE, 0.0)),
            **{f"reliable[{f}]": float(mine.loc[mine["family"] == f, "reliable"].iloc[0])
               if (mine["family"] == f).any() else math.nan for f in families},
            **{f"reach[{f}]": mine.loc[mine["family"] == f, "reach"].iloc[0] if (mine["family"] == f).any() else ""
               for f in families},
            **_errors(c),
            "failure_rate": float((~c["ok"] | c["estimate"].isna()).mean()),
            **{str(r): float(regime_share.get(r, 0.0)) for r in NOT_RELIABLE},
            "median_ms": float(at_ref["seconds"].median() * 1000) if len(at_ref) else math.nan,
            "cells": len(c),
            "families_run": len(mine),
            "not_run_on": ", ".join(f for f in families if not (mine["family"] == f).any()),
        })
    overall = pd.DataFrame(rows).sort_values(["score", "median_abs_bias"], ascending=[False, True], na_position="last",
                                             kind="stable")
    overall.insert(0, "rank", _ranks(overall[["score", "median_abs_bias"]]))
    return {"overall": overall.reset_index(drop=True), "families": fam, "regimes": regimes, "points": points,
            "reference_n": ref_n, "family_names": families}


def _errors(c: pd.DataFrame) -> dict[str, float]:
    ok = c[c["ok"] & c["estimate"].notna()]
    err = ok["estimate"] - ok["truth"]
    positive = ok[(ok["estimate"] > 0) & (ok["truth"] > 0)]
    log_ratio = np.abs(np.log2(positive["estimate"] / positive["truth"]))
    return {"median_abs_bias": float(err.abs().median()) if len(err) else math.nan,
            "rmse": float(np.sqrt((err**2).mean())) if len(err) else math.nan,
            "median_abs_log2_ratio": float(log_ratio.median()) if len(log_ratio) else math.nan}


def _reach(points: pd.DataFrame, est: str, fam: str, n: int) -> dict[str, Any]:
    p = points[(points["estimator"] == est) & (points["family"] == fam) & (points["n"] == n)]
    if p.empty:
        return {"reach": "not run", "reach_value": math.nan}
    row = p.iloc[0]
    if math.isnan(row["max"]):
        return {"reach": "none", "reach_value": -math.inf}
    prefix = ">= " if row["status"] == "beyond grid" else ""
    return {"reach": f"{prefix}{row['axis']} = {row['max']:.2f}", "reach_value": float(row["max"])}


def _ranks(keys: pd.DataFrame) -> list[str]:
    """Competition ranks (1, 2, =2, 4) of rows already sorted; ties to 3 decimals."""
    rounded = [tuple(round(v, 3) if isinstance(v, float) and math.isfinite(v) else v for v in row)
               for row in keys.itertuples(index=False)]
    ranks, last = [], None
    for i, key in enumerate(rounded):
        if key == last:
            ranks.append("=" + ranks[-1].lstrip("="))
        else:
            ranks.append(str(i + 1))
        last = key
    return ranks


# -- rendering ----------------------------------------------------------------------------
def _pct(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0%}"


def _num(v: float, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def _overall_table(board: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    fams = board["family_names"]
    head = ["rank", "estimator", "score"] + [f"reliable: {f}" for f in fams] + [
        "median abs bias", "RMSE", "median abs log2 ratio", "failed", *NOT_RELIABLE,
        f"ms at N={TIMING_N}", "cells", "not run on"]
    rows = []
    for r in board["overall"].to_dict("records"):
        rows.append([r["rank"], f"`{r['estimator']}`", _pct(r["score"])] + [_pct(r[f"reliable[{f}]"]) for f in fams] + [
            _num(r["median_abs_bias"]), _num(r["rmse"]), _num(r["median_abs_log2_ratio"]), _pct(r["failure_rate"]),
            *(_pct(r[regime]) for regime in NOT_RELIABLE),
            _num(r["median_ms"], 1), str(r["cells"]), r["not_run_on"] or "-"])
    return head, rows


def _family_table(board: dict[str, Any], family: str) -> tuple[list[str], list[list[str]]]:
    fam = board["families"]
    g = fam[fam["family"] == family]
    head = ["rank", "estimator", "reliable", f"reach at N={board['reference_n'][family]:,}", "median abs bias", "groups run"]
    return head, [[r["rank"], f"`{r['estimator']}`", _pct(r["reliable"]), r["reach"], _num(r["median_abs_bias"]),
                   f"{r['groups']} of {r['of']}"] for r in g.to_dict("records")]


def _reference_text(board: dict[str, Any]) -> str:
    """"10,000" or, where families differ, "10,000 (beyond_normal: 5,000)"."""
    counts = pd.Series(board["reference_n"]).value_counts()
    common = int(counts.index[0])
    other = [f"{f}: {n:,}" for f, n in board["reference_n"].items() if n != common]
    return f"{common:,}" + (f" ({'; '.join(other)})" if other else "")


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def _skipped_lines(skipped: list[tuple[str, str]]) -> list[str]:
    return [f"- `{spec}` skipped: {why}" for spec, why in skipped]


def render_markdown(board: dict[str, Any], suite: str, skipped: list[tuple[str, str]]) -> str:
    lines = [f"# mibench leaderboard: suite `{suite}`", "", SCORE_TEXT.format(n=_reference_text(board)), "",
             "## Overall", ""]
    lines += _md_table(*_overall_table(board))
    for family in board["family_names"]:
        lines += ["", f"## {family}", ""] + _md_table(*_family_table(board, family))
    if skipped:
        lines += ["", "## Skipped", ""] + _skipped_lines(skipped)
    return "\n".join(lines) + "\n"


def render_csv(board: dict[str, Any]) -> str:
    return board["overall"].to_csv(index=False)


def render_html(board: dict[str, Any], suite: str, skipped: list[tuple[str, str]]) -> str:
    """One self-contained page: the tables, and each family's regime heatmap inline."""
    def table(head: list[str], rows: list[list[str]]) -> str:
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v.strip('`'))}</td>" for v in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"

    parts = [f"<h1>mibench leaderboard: suite {html.escape(suite)}</h1>",
             f"<p>{html.escape(SCORE_TEXT.format(n=_reference_text(board)))}</p>", "<h2>Overall</h2>",
             table(*_overall_table(board))]
    with tempfile.TemporaryDirectory() as tmp:
        for family in board["family_names"]:
            png = regime_heatmap(board["regimes"], family, "D", Path(tmp) / "map.png", board["points"])
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            parts += [f"<h2>{html.escape(family)}</h2>", table(*_family_table(board, family)),
                      f'<img alt="regime map of {html.escape(family)}" src="data:image/png;base64,{data}">']
    if skipped:
        parts += ["<h2>Skipped</h2><ul>"] + [f"<li>{html.escape(s)}: {html.escape(w)}</li>" for s, w in skipped] + ["</ul>"]
    style = ("body{font-family:sans-serif;margin:2em;max-width:100em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}th{background:#eee}img{max-width:100%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>mibench leaderboard</title><style>{style}</style>" \
           f"</head><body>{''.join(parts)}</body></html>\n"


def render(board: dict[str, Any], fmt: str, suite: str, skipped: list[tuple[str, str]]) -> str:
    if fmt not in FORMATS:
        raise LeaderboardError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "md":
        return render_markdown(board, suite, skipped)
    if fmt == "csv":
        return render_csv(board)
    return render_html(board, suite, skipped)
