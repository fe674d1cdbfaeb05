"""The sweep: batched groups, resuming, executors, faults."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from map_helpers import SMALL, TINY, stored, tiny, write_suite  # noqa: F401 (tiny is a fixture)

from mibench.map.cells import KEY
from mibench.map.regimes import classify
from mibench.map.store import Store
from mibench.map.cells import cell_count
from mibench.map.suite import load_suite
from mibench.map.sweep import pending_groups, run_sweep
from mibench.tasks import TASKS


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

def _process_run(suite, store, work):
    from mibench.map.sweep import _run_processes, pending_groups

    rows = []

    def record(group, group_rows):
        store.write(group_rows)
        rows.extend(group_rows)

    _run_processes(pending_groups(suite, store), "cpu", 2, record, work=work)
    return rows

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

    import mibench.map.sweep as sweep

    real_submit = sweep._submit_holding_interrupts
    calls = []

    def submit_breaking_once(pool, work, group, device):
        calls.append(group)
        if len(calls) == 2:
            raise cf.process.BrokenProcessPool("a worker died")
        return real_submit(pool, work, group, device)

    monkeypatch.setattr(sweep, "_submit_holding_interrupts", submit_breaking_once)
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
                with sqlite3.connect(out / "results.sqlite", timeout=0.2) as db:  # never wait long on a writer
                    stored = db.execute("SELECT count(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:  # the table is not created yet
                pass
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err  # workers ignore it and finish cleanly
    suite = load_suite(path)
    cells = Store(out).cells()
    assert 0 < len(cells) < cell_count(suite.groups)
    assert (cells.groupby(list(KEY[:-1])).size() == 3).all()  # whole groups of 3 seeds
    before = cells.set_index(list(KEY))["estimate"]
    stats = run_sweep(suite, Store(out), progress=False)
    assert stats["cells_skipped"] == len(cells) and stats["cells_run"] == cell_count(suite.groups) - len(cells)
    after = Store(out).cells().set_index(list(KEY))["estimate"]
    assert after.loc[before.index].equals(before)

def test_a_ctrl_c_during_a_submit_is_held_and_delivered_not_lost():
    import mibench.map.sweep as sweep

    # workers must start with SIGINT out of their way; the sweep's own Ctrl-C must still arrive
    class Pool:
        def submit(self, *args):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the submit
            return "submitted"

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep._submit_holding_interrupts(Pool(), None, None, "cpu")
            time.sleep(0.5)  # the interpreter acts on a delivered signal between bytecodes
    finally:
        signal.signal(signal.SIGINT, previous)


def test_noise_analytic_estimators_are_scored_against_the_noisy_truth():
    from mibench.map.sweep import run_group

    default = load_suite("default")
    kt = [g for g in default.groups if g.estimator.startswith("kolchinsky_tracey")]
    assert kt and {g.family for g in kt} == {"layer_codes"}  # the only family that knows I(T+Z;Y)
    group = next(g for g in kt if g.n == 64 and g.d == 2)
    rows = run_group(replace(group, seeds=(0,)))
    assert rows[0].truth == TASKS["layer_codes"](dim=2).noisy_mutual_information(0.1) < 2.0
    other = next(g for g in default.groups if g.family == "layer_codes" and g.estimator == "ksg" and g.d == 2)
    assert run_group(replace(other, seeds=(0,)))[0].truth == 2.0


def test_a_shared_sample_gives_every_estimator_the_same_cells_as_its_own_sample():
    # the default map samples each (task, N, seeds) once for all its estimators; the
    # numbers must be those of each group sampling alone, cell by cell
    from mibench.map.sweep import bundles, run_bundle, run_group

    default = load_suite("default")
    small = [g for g in default.groups if g.n == 64 and not g.estimator.startswith(("infonce", "nwj", "mine"))]
    chosen = {}
    for unit in bundles([replace(g, seeds=g.seeds[:3]) for g in small]):
        chosen.setdefault(unit[0].family, unit)  # one bundle per family
    assert len(chosen) >= 6 and sum(map(len, chosen.values())) > 40
    for unit in chosen.values():
        for group, cells in run_bundle(unit):
            alone = run_group(group)
            def numbers(rows):
                return [repr((c.seed, c.estimate, c.entropy_x, c.entropy_y, c.ok, c.error, c.warning)) for c in rows]  # NaN == NaN

            assert numbers(cells) == numbers(alone), group


def test_shared_counting_gives_each_binned_estimator_its_own_numbers_and_warnings():
    # binned estimators at several bin counts on one sample share binning and counting
    # inside the bundle; each must get what it computes with nothing shared, warnings
    # included (rule=fixed says how much of the data fell outside its range)
    from mibench.core.memo import shared_work
    from mibench.registry import parse_spec

    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.8, size=(3, 500, 2))
    y = np.tanh(x[..., :1] + rng.normal(0, 0.5, size=(3, 500, 1)))
    specs = [f"binned({inner}, rule={rule}, bins={b})" for inner in ("plugin", "nsb", "chao_shen")
             for rule in ("uniform", "fixed") for b in (4, 30)]
    labels = (y > 0).astype(np.int64)
    import warnings

    def run(spec, ys):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = parse_spec(spec).mutual_information_parts(x, ys)
        return repr([np.asarray(p).tolist() for p in parts]), sorted(str(w.message) for w in caught)

    for ys in (y, labels):
        alone = [run(s, ys) for s in specs]
        with shared_work():
            shared = [run(s, ys) for s in specs]
        assert shared == alone
    assert any("outside range" in w for _, ws in alone for w in ws)


def test_an_estimator_from_outside_mibench_gets_its_own_copy_of_the_shared_sample():
    from mibench.map.sweep import leaves_inputs_alone
    from mibench.registry import parse_spec

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        import broken_estimators
    finally:
        sys.path.pop(0)
    assert leaves_inputs_alone(parse_spec("binned(nsb, bins=4)")) and leaves_inputs_alone(parse_spec("ksg"))
    assert not leaves_inputs_alone(parse_spec("infomeasure:plugin"))
    assert not any(leaves_inputs_alone(cls()) for cls in vars(broken_estimators).values()
                   if isinstance(cls, type) and cls.__module__ == "broken_estimators" and hasattr(cls, "mutual_information"))


def test_time_table_and_cost_model_name_a_binned_estimator_by_its_discrete_estimator():
    from mibench.map.sweep import COST_MODEL, expected_cost, family_of

    assert family_of("binned(nsb, rule=uniform, bins=4)") == "binned(nsb)"
    assert family_of("binned(wu_yang(K=64), bins=4)") == "binned(wu_yang)"
    assert family_of("infonce(steps=150, batch_size=32)") == "infonce"
    group = next(g for g in load_suite("default").groups if g.estimator.startswith("binned(nsb"))
    assert expected_cost(group) == len(group.seeds) * COST_MODEL["nsb"](group.n, group.d)


def test_a_trained_critic_is_priced_by_its_budget_not_by_n_and_d():
    # what a critic scores: steps x batch^2 pairs in training, every evaluation's pairs on
    # the held-out rows; counted by hand for two budgets
    from mibench.map.sweep import CRITIC_SECONDS_PER_PAIR, expected_cost
    from mibench.registry import parse_spec

    fixed = parse_spec("infonce(steps=1000, batch_size=64, eval_every=100, patience=0, split=0.5, eval_batch=50)")
    assert fixed.critic_pairs(400) == 1000 * 64**2 + 11 * 200 * 50  # 10 evaluations and the last
    stopping = parse_spec("nwj")  # the benchmark's protocol: an early stop after about patience + 3 evaluations
    assert stopping.critic_pairs(5000) == 1250 * 256**2 + 6 * 2500**2
    group = next(g for g in load_suite("leaderboard").groups if g.estimator.startswith("nwj("))
    assert expected_cost(group) == pytest.approx(len(group.seeds) * CRITIC_SECONDS_PER_PAIR * stopping.critic_pairs(group.n))
    # the default map's pinned small budget stays as cheap as it was priced before (0.06 s a cell)
    small = next(g for g in load_suite("default").groups if g.estimator.startswith("infonce(") and g.n == 1024)
    assert 0.03 < expected_cost(small) / len(small.seeds) < 0.1
