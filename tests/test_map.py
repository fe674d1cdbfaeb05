"""Suites, the sweep, the store and the map outputs."""
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mibench.cli import main
from mibench.maps import run_map
from mibench.regimes import classify, describe_fit, frontiers
from mibench.registry import REGISTRY
from mibench.store import SCHEMA_VERSION, Store, StoreError
from mibench.suite import SuiteError, cell_count, load_suite, resolve
from mibench.sweep import pending_groups, run_sweep
from mibench.tasks import TASKS

TINY = """
name = "tiny"
seeds = 3
n = [64, 512]
d = [2, 9]
bins = [4]

[[estimators]]
spec = "plugin"

[[estimators]]
spec = "miller_madow"

[[tasks]]
name = "binary_codes"
label = "codebook"
d_means = "log2 K"
params = { dim = 30, source = "codebook", K = "=2**D", output = "copy" }

[[tasks]]
name = "quantized_gaussian"
params = { rho = 0.8, bins = "=B", dim = "=D", range = [-1.0, 1.0] }
binning = { rule = "fixed", range = [-1.0, 1.0] }
"""


def write_suite(tmp_path, text, name="suite.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def tiny(tmp_path):
    return load_suite(write_suite(tmp_path, TINY))


def test_tiny_suite_expands_to_batched_groups(tiny):
    # codebook: 2 estimators x 2 D x 2 N; quantized: 2 binned estimators x 1 bins x 2 D x 2 N
    assert len(tiny.groups) == 16 and cell_count(tiny.groups) == 48
    binned = [g for g in tiny.groups if g.family == "quantized_gaussian"]
    assert all(g.estimator.startswith("binned(") and "rule=fixed, bins=4" in g.estimator for g in binned)
    assert all(g.bins == 0 for g in tiny.groups if g.family == "codebook")


def test_estimator_limits_cap_the_grid(tmp_path):
    text = TINY.replace('spec = "plugin"', 'spec = "plugin"\nmax_n = 64\nmax_d = 2')
    suite = load_suite(write_suite(tmp_path, text))
    plugin = [g for g in suite.groups if g.estimator == "plugin"]
    assert {(g.n, g.d) for g in plugin} == {(64, 2)}


def test_continuous_estimators_score_only_the_families_they_target(tmp_path):
    text = TINY + '\n[[estimators]]\nspec = "gcmi"\n\n[[tasks]]\nname = "gaussian"\nparams = { dim_x = "=D", dim_y = "=D" }\n'
    text += '\n[[estimators]]\nspec = "kolchinsky_tracey"\n'
    suite = load_suite(write_suite(tmp_path, text))
    gcmi = {g.family for g in suite.groups if g.estimator == "gcmi"}
    assert gcmi == {"gaussian"}  # not the codebook (discrete) nor quantized_gaussian (binned truth)
    assert not [g for g in suite.groups if g.estimator.startswith("kolchinsky_tracey")]


def test_grid_expressions():
    assert resolve("=2**D", 5, 0) == 32 and resolve("=min(D, B) * 2", 5, 3) == 6
    assert resolve([1, 2], 0, 0) == (1, 2) and resolve("codebook", 1, 1) == "codebook"
    with pytest.raises(ValueError, match="unsupported expression"):
        resolve("=__import__('os')", 1, 1)


BAD_SUITES = [
    ("n = [1, 2", "not valid TOML"),
    (TINY + "\ncolour = 'red'\n", "colour: unknown key; valid keys: name"),
    (TINY.replace('spec = "plugin"', 'spec = "plugn"'), "estimators[0].spec: unknown estimator 'plugn'; valid estimators"),
    (TINY.replace('name = "binary_codes"', 'name = "codes"'), "tasks[0].name: unknown task 'codes'; valid tasks"),
    (TINY.replace("n = [64, 512]", "n = []"), "n: must be a non-empty list"),
    (TINY.replace("n = [64, 512]", "n = [-64, 512]"), "n: every value must be an integer >= 2"),
    (TINY.replace("d = [2, 9]", "d = [2, 31]"), "tasks[0].params: at D=31, B=0: K must be an integer"),
    (TINY + "\n[tolerances]\nslack = 1\n", "tolerances.slack: unknown key"),
    (TINY.replace('label = "codebook"\n', 'label = "quantized_gaussian"\n'), "labels must be distinct"),
    (TINY.replace('d_means = "log2 K"', 'd_means = "log2 K"\nweight = 2'), "tasks[0].weight: unknown key"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\nmax_n = 0'), "estimators[0].max_n: must be a positive integer"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\ncolour = 1'), "estimators[0]: each estimator is a table with spec"),
]


@pytest.mark.parametrize("text, message", BAD_SUITES)
def test_malformed_suites_fail_naming_file_and_key(tmp_path, text, message):
    path = write_suite(tmp_path, text, "bad.toml")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert path in str(info.value) and message in str(info.value)


def test_a_malformed_suite_does_no_work(tmp_path, capsys):
    path = write_suite(tmp_path, TINY.replace("n = [64, 512]", "n = [0]"), "bad.toml")
    out = tmp_path / "results"
    assert main(["map", path, "--out", str(out), "--no-progress"]) == 2
    assert "bad.toml" in capsys.readouterr().err
    assert not out.exists()


def test_builtin_suites_load_and_default_covers_the_registry():
    assert cell_count(load_suite("quick").groups) > 0 and load_suite("full").seeds == tuple(range(50))
    default = load_suite("default")
    assert min(default.n) <= 64 and max(default.n) >= 2**16
    assert min(default.d) == 1 and max(default.d) >= 32
    assert len(default.bins) >= 2 and len(default.seeds) >= 10
    names = {e.name for e in default.estimators}
    # binned forms are made for the continuous tasks
    assert names == set(REGISTRY) - {"binned"}
    assert {g.estimator.split("(")[0] for g in default.groups} >= names
    assert {t.name for t in default.tasks} == set(TASKS)
    full = load_suite("full")
    assert {e.name for e in full.estimators} == names and {t.name for t in full.tasks} == set(TASKS)
    assert any(g.estimator.startswith("binned(") for g in default.groups)


# -- store ---------------------------------------------------------------------------------

def test_store_refuses_another_schema(tmp_path):
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "results.sqlite")
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()
    with pytest.raises(StoreError, match=f"schema {SCHEMA_VERSION + 1}, this mibench uses schema {SCHEMA_VERSION}"):
        Store(tmp_path)
    Store(tmp_path, fresh=True).close()  # --fresh starts over


def test_store_refuses_a_foreign_sqlite_file(tmp_path):
    db = sqlite3.connect(tmp_path / "results.sqlite")
    with db:
        db.execute("CREATE TABLE things (x)")
    db.close()
    with pytest.raises(StoreError, match="not a mibench results store"):
        Store(tmp_path)


# -- sweep -------------------------------------------------------------------------------------

def stored(store):
    return store.cells().sort_values(["estimator", "task_id", "n", "bins", "seed"]).reset_index(drop=True)


def test_interrupted_sweep_keeps_finished_cells_and_resumes(tiny, tmp_path):
    reference = Store(tmp_path / "ref")
    run_sweep(tiny, reference, progress=False)

    store = Store(tmp_path / "run")
    seen = []

    def interrupt(group):
        seen.append(group)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny, store, progress=False, on_group=interrupt)
    assert len(store.cells()) == cell_count(seen)  # every finished group is stored
    stats = run_sweep(tiny, store, progress=False)
    assert stats["cells_skipped"] == cell_count(seen) and stats["cells_run"] == cell_count(tiny.groups) - cell_count(seen)
    assert pending_groups(tiny, store) == []
    a, b = stored(reference), stored(store)
    assert len(b) == cell_count(tiny.groups)
    np.testing.assert_array_equal(a["estimate"].to_numpy(), b["estimate"].to_numpy())


def test_a_failing_estimator_becomes_error_rows(tmp_path):
    text = TINY.replace('spec = "miller_madow"', 'spec = "james_stein(K=2)"')  # K smaller than the codebook
    suite = load_suite(write_suite(tmp_path, text))
    store = Store(tmp_path / "out")
    stats = run_sweep(suite, store, progress=False)
    cells = store.cells()
    errors = cells[~cells["ok"]]
    assert stats["errors"] == len(errors) > 0
    assert errors["error"].str.contains("smaller than the").all()
    assert cells[cells["estimator"] == "plugin"]["ok"].all()
    assert (classify(errors.assign(estimate=np.nan))["regime"] == "undefined").all()


def test_worker_processes_give_the_same_cells(tiny, tmp_path):
    one, two = Store(tmp_path / "a"), Store(tmp_path / "b")
    run_sweep(tiny, one, progress=False)
    run_sweep(tiny, two, jobs=2, progress=False)
    np.testing.assert_array_equal(stored(one)["estimate"].to_numpy(), stored(two)["estimate"].to_numpy())


def test_dask_local_cluster_gives_the_same_cells(tiny, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            dask_store = Store(tmp_path / "dask")
            run_sweep(tiny, dask_store, client=client, progress=False)
    local = Store(tmp_path / "local")
    run_sweep(tiny, local, progress=False)
    np.testing.assert_array_equal(stored(local)["estimate"].to_numpy(), stored(dask_store)["estimate"].to_numpy())


# -- regimes and outputs -------------------------------------------------------------------------

def fake_cells(estimates, truth, n=1024, estimator="plugin", ok=True, joint_entropy=None, task_id="t", d=1):
    return pd.DataFrame({
        "estimator": estimator, "family": "f", "task_id": task_id, "n": n, "d": d, "bins": 0,
        "seed": range(len(estimates)), "estimate": estimates, "truth": truth, "ok": ok,
        "joint_entropy": joint_entropy,
    })


@pytest.mark.parametrize(
    "estimates, truth, regime",
    [
        ([5.02, 4.98, 5.0], 5.0, "reliable"),
        ([19.2, 19.1, 19.15], 20.0, "reliable"),  # within 5% of the truth
        ([9.95, 9.97, 9.96], 14.0, "saturated"),  # log2 1024 = 10 is the plug-in ceiling
        ([4.0, 6.0, 5.0], 5.0, "unstable"),
        ([4.5, 4.52, 4.51], 5.0, "biased"),
        ([5.0, math.nan, 5.0], 5.0, "undefined"),
    ],
)
def test_regime_rules(estimates, truth, regime):
    assert classify(fake_cells(estimates, truth))["regime"].tolist() == [regime]


@pytest.mark.parametrize("joint", [True, False])
def test_frontier_axis_is_the_joint_entropy_where_the_task_states_one(joint):
    # Three parity-like tasks: the same 0.5-bit truth, codes of 4, 8 and 12 bits; the
    # estimate fails only on the widest. Measured against I the frontier would say
    # nothing; against H(X,Y) it ends at 8 bits, 2 bits below log2 N = 10.
    cells = pd.concat([
        fake_cells(estimates, 0.5, joint_entropy=float(h) if joint else None, task_id=f"t{h}", d=h)
        for h, estimates in [(4, [0.5, 0.51, 0.49]), (8, [0.52, 0.5, 0.51]), (12, [1.5, 1.52, 1.49])]
    ])
    points, fits = frontiers(classify(cells))
    point = points.iloc[0]
    if joint:
        assert (point["axis"], point["max"], point["margin"], point["d_max"]) == ("H(X,Y)", 8.0, 2.0, 8.0)
        assert "log2 N - H(X,Y) >= 2.0" in describe_fit(fits.iloc[0].to_dict())
    else:
        assert point["axis"] == "I(X;Y)" and math.isnan(point["max"]) and math.isnan(point["margin"])
        assert "log2 N -" not in describe_fit(fits.iloc[0].to_dict())


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


def _process_run(suite, store, work):
    from mibench.sweep import _run_processes, pending_groups

    rows = []

    def record(group, group_rows):
        store.write(group_rows)
        rows.extend(group_rows)

    _run_processes(pending_groups(suite, store), "cpu", 2, record, work=work)
    return rows


SMALL = TINY.replace("d = [2, 9]", "d = [9]").split("[[tasks]]\nname = \"quantized_gaussian\"")[0]


def test_a_killed_worker_loses_no_finished_cell(tmp_path, monkeypatch):
    import worker_faults

    tiny = load_suite(write_suite(tmp_path, SMALL))
    monkeypatch.setenv(worker_faults.MARKER_DIR, str(tmp_path))
    store = Store(tmp_path / "flaky")
    _process_run(tiny, store, worker_faults.dies_once_per_group)  # each 512-sample group kills one worker once
    cells = store.cells()
    assert len(cells) == cell_count(tiny.groups) and cells["ok"].all()


def test_a_group_that_always_kills_its_worker_becomes_error_rows(tmp_path):
    import worker_faults

    tiny = load_suite(write_suite(tmp_path, SMALL))
    store = Store(tmp_path / "dead")
    _process_run(tiny, store, worker_faults.dies_on_big_groups)
    cells = store.cells()
    assert len(cells) == cell_count(tiny.groups)
    dead = cells[~cells["ok"]]
    assert len(dead) > 0 and set(zip(dead["n"], dead["d"])) == {(512, 9)}
    assert dead["error"].str.contains("worker process died").all()


def test_a_pool_that_breaks_while_submitting_loses_no_group(tmp_path, monkeypatch):
    # A worker can die between two submissions; submit then raises, and the group
    # being submitted must stay queued rather than vanish.
    import concurrent.futures as cf

    import mibench.sweep as sweep

    real_submit = sweep._submit_ignoring_interrupts
    calls = []

    def submit_breaking_once(pool, work, group, device):
        calls.append(group)
        if len(calls) == 2:
            raise cf.process.BrokenProcessPool("a worker died")
        return real_submit(pool, work, group, device)

    monkeypatch.setattr(sweep, "_submit_ignoring_interrupts", submit_breaking_once)
    tiny = load_suite(write_suite(tmp_path, SMALL))
    store = Store(tmp_path / "broken")
    _process_run(tiny, store, sweep.run_group)
    cells = store.cells()
    assert len(calls) > len(tiny.groups)  # the refused group was submitted again
    assert len(cells) == cell_count(tiny.groups) and cells["ok"].all()


def test_ctrl_c_keeps_every_finished_group_and_the_rerun_completes(tmp_path):
    # Ctrl-C reaches the whole process group; workers ignore it (no tracebacks), the
    # sweep stops, and what was stored stays stored: whole groups only.
    path = write_suite(tmp_path, TINY)
    out = tmp_path / "interrupted"
    here = Path(__file__).parent
    proc = subprocess.Popen(
        [sys.executable, "-c", f"import worker_faults; worker_faults.sweep_until_interrupted({path!r}, {str(out)!r})"],
        cwd=here, env={**os.environ, "PYTHONPATH": str(here)}, start_new_session=True, stderr=subprocess.PIPE, text=True,
    )
    stored = 0
    deadline = time.monotonic() + 120
    while stored == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if (out / "results.sqlite").exists():
            try:
                with sqlite3.connect(out / "results.sqlite", timeout=5) as db:
                    stored = db.execute("SELECT count(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:  # the table is not created yet
                pass
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err  # workers ignore it and finish cleanly
    suite = load_suite(path)
    cells = Store(out).cells()
    assert 0 < len(cells) < cell_count(suite.groups)
    assert (cells.groupby(["estimator", "task_id", "n", "bins"]).size() == 3).all()  # whole groups of 3 seeds
    before = cells.set_index(["estimator", "task_id", "n", "bins", "seed"])["estimate"]
    stats = run_sweep(suite, Store(out), progress=False)
    assert stats["cells_skipped"] == len(cells) and stats["cells_run"] == cell_count(suite.groups) - len(cells)
    after = Store(out).cells().set_index(["estimator", "task_id", "n", "bins", "seed"])["estimate"]
    assert after.loc[before.index].equals(before)


def test_scheduler_without_dask_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if Dask were not installed
    assert main(["map", "quick", "--scheduler", "local", "--out", str(tmp_path), "--no-progress"]) == 2
    assert 'pip install "mibench[dask]"' in capsys.readouterr().err
    assert not (tmp_path / "results.sqlite").exists()  # failed before any work


def test_the_log2_n_line_lands_on_the_right_heatmap_column():
    from mibench.plots import _n_axis_position

    ns = [64, 256, 1024]  # cells 0, 1, 2 at log2 N = 6, 8, 10
    assert [_n_axis_position(b, ns) for b in (6, 7, 10, 5, 12)] == [0, 0.5, 2, -0.5, 3]


def test_bias_curves_survive_an_estimator_that_failed_everywhere(tmp_path):
    # e.g. parametric_gaussian on layer_codes: the label is linear in the units, so
    # every covariance is singular and every group is undefined
    from mibench.plots import bias_curves

    cells = pd.concat([
        fake_cells([1.0, 1.01, 0.99], 1.0, estimator="plugin"),
        fake_cells([math.nan] * 3, 1.0, estimator="parametric_gaussian", ok=False),
    ])
    path = bias_curves(classify(cells), "f", "D", 0.1, tmp_path / "bias.png")
    assert path.stat().st_size > 0


def test_noise_analytic_estimators_are_scored_against_the_noisy_truth():
    from mibench.sweep import run_group

    default = load_suite("default")
    kt = [g for g in default.groups if g.estimator.startswith("kolchinsky_tracey")]
    assert kt and {g.family for g in kt} == {"layer_codes"}  # the only family that knows I(T+Z;Y)
    group = next(g for g in kt if g.n == 64 and g.d == 2)
    rows = run_group(replace(group, seeds=(0,)))
    assert rows[0]["truth"] == TASKS["layer_codes"](dim=2).noisy_mutual_information(0.1) < 2.0
    other = next(g for g in default.groups if g.family == "layer_codes" and g.estimator == "ksg" and g.d == 2)
    assert run_group(replace(other, seeds=(0,)))[0]["truth"] == 2.0
