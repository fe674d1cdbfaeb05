"""The fault catalogue of the newer surfaces (issue 24): dumps, importers, score, plane,
leaderboard with users' estimators, the command protocol, conform, check and map, tried as
a hostile or careless user would. Each case once gave a silent wrong answer, a hang, a
runaway allocation or a raw traceback; each now gives the right answer, or one line that
names the input with an exit status of its kind (``mibench.cli.failure``), and loses nothing."""
import gzip
import io
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import mibench
from mibench.cli import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERNAL, main
from mibench.dumps.format import DumpError, save_dump
from mibench.map.run import run_map
from mibench.map.store import Store
from mibench.map.suite import SuiteError, load_suite, select

TESTS = Path(__file__).parent
HAVE_DEV_FULL = Path("/dev/full").exists()


def small_suite(tmp_path, name="s", extra="", spec="plugin", seeds=3):
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        name = "{name}"
        seeds = {seeds}
        n = [64]
        d = [2]
        {extra}
        [[estimators]]
        spec = "{spec}"
        [[tasks]]
        name = "parity"
        params = {{ dim = "=D", noise = 0.1 }}
    """))
    return path


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("mibench: error:")]
    assert len(lines) == 1, err
    return lines[0]


def tiny_dump(path, n=64, epochs=(0, 10)):
    rng = np.random.default_rng(24)
    labels = rng.integers(0, 2, n)
    snapshots = {("fc1", e): np.tanh(rng.normal(size=(n, 3))) for e in epochs}
    save_dump(path, labels, snapshots)
    return path


# -- the command line's boundary ----------------------------------------------------------
@pytest.mark.skipif(not HAVE_DEV_FULL, reason="needs /dev/full")
def test_a_full_disk_is_one_line_with_its_own_status_and_debug_shows_the_traceback(tmp_path, capsys):
    dump = tiny_dump(tmp_path / "d.npz")
    args = ["plane", str(dump), "--out", str(tmp_path / "p.png"), "--csv", "/dev/full"]
    assert main(args) == EXIT_ENVIRONMENT
    line = one_line_error(capsys)
    assert "/dev/full" in line and "No space left" in line
    with pytest.raises(OSError):
        main(["--debug", *args])


@pytest.mark.skipif(not HAVE_DEV_FULL, reason="needs /dev/full")
def test_leaderboard_out_on_a_full_disk(tmp_path, capsys):
    run_map(load_suite(str(small_suite(tmp_path))), tmp_path / "r", progress=False)
    assert main(["leaderboard", "--results", str(tmp_path / "r"), "--out", "/dev/full"]) == EXIT_ENVIRONMENT
    assert "No space left" in one_line_error(capsys)


@pytest.mark.skipif(not HAVE_DEV_FULL, reason="needs /dev/full")
def test_update_baseline_on_a_full_disk(tmp_path, capsys):
    suite = small_suite(tmp_path)
    assert main(["check", "--suite", str(suite), "--update-baseline", "--baseline", "/dev/full", "--no-progress"]) \
        == EXIT_ENVIRONMENT
    assert "/dev/full" in one_line_error(capsys)


def test_an_unexpected_failure_is_one_line_status_70(monkeypatch, capsys):
    def broken(args):
        raise KeyError("deep inside")

    monkeypatch.setattr("mibench.cli.cmd_list", broken)
    assert main(["list"]) == EXIT_INTERNAL
    line = one_line_error(capsys)
    assert "internal error" in line and "--debug" in line


def test_an_estimator_returning_a_word_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    np.save(tmp_path / "x.npy", np.arange(10) % 2)
    assert main(["estimate", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "x.npy"),
                 "-e", "broken_estimators:WordPlugIn"]) == EXIT_BAD_INPUT
    line = one_line_error(capsys)
    assert "WordPlugIn" in line and "'abc'" in line and "not a number" in line


def test_a_store_that_is_a_directory(tmp_path, capsys):
    (tmp_path / "o" / "s" / "results.sqlite").mkdir(parents=True)
    status = main(["map", str(small_suite(tmp_path)), "--out", str(tmp_path / "o"), "--no-progress"])
    assert status in (EXIT_BAD_INPUT, EXIT_ENVIRONMENT)
    assert "results.sqlite" in one_line_error(capsys)


def test_an_unreachable_scheduler_gives_up_soon_and_says_where(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    t0 = time.monotonic()
    status = main(["map", str(small_suite(tmp_path)), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9",
                   "--no-progress"])
    assert status == EXIT_ENVIRONMENT
    assert "tcp://127.0.0.1:9" in one_line_error(capsys)
    assert time.monotonic() - t0 < 25


def test_meta_tensors_get_mibench_s_own_error(tmp_path, capsys):
    meta = torch.empty(50, 2, device="meta")
    with pytest.raises(TypeError, match="meta tensor"):
        mibench.trust(meta, meta, "ksg")
    torch.save(meta, tmp_path / "x.pt")
    assert main(["trust", "--x", str(tmp_path / "x.pt"), "--y", str(tmp_path / "x.pt"), "-e", "ksg"]) == EXIT_BAD_INPUT
    assert "meta tensor" in one_line_error(capsys)


# -- outputs checked before the work ----------------------------------------------------------
@pytest.mark.parametrize("where, expected", [("file", "is a file"), ("under_file", "is a file, not a directory")])
def test_score_out_is_checked_before_scoring(tmp_path, capsys, monkeypatch, where, expected):
    dump = tiny_dump(tmp_path / "d.npz")
    (tmp_path / "f").write_text("in the way")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "scores"
    monkeypatch.setattr("mibench.verdicts.score.score_dump", lambda *a, **k: pytest.fail("scored before checking --out"))
    assert main(["score", str(dump), "--out", str(out), "--no-progress"]) == EXIT_BAD_INPUT
    assert expected in one_line_error(capsys)


def test_plane_out_a_directory_writes_into_it(tmp_path, capsys):
    dump = tiny_dump(tmp_path / "d.npz")
    (tmp_path / "figs").mkdir()
    assert main(["plane", str(dump), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "plane.png").stat().st_size > 0
    assert (tmp_path / "figs" / "plane.csv").stat().st_size > 0
    assert not (tmp_path / "figs.png").exists()
    assert str(tmp_path / "figs" / "plane.png") in capsys.readouterr().out


# -- bounded reads ------------------------------------------------------------------------------
def main_with_peak(argv):
    """The command's exit status and the peak bytes Python allocated while it ran."""
    tracemalloc.start()
    try:
        return main(argv), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _npy_claiming(shape, payload=b"\0" * 64):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def test_a_dump_header_declaring_8_tib_is_refused_before_allocating(tmp_path, capsys):
    path = tiny_dump(tmp_path / "d.npz")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("fc1@20.npy", _npy_claiming((2**40, 1)))
    status, peak = main_with_peak(["dump", "info", str(path)])
    assert status == EXIT_BAD_INPUT
    assert "declares shape" in one_line_error(capsys)
    assert peak < 50 << 20


def test_an_npy_declaring_more_than_it_holds_is_refused(tmp_path, capsys):
    (tmp_path / "x.npy").write_bytes(_npy_claiming((2**40,)))
    assert main(["estimate", "--x", str(tmp_path / "x.npy")]) == EXIT_BAD_INPUT
    assert "declares shape" in one_line_error(capsys)
    np.savez(tmp_path / "a.npz", x=np.zeros(3))
    with zipfile.ZipFile(tmp_path / "a.npz", "a") as archive:
        archive.writestr("big.npy", _npy_claiming((2**40,)))
    with pytest.raises(ValueError, match="declares shape"):
        mibench.arrays.load_array(f"{tmp_path / 'a.npz'}:big")
    assert mibench.arrays.load_array(f"{tmp_path / 'a.npz'}:x").shape == (3,)  # an honest member still reads


def test_zip_sizes_that_lie_are_bounded_by_the_file_on_disk():
    # a stored member's directory entry may claim more than the archive holds: the bytes on disk decide
    from mibench.arrays import declared_size_problem

    info = zipfile.ZipInfo("x.npy")
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = info.compress_size = 2**43 + 128  # claims 8 TiB
    dtype = np.dtype("<f8")
    assert declared_size_problem((2**40,), dtype, info, 128) is None  # believing the directory
    assert "holds at most 872" in declared_size_problem((2**40,), dtype, info, 128, on_disk=1000)
    info.compress_type = zipfile.ZIP_DEFLATED  # deflate expands at most 1032 times the bytes on disk
    assert declared_size_problem((113,), dtype, info, 128, on_disk=1) is None  # 904 = 1032 - 128 bytes
    assert declared_size_problem((114,), dtype, info, 128, on_disk=1) is not None


def test_a_gzip_bomb_in_maps_is_refused_with_bounded_memory(tmp_path, capsys):
    (tmp_path / "maps").mkdir()
    with gzip.open(tmp_path / "maps" / "atlas.csv.gz", "wb", compresslevel=9) as f:
        chunk = b"0" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
    assert (tmp_path / "maps" / "atlas.csv.gz").stat().st_size < 1 << 20
    x = np.random.default_rng(1).integers(0, 2, 200)
    status, peak = main_with_peak(["trust", "--x", _saved(tmp_path, x), "--y", _saved(tmp_path, x), "--maps",
                                   str(tmp_path / "maps")])
    assert status == EXIT_BAD_INPUT
    assert "inflates to more than" in one_line_error(capsys)
    assert peak < 200 << 20


def test_a_plain_text_atlas_is_named(tmp_path, capsys):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "atlas.csv.gz").write_text("family,estimator\nx,y\n")
    x = np.random.default_rng(1).integers(0, 2, 200)
    assert main(["trust", "--x", _saved(tmp_path, x), "--maps", str(tmp_path / "maps")]) == EXIT_BAD_INPUT
    assert "not a gzip-compressed map" in one_line_error(capsys)


def _saved(tmp_path, array, name="x.npy"):
    np.save(tmp_path / name, array)
    return str(tmp_path / name)


# -- dumps: nothing dropped silently ------------------------------------------------------------
def test_two_members_of_one_name_in_an_npz_are_refused(tmp_path):
    path = tiny_dump(tmp_path / "d.npz")
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("fc1@10.npy", _npy_claiming((64, 3), b"\0" * 64 * 3 * 8))
    with pytest.raises(DumpError, match="two members named 'fc1@10.npy'"):
        mibench.dumps.format.Dump(path)


def test_two_spellings_of_one_snapshot_are_refused(tmp_path):
    path = tiny_dump(tmp_path / "d.npz")
    with zipfile.ZipFile(path, "a") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((64, 3)))
        archive.writestr("fc1@0010.npy", buffer.getvalue())
    with pytest.raises(DumpError, match="'fc1@10' and 'fc1@0010' both name layer 'fc1' at epoch 10"):
        mibench.dumps.format.Dump(path)


def test_npy_import_refuses_one_epoch_twice(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "fc1").mkdir(parents=True)
    np.save(src / "labels.npy", np.arange(8) % 2)
    np.save(src / "fc1" / "10.npy", np.zeros((8, 2)))
    np.save(src / "fc1" / "epoch_0010.npy", np.ones((8, 2)))
    assert main(["dump", "import", str(src), "--from", "npy", "--out", str(tmp_path / "d.npz")]) == EXIT_BAD_INPUT
    assert "both epoch 10 of layer 'fc1'" in one_line_error(capsys)
    assert not (tmp_path / "d.npz").exists()


# -- users' estimators in sweeps ------------------------------------------------------------------
def _board_suite(tmp_path, spec, extra=""):
    return select(load_suite(str(small_suite(tmp_path, extra=extra))), add=[spec])


def _stored(root):
    store = Store(root)
    try:
        return store.cells()
    finally:
        store.close()


def test_a_batch_of_the_wrong_size_is_an_error_not_a_shorter_board(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    run_map(_board_suite(tmp_path, "broken_estimators:OneValuePlugIn"), tmp_path / "r", progress=False)
    cells = _stored(tmp_path / "r")
    mine = cells[cells["estimator"].str.contains("OneValue")]
    assert len(mine) == 3 and not mine["ok"].any()  # every seed has a row: none is ranked on a value it never got
    assert mine["error"].str.contains("returned 1 value\\(s\\) for a batch of 3").all()
    assert cells[cells["estimator"] == "plugin"]["ok"].all()


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_estimator_calling_sys_exit_is_an_error_row_and_the_run_goes_on(tmp_path, monkeypatch, jobs):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    stats = run_map(_board_suite(tmp_path, "broken_estimators:ExitingPlugIn"), tmp_path / "r", jobs=jobs, progress=False)
    cells = _stored(tmp_path / "r")
    mine = cells[cells["estimator"].str.contains("Exiting")]
    assert len(mine) == 3 and mine["error"].str.contains("sys.exit\\(0\\)").all()
    assert cells[cells["estimator"] == "plugin"]["ok"].sum() == 3
    assert stats["cells_run"] == 6


def test_conform_fails_an_estimator_that_exits(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(TESTS))
    assert main(["conform", "broken_estimators:ExitingPlugIn"]) == 1
    assert "sys.exit(0)" in capsys.readouterr().out


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cell_past_its_time_limit_becomes_an_error_row(tmp_path, monkeypatch, jobs):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    suite = _board_suite(tmp_path, "broken_estimators:SleepingPlugIn", extra="cell_timeout = 1.5")
    t0 = time.monotonic()
    run_map(suite, tmp_path / "r", jobs=jobs, progress=False)
    assert time.monotonic() - t0 < 120
    cells = _stored(tmp_path / "r")
    mine = cells[cells["estimator"].str.contains("Sleeping")]
    assert len(mine) == 3 and mine["error"].str.contains("per-cell time limit of 4.5 s").all()  # 3 seeds in one call
    assert cells[cells["estimator"] == "plugin"]["ok"].sum() == 3


@pytest.mark.parametrize("value, expected", [("0", "must be a number of seconds > 0"), ('"1h"', "got '1h'")])
def test_cell_timeout_is_checked(tmp_path, value, expected):
    with pytest.raises(SuiteError, match=expected):
        load_suite(str(small_suite(tmp_path, extra=f"cell_timeout = {value}")))


def test_cell_timeout_on_the_command_line_is_checked(tmp_path, capsys):
    assert main(["map", str(small_suite(tmp_path)), "--out", str(tmp_path / "o"), "--cell-timeout", "-1",
                 "--no-progress"]) == EXIT_BAD_INPUT
    assert "--cell-timeout must be a number of seconds > 0" in one_line_error(capsys)


def test_sigkill_while_a_cell_waits_on_its_time_limit_loses_no_finished_cell(tmp_path):
    path = small_suite(tmp_path, extra="cell_timeout = 300")
    text = path.read_text().replace('spec = "plugin"', 'spec = "plugin"\n[[estimators]]\nspec = '
                                                       '"broken_estimators:SleepingPlugIn"')
    path.write_text(text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "mibench", "map", str(path), "--out", str(tmp_path / "o"),
                             "--jobs", "1", "--no-progress"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    store = tmp_path / "o" / "s" / "results.sqlite"
    deadline, stored = time.monotonic() + 90, 0
    while time.monotonic() < deadline and stored < 3:  # plugin's cells (and its frontier probes) are stored
        time.sleep(0.3)
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    stored = db.execute("select count(*) from cells where ok").fetchone()[0]
            except sqlite3.Error:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert stored >= 3, "plugin's cells were not stored before the sleeping cell began"
    cells = _stored(tmp_path / "o" / "s")
    assert cells["ok"].sum() >= stored and cells[cells["estimator"] == "plugin"]["ok"].sum() >= 3


def test_an_estimator_that_pairs_with_no_task_is_refused_not_left_off(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    with pytest.raises(SuiteError, match="pairs with no task of suite 's'"):
        _board_suite(tmp_path, "broken_estimators:NoTargetPlugIn")
    assert main(["leaderboard", "--suite", str(small_suite(tmp_path)), "-e", "broken_estimators:NoTargetPlugIn",
                 "--out-dir", str(tmp_path / "o"), "--no-progress"]) == EXIT_BAD_INPUT
    assert "pairs with no task" in one_line_error(capsys)


def test_leaderboard_reads_the_folder_map_out_was_given(tmp_path, capsys):
    run_map(load_suite(str(small_suite(tmp_path))), tmp_path / "root" / "s", progress=False)
    assert main(["leaderboard", "--results", str(tmp_path / "root"), "--format", "csv"]) == 0
    assert "plugin" in capsys.readouterr().out
    run_map(load_suite(str(small_suite(tmp_path, name="t"))), tmp_path / "root" / "t", progress=False)
    assert main(["leaderboard", "--results", str(tmp_path / "root")]) == EXIT_BAD_INPUT
    assert "several suites (s, t)" in one_line_error(capsys)


def test_a_command_printing_bytes_that_are_not_utf8_is_named():
    cmd = f"{sys.executable} -c \"import sys; sys.stdout.buffer.write(bytes([0xff, 0xfe]) + bytes([10]))\" {{x}} {{y}}"
    with pytest.raises(ValueError, match="command .*must print one number.*xff"):
        mibench.mutual_information(np.arange(20) % 2, np.arange(20) % 2, f"command(cmd={cmd!r})")


# -- the regression gate's baseline -------------------------------------------------------------
def _baseline(tmp_path, monkeypatch):
    from mibench.gates.bias import run_check, write_baseline

    suite = load_suite(str(small_suite(tmp_path)))
    current, _ = run_check(suite)
    path = write_baseline(current, tmp_path / "b.json")
    monkeypatch.setattr("mibench.gates.bias.run_check",
                        lambda *a, **k: pytest.fail("the suite ran before the baseline was checked"))
    return suite, path, json.loads(path.read_text())


@pytest.mark.parametrize("field, value, expected", [
    ("bias", math.nan, "has bias nan"), ("std", "0.1", "has std '0.1'"), ("regime", "great", "has regime 'great'")])
def test_a_baseline_that_cannot_gate_is_refused_before_the_run(tmp_path, monkeypatch, capsys, field, value, expected):
    suite, path, data = _baseline(tmp_path, monkeypatch)
    for group in data["groups"]:
        group[field] = value
    path.write_text(json.dumps(data))
    assert main(["check", "--suite", suite.path, "--baseline", str(path), "--no-progress"]) == EXIT_BAD_INPUT
    line = one_line_error(capsys)
    assert expected in line and str(path) in line


def test_another_suites_baseline_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    suite, path, data = _baseline(tmp_path, monkeypatch)
    data["suite"] = "quick"
    path.write_text(json.dumps(data))
    assert main(["check", "--suite", suite.path, "--baseline", str(path), "--no-progress"]) == EXIT_BAD_INPUT
    assert "baseline of suite 'quick'" in one_line_error(capsys)
