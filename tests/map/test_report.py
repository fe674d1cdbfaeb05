"""The map's outputs: CSVs, figures, summary, the CLI."""
import math
import sys

import pandas as pd

from map_helpers import TINY, fake_cells, tiny, write_suite  # noqa: F401 (tiny is a fixture)

from mibench.cli import main
from mibench.map.regimes import classify
from mibench.map.report import run_map


def test_map_writes_every_output(tiny, tmp_path):
    out = tmp_path / "maps"
    result = run_map(tiny, out, progress=False)
    for name in ("results.sqlite", "cells.csv", "regimes.csv", "frontiers.csv", "frontier_fits.csv", "summary.md",
                 "map_codebook.png", "bias_codebook.png", "map_quantized_gaussian.png"):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.md").read_text()
    assert "## codebook" in summary and "map_codebook.png" in summary and "48 cells (48 run now" in summary
    regimes = pd.read_csv(out / "regimes.csv")
    assert set(regimes["regime"]) <= {"reliable", "biased", "saturated", "unstable", "undefined"}
    assert len(regimes) == len(tiny.groups) == len(result["regimes"])

def test_cli_map_runs_and_resumes(tmp_path, capsys):
    path = write_suite(tmp_path, TINY)
    out = str(tmp_path / "cli")
    assert main(["map", path, "--out", out, "--no-progress"]) == 0
    assert "48 cells (48 run now" in capsys.readouterr().out
    assert main(["map", path, "--out", out, "--no-progress"]) == 0
    assert "(0 run now, 48 already stored" in capsys.readouterr().out

def test_scheduler_without_dask_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if Dask were not installed
    assert main(["map", "quick", "--scheduler", "local", "--out", str(tmp_path), "--no-progress"]) == 2
    assert 'pip install "mibench[dask]"' in capsys.readouterr().err
    assert not (tmp_path / "results.sqlite").exists()  # failed before any work

def test_the_log2_n_line_lands_on_the_right_heatmap_column():
    from mibench.map.plots import _n_axis_position

    ns = [64, 256, 1024]  # cells 0, 1, 2 at log2 N = 6, 8, 10
    assert [_n_axis_position(b, ns) for b in (6, 7, 10, 5, 12)] == [0, 0.5, 2, -0.5, 3]

def test_bias_curves_survive_an_estimator_that_failed_everywhere(tmp_path):
    # e.g. parametric_gaussian on layer_codes: the label is linear in the units, so
    # every covariance is singular and every group is undefined
    from mibench.map.plots import bias_curves

    cells = pd.concat([
        fake_cells([1.0, 1.01, 0.99], 1.0, estimator="plugin"),
        fake_cells([math.nan] * 3, 1.0, estimator="parametric_gaussian", ok=False),
    ])
    path = bias_curves(classify(cells), "f", "D", 0.1, tmp_path / "bias.png")
    assert path.stat().st_size > 0
