"""Synthetic tasks with exact ground truth (bits), and their registry."""
from __future__ import annotations

import ast
from typing import Any

from mibench.tasks.base import Task
from mibench.tasks.binary import BinaryCodes
from mibench.tasks.force_to_1 import ForceToOne
from mibench.tasks.gaussian import Gaussian, StudentT
from mibench.tasks.layer_codes import LayerCodes
from mibench.tasks.parity import Parity
from mibench.tasks.quantized import QuantizedGaussian

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (BinaryCodes, Parity, ForceToOne, Gaussian, StudentT, QuantizedGaussian, LayerCodes)
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
    if not isinstance(spec, str):
        raise TypeError(f"a task spec must be a string, got {type(spec).__name__}")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _bad_task(spec, exc.msg) from None
    if isinstance(node, ast.Name):
        return get_task(node.id)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.args:
        raise _bad_task(spec, "it is not a task name or name(param=value, ...)")
    from mibench.registry import keyword_params  # here: the registry imports every estimator

    params = keyword_params(node, {}, lambda v: _literal(v, spec), lambda why: _bad_task(spec, why))
    return get_task(node.func.id, **params)


def _literal(node: ast.AST, spec: str) -> Any:
    if isinstance(node, ast.Name):  # ids print words bare: source=codebook
        return node.id
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, spec) for e in node.elts)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise _bad_task(spec, f"unsupported value {ast.unparse(node)!r}") from None


def _bad_task(spec: str, why: str) -> ValueError:
    return ValueError(f"cannot parse task spec {spec!r}: {why}. Expected e.g. 'parity(dim=3, noise=0.1)'")


__all__ = ["TASKS", "Task", "get_task", "list_tasks", "parse_task"]
