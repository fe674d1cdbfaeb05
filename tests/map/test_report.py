"""The map's outputs: CSVs, figures, summary, the CLI."""
import math
import sys

import pandas as pd
import pytest

from map_helpers import TINY, fake_cells, tiny, write_suite  # noqa: F401 (tiny is a fixture)

from mibench.cli import main
from mibench.map.regimes import classify
from mibench.map.suite import load_suite
from mibench.map.run import run_map
from mibench.map.store import Store, StoreError


def test_map_writes_every_output(tiny, tmp_path):
    out = tmp_path / "maps"
    result = run_map(tiny, out, progress=False)
    for name in ("results.sqlite", "cells.csv", "regimes.csv", "frontiers.csv", "frontier_laws.csv", "summary.md",
                 "map_codebook.png", "bias_codebook.png", "map_quantized_gaussian.png"):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.md").read_text()
    cells = pd.read_csv(out / "cells.csv")
    stored = Store(out).cells()
    assert len(cells) == len(stored) == result["stored"]  # the summary counts what is stored
    assert "## codebook" in summary and "map_codebook.png" in summary and f"{len(stored)} cells stored" in summary
    regimes = pd.read_csv(out / "regimes.csv")
    assert set(regimes["regime"]) <= {"reliable", "biased", "saturated", "unstable", "undefined"}
    grid = regimes[regimes["d"].notna()]
    assert len(grid) == len(tiny.groups) and len(regimes) == len(result["regimes"])
    # cells placed between grid points to locate frontiers are ordinary cells, off the grid
    assert result["probe_cells"] == len(cells) - 48 > 0 and cells["d"].isna().sum() == result["probe_cells"]
    # bins read the same in every CSV: 4, not 4.0 in one of them
    for name in ("cells.csv", "regimes.csv", "frontiers.csv", "frontier_laws.csv"):
        written = set(pd.read_csv(out / name, dtype=str)["bins"].dropna())
        assert written == {"4"}, (name, written)

def test_cli_map_runs_and_resumes(tmp_path, capsys):
    path = write_suite(tmp_path, TINY)
    out = tmp_path / "cli"
    assert main(["map", path, "--out", str(out), "--no-progress", "--jobs", "1"]) == 0
    stored = len(Store(out / "tiny").cells())
    printed = capsys.readouterr()
    assert f"{stored} cells ({stored} run now" in printed.out and "Where the time went" in printed.out
    assert "mibench: writing the tables and summary.md" in printed.err and "; 4 figures drawn" in printed.out
    assert main(["map", path, "--out", str(out), "--no-progress", "--jobs", "1"]) == 0
    again = capsys.readouterr().out
    assert f"(0 run now, {stored} already stored" in again and "0 of 4 figures drawn" in again

def test_scheduler_without_dask_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if Dask were not installed
    assert main(["map", "quick", "--scheduler", "local", "--out", str(tmp_path), "--no-progress", "--jobs", "1"]) == 2
    assert 'pip install "mibench[dask]"' in capsys.readouterr().err
    assert not (tmp_path / "results.sqlite").exists()  # failed before any work

def test_the_log2_n_line_lands_on_the_right_heatmap_column():
    from mibench.map.plots import _n_axis_position

    ns = [64, 256, 1024]  # cells 0, 1, 2 at log2 N = 6, 8, 10
    assert [_n_axis_position(b, ns) for b in (6, 7, 10, 5, 12)] == [0, 0.5, 2, -0.5, 3]

def test_panels_of_binned_estimators_run_by_grid_size_one_estimator_per_row():
    # the spec's text sorts "bins=30" before "bins=4": the panels must read 4, 8, 30 across a row
    from mibench.map.plots import _columns, _panel_keys

    specs = [(f"binned({inner}, rule=uniform, bins={b})", b) for inner in ("plugin", "nsb") for b in (30, 4, 8)]
    keys = _panel_keys(pd.DataFrame(specs, columns=["estimator", "bins"]))
    assert [b for _, b in keys] == [4, 8, 30, 4, 8, 30] and keys[0][0].startswith("binned(nsb")
    assert _columns(keys) == 3
    assert _columns(keys + [("ksg", math.nan)]) is None  # an estimator with one panel: the usual rows of four


def test_bias_curves_survive_an_estimator_that_failed_everywhere(tmp_path):
    # e.g. parametric_gaussian on layer_codes: the label is linear in the units, so
    # every covariance is singular and every group is undefined
    from mibench.map.plots import bias_curves

    cells = pd.concat([
        fake_cells([1.0, 1.01, 0.99], 1.0, estimator="plugin"),
        fake_cells([math.nan] * 3, 1.0, estimator="parametric_gaussian", ok=False),
    ])
    path = bias_curves(classify(cells), "f", "D", {"abs_tol": 0.1, "rel_tol": 0.0}, tmp_path / "bias.png")
    assert path.stat().st_size > 0


def test_each_suite_writes_to_its_own_directory_and_a_directory_holds_one_suite(tmp_path, capsys):
    tiny = write_suite(tmp_path, TINY)
    other = write_suite(tmp_path, TINY.replace('name = "tiny"', 'name = "other"').replace("n = [64, 512]", "n = [64]"), "o.toml")
    out = tmp_path / "results"
    assert main(["map", tiny, "--out", str(out), "--no-progress", "--jobs", "1"]) == 0
    assert main(["map", other, "--out", str(out), "--no-progress", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert (out / "tiny" / "summary.md").exists() and (out / "other" / "summary.md").exists()
    assert not (out / "summary.md").exists()
    with pytest.raises(StoreError, match="holds the results of suite 'tiny', not 'other'"):
        run_map(load_suite(other), out / "tiny", progress=False)


def test_outputs_an_earlier_run_left_behind_are_removed(tiny, tmp_path):
    out = tmp_path / "maps"
    run_map(tiny, out, progress=False)
    (out / "map_retired_family.png").write_bytes(b"stale")
    run_map(tiny, out, progress=False)
    assert not (out / "map_retired_family.png").exists() and (out / "map_codebook.png").exists()


def test_a_subset_runs_into_the_suites_store_and_writes_apart(tmp_path, capsys):
    path = write_suite(tmp_path, TINY)
    out = tmp_path / "results"
    assert main(["map", path, "--out", str(out), "--no-progress", "--jobs", "1", "--estimator", "plugin", "--family", "codebook"]) == 0
    capsys.readouterr()
    cells = Store(out / "tiny").cells()
    assert set(cells["estimator"]) == {"plugin"} and set(cells["task_id"].str.split("(").str[0]) == {"binary_codes"}
    assert (out / "tiny" / "subset" / "summary.md").exists() and not (out / "tiny" / "summary.md").exists()
    assert main(["map", path, "--out", str(out), "--no-progress", "--jobs", "1", "--family", "nope"]) == 2
    assert "no family 'nope' in suite 'tiny'; it has codebook, quantized_gaussian" in capsys.readouterr().err


def test_duplicate_cells_are_announced_before_running_and_counted_once(tmp_path, capsys):
    text = TINY.replace('K = "=2**D"', 'K = "=2**max(D, 9)"')  # D = 2 and D = 9 make the same codebook
    path = write_suite(tmp_path, text)
    assert main(["map", path, "--out", str(tmp_path / "r"), "--no-progress", "--jobs", "1", "--family", "codebook"]) == 0
    err = capsys.readouterr().err
    assert "note: codebook: D = 9 gives the same task as D = 2" in err
    summary = (tmp_path / "r" / "tiny" / "subset" / "summary.md").read_text()
    assert "D = 9 gives the same task as D = 2" in summary


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("mibench 0.")


def test_where_to_start_names_a_tie_once_with_its_binning_and_counts_the_rest():
    # five binned estimators of one binning tie at N = 1024, one other reaches less: the cell
    # names three by their discrete estimator, says the binning once and counts the other two
    from mibench.map.report import best_by_n

    binning = "rule=fixed, bins=8, range=(-1.0, 1.0)"
    tied = ["chao_shen", "grassberger", "jackknife", "nsb", "plugin"]
    rows = [{"family": "tanh_units", "n": 1024, "estimator": f"binned({name}, {binning})", "bins": 8, "max": 9.95,
             "axis": "H(X,Y)", "d_max": 2.0, "status": "located"} for name in tied]
    rows.append({"family": "tanh_units", "n": 1024, "estimator": f"binned(miller_madow, {binning})", "bins": 8,
                 "max": 8.0, "axis": "H(X,Y)", "d_max": 2.0, "status": "located"})
    (row,) = best_by_n(pd.DataFrame(rows), ["tanh_units"])
    assert row["best"] == f"`chao_shen`, `grassberger`, `jackknife` and 2 more, binned: {binning}"
    assert "miller_madow" not in row["best"] and row["max"] == 9.95


def test_a_tie_of_binned_and_other_estimators_still_says_each_binning_once():
    # layer codes at N = 4096: eight binned estimators of one binning tie with kNN and the
    # pairwise bounds; the binned ones are still named by their discrete estimator
    from mibench.map.report import best_by_n

    binning = "rule=uniform, bins=4"
    specs = [f"binned({name}, {binning})" for name in ("chao_shen", "grassberger", "jackknife", "nsb")]
    specs += ["kolchinsky_tracey", "ksg"]
    rows = [{"family": "layer_codes", "n": 4096, "estimator": spec, "bins": 4 if spec.startswith("binned") else None,
             "max": 8.0, "axis": "H(X,Y)", "d_max": 8.0, "status": "bracketed"} for spec in specs]
    (row,) = best_by_n(pd.DataFrame(rows), ["layer_codes"])
    assert row["best"] == (f"`chao_shen`, `grassberger`, `jackknife` and 1 more, binned: {binning}; "
                           "`kolchinsky_tracey` and `ksg`")


def test_a_rerun_redraws_only_the_figures_whose_cells_changed(tiny, tmp_path):
    out = tmp_path / "out"
    first = run_map(tiny, out, progress=False)
    assert first["redrawn"] == len(first["figures"]) >= 2
    stamps = {f: f.stat().st_mtime_ns for f in first["figures"]}
    again = run_map(tiny, out, progress=False)  # nothing new: no figure is drawn again
    assert again["redrawn"] == 0 and {f: f.stat().st_mtime_ns for f in again["figures"]} == stamps
    gone = first["figures"][0]
    gone.unlink()  # a missing figure is drawn again, and only it
    third = run_map(tiny, out, progress=False)
    assert third["redrawn"] == 1 and gone.is_file()


def test_where_to_start_shortens_a_critics_budget_and_spells_it_out_once_below():
    # a critic's spec states its whole budget (80+ characters); in the table it is
    # "infonce(…)", and the line under the table gives the full spec once
    from mibench.map.report import abbreviations, best_by_n

    spec = ("infonce(steps=150, batch_size=32, lr=0.005, hidden=16, split=None, eval_every=0, patience=0, "
            "eval_batch=32, out_bias=None)")
    rows = [{"family": "student_t", "n": 1024, "estimator": e, "bins": float("nan"), "max": 0.57, "axis": "I(X;Y)",
             "d_max": 2.0, "status": "located"} for e in (spec, "ksg")]
    short = abbreviations([spec, "ksg", "binned(plugin, rule=uniform, bins=30, range=(-1.0, 1.0))"])
    assert short == {spec: "infonce(…)"}  # a short spec and a binned one keep their names
    (row,) = best_by_n(pd.DataFrame(rows), ["student_t"], short)
    assert row["best"] == "`infonce(…)` and `ksg`"
    # two budgets of one critic cannot share a short name: both stay in full
    other = spec.replace("steps=150", "steps=300")
    assert abbreviations([spec, other]) == {}


def test_a_reach_that_falls_with_n_is_explained_from_the_cells():
    # E reaches I = 1.0 at N = 1000 and only 0.5 at N = 4000: on the I = 1.0 task its bias
    # goes -0.20, +0.05, +0.20 with N (it crosses 0, so N = 1000 was luck of cancellation);
    # on family G the estimator that reached further is not run at the larger N at all.
    from mibench.map.report import best_by_n, falling_reach

    def point(family, n, spec, reach):
        return {"family": family, "n": n, "estimator": spec, "bins": float("nan"), "max": reach, "axis": "I(X;Y)",
                "d_max": 1.0, "status": "bracketed"}
    points = pd.DataFrame([point("F", 1000, "E", 1.0), point("F", 4000, "E", 0.5), point("F", 250, "E", 0.5),
                           point("G", 1000, "K", 2.0), point("G", 4000, "P", 1.0),
                           {**point("H", 1000, "E", 6.0), "axis": "H(X,Y)"}, {**point("H", 4000, "E", 4.0), "axis": "H(X,Y)"}])
    nan = float("nan")
    regimes = pd.DataFrame([{"estimator": "E", "family": "F", "truth": 1.0, "joint_entropy": nan, "d": 1, "n": n, "bias": b}
                            for n, b in ((250, -0.2), (1000, 0.05), (4000, 0.2))]
                           + [{"estimator": "K", "family": "G", "truth": 2.0, "joint_entropy": nan, "d": 1, "n": 1000,
                               "bias": 0.01}]
                           # a discrete family: the frontier's axis is H(X,Y), and two D share one truth I
                           + [{"estimator": "E", "family": "H", "truth": 0.5, "joint_entropy": h, "d": d, "n": n, "bias": b}
                              for d, h in ((4, 6.0), (8, 10.0)) for n, b in ((1000, 0.05), (4000, 0.3))])
    lines = falling_reach(best_by_n(points, ["F", "G", "H"]), points, regimes)
    assert len(lines) == 3  # F's rise from N = 250 to 1000 is no fall
    assert "off by -0.20 at N = 250, +0.05 at N = 1000, +0.20 at N = 4000" in lines[0]
    assert "crosses 0" in lines[0] and "cancelled" in lines[0]
    assert "(`K`) are not run at N = 4000" in lines[1]
    # on H(X,Y) = 6 (D = 4 only, though D = 8 has the same I): +0.05, then +0.30
    assert "H(X,Y) = 6.00 is off by +0.05 at N = 1000, +0.30 at N = 4000" in lines[2] and "moves away" in lines[2]


def test_a_family_with_many_binned_and_continuous_panels_is_drawn_in_two_parts():
    # 3 estimators of continuous values and 4 inner estimators x 3 bin counts of binned ones:
    # 15 panels, past MAX_PANELS: the others and the binned ones get a figure each,
    # every row in exactly one; a family of binned estimators alone, or a small one, stays whole.
    from mibench.map.report import MAX_PANELS, figure_parts

    specs = [("ksg", float("nan")), ("kde", float("nan")), ("gcmi", float("nan"))]
    specs += [(f"binned({e}, rule=uniform, bins={b})", float(b)) for e in ("plugin", "nsb", "grassberger", "jackknife")
              for b in (4, 8, 30)]
    rows = pd.DataFrame([{"estimator": e, "bins": b, "n": n} for e, b in specs for n in (64, 256)])
    assert len(specs) > MAX_PANELS
    parts = figure_parts(rows)
    assert [(suffix, part) for suffix, part, _ in parts] == [("", "estimators on the values as given"),
                                                            ("_binned", "binned estimators")]
    assert set(parts[0][2]["estimator"]) == {"ksg", "kde", "gcmi"} and len(parts[1][2]) == 24
    assert sum(len(p[2]) for p in parts) == len(rows)
    binned_only = rows[rows["estimator"].str.startswith("binned(")]
    assert [p[0] for p in figure_parts(binned_only)] == [""]
    assert [p[0] for p in figure_parts(rows[rows["estimator"].isin(["ksg", "binned(plugin, rule=uniform, bins=4)"])])] == [""]
