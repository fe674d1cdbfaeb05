"""scripts/same_cells.py: the rule a speed change that moves numbers must pass (every
regime and frontier unchanged, each group's mean within a tenth of its standard error, or
within 1e-9 bit where its seeds agree), checked on hand-made runs where the answer is known."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "same_cells.py"


@pytest.fixture(scope="module")
def same_cells():
    spec = importlib.util.spec_from_file_location("same_cells", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(folder: Path, means: list[float], stds: list[float], regimes: list[str], frontier: float = 5.0) -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame({
        "estimator": ["plugin", "plugin", "nsb"], "task_id": ["parity(dim=2)"] * 3, "n": [64, 256, 64],
        "mean": means, "std": stds, "seeds": [16, 16, 16], "regime": regimes,
    }).to_csv(folder / "regimes.csv", index=False)
    pd.DataFrame({"estimator": ["plugin"], "family": ["parity"], "bins": [pd.NA], "n": [64], "axis": ["H(X,Y)"],
                  "max": [frontier], "status": ["located"]}).to_csv(folder / "frontiers.csv", index=False)
    return folder


OLD = dict(means=[1.0, 0.5, 2.0], stds=[0.4, 0.2, 0.0], regimes=["biased", "reliable", "reliable"])


def _verdict(same_cells, tmp_path, capsys, **new) -> tuple[int, str]:
    old = _run(tmp_path / "old", **OLD)
    status = same_cells.main([str(old), str(_run(tmp_path / "new", **{**OLD, **new}))])
    return status, capsys.readouterr().out


def test_identical_runs_pass(same_cells, tmp_path, capsys):
    status, out = _verdict(same_cells, tmp_path, capsys)
    assert status == 0 and "statistically invisible" in out and "0 means moved" in out


def test_a_move_below_a_tenth_of_the_standard_error_passes_and_is_reported_in_se(same_cells, tmp_path, capsys):
    # SE of the first group = 0.4 / sqrt(16) = 0.1 bit: a 0.008-bit move is 0.08 SE
    status, out = _verdict(same_cells, tmp_path, capsys, means=[1.008, 0.5, 2.0])
    assert status == 0 and "largest move 0.08 SE" in out


def test_a_move_beyond_a_tenth_of_the_standard_error_fails(same_cells, tmp_path, capsys):
    status, out = _verdict(same_cells, tmp_path, capsys, means=[1.0, 0.5 + 0.006, 2.0])  # SE 0.05: 0.12 SE
    assert status == 1 and "mean moved 0.006 bit = 0.12 SE: ('plugin', 'parity(dim=2)', 256)" in out


def test_a_group_whose_seeds_agree_may_move_by_1e9_bit_only(same_cells, tmp_path, capsys):
    assert _verdict(same_cells, tmp_path / "a", capsys, means=[1.0, 0.5, 2.0 + 5e-10])[0] == 0
    assert _verdict(same_cells, tmp_path / "b", capsys, means=[1.0, 0.5, 2.0 + 1e-8])[0] == 1


def test_float_noise_is_invisible_however_small_the_spread(same_cells, tmp_path, capsys):
    # seeds that agree to 1e-10 bit (float noise, not spread): a 4e-11 move is 4 SE, yet invisible
    status, out = _verdict(same_cells, tmp_path, capsys, stds=[0.4, 0.2, 1.6e-10], means=[1.0, 0.5, 2.0 + 4e-11])
    assert status == 0 and "statistically invisible" in out


def test_a_changed_label_or_frontier_fails_even_with_the_same_means(same_cells, tmp_path, capsys):
    status, out = _verdict(same_cells, tmp_path / "a", capsys, regimes=["biased", "unstable", "reliable"])
    assert status == 1 and "regime reliable -> unstable" in out
    old = _run(tmp_path / "b" / "old", **OLD)
    new = _run(tmp_path / "b" / "new", **OLD, frontier=5.25)
    assert same_cells.main([str(old), str(new)]) == 1
    assert "frontier located at 5.0 -> located at 5.25" in capsys.readouterr().out


def test_a_mean_that_becomes_nan_fails(same_cells, tmp_path, capsys):
    assert _verdict(same_cells, tmp_path, capsys, means=[1.0, float("nan"), 2.0])[0] == 1
