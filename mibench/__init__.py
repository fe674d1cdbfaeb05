"""mibench: can this mutual-information estimate be trusted?

All values are in bits. See ``mibench.list_estimators()`` for the estimators.
"""
from mibench._version import __version__
from mibench.api import conditional_entropy, conditional_mutual_information, entropy, mutual_information
from mibench.dumps.format import Dump, DumpError
from mibench.dumps.recorder import Recorder
from mibench.estimators.base import BaseEstimator
from mibench.interface import AmbiguousInputWarning, Estimator, UndefinedEstimateWarning
from mibench.judging import Regime
from mibench.registry import list_estimators, make_estimator, parse_spec
from mibench.tasks import get_task, list_tasks, parse_task
from mibench.verdicts.verdict import Verdict, trust

__all__ = [
    "Dump",
    "DumpError",
    "Recorder",
    "Regime",
    "AmbiguousInputWarning",
    "BaseEstimator",
    "Estimator",
    "UndefinedEstimateWarning",
    "conditional_entropy",
    "conditional_mutual_information",
    "entropy",
    "get_task",
    "list_estimators",
    "list_tasks",
    "make_estimator",
    "mutual_information",
    "parse_spec",
    "parse_task",
    "trust",
    "Verdict",
    "__version__",
]
