"""mibench: can this mutual-information estimate be trusted?

All values are in bits. See ``mibench.list_estimators()`` for the estimators.

The public names are imported on first use (PEP 562), so ``import mibench`` and
``mibench --version`` do not wait for torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from mibench._version import __version__

_WHERE = {
    "conditional_entropy": "mibench.api",
    "conditional_mutual_information": "mibench.api",
    "entropy": "mibench.api",
    "mutual_information": "mibench.api",
    "Dump": "mibench.dumps.format",
    "DumpError": "mibench.dumps.format",
    "Recorder": "mibench.dumps.recorder",
    "BaseEstimator": "mibench.estimators.base",
    "AmbiguousInputWarning": "mibench.interface",
    "CollapsedCriticWarning": "mibench.interface",
    "Estimator": "mibench.interface",
    "UndefinedEstimateWarning": "mibench.interface",
    "Regime": "mibench.judging",
    "list_estimators": "mibench.registry",
    "make_estimator": "mibench.registry",
    "parse_spec": "mibench.registry",
    "get_task": "mibench.tasks",
    "list_tasks": "mibench.tasks",
    "parse_task": "mibench.tasks",
    "Verdict": "mibench.verdicts.verdict",
    "trust": "mibench.verdicts.verdict",
}

__all__ = [*_WHERE, "__version__"]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    if name not in _WHERE:  # a submodule (mibench.arrays, mibench.verdicts, ...), as the eager imports made them
        try:
            return importlib.import_module(f"mibench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mibench.{name}":
                raise
            raise AttributeError(f"module 'mibench' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # later lookups are plain
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
