"""The fault catalogue (issue 16): bad input, extreme values, corrupt stores, kills. Each
case once gave a silent wrong answer, a hang, a runaway resource or a raw traceback;
each must now give the right answer or a clear error that says what to change. The
cases that already held are kept too, so none regresses; those about kills and resumes
live beside the sweep they test (tests/map/test_sweep.py: a killed worker, a worker
killed on every try, a pool broken mid-submit, Ctrl-C and resume) and the store's
(tests/map/test_store.py: another schema, a foreign SQLite file)."""
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
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import mibench
from mibench.arrays import load_array
from mibench.cli import main
from mibench.map.store import Store, StoreError
from mibench.map.suite import SuiteError, load_suite

SUITE = """
name = "{name}"
seeds = {seeds}
n = [{n}]
d = [{d}]
{extra}
[[estimators]]
spec = "{spec}"

[[tasks]]
name = "parity"
params = {{ dim = "{dim}", noise = 0.1 }}
"""


def suite_file(tmp_path, name="s", seeds=2, n=64, d=2, dim="=D", spec="plugin", extra=""):
    path = tmp_path / f"{name}.toml"
    path.write_text(SUITE.format(name=name, seeds=seeds, n=n, d=d, dim=dim, spec=spec, extra=extra))
    return path


def rng():
    return np.random.default_rng(16)


# -- silent wrong answers ------------------------------------------------------------------
@pytest.mark.parametrize("log2_k", [4, 20, 35, 40, 50, 60])
def test_nsb_with_a_large_support_stays_right(log2_k):
    y = rng().integers(0, 2, 1000)
    plugin = mibench.mutual_information(y, y, "plugin")  # 1-bit labels: I = H(Y), about 1 bit
    assert mibench.mutual_information(y, y, f"nsb(K={2**log2_k})") == pytest.approx(plugin, abs=0.01)
    if log2_k < 6:
        return  # 50 symbols do not fit a support of 16
    z = rng().integers(0, 50, 1000)
    assert mibench.entropy(z, f"nsb(K={2**log2_k})") == pytest.approx(mibench.entropy(z, "grassberger"), abs=0.1)


def test_a_results_directory_holds_one_suite(tmp_path):
    from mibench.map.run import run_map

    run_map(load_suite(str(suite_file(tmp_path, name="a"))), tmp_path / "out", progress=False)
    with pytest.raises(StoreError, match="holds the results of suite 'a', not 'b'.*another --out"):
        run_map(load_suite(str(suite_file(tmp_path, name="b", d=3))), tmp_path / "out", progress=False)


def test_fresh_never_deletes_another_suites_store(tmp_path):
    from mibench.map.run import run_map

    run_map(load_suite(str(suite_file(tmp_path, name="a"))), tmp_path / "out", progress=False)
    before = len(Store(tmp_path / "out").cells())
    with pytest.raises(StoreError, match="holds the results of suite 'a', not 'b'; --fresh removes only"):
        run_map(load_suite(str(suite_file(tmp_path, name="b"))), tmp_path / "out", fresh=True, progress=False)
    assert before > 0 and len(Store(tmp_path / "out").cells()) == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.sqlite").write_text("a user's own file")
    with pytest.raises(StoreError, match="not a mibench results store"):
        Store(tmp_path / "other", fresh=True, suite="a")
    assert (tmp_path / "other" / "results.sqlite").read_text() == "a user's own file"


@pytest.mark.parametrize("name", ["../victim", "a/b", "..", ".hidden", "", "x" * 101])
def test_a_suite_name_is_a_name_not_a_path(tmp_path, capsys, name):
    # map hostile.toml --out sandbox/inner --fresh once deleted sandbox/victim's store
    (tmp_path / "sandbox" / "victim").mkdir(parents=True)
    (tmp_path / "sandbox" / "victim" / "results.sqlite").write_text("another suite's cells")
    path = tmp_path / "hostile.toml"
    path.write_text(SUITE.format(name=name, seeds=2, n=64, d=2, dim="=D", spec="plugin", extra=""))
    assert main(["map", str(path), "--out", str(tmp_path / "sandbox" / "inner"), "--fresh", "--no-progress"]) == 2
    assert "name: must be a plain name" in capsys.readouterr().err
    assert (tmp_path / "sandbox" / "victim" / "results.sqlite").read_text() == "another suite's cells"
    assert not (tmp_path / "sandbox" / "inner").exists()


def test_cells_of_another_version_are_not_reused(tmp_path):
    from mibench.map.run import run_map

    run_map(load_suite(str(suite_file(tmp_path))), tmp_path / "out", progress=False)
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        db.execute("UPDATE cells SET version = '0.0.1', estimate = 99 WHERE seed = 0")
    with pytest.raises(StoreError, match="written by mibench 0.0.1.*--fresh"):
        Store(tmp_path / "out")


def test_an_unusable_device_is_refused_before_any_work(tmp_path):
    for device in ("tpu", "cuda:7"):
        if device.startswith("cuda") and torch.cuda.device_count() > 7:
            continue
        with pytest.raises(SuiteError, match=f"device: '{device}' is not usable here.*devices here: cpu"):
            load_suite(str(suite_file(tmp_path, extra=f'device = "{device}"')))


def test_environmental_errors_are_retried_and_estimator_errors_kept(tmp_path):
    from mibench.map.run import run_map

    run_map(load_suite(str(suite_file(tmp_path))), tmp_path / "out", progress=False)
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        db.execute("UPDATE cells SET ok = 0, estimate = NULL, error = 'worker process died (out of memory or killed)' "
                   "WHERE seed = 0")
        db.execute("UPDATE cells SET ok = 0, estimate = NULL, error = 'ValueError: no coincidences' WHERE seed = 1")
    result = run_map(load_suite(str(suite_file(tmp_path))), tmp_path / "out", progress=False)
    assert result["cells_run"] == 1  # the dead-worker cell, not the estimator's own error
    cells = result["regimes"]
    assert len(cells) == 1


BROKEN = """
from mibench.estimators.discrete import PlugIn

class Broken(PlugIn):
    def mutual_information_parts(self, x, y):
        raise RuntimeError("always fails")
"""


def test_a_run_whose_cells_all_fail_exits_non_zero(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_estimator.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = suite_file(tmp_path, spec="broken_estimator:Broken")
    assert main(["map", str(path), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-progress"]) == 1
    assert "every one of the 2 cells run now failed" in capsys.readouterr().err


def test_int64_max_codes_are_counted_exactly():
    big = 2**63 - 1
    x = np.array([[0, 1], [big, 1], [5, 2], [0, 1], [big, 1], [7, 7]] * 10, dtype=np.int64)
    p = np.array([2, 2, 1, 1]) / 6
    assert mibench.entropy(x, "plugin") == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
    assert mibench.entropy(np.array([0, big, 5] * 10), "plugin") == pytest.approx(math.log2(3), abs=1e-12)


def test_uint64_beyond_int64_is_refused_not_called_negative():
    with pytest.raises(ValueError, match="uint64 values up to 9223372036854775808.*np.unique"):
        mibench.entropy(np.array([2**63, 1, 2**63, 5], dtype=np.uint64), "plugin")
    assert mibench.entropy(np.array([2**62, 1, 2**62, 5], dtype=np.uint64), "plugin") == pytest.approx(1.5)


@pytest.mark.parametrize("x, spec, expected", [
    (np.random.default_rng(0).standard_normal(1000) * 1e6, "binned(plugin, rule=width, width=1e-13)", "beyond what exact"),
    (np.array([-1e308, 1e308, 0.0, 5e307] * 10), "binned(plugin, rule=uniform, bins=4)", "span max - min overflows"),
    (np.array([0.5, 1.5] * 10), "binned(plugin, rule=fixed, bins=4, range=(-1e308, 1e308))", "hi - lo overflows"),
])
def test_binning_refuses_float_overflow(x, spec, expected):
    with pytest.raises(ValueError, match=expected):
        mibench.entropy(x, spec)


def test_huge_whole_floats_are_binned_as_numbers_not_read_as_codes():
    r = rng()
    g = r.standard_normal((500, 1))
    y = g + r.standard_normal((500, 1))
    spec = "binned(plugin, rule=uniform, bins=8)"
    assert mibench.mutual_information(g * 1e200, y * 1e200, spec) == pytest.approx(mibench.mutual_information(g, y, spec))


@pytest.mark.parametrize("spec", ["kde", "renyi", "ksg", "kozachenko_leonenko", "parametric_gaussian", "gcmi",
                                  "infonce(steps=5)"])
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_every_estimator_is_finite_or_says_why_at_extreme_scales(spec, scale):
    r = rng()
    g = r.standard_normal((300, 1))
    y = g + r.standard_normal((300, 1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = mibench.mutual_information(g * scale, y * scale, spec)
    except ValueError as exc:
        assert "rescale" in str(exc) and spec.split("(")[0] in str(exc)
    else:
        # scale does not change MI: a finite answer must be the one at unit scale
        assert math.isfinite(value)
        assert value == pytest.approx(mibench.mutual_information(g, y, spec), abs=1e-6)


# -- hangs and runaway resources -----------------------------------------------------------
@pytest.mark.parametrize("dim, expected", [
    ("=D // 0", "divides by zero"),
    ("=2**70", "exponent 70"),
    ("=D ** D ** D ** D", r"dim must be an integer in \[1, 512\]"),  # 2**16: a task too large, named
    ("=(2**64) * (2**64)", "within \\+-2\\*\\*64"),
])
def test_grid_expressions_are_bounded_and_name_their_key(tmp_path, dim, expected):
    start = time.monotonic()
    with pytest.raises(SuiteError, match=f"tasks\\[0\\].params: at D=2, B=0: .*{expected}"):
        load_suite(str(suite_file(tmp_path, dim=dim)))
    assert time.monotonic() - start < 30  # once a hang


def test_a_suite_too_large_is_refused_before_any_work(tmp_path):
    with pytest.raises(SuiteError, match="seeds: must be a count from 1 to 10,000"):
        load_suite(str(suite_file(tmp_path, seeds=100_000_000)))
    with pytest.raises(SuiteError, match=r"N = 9,223,372,036,854,775,807 rows x 3 dims need .* GiB; this machine has"):
        load_suite(str(suite_file(tmp_path, n=2**63 - 1)))


def test_estimate_checks_memory_first(capsys):
    assert main(["estimate", "--task", "parity(dim=3)", "-n", "400000000"]) == 2
    assert "GiB; this machine has" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_map(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text(textwrap.dedent("""
        name = "slow"
        seeds = 3
        n = [2048, 4096, 8192]
        d = [1, 2, 3, 4, 5, 6]
        [[estimators]]
        spec = "kde"
        [[tasks]]
        name = "gaussian"
        params = { dim_x = "=D", dim_y = "=D", rho = 0.5 }
    """))
    proc = subprocess.Popen([sys.executable, "-m", "mibench", "map", str(path), "--out", str(tmp_path / "o"),
                             "--jobs", "2", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children(pid):
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:  # fields: state, ppid, ...
                found.append(int(stat.parent.name))
        return found

    deadline = time.monotonic() + 90
    while len(children(proc.pid)) < 3 and time.monotonic() < deadline:  # two workers + the resource tracker
        time.sleep(0.2)
    kids = children(proc.pid)
    assert kids, "the map started no workers"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{k}").exists() and "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]
              for k in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [k for k in kids if Path(f"/proc/{k}").exists() and "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]]
    for k in alive:  # leave nothing behind, even on failure
        os.kill(k, signal.SIGKILL)
    assert not alive, f"processes {alive} outlived their killed parent"


# -- raw tracebacks and misleading messages -------------------------------------------------
@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"SQLite format 3\x00" + b"\x00" * 50])
def test_a_damaged_store_is_named_and_left_untouched(tmp_path, capsys, content):
    folder = tmp_path / "out" / "quick"
    folder.mkdir(parents=True)
    (folder / "results.sqlite").write_bytes(content)
    assert main(["map", "quick", "--out", str(tmp_path / "out"), "--no-progress", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "--fresh" in err and "Traceback" not in err
    assert (folder / "results.sqlite").read_bytes() == content


def test_an_unwritable_out_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("in the way")
    assert main(["map", "quick", "--out", str(tmp_path / "file" / "x"), "--no-progress"]) == 2
    assert "cannot write results to" in capsys.readouterr().err


@pytest.mark.parametrize("make, expected", [
    (lambda: torch.eye(4).repeat(5, 1).to_sparse(), "dense"),
    (lambda: torch.zeros(20, 2, device="meta"), "meta tensor"),
    (lambda: torch.zeros(20, 2).to(torch.float8_e4m3fn), "cast it first"),
])
def test_unusual_tensors_get_clear_errors(make, expected):
    with pytest.raises(TypeError, match=expected):
        mibench.entropy(make(), "kde")


def test_a_sparse_pt_file_on_the_command_line(tmp_path, capsys):
    torch.save(torch.eye(4).repeat(5, 1).to_sparse(), tmp_path / "s.pt")
    assert main(["estimate", "--x", str(tmp_path / "s.pt")]) == 2
    assert "to_dense()" in capsys.readouterr().err


def test_json_output_has_null_not_nan(tmp_path, capsys):
    np.save(tmp_path / "d.npy", np.arange(50))  # all distinct: NSB without K is undefined
    assert main(["estimate", "--x", str(tmp_path / "d.npy"), "--y", str(tmp_path / "d.npy"), "-e", "nsb", "--json"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert record["bits"] is None and "undefined" in record["undefined"]


def test_integer_labels_from_csv_are_codes(tmp_path, capsys):
    np.savetxt(tmp_path / "x.csv", np.arange(120) % 4, fmt="%d")
    np.savetxt(tmp_path / "y.csv", np.arange(120) % 2, fmt="%d")
    assert main(["estimate", "--x", str(tmp_path / "x.csv"), "--y", str(tmp_path / "y.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits"] == pytest.approx(1.0)  # y is a function of x
    np.savetxt(tmp_path / "f.csv", np.linspace(0, 1, 10), fmt="%.3f")
    assert load_array(str(tmp_path / "f.csv")).dtype.kind == "f"  # real numbers stay real


def test_non_utf8_toml_names_its_file(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "\xff"\n')
    with pytest.raises(SuiteError, match=f"{path}: not UTF-8"):
        load_suite(str(path))


def test_range_errors_name_the_task(capsys):
    assert main(["estimate", "--task", "quantized_gaussian(range=(1.0, 0.0))"]) == 2
    assert "quantized_gaussian: range must be a pair" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_are_refused(tmp_path, capsys, jobs):
    assert main(["map", "quick", "--out", str(tmp_path), "--jobs", jobs, "--no-progress"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert main(["check", "--jobs", jobs]) == 2


def test_an_npz_member_is_read_alone(tmp_path):
    np.savez_compressed(tmp_path / "a.npz", big=np.zeros((3000, 10_000)), small=np.arange(10))  # 240 MB unpacked
    tracemalloc.start()
    small = load_array(f"{tmp_path / 'a.npz'}:small")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert small.tolist() == list(range(10)) and peak < 20 * 2**20


# -- cases that held, kept so they keep holding -------------------------------------------
@pytest.mark.parametrize("call, expected", [
    (lambda: mibench.entropy(np.array([0.1, np.nan, 0.3] * 5), "kde"), "non-finite"),
    (lambda: mibench.mutual_information(np.zeros(10, int), np.zeros(11, int)), "n"),
    (lambda: mibench.mutual_information(np.random.default_rng(0).random((5, 1)), np.random.default_rng(1).random((5, 1)),
                                        "ksg", k=5), "k"),
    (lambda: mibench.entropy(np.random.default_rng(0).random(20), "binned(plugin, rule=uniform, bins=0)"), "bins"),
    (lambda: mibench.entropy(np.zeros(10, int), "no_such_estimator"), "unknown estimator"),
    (lambda: mibench.entropy(np.zeros(10, int), "__import__('os').system('echo hi')"), "cannot parse"),
    (lambda: mibench.entropy(np.zeros(10, int), "os:system"), "not an estimator"),
])
def test_bad_input_that_was_already_refused(call, expected):
    with pytest.raises((ValueError, TypeError), match=expected):
        call()


class _Payload:
    """Unpickling this touches ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickles_and_truncated_files_are_refused(tmp_path):
    import pickle

    marker = tmp_path / "code-ran"
    with open(tmp_path / "obj.npy", "wb") as f:  # an object-dtype .npy written by hand: its data are a pickle stream
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        f.write(pickle.dumps([_Payload(marker)]))
    with pytest.raises(ValueError, match="pickled"):
        load_array(str(tmp_path / "obj.npy"))
    assert not marker.exists()
    np.savez(tmp_path / "t.npz", x=np.arange(1000))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "t.npz").read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot read"):
        load_array(str(tmp_path / "cut.npz"))


def test_suite_text_never_runs_code(tmp_path):
    path = suite_file(tmp_path, dim="=__import__('os').getpid()")
    with pytest.raises(SuiteError, match="unsupported expression"):
        load_suite(str(path))
