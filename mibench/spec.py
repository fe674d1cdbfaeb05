"""The ``name(k=v, ...)`` grammar shared by estimator specs and task ids (bottom layer:
imports nothing from mibench).

A spec is a Python-like call read with :mod:`ast`, never evaluated: ``plugin``,
``nsb(K=1024)``, ``binned(miller_madow, rule=uniform, bins=30)``,
``parity(dim=3, noise=0.1)``. Values are numbers (with a sign), strings, bare words
(read as strings), ``True``/``False``/``None``, tuples or lists (read as tuples), and,
where the caller allows them, nested calls. :func:`format_value` writes values back so
that parsing the text gives the same values again.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Call:
    """A parsed ``name(arg, ..., key=value, ...)``; a bare ``name`` has no arguments."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class SpecError(ValueError):
    """A spec that cannot be read; the message quotes it and shows an example."""


def format_value(value: Any) -> str:
    """Canonical text of a parameter value inside a spec (objects with a ``spec``
    attribute, such as estimators, are written as their spec)."""
    if hasattr(value, "spec") and isinstance(value.spec, str):
        return value.spec
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value if value.isidentifier() else repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"cannot put a {type(value).__name__} into a spec string")


def format_call(name: str, positional: list[Any] | tuple[Any, ...] = (), items: list[tuple[str, Any]] | tuple = ()) -> str:
    """``name(p1, ..., k=v, ...)``, or the bare name without arguments."""
    parts = [format_value(v) for v in positional] + [f"{k}={format_value(v)}" for k, v in items]
    return f"{name}({', '.join(parts)})" if parts else name


def parse_call(text: str, *, kind: str, example: str, nested: bool = False) -> Call:
    """Read ``text`` as one call. ``nested``: calls may appear as values (they come
    back as :class:`Call`); otherwise a call inside is an unsupported value.

    Raises :class:`SpecError` (a ValueError) naming the spec, what is wrong and an
    example; a non-string raises TypeError.
    """
    if not isinstance(text, str):
        raise TypeError(f"a {kind} spec must be a string, got {type(text).__name__}")

    def bad(why: str) -> SpecError:
        return SpecError(f"cannot parse {kind} spec {text!r}: {why}. Expected e.g. {example}")

    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise bad(exc.msg) from None
    return _call(node, bad, nested, top=True)


def _call(node: ast.AST, bad: Callable[[str], SpecError], nested: bool, top: bool = False) -> Call:
    if isinstance(node, ast.Name):
        return Call(node.id)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise bad("it is not a name or name(param=value, ...)")
    args = tuple(_value(a, bad, nested) for a in node.args)
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise bad("** is not allowed")
        if kw.arg in kwargs:
            raise bad(f"{kw.arg} is given twice")
        kwargs[kw.arg] = _value(kw.value, bad, nested)
    return Call(node.func.id, args, kwargs)


def _value(node: ast.AST, bad: Callable[[str], SpecError], nested: bool) -> Any:
    if isinstance(node, ast.Constant) and not isinstance(node.value, (bytes, complex, type(...))):
        return node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand, bad, nested)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, bad, nested) for e in node.elts)
    if nested and isinstance(node, ast.Call):
        return _call(node, bad, nested)
    raise bad(f"unsupported value {ast.unparse(node)!r}")


def instantiate(call: Call, classes: Mapping[str, type], *, kind: str, text: str = "") -> Any:
    """Build ``classes[call.name](**params)``, positional values mapped onto the class's
    ``params`` (an ordered name -> default mapping), nested calls built from the same
    ``classes``. ``text`` is the spec, quoted in errors."""
    try:
        cls = classes[call.name]
    except KeyError:
        raise ValueError(f"unknown {kind} {call.name!r}; valid {kind}s: {', '.join(classes)}") from None
    names = list(getattr(cls, "params", {}))
    where = f"cannot parse {kind} spec {text or call.name!r}"
    if len(call.args) > len(names):
        raise SpecError(f"{where}: {call.name} takes at most {len(names)} positional value(s)")

    def build(value: Any) -> Any:
        if isinstance(value, Call):
            return instantiate(value, classes, kind=kind, text=text)
        if isinstance(value, tuple):
            return tuple(build(v) for v in value)
        return value

    params = {names[i]: build(v) for i, v in enumerate(call.args)}
    for key, value in call.kwargs.items():
        if key in params:
            raise SpecError(f"{where}: {key} is given twice")
        params[key] = build(value)
    return cls(**params)
