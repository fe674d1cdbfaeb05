"""The registry of stable estimator ids, and canonical spec strings.

A spec is a Python-like call: ``plugin``, ``nsb(K=1024)``,
``binned(miller_madow, rule=uniform, bins=30)``. Bare words are strings or, where an
estimator is expected, estimator ids. ``parse_spec(e.spec) == e`` for every
configured estimator ``e``; the spec keys the results store.
"""
from __future__ import annotations

import ast
from typing import Any, Callable

from mibench.estimators.base import Estimator
from mibench.estimators.binning import Binned
from mibench.estimators.discrete import ChaoShen, Grassberger, JamesStein, Jackknife, MillerMadow, PlugIn
from mibench.estimators.kernel import KDE, KolchinskyTracey
from mibench.estimators.knn import KSG, KozachenkoLeonenko
from mibench.estimators.neural import MINE, NWJ, InfoNCE
from mibench.estimators.nsb import NSB
from mibench.estimators.parametric import GaussianCopula, ParametricGaussian
from mibench.estimators.renyi import MatrixRenyi

REGISTRY: dict[str, type[Estimator]] = {
    cls.name: cls
    for cls in (
        PlugIn, MillerMadow, Jackknife, Grassberger, ChaoShen, JamesStein, NSB, Binned,
        KSG, KozachenkoLeonenko, ParametricGaussian, GaussianCopula, KDE, KolchinskyTracey, MatrixRenyi,
        InfoNCE, NWJ, MINE,
    )
}


def list_estimators() -> list[str]:
    """Stable ids of every registered estimator."""
    return list(REGISTRY)


def _lookup(name: str) -> type[Estimator]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; valid estimators: {', '.join(REGISTRY)}") from None


def _bad_spec(spec: str, why: str) -> ValueError:
    return ValueError(
        f"cannot parse estimator spec {spec!r}: {why}. "
        "Expected e.g. 'plugin', 'nsb(K=1024)' or 'binned(plugin, rule=uniform, bins=30)'"
    )


def _value(node: ast.AST, spec: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand, spec)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, spec) for e in node.elts)
    if isinstance(node, ast.Call):
        return _build(node, spec)
    raise _bad_spec(spec, f"unsupported value {ast.unparse(node)!r}")


def _build(node: ast.AST, spec: str) -> Estimator:
    if isinstance(node, ast.Name):
        return _lookup(node.id)()
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise _bad_spec(spec, "it is not an estimator id or id(param=value, ...)")
    cls = _lookup(node.func.id)
    names = list(cls.params)
    if len(node.args) > len(names):
        raise _bad_spec(spec, f"{cls.name} takes at most {len(names)} positional value(s)")
    params = {names[i]: _value(arg, spec) for i, arg in enumerate(node.args)}
    keyword_params(node, params, lambda v: _value(v, spec), lambda why: _bad_spec(spec, why))
    return cls(**params)


def keyword_params(call: ast.Call, params: dict[str, Any], value: Callable[[ast.AST], Any],
                   bad: Callable[[str], Exception]) -> dict[str, Any]:
    """Add the ``name=value`` arguments of a parsed spec call to ``params``, refusing
    ``**`` and repeated names (shared by estimator and task specs)."""
    for kw in call.keywords:
        if kw.arg is None:
            raise bad("** is not allowed")
        if kw.arg in params:
            raise bad(f"{kw.arg} is given twice")
        params[kw.arg] = value(kw.value)
    return params


def parse_spec(spec: str) -> Estimator:
    """Build the estimator a spec string describes."""
    if not isinstance(spec, str):
        raise TypeError(f"an estimator spec must be a string, got {type(spec).__name__}")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as exc:
        raise _bad_spec(spec, exc.msg) from None
    return _build(tree.body, spec)


def make_estimator(estimator: str | Estimator = "plugin", **params: Any) -> Estimator:
    """An estimator from an id, a spec string or an instance; keyword ``params``
    override the ones in the spec."""
    if isinstance(estimator, Estimator):
        base = estimator
    elif isinstance(estimator, str):
        base = parse_spec(estimator)
    else:
        raise TypeError(
            f"estimator must be an id or spec string (one of {', '.join(REGISTRY)}) or an estimator, "
            f"got {type(estimator).__name__}"
        )
    if not params:
        return base
    return type(base)(**{**base.get_params(), **params})
