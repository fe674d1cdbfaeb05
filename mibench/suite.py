"""Suites: TOML files naming estimators, tasks, the N / D / bins grids, seeds and
regime tolerances; expanded here into groups of cells (one group = all seeds of one
(estimator, task, N, D, bins), run as one batched call).

Task parameters may be expressions of the grid: a string starting with ``=`` is
evaluated with ``D`` (the grid dimension) and ``B`` (the bin count), e.g.
``K = "=2**D"``, ``dim = "=D"``, ``bins = "=B"``; only integers, + - * // ** and
min / max are allowed. Every problem is reported before any work, naming the file
and the key.
"""
from __future__ import annotations

import ast
import math
import operator
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mibench.estimators.base import Estimator
from mibench.estimators.binning import RULES, Binned
from mibench.estimators.discrete import DiscreteEstimator
from mibench.registry import parse_spec
from mibench.tasks import TASKS, get_task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("name", "description", "seeds", "n", "d", "bins", "binning_rule", "device", "tolerances", "estimators", "tasks")
TOLERANCES = {"abs_tol": 0.1, "rel_tol": 0.05, "std_tol": 0.05, "delta": 0.1}
TASK_KEYS = ("name", "label", "d_means", "params", "binning")
ESTIMATOR_KEYS = ("spec", "max_n", "max_d")  # the limits keep O(n^2)/O(n^3) estimators affordable
BUILTIN = ("quick", "default", "full")


class SuiteError(ValueError):
    """A malformed suite; the message names the file and the key."""


@dataclass(frozen=True)
class Group:
    """All seeds of one (estimator, task, N, D, bins): one batched estimator call."""

    estimator: str
    family: str
    task_name: str
    task_params: tuple[tuple[str, Any], ...]
    task_id: str
    n: int
    d: int
    bins: int  # 0: not binned
    seeds: tuple[int, ...]

    def keys(self) -> list[tuple[str, str, int, int, int]]:
        return [(self.estimator, self.task_id, self.n, self.bins, s) for s in self.seeds]


@dataclass
class TaskEntry:
    name: str
    label: str
    d_means: str
    params: dict[str, Any]
    binning: dict[str, Any]


@dataclass
class Suite:
    name: str
    path: str
    description: str
    seeds: tuple[int, ...]
    n: tuple[int, ...]
    d: tuple[int, ...]
    bins: tuple[int, ...]
    binning_rule: str
    device: str
    tolerances: dict[str, float]
    estimators: list[Estimator]
    tasks: list[TaskEntry]
    limits: list[tuple[float, float]] = field(default_factory=list)  # (max_n, max_d) per estimator
    groups: list[Group] = field(default_factory=list)

    def d_label(self, family: str) -> str:
        return next((t.d_means for t in self.tasks if t.label == family), "D")


# -- expressions of the grid -------------------------------------------------------
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}


def _evaluate(node: ast.AST, env: dict[str, int]) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, env)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max") and not node.keywords:
        return (min if node.func.id == "min" else max)(_evaluate(a, env) for a in node.args)
    raise ValueError(f"unsupported expression {ast.unparse(node)!r} (use integers, D, B, + - * // **, min, max)")


def resolve(value: Any, d: int, b: int) -> Any:
    """A parameter value with ``=expr`` strings evaluated; lists become tuples."""
    if isinstance(value, str) and value.startswith("="):
        return _evaluate(ast.parse(value[1:].strip(), mode="eval").body, {"D": d, "B": b})
    if isinstance(value, list):
        return tuple(resolve(v, d, b) for v in value)
    return value


# -- loading ----------------------------------------------------------------------------
def suite_path(name_or_path: str) -> Path:
    """A built-in suite name (quick, default, full) or a path to a TOML file."""
    if name_or_path in BUILTIN:
        return Path(str(resources.files("mibench.suites").joinpath(f"{name_or_path}.toml")))
    path = Path(name_or_path)
    if not path.is_file():
        raise SuiteError(f"no suite {name_or_path!r}: not a built-in suite ({', '.join(BUILTIN)}) and no such file")
    return path


def load_suite(name_or_path: str = "default") -> Suite:
    """Read, validate and expand a suite; raises SuiteError before any work."""
    path = suite_path(name_or_path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{where}: not valid TOML ({exc})") from None

    def fail(key: str, why: str) -> SuiteError:
        return SuiteError(f"{where}: {key}: {why}")

    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key; valid keys: {', '.join(TOP_KEYS)}")

    def int_grid(key: str, minimum: int, default: list[int] | None = None) -> tuple[int, ...]:
        values = raw.get(key, default)
        if values is None:
            raise fail(key, "missing; give a list of integers")
        if not isinstance(values, list) or not values:
            raise fail(key, "must be a non-empty list of integers")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise fail(key, f"every value must be an integer >= {minimum}; got {v!r}")
        return tuple(sorted(set(values)))

    seeds_raw = raw.get("seeds", 10)
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        if seeds_raw < 1:
            raise fail("seeds", f"must be a positive count or a list of seeds; got {seeds_raw}")
        seeds = tuple(range(seeds_raw))
    else:
        seeds = int_grid("seeds", 0)
    n = int_grid("n", 2)
    d = int_grid("d", 1)
    bins = int_grid("bins", 1, [30])
    rule = raw.get("binning_rule", "uniform")
    if rule not in RULES:
        raise fail("binning_rule", f"must be one of {', '.join(RULES)}; got {rule!r}")

    tol_raw = raw.get("tolerances", {})
    if not isinstance(tol_raw, dict):
        raise fail("tolerances", "must be a table")
    bad = sorted(set(tol_raw) - set(TOLERANCES))
    if bad:
        raise fail(f"tolerances.{bad[0]}", f"unknown key; valid keys: {', '.join(TOLERANCES)}")
    tolerances = {**TOLERANCES, **tol_raw}
    for key, value in tolerances.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail(f"tolerances.{key}", f"must be a number >= 0; got {value!r}")

    estimators = []
    limits: list[tuple[float, float]] = []
    for i, entry in enumerate(raw.get("estimators", [])):
        key = f"estimators[{i}]"
        if not isinstance(entry, dict) or "spec" not in entry or sorted(set(entry) - set(ESTIMATOR_KEYS)):
            raise fail(key, f'each estimator is a table with spec = "..." and optionally {", ".join(ESTIMATOR_KEYS[1:])}')
        try:
            estimators.append(parse_spec(entry["spec"]))
        except (ValueError, TypeError) as exc:
            raise fail(f"{key}.spec", str(exc)) from None
        for limit in ESTIMATOR_KEYS[1:]:
            value = entry.get(limit, math.inf)
            if value != math.inf and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise fail(f"{key}.{limit}", f"must be a positive integer; got {value!r}")
        limits.append((entry.get("max_n", math.inf), entry.get("max_d", math.inf)))
    if not estimators:
        raise fail("estimators", "empty; name at least one [[estimators]] spec")

    tasks = []
    for i, entry in enumerate(raw.get("tasks", [])):
        key = f"tasks[{i}]"
        if not isinstance(entry, dict):
            raise fail(key, "must be a table")
        extra = sorted(set(entry) - set(TASK_KEYS))
        if extra:
            raise fail(f"{key}.{extra[0]}", f"unknown key; valid keys: {', '.join(TASK_KEYS)}")
        name = entry.get("name")
        if name not in TASKS:
            raise fail(f"{key}.name", f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
        binning = entry.get("binning", {})
        if not isinstance(binning, dict) or sorted(set(binning) - {"rule", "range", "width"}):
            raise fail(f"{key}.binning", "must be a table with keys among rule, range, width")
        tasks.append(TaskEntry(name, entry.get("label", name), entry.get("d_means", "D"), dict(entry.get("params", {})), binning))
    if not tasks:
        raise fail("tasks", "empty; name at least one [[tasks]] entry")
    labels = [t.label for t in tasks]
    if len(set(labels)) != len(labels):
        raise fail("tasks", f"labels must be distinct; got {labels} (set label = ... on repeated tasks)")

    suite = Suite(
        name=str(raw.get("name", path.stem)),
        path=where,
        description=str(raw.get("description", "")),
        seeds=seeds,
        n=n,
        d=d,
        bins=bins,
        binning_rule=rule,
        device=str(raw.get("device", "cpu")),
        tolerances=tolerances,
        estimators=estimators,
        tasks=tasks,
        limits=limits,
    )
    suite.groups = _expand(suite, fail)
    return suite


def _estimator_for(est: Estimator, entry: TaskEntry, task_cls: type, rule: str, b: int) -> Estimator | None:
    """The configured estimator for this task, or None when it does not apply.

    Discrete estimators see continuous tasks through their binned form; tasks whose
    truth is about binned values (quantized_gaussian) are scored for binning
    estimators only; label-only estimators need a task with labels as Y, and
    noise-analytic ones (Kolchinsky-Tracey) a task that knows I(X+Z;Y).
    """
    continuous = task_cls.continuous
    if isinstance(est, Binned):
        if not continuous:
            return None
        return Binned(**{**est.get_params(), "bins": b})
    if isinstance(est, DiscreteEstimator):
        if not continuous:
            return est
        binning = {"rule": rule, **{k: resolve(v, 0, b) for k, v in entry.binning.items()}}
        if binning["rule"] in ("uniform", "fixed", "quantile"):
            binning["bins"] = b
        return Binned(discrete=est, **binning)
    if not continuous or task_cls.binned_truth or (est.needs_label_y and not task_cls.label_y):
        return None
    if est.needs_noisy_truth and not task_cls.noisy_truth:
        return None
    return est


def _expand(suite: Suite, fail: Any) -> list[Group]:
    groups = []
    for i, entry in enumerate(suite.tasks):
        cls = TASKS[entry.name]
        for est, (max_n, max_d) in zip(suite.estimators, suite.limits):
            binned_here = cls.continuous and isinstance(est, (Binned, DiscreteEstimator))
            for b in suite.bins if binned_here else (0,):
                configured = _estimator_for(est, entry, cls, suite.binning_rule, b)
                if configured is None:
                    continue
                try:
                    configured.check_params(2)
                except ValueError as exc:
                    raise fail(f"tasks[{i}].binning", str(exc)) from None
                for d in (d for d in suite.d if d <= max_d):
                    try:
                        params = {k: resolve(v, d, b) for k, v in entry.params.items()}
                        task = get_task(entry.name, **params)
                    except (ValueError, TypeError) as exc:
                        raise fail(f"tasks[{i}].params", f"at D={d}, B={b}: {exc}") from None
                    for n in (n for n in suite.n if n <= max_n):
                        groups.append(
                            Group(configured.spec, entry.label, entry.name, tuple(sorted(params.items())), task.id, n, d, b, suite.seeds)
                        )
    # Several estimators can reach the same configured spec (e.g. binned forms).
    unique = list(dict.fromkeys(groups))
    return unique


def cell_count(groups: list[Group]) -> int:
    return sum(len(g.seeds) for g in groups)

