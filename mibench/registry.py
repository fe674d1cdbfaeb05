"""The registry of stable estimator ids, and canonical spec strings.

A spec is a Python-like call (the grammar is :mod:`mibench.spec`): ``plugin``,
``nsb(K=1024)``, ``binned(miller_madow, rule=uniform, bins=30)``. Bare words are strings
or, where an estimator is expected, estimator ids. ``parse_spec(e.spec) == e`` for every
configured estimator ``e``; the spec keys the results store.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
from typing import Any

from mibench.estimators.base import BaseEstimator
from mibench.estimators.binning import DISCRETE, Binned
from mibench.estimators.command import Command
from mibench.estimators.kernel import KDE, KolchinskyTracey
from mibench.estimators.knn import KSG, KozachenkoLeonenko
from mibench.estimators.neural import MINE, NWJ, InfoNCE
from mibench.estimators.peers import PEERS
from mibench.estimators.parametric import GaussianCopula, ParametricGaussian
from mibench.estimators.renyi import MatrixRenyi
from mibench.interface import Estimator
from mibench.spec import instantiate, parse_call

REGISTRY: dict[str, type[BaseEstimator]] = {
    **DISCRETE,
    **{
        cls.name: cls
        for cls in (
            Binned, KSG, KozachenkoLeonenko, ParametricGaussian, GaussianCopula, KDE, KolchinskyTracey, MatrixRenyi,
            InfoNCE, NWJ, MINE,
        )
    },
}
EXAMPLE = "'plugin', 'nsb(K=1024)' or 'binned(plugin, rule=uniform, bins=30)'"


def list_estimators() -> list[str]:
    """Stable ids of every registered estimator."""
    return list(REGISTRY)


_EXTERNAL = re.compile(r"\s*([A-Za-z_][\w.]*):([A-Za-z_]\w*)\s*(\(.*\))?\s*", re.S)


def parse_spec(spec: str) -> Estimator:
    """Build the estimator a spec string describes: a registered id with its parameters,
    another library's through its adapter (``infomeasure:ksg(k=4)``, see
    :mod:`mibench.estimators.peers`), or ``package.module:Class(param=value, ...)`` for an
    estimator from outside mibench (a subclass of :class:`mibench.BaseEstimator`; its
    module is imported)."""
    external = _EXTERNAL.fullmatch(spec) if isinstance(spec, str) else None
    if external:
        module, name, args = external.groups()
        peer = PEERS.get(f"{module}:{name}")
        if peer is not None:  # another library's estimator, through its adapter
            call = parse_call(f"peer{args or ''}", kind="estimator", example=EXAMPLE, nested=True)
            return instantiate(call, {"peer": peer}, kind="estimator", text=spec)
        call = parse_call(f"external{args or ''}", kind="estimator", example=EXAMPLE, nested=True)
        return instantiate(call, {**REGISTRY, "external": external_class(module, name)}, kind="estimator", text=spec)
    call = parse_call(spec, kind="estimator", example=EXAMPLE, nested=True)
    table: dict[str, type[BaseEstimator]] = {**REGISTRY, Command.name: Command}
    if call.name not in table:
        table.update(entry_point_estimators(call.name))
    return instantiate(call, table, kind="estimator", text=spec)


ENTRY_POINTS = "mibench.estimators"


def entry_point_estimators(name: str | None = None) -> dict[str, type[BaseEstimator]]:
    """Estimators other packages register in the entry-point group ``mibench.estimators``
    (``name = "package.module:Class"``), loaded on demand: the one called ``name``, or all."""
    found = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINTS):
        if name is not None and ep.name != name:
            continue
        module, _, attr = ep.value.partition(":")
        found[ep.name] = external_class(module.strip(), attr.strip())
    return found


def external_class(module: str, name: str) -> type[BaseEstimator]:
    """The estimator class ``module:name``, refused unless it subclasses BaseEstimator."""
    try:
        cls = getattr(_import(module), name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module!r} for estimator spec {module}:{name} ({exc}); "
                         "install it or put it on PYTHONPATH") from None
    except AttributeError:
        raise ValueError(f"module {module!r} has no {name!r} (estimator spec {module}:{name})") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ValueError(f"{module}:{name} is not an estimator: subclass mibench.BaseEstimator "
                         "(name, params, _estimate) to use it in mibench")
    return cls


def _import(module: str) -> Any:
    """Import ``module``; a module that is not found is looked for in the working
    directory too, as ``python -m`` would (the console script does not put it on the path)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        here = os.getcwd()
        if here in sys.path:
            raise
        sys.path.append(here)
        try:
            return importlib.import_module(module)
        finally:
            sys.path.remove(here)


def make_estimator(estimator: str | Estimator = "plugin", **params: Any) -> Estimator:
    """An estimator from an id, a spec string or an instance; keyword ``params``
    override the ones in the spec."""
    if isinstance(estimator, str):
        base = parse_spec(estimator)
    elif isinstance(estimator, Estimator):
        base = estimator
    else:
        raise TypeError(
            f"estimator must be an id or spec string (one of {', '.join(REGISTRY)}) or an estimator, "
            f"got {type(estimator).__name__}"
        )
    if not params:
        return base
    return type(base)(**{**base.get_params(), **params})
