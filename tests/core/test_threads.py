"""Threads for an estimate: one for small work or busy cores, never more than torch's setting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import mibench
from mibench.core import threads


def test_small_work_or_busy_cores_get_one_thread_and_the_setting_is_a_ceiling(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 0)
    assert threads.threads_for(threads.SMALL_WORK - 1, limit=8) == 1
    assert threads.threads_for(threads.SMALL_WORK, limit=8) == 8
    assert threads.threads_for(threads.SMALL_WORK, limit=3) == 3  # the user's (or a worker's) setting wins
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 6)
    assert threads.threads_for(threads.SMALL_WORK, limit=8) == 2  # two cores free
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 12)
    assert threads.threads_for(threads.SMALL_WORK, limit=8) == 1


def test_an_estimate_restores_torchs_thread_setting_and_sees_the_chosen_one(monkeypatch):
    seen = []
    monkeypatch.setattr(threads, "threads_for", lambda values, limit=None: 1)
    from mibench.estimators import discrete

    real = discrete.PlugIn.entropy_from_counts

    def spy(self, counts, support=None):
        seen.append(torch.get_num_threads())
        return real(self, counts, support)

    monkeypatch.setattr(discrete.PlugIn, "entropy_from_counts", spy)
    before = torch.get_num_threads()
    x = np.random.default_rng(0).integers(0, 2, (5000, 4))
    mibench.entropy(x, "plugin")
    assert seen == [1] and torch.get_num_threads() == before


def test_busy_elsewhere_reads_a_count():
    assert threads.busy_elsewhere() >= 0 and threads.cores() >= 1


def test_pairwise_estimators_count_rows_times_values_as_their_work():
    """10^4 rows of 13 columns are about a second of neighbour search: a KSG or KDE call on
    them must not be judged small work (it ran on one thread, twice as slow on 2 cores),
    while the same values counted by a plug-in are."""
    from mibench.registry import make_estimator

    x, y = np.zeros((10_000, 10)), np.zeros((10_000, 3))
    values = x.size + y.size
    assert make_estimator("plugin").work([x, y]) == values < threads.SMALL_WORK
    for spec in ("ksg", "kozachenko_leonenko", "kde", "renyi"):
        assert make_estimator(spec).work([x, y]) == 10_000 * values
        assert make_estimator(spec).work([x[None], y[None]]) == 10_000 * values  # a batch: rows are its second axis
    assert make_estimator("ksg").work([x[:64, :1], y[:64, :1]]) < threads.SMALL_WORK  # small samples stay on one thread


def test_this_process_running_threads_are_not_counted_as_busy_neighbours(monkeypatch, tmp_path):
    """The kernel's count of runnable tasks includes this process's own threads (torch's or
    the tree searches' workers still spinning): only the others' are neighbours."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.50 0.40 0.30 3/120 4242\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(loadavg if path == "/proc/loadavg" else path,
                                                                          *a, **k))
    monkeypatch.setattr(threads, "_running_here", lambda: 3)
    assert threads.busy_elsewhere() == 0
    monkeypatch.setattr(threads, "_running_here", lambda: 1)
    assert threads.busy_elsewhere() == 2


def test_a_blip_in_one_instant_count_is_not_a_busy_neighbour(monkeypatch):
    """One runnable task counted at one instant (a thread of ours winding down, a neighbour
    that came and went) made a whole trust() verdict run on one thread of two; a neighbour
    that keeps a core busy is in every count."""
    import io

    def counts(*running):
        lines = iter(f"0.50 0.40 0.30 {r}/120 4242\n" for r in running)
        real_open = open
        monkeypatch.setattr("builtins.open", lambda path, *a, **k: io.StringIO(next(lines)) if path == "/proc/loadavg"
                            else real_open(path, *a, **k))

    monkeypatch.setattr(threads, "_running_here", lambda: 1)
    counts(2, 1, 2, 2, 2)
    assert threads.busy_elsewhere() == 0
    counts(*[2] * threads.READINGS)
    assert threads.busy_elsewhere() == 1


def test_running_here_sees_a_thread_of_ours_that_is_working():
    """A thread of this process busy in NumPy (the GIL released) is running: counted as ours."""
    import os
    import threading

    if not os.path.isdir("/proc/self/task"):
        pytest.skip("no /proc (not Linux)")
    stop = threading.Event()

    def work():
        data = np.random.default_rng(0).standard_normal(2_000_000)
        while not stop.is_set():
            np.sort(data)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        seen = max(threads._running_here() for _ in range(200))
    finally:
        stop.set()
        worker.join()
    assert seen >= 2
