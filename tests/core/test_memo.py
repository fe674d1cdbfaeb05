"""Shared counting steps (mibench.core.memo): reused only for the very same input."""
import numpy as np
import torch

from mibench.core.memo import once, shared_work


def test_a_step_runs_once_per_input_inside_the_block_and_every_time_outside():
    calls = []
    t = torch.arange(12).reshape(1, 6, 2)

    def step():
        calls.append(1)
        return int(t.sum())

    assert once("s", [t], None, step) == once("s", [t], None, step) == 66 and len(calls) == 2
    with shared_work():
        assert once("s", [t], None, step) == once("s", [t], None, step) == 66
        assert len(calls) == 3
        once("s", [t], "other params", step)
        once("s", [t.clone()], None, step)  # same values, another tensor: computed again
        assert len(calls) == 5
    once("s", [t], None, step)
    assert len(calls) == 6


def test_an_input_changed_in_place_is_not_served_a_stale_result():
    t = torch.zeros(1, 4, 1, dtype=torch.int64)
    with shared_work():
        assert once("sum", [t], None, lambda: int(t.sum())) == 0
        t += 1
        assert once("sum", [t], None, lambda: int(t.sum())) == 4


def test_views_of_one_buffer_with_other_shapes_are_told_apart():
    a = np.arange(8)
    with shared_work():
        whole = torch.from_numpy(a).reshape(1, 8, 1)
        half = torch.from_numpy(a[:4]).reshape(1, 4, 1)
        assert once("n", [whole], None, lambda: whole.shape[1]) == 8
        assert once("n", [half], None, lambda: half.shape[1]) == 4


def test_a_failing_step_is_not_remembered():
    t = torch.ones(1, 3, 1)
    attempts = []

    def fail():
        attempts.append(1)
        raise ValueError("bad")

    with shared_work():
        for _ in range(2):
            try:
                once("f", [t], None, fail)
            except ValueError:
                pass
    assert len(attempts) == 2
