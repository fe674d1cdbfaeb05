"""Threads for an estimate: one for small work or busy cores, never more than torch's setting."""
from __future__ import annotations

import numpy as np
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
