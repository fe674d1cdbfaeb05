"""Synthetic tasks with exact ground truth (bits), and their registry."""
from __future__ import annotations

from typing import Any

from mibench.spec import parse_call
from mibench.tasks.base import Task
from mibench.tasks.beyond_normal import BeyondNormal
from mibench.tasks.binary import BinaryCodes
from mibench.tasks.force_to_1 import ForceToOne
from mibench.tasks.gaussian import Gaussian, StudentT
from mibench.tasks.layer_codes import LayerCodes
from mibench.tasks.parity import Parity
from mibench.tasks.quantized import QuantizedGaussian
from mibench.tasks.scale_mixture import ScaleMixture

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (BinaryCodes, Parity, ForceToOne, Gaussian, StudentT, ScaleMixture, QuantizedGaussian, LayerCodes, BeyondNormal)
}


def list_tasks() -> list[str]:
    """Names of every task family."""
    return list(TASKS)


def get_task(name: str, **params: Any) -> Task:
    """Build a task; out-of-range parameters raise ValueError naming the parameter."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}") from None
    return cls(**params)


def parse_task(spec: str) -> Task:
    """Build the task a spec string names, e.g. ``parity(dim=3, noise=0.1)`` or
    ``parity``; every task's ``id`` parses back to an equal task."""
    call = parse_call(spec, kind="task", example="'parity(dim=3, noise=0.1)'")
    if call.args:
        raise ValueError(f"cannot parse task spec {spec!r}: give parameters by name, as name(param=value, ...)")
    return get_task(call.name, **call.kwargs)


__all__ = ["TASKS", "Task", "get_task", "list_tasks", "parse_task"]
