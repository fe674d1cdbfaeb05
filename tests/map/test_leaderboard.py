"""mibench leaderboard: the ranking from stored cells, its formats, and bad input."""
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from map_helpers import write_suite
from mibench.cli import main
from mibench.estimators.peers import PEERS, PeerEstimator
from mibench.map import leaderboard as lb
from mibench.map.store import Store

ROOT = Path(__file__).resolve().parents[2]

BOARD_SUITE = """
name = "board"
seeds = 3
n = [256, 4096]
d = [2, 6, 10, 14]
bins = [8]

[[estimators]]
spec = "plugin"

[[estimators]]
spec = "jvhw"

[[estimators]]
spec = "pyitlib:ml"

[[estimators]]
spec = "nolib:plugin"

[[estimators]]
spec = "gcmi"

[[tasks]]
name = "binary_codes"
family = "codebook"
params = { dim = 40, source = "codebook", K = "=2**D", output = "copy" }

[[tasks]]
name = "gaussian"
params = { dim_x = "=min(D, 2)", dim_y = "=min(D, 2)", rho = 0.5 }
"""


class Absent(PeerEstimator):
    name = "nolib:plugin"
    library = "no_such_library_xyz"
    inputs = "codes"


@pytest.fixture(scope="module")
def board_run(tmp_path_factory):
    """The small suite run once through `mibench leaderboard`, with a peer whose library is absent."""
    tmp_path = tmp_path_factory.mktemp("board")
    path = write_suite(tmp_path, BOARD_SUITE)
    out = tmp_path / "board.md"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(PEERS, "nolib:plugin", Absent)
        mp.syspath_prepend(str(ROOT))
        code = main(["leaderboard", "--suite", path, "--out-dir", str(tmp_path / "res"), "--out", str(out),
                     "--jobs", "1", "--no-progress", "--add", "examples.correlation_estimator:CorrelationMI"])
    return code, out.read_text(), tmp_path / "res" / "board"


def test_the_board_ranks_every_estimator_and_lists_the_skipped(board_run):
    code, text, _ = board_run
    assert code == 0
    assert "## codebook" in text and "## gaussian" in text
    for spec in ("`plugin`", "`jvhw`", "`gcmi`"):
        assert spec in text
    # the example third-party estimator is ranked on the continuous family, exact there
    gaussian = text.split("## gaussian")[1].split("##")[0]
    example = next(line for line in gaussian.splitlines() if "CorrelationMI" in line)
    assert "100%" in example
    skipped = [line for line in text.splitlines() if "skipped" in line]
    assert any("no_such_library_xyz is not available" in line and "Absent" in line for line in skipped), skipped
    if PEERS["pyitlib:ml"].missing() is None:
        assert "`pyitlib:ml`" in text


def test_what_the_board_says_agrees_with_theory(board_run):
    # At N = 4096 nothing counted can be reliable beyond log2 N = 12 bits, and plug-in's
    # exact expectation puts its frontier near log2 N - 3 (mibench.theory); JVHW goes further.
    _, _, results = board_run
    cells, _ = lb.read_results(results)
    board = lb.build(cells)
    fam = board["families"].set_index(["family", "estimator"])
    plugin = fam.loc[("codebook", "plugin"), "reach_value"]
    assert plugin <= 12 - 2 and fam.loc[("codebook", "jvhw"), "reach_value"] > plugin
    # plug-in and pyitlib's maximum likelihood are the same formula on the same samples: a tie
    if PEERS["pyitlib:ml"].missing() is None:
        ranks = fam.xs("codebook")["rank"]
        assert ranks["plugin"].lstrip("=") == ranks["pyitlib:ml"].lstrip("=") and "=" in ranks["plugin"] + ranks["pyitlib:ml"]


def _cells(est, family, biases, n=1024):
    return pd.DataFrame({
        "estimator": est, "family": family, "task_id": [f"{family}{i}" for i in range(len(biases))], "n": n,
        "d": list(range(1, len(biases) + 1)), "bins": None, "seed": 0, "estimate": [1.0 + b for b in biases],
        "truth": 1.0, "ok": True, "joint_entropy": [float(i) for i in range(len(biases))], "ceiling": 20.0,
        "entropy_x": None, "entropy_y": None, "seconds": 0.01,
    }).loc[lambda f: f.index.repeat(3)].assign(seed=lambda f: list(range(3)) * len(biases))


def test_score_is_the_reliable_share_averaged_over_the_families_run():
    cells = pd.concat([
        _cells("only_f", "f", [0, 0, 0, 0]),  # reliable everywhere, runs on f only
        _cells("both", "f", [0, 0, 0, 0]), _cells("both", "g", [0, 0, 1, 1]),  # f: 100 %, g: 50 %
        _cells("twin", "f", [0, 0, 0, 0]), _cells("twin", "g", [0, 0, 1, 1]),
    ], ignore_index=True)
    board = lb.build(cells)
    overall = board["overall"].set_index("estimator")
    assert overall.loc["only_f", "score"] == 1.0 and overall.loc["both", "score"] == 0.75
    assert overall.loc["only_f", "rank"] == "1"
    assert sorted([overall.loc["both", "rank"], overall.loc["twin", "rank"]]) == ["2", "=2"]
    assert overall.loc["only_f", "not_run_on"] == "g"
    assert overall.loc["both", "median_abs_bias"] == pytest.approx(0.0)
    assert overall.loc["both", "rmse"] == pytest.approx(math.sqrt(2 * 3 / 24))  # 2 of 8 groups off by 1 bit, 3 seeds each


def test_a_family_on_its_own_n_is_reached_at_its_own_n():
    # f on N = 1024 and 10,000; g (a benchmark's tasks) only at its n = 5,000: g's reach is
    # read at 5,000, not reported as "not run" at 10,000
    cells = pd.concat([_cells("est", "f", [0, 0, 1]), _cells("est", "f", [0, 0, 1], n=10_000),
                       _cells("est", "g", [0, 1], n=5000)], ignore_index=True)
    board = lb.build(cells)
    assert board["reference_n"] == {"f": 10_000, "g": 5000}
    fam = board["families"].set_index(["family", "estimator"])
    # reliable on g's task at H(X,Y) = 0 only; on f's at 0 and 1 bit, not at 2
    assert fam.loc[("g", "est"), "reach"] == "H(X,Y) = 0.00" and fam.loc[("f", "est"), "reach"] == "H(X,Y) = 1.00"
    text = lb.render_markdown(board, "s", [])
    assert "Reach at N = 10,000 (g: 5,000)" in text and "reach at N=5,000" in text


def test_failures_are_counted_not_hidden():
    cells = _cells("flaky", "f", [0, 0, 0, 0])
    cells.loc[cells.index[:3], ["ok", "estimate"]] = [False, np.nan]
    row = lb.build(cells)["overall"].iloc[0]
    assert row["failure_rate"] == pytest.approx(0.25) and row["undefined"] == pytest.approx(0.25)


def test_csv_and_html_formats(board_run, tmp_path):
    _, _, results = board_run
    csv = tmp_path / "b.csv"
    assert main(["leaderboard", "--results", str(results), "--format", "csv", "--out", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert {"rank", "estimator", "score", "median_abs_bias", "failure_rate"} <= set(table.columns)
    page = tmp_path / "b.html"
    assert main(["leaderboard", "--results", str(results), "--format", "html", "--out", str(page)]) == 0
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 2 and "http" not in text.replace("http-equiv", "")


def test_bad_results_are_clear_errors(tmp_path, board_run, capsys):
    _, _, results = board_run
    assert main(["leaderboard", "--results", str(tmp_path / "nowhere")]) == 2
    assert "no results store" in capsys.readouterr().err
    assert main(["leaderboard", "--results", str(results), "--suite", "default"]) == 2
    assert "holds the results of suite 'board'" in capsys.readouterr().err
    Store(tmp_path / "empty").close()
    assert main(["leaderboard", "--results", str(tmp_path / "empty")]) == 2
    assert "holds no cells" in capsys.readouterr().err
    assert main(["leaderboard", "--results", str(results), "--format", "pdf"]) == 2
    assert "unknown --format" in capsys.readouterr().err
    assert main(["leaderboard", "--results", str(results), "--add", "plugin"]) == 2
    assert "leave out --results" in capsys.readouterr().err
    assert main(["leaderboard", "--results", str(results), "-e", "no_such_thing"]) == 2
    assert "no cells of 'no_such_thing'" in capsys.readouterr().err


def test_e_means_only_these_estimators_in_every_command(board_run, capsys):
    # -e selects estimators alike in map, check and leaderboard: here, of a stored map
    _, _, results = board_run
    assert main(["leaderboard", "--results", str(results), "-e", "plugin", "-e", "jvhw", "--format", "csv"]) == 0
    ranked = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(ranked["estimator"]) == {"plugin", "jvhw"}


def test_the_leaderboard_suite_holds_ours_and_every_installed_peer():
    from mibench.map.suite import load_suite

    suite = load_suite("leaderboard")
    names = {e.name for e in suite.estimators}
    assert {"plugin", "grassberger", "nsb", "jvhw", "ksg", "gcmi", "kde"} <= names
    libraries = {cls.library.split(".")[0]: cls.missing() is None for cls in PEERS.values()}
    for library, installed in libraries.items():
        present = any(n.startswith(f"{library}:") for n in names)
        skipped = any(spec.startswith(f"{library}:") for spec, _ in suite.skipped)
        assert (present and not skipped) if installed else (skipped and not present), library


class Flaky(PeerEstimator):
    """A peer that raises on the smallest N and returns NaN on the largest."""

    name = "testpeer:flaky"
    library = "numpy"
    inputs = "codes"
    estimates_entropy = False

    def _mutual_information(self, x, y):
        if len(x) == 256:
            raise RuntimeError("flaky peer: cannot handle 256 rows")
        return float("nan") if len(x) == 4096 else 0.0


def test_a_peer_that_raises_or_returns_nan_becomes_undefined_cells_and_the_sweep_goes_on(tmp_path, monkeypatch):
    monkeypatch.setitem(PEERS, "testpeer:flaky", Flaky)
    text = BOARD_SUITE.replace('spec = "nolib:plugin"', 'spec = "testpeer:flaky"')
    path = write_suite(tmp_path, text)
    out = tmp_path / "board.csv"
    assert main(["leaderboard", "--suite", path, "--out-dir", str(tmp_path / "res"), "--out", str(out),
                 "--format", "csv", "--jobs", "1", "--no-progress"]) == 0
    cells, _ = lb.read_results(tmp_path / "res" / "board")
    spec = Flaky().spec  # module:Class: the class lives outside mibench
    flaky = cells[cells["estimator"] == spec]
    assert flaky.loc[flaky["n"] == 256, "error"].str.contains("cannot handle 256 rows").all()
    assert flaky.loc[flaky["n"] == 4096, "estimate"].isna().all()
    assert cells.loc[cells["estimator"] == "plugin", "ok"].all()  # everyone else ran
    board = pd.read_csv(out).set_index("estimator")
    assert board.loc[spec, "failure_rate"] == pytest.approx(1.0)  # N = 256 raised, N = 4096 gave NaN
    assert board.loc[spec, "undefined"] == pytest.approx(1.0)
