"""mibench trust / score / atlas from the command line."""
import json

import numpy as np
import pandas as pd

from mibench.cli import main
from mibench.dumps.format import save_dump


def test_trust_prints_json(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.integers(0, 2, (2000, 3)))
    np.save(tmp_path / "y.npy", rng.integers(0, 2, 2000))
    assert main(["trust", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quantity"] == "I(X;Y)" and out["regime"] in ("reliable", "biased") and out["data"]["distinct"] == 8


def test_trust_takes_input_ids_and_a_bound_from_the_command_line(tmp_path, capsys):
    # 1,024 inputs each recorded twice, two inputs per pattern labelled 0 and 1: I = 0 exactly,
    # the estimate is H(Y) = 1 bit; with the ids the repeats are no evidence and the verdict is
    # not reliable, and with the bound 0.5 the estimate is above it and the interval below it
    inputs = 2 * np.random.default_rng(3).choice(2**19, 1024, replace=False) + np.tile([0, 1], 512)
    rows = np.repeat(inputs, 2)
    np.save(tmp_path / "t.npy", (rows // 2)[:, None])
    np.save(tmp_path / "y.npy", rows % 2)
    np.save(tmp_path / "ids.npy", rows)
    base = ["trust", "--x", str(tmp_path / "t.npy"), "--y", str(tmp_path / "y.npy"), "--json"]
    assert main(base + ["--input-ids", str(tmp_path / "ids.npy"), "--bound", "0.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["regime"] == "biased" and out["data"]["y_function_of_x"] is None
    assert out["interval"][1] <= 0.5 and "exceeds the bound" in out["reason"]


def test_score_writes_the_table_the_plane_and_the_report(tmp_path, capsys):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 512)
    snaps = {("fc", e): np.tanh(rng.normal(size=(512, 3)) * (e + 1)) for e in (0, 5)}
    save_dump(tmp_path / "d.npz", labels, snaps, input_ids=np.arange(512), meta={"activation": "tanh"})
    assert main(["score", str(tmp_path / "d.npz"), "--bins", "4", "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    scores = pd.read_csv(tmp_path / "s" / "scores.csv")
    assert set(scores["quantity"]) == {"I(X;T)", "I(T;Y)"} and len(scores) == 4
    assert (scores["bins"] == 4).all() and "rule=fixed" in scores["estimator"].iloc[0]
    assert (tmp_path / "s" / "plane.png").stat().st_size > 10_000
    assert "What can be read" in (tmp_path / "s" / "report.md").read_text()


def test_score_states_one_class_dumps(tmp_path):
    rng = np.random.default_rng(2)
    save_dump(tmp_path / "d.npz", np.zeros(256, int), {("fc", 0): rng.normal(size=(256, 2))}, input_ids=np.arange(256))
    assert main(["score", str(tmp_path / "d.npz"), "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    scores = pd.read_csv(tmp_path / "s" / "scores.csv")
    ty = scores[scores["quantity"] == "I(T;Y)"]
    # 0 on the sample, and the dump's one class bounds I(T;Y) at log2 1 = 0: the interval is that point
    assert (ty["estimate"] == 0).all() and ty["reason"].str.contains("takes a single value").all()
    assert (ty["bias_lo"] == 0).all() and (ty["bias_hi"] == 0).all()
    assert "I(T;Y) = 0 exactly" in (tmp_path / "s" / "report.md").read_text()


def test_atlas_writes_a_folder_of_the_users_never_the_installed_package(tmp_path, monkeypatch, capsys):
    from mibench.verdicts.atlas import Atlas, package_data

    shipped = package_data() / "atlas.csv.gz"
    before = shipped.stat().st_mtime_ns
    folder = tmp_path / "maps" / "default"
    folder.mkdir(parents=True)
    Atlas.shipped().cells.head(40).to_csv(folder / "regimes.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["atlas", str(folder)]) == 0
    assert "trust --maps mibench-atlas" in capsys.readouterr().out
    assert len(Atlas.from_dir(tmp_path / "mibench-atlas").cells) == 40 and shipped.stat().st_mtime_ns == before
    assert main(["atlas", str(folder), "--out", "x", "--into-package"]) == 2
    assert "not both" in capsys.readouterr().err and shipped.stat().st_mtime_ns == before


def test_atlas_joins_several_suites_and_says_which(tmp_path, capsys):
    import sqlite3

    from mibench.verdicts.atlas import Atlas

    cells = Atlas.shipped().cells
    for suite, part in (("default", cells.head(30)), ("trust", cells.tail(12))):
        folder = tmp_path / "maps" / suite
        folder.mkdir(parents=True)
        part.to_csv(folder / "regimes.csv", index=False)
        with sqlite3.connect(folder / "results.sqlite") as db:  # the suite's name, as `mibench map` stores it
            db.execute("create table meta (key text, value text)")
            db.execute("insert into meta values ('suite', ?)", (suite,))
    maps = [str(tmp_path / "maps" / s) for s in ("default", "trust")]
    assert main(["atlas", *maps, "--out", str(tmp_path / "both")]) == 0
    joined = Atlas.from_dir(tmp_path / "both")
    assert len(joined.cells) == 42 and joined.provenance["suites"] == ["default", "trust"]
    assert "'default+trust'" in capsys.readouterr().out
    assert main(["atlas", maps[0], maps[0], "--out", str(tmp_path / "twice")]) == 2  # cells counted twice: refused
    assert "same suite given twice" in capsys.readouterr().err and not (tmp_path / "twice").exists()
