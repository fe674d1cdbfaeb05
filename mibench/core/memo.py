"""Work shared between estimators that read one sample: each count or bin grid once.

A map runs a dozen count-based estimators (and their binned forms at three bin counts)
on the same sample of a task. Inside :func:`shared_work` the counting steps they have
in common -- checking codes, binning, pattern ids, joint counts -- are computed for the
first estimator that asks and handed to the rest, so the estimates are the very
numbers each would have computed alone.

Requests are matched on the identity of their input tensors (address, shape, strides,
dtype, device, and torch's in-place version counter) and the step's parameters. The
memo keeps a reference to every input, so no address is reused while it lives; it is
only correct for inputs that nobody modifies through another alias (numpy) while the
block runs: the sweep opens it around the estimators it trusts to leave their inputs
alone and hands the others copies.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Hashable, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")

_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("mibench_shared_work", default=None)


@contextlib.contextmanager
def shared_work() -> Iterator[None]:
    """Share counting steps between the estimators run inside this block (see the
    module notes for when that is safe)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _identity(t: torch.Tensor) -> tuple:
    return (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype, t.device, t._version)


def once(step: str, tensors: Sequence[torch.Tensor], params: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or inside :func:`shared_work` the result of the same ``step`` on the
    same ``tensors`` with the same ``params`` when another estimator already asked.
    A step that raises is not remembered: each caller gets its own error."""
    memo = _MEMO.get()
    if memo is None:
        return compute()
    key = (step, tuple(_identity(t) for t in tensors), params)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (compute(), tuple(tensors))  # the inputs stay alive with the result
    return hit[0]


__all__ = ["once", "shared_work"]
