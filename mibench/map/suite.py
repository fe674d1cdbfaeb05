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
import os
import re
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from mibench._validate import range_problem, timeout_problem
from mibench.estimators.binning import RULES, Binned
from mibench.interface import Estimator
from mibench.judging import TOLERANCE_KEYS, TOLERANCES, Tolerances, tolerance_problems
from mibench.map.cells import Group
from mibench.registry import parse_spec
from mibench.tasks import TASKS, get_task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("name", "description", "seeds", "n", "d", "bins", "binning", "device", "tolerances", "cell_timeout",
            "estimators", "tasks")
CELL_TIMEOUT = 1800.0  # seconds per cell, by default: generous (the default suite's slowest cells take seconds)
TASK_KEYS = ("name", "family", "d_label", "params", "binning", "n", "d")
# max_n / max_d keep O(n^2)/O(n^3) estimators affordable; families keeps costly ones to a few
ESTIMATOR_KEYS = ("spec", "max_n", "max_d", "families")
BINNING_KEYS = ("rule", "range", "width")
RENAMED = {"label": "family", "d_means": "d_label", "binning_rule": "binning = { rule = ... }",
           "std_tol": "abs_tol (the seed spread is held to the same tolerance as the bias)"}
BUILTIN = ("quick", "default", "full", "leaderboard", "trust")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")  # no separators, no "..": a directory of its own
MAX_SEEDS = 10_000
MAX_CELLS = 10_000_000  # the default suite has about 44,000


class SuiteError(ValueError):
    """A malformed suite; the message names the file and the key."""


@dataclass
class TaskEntry:
    name: str
    family: str
    d_label: str
    params: dict[str, Any]
    binning: dict[str, Any]
    n: tuple[int, ...] | None = None  # the family's own N grid (None: the suite's)
    d: tuple[int, ...] | None = None  # the family's own D axis (None: the suite's); max_d does not apply to it


class Limit(NamedTuple):
    """What a suite lets one estimator run on: N up to ``max_n``, the suite's D up to
    ``max_d``, and only these task ``families`` (None: all)."""
    max_n: float = math.inf
    max_d: float = math.inf
    families: tuple[str, ...] | None = None

    def allows(self, entry: TaskEntry) -> bool:
        return self.families is None or entry.family in self.families

    def ns(self, entry: TaskEntry, suite_n: tuple[int, ...]) -> list[int]:
        return [n for n in entry.n or suite_n if n <= self.max_n]

    def ds(self, entry: TaskEntry, suite_d: tuple[int, ...]) -> list[int]:
        return list(entry.d) if entry.d else [d for d in suite_d if d <= self.max_d]

    def bounds(self, entry: TaskEntry) -> tuple[float, float]:
        """(max_n, max_d) as they bound this family: a family's own D axis is not capped."""
        return self.max_n, math.inf if entry.d else self.max_d


@dataclass
class Suite:
    name: str
    path: str
    description: str
    seeds: tuple[int, ...]
    n: tuple[int, ...]
    d: tuple[int, ...]
    bins: tuple[int, ...]
    binning: dict[str, Any]
    device: str
    tolerances: Tolerances
    estimators: list[Estimator]
    tasks: list[TaskEntry]
    limits: list[Limit] = field(default_factory=list)  # one per estimator
    groups: list[Group] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a reader should know before it runs
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (spec, why): peers whose library is absent
    cell_timeout: float = CELL_TIMEOUT  # seconds an estimator may take per cell before the cell becomes an error row

    def d_label(self, family: str) -> str:
        """What the grid dimension D means for this family (the heatmaps' vertical axis)."""
        return next((t.d_label for t in self.tasks if t.family == family), "D")


# -- expressions of the grid -------------------------------------------------------
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}


_LIMIT = 2**64  # |intermediate values| of a grid expression: ample for K = 2**63, and no runaway powers


def _bounded(value: int, node: ast.AST) -> int:
    if abs(value) > _LIMIT:
        raise ValueError(f"{ast.unparse(node)!r} reaches {'more than 2**64' if abs(value) > 2**70 else value}; "
                         "grid expressions must stay within +-2**64")
    return value


def _evaluate(node: ast.AST, env: dict[str, int]) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return _bounded(node.value, node)
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            raise ValueError(f"{ast.unparse(node)!r} divides by zero")
        if isinstance(node.op, ast.Pow) and not 0 <= right <= 64:
            raise ValueError(f"{ast.unparse(node)!r} has exponent {right}; exponents must lie in 0..64")
        return _bounded(_OPS[type(node.op)](left, right), node)
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


def check_device(value: Any, fail: Any) -> str:
    """A torch device this machine has, or a SuiteError saying which exist."""
    import torch

    try:
        device = torch.device(str(value))
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        have = ", ".join(["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())])
        raise fail("device", f"{value!r} is not usable here ({str(exc).splitlines()[0]}); devices here: {have}") from None
    return str(value)


def memory_bytes() -> int:
    """Physical memory of this machine (bytes)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a laptop's 16 GiB
        return 16 * 2**30


def sample_bytes(task: Any, n: int, seeds: int = 1) -> int:
    """Memory (bytes) of ``seeds`` float64 samples of N rows of a task."""
    return n * (task.dim_x + task.dim_y) * 8 * seeds


def check_fits(task: Any, n: int, seeds: int, what: str) -> None:
    """Refuse, with the figures, a sample that cannot fit in half this machine's memory."""
    need, have = sample_bytes(task, n, seeds), memory_bytes()
    if need > have // 2:
        raise ValueError(f"{what}: {seeds} sample(s) of N = {n:,} rows x {task.dim_x + task.dim_y} dims need "
                         f"{need / 2**30:,.1f} GiB; this machine has {have / 2**30:,.1f} GiB. Use a smaller N")


# -- loading ----------------------------------------------------------------------------
def suite_path(name_or_path: str) -> Path:
    """A built-in suite name (BUILTIN) or a path to a TOML file."""
    if name_or_path in BUILTIN:
        return Path(str(resources.files("mibench.map.suites").joinpath(f"{name_or_path}.toml")))
    path = Path(name_or_path)
    if not path.is_file():
        raise SuiteError(f"no suite {name_or_path!r}: not a built-in suite ({', '.join(BUILTIN)}) and no such file")
    return path


def load_suite(name_or_path: str = "default") -> Suite:
    """Read, validate and expand a suite; raises SuiteError before any work."""
    path = suite_path(name_or_path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{where}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); TOML files are UTF-8") from None

    def fail(key: str, why: str) -> SuiteError:
        return SuiteError(f"{where}: {key}: {why}")

    def unknown_keys(table: dict, valid: tuple[str, ...], prefix: str = "") -> None:
        for key in sorted(set(table) - set(valid)):
            hint = f"renamed to {RENAMED[key]}" if key in RENAMED else f"unknown key; valid keys: {', '.join(valid)}"
            raise fail(prefix + key, hint)

    unknown_keys(raw, TOP_KEYS)

    def int_grid(name: str, minimum: int, default: list[int] | None = None, table: dict | None = None,
                 key: str | None = None) -> tuple[int, ...]:
        values = (raw if table is None else table).get(name, default)
        key = key or name
        if values is None:
            raise fail(key, "missing; give a list of integers")
        if not isinstance(values, list) or not values:
            raise fail(key, "must be a non-empty list of integers")
        for v in values:
            problem = range_problem(v, minimum, integer=True)
            if problem:
                raise fail(key, f"every value {problem}")
        return tuple(sorted(set(values)))

    seeds_raw = raw.get("seeds", 10)
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        if not 1 <= seeds_raw <= MAX_SEEDS:
            raise fail("seeds", f"must be a count from 1 to {MAX_SEEDS:,} or a list of seeds; got {seeds_raw:,}")
        seeds = tuple(range(seeds_raw))
    else:
        seeds = int_grid("seeds", 0)
    n = int_grid("n", 2)
    d = int_grid("d", 1)
    bins = int_grid("bins", 1, [30])
    binning = binning_table(raw.get("binning", {}), "binning", fail, unknown_keys)
    binning.setdefault("rule", "uniform")

    cell_timeout = raw.get("cell_timeout", CELL_TIMEOUT)
    problem = timeout_problem(cell_timeout)
    if problem:
        raise fail("cell_timeout", problem)

    tol_raw = raw.get("tolerances", {})
    if not isinstance(tol_raw, dict):
        raise fail("tolerances", "must be a table")
    unknown_keys(tol_raw, TOLERANCE_KEYS, "tolerances.")
    for key, problem in tolerance_problems({**TOLERANCES.as_dict(), **tol_raw}):
        raise fail(f"tolerances.{key}", problem)
    tolerances = Tolerances(**tol_raw)

    estimators = []
    limits: list[Limit] = []
    for i, entry in enumerate(raw.get("estimators", [])):
        key = f"estimators[{i}]"
        if not isinstance(entry, dict) or "spec" not in entry or sorted(set(entry) - set(ESTIMATOR_KEYS)):
            raise fail(key, f'each estimator is a table with spec = "..." and optionally {", ".join(ESTIMATOR_KEYS[1:])}')
        try:
            estimators.append(parse_spec(entry["spec"]))
        except (ValueError, TypeError) as exc:
            raise fail(f"{key}.spec", str(exc)) from None
        for limit in ("max_n", "max_d"):
            value = entry.get(limit, math.inf)
            problem = None if value == math.inf else range_problem(value, 1, integer=True)
            if problem:
                raise fail(f"{key}.{limit}", problem)
        only = entry.get("families")
        if only is not None and (not isinstance(only, list) or not only or not all(isinstance(f, str) for f in only)):
            raise fail(f"{key}.families", f"must be a non-empty list of task family names; got {only!r}")
        limits.append(Limit(entry.get("max_n", math.inf), entry.get("max_d", math.inf),
                            None if only is None else tuple(only)))
    if not estimators:
        raise fail("estimators", "empty; name at least one [[estimators]] spec")
    estimators, limits, skipped = drop_missing(estimators, limits)
    if not estimators:
        raise fail("estimators", f"none can run here: {'; '.join(f'{s}: {why}' for s, why in skipped)}")

    tasks = []
    for i, entry in enumerate(raw.get("tasks", [])):
        key = f"tasks[{i}]"
        if not isinstance(entry, dict):
            raise fail(key, "must be a table")
        unknown_keys(entry, TASK_KEYS, f"{key}.")
        name = entry.get("name")
        if name not in TASKS:
            raise fail(f"{key}.name", f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
        task_binning = binning_table(entry.get("binning", {}), f"{key}.binning", fail, unknown_keys)
        # a task that names its own rule takes its binning table whole: the suite's
        # range or width may not apply to that rule
        task_binning = task_binning if "rule" in task_binning else {**binning, **task_binning}
        own = {axis: int_grid(axis, minimum, table=entry, key=f"{key}.{axis}") if axis in entry else None
               for axis, minimum in (("n", 2), ("d", 1))}
        tasks.append(TaskEntry(name, entry.get("family", name), entry.get("d_label", "D"), dict(entry.get("params", {})),
                               task_binning, own["n"], own["d"]))
    if not tasks:
        raise fail("tasks", "empty; name at least one [[tasks]] entry")
    families = [t.family for t in tasks]
    if len(set(families)) != len(families):
        raise fail("tasks", f"families must be distinct; got {families} (set family = ... on repeated tasks)")
    for i, limit in enumerate(limits):
        unknown = [f for f in limit.families or () if f not in families]
        if unknown:
            raise fail(f"estimators[{i}].families", f"no task family {unknown[0]!r} in this suite; it has "
                                                    f"{', '.join(families)}")

    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        raise fail("name", f"must be a plain name (letters, digits, _ . -, not starting with . or -), which names the "
                           f"results directory OUT/NAME; got {name!r}" + ("" if "name" in raw else
                                                                         ' from the file name: set name = "..."'))
    suite = Suite(
        name=name,
        path=where,
        description=str(raw.get("description", "")),
        seeds=seeds,
        n=n,
        d=d,
        bins=bins,
        binning=binning,
        device=check_device(raw.get("device", "cpu"), fail),
        tolerances=tolerances,
        estimators=estimators,
        tasks=tasks,
        limits=limits,
        skipped=skipped,
        notes=[f"skipped {spec}: {why}" for spec, why in skipped],
        cell_timeout=float(cell_timeout),
    )
    suite.groups = _expand(suite, fail)
    return suite


def drop_missing(estimators: list[Estimator], limits: list[Limit]
                 ) -> tuple[list[Estimator], list[Limit], list[tuple[str, str]]]:
    """The estimators that can run here, their limits, and (spec, why) for the others:
    another library's adapter whose package is absent or broken is skipped, not fatal."""
    kept, kept_limits, skipped = [], [], []
    for est, limit in zip(estimators, limits):
        why = est.missing()
        if why:
            skipped.append((est.spec, why))
        else:
            kept.append(est)
            kept_limits.append(limit)
    return kept, kept_limits, skipped


def binning_table(table: Any, key: str, fail: Any, unknown_keys: Any) -> dict[str, Any]:
    """A ``binning`` table (rule, range, width), checked; the suite's is the default of each task's."""
    if not isinstance(table, dict):
        raise fail(key, f"must be a table with keys among {', '.join(BINNING_KEYS)}")
    unknown_keys(table, BINNING_KEYS, f"{key}.")
    if "rule" in table and table["rule"] not in RULES:
        raise fail(f"{key}.rule", f"must be one of {', '.join(RULES)}; got {table['rule']!r}")
    return dict(table)


def _estimator_for(est: Estimator, entry: TaskEntry, task_cls: type, b: int) -> Estimator | None:
    """The configured estimator for this task family, or None when they are not paired.

    Discrete estimators see continuous tasks through their binned form (the task's
    binning table); tasks whose truth is about binned values (quantized_gaussian) are
    scored for binning estimators only; label-only estimators need a task with labels
    as Y; density fits need real values that are not a handful of codes. Whether the
    task knows the quantity the estimator targets is checked per task (``target``).
    """
    continuous = task_cls.continuous
    if est.inputs == "codes":  # a discrete estimator: ours binned on continuous tasks, another library's not at all
        if not continuous:
            return est
        if est.discrete is None:
            return None
        binning = {k: resolve(v, 0, b) for k, v in entry.binning.items()}
        if binning["rule"] in ("uniform", "fixed", "quantile"):
            binning["bins"] = b
        return Binned(discrete=est, **binning)
    if est.count_based:  # binned(...): at this bin count, on continuous tasks only
        return type(est)(**{**est.get_params(), "bins": b}) if continuous else None
    if not continuous or task_cls.binned_truth or (est.needs_label_y and not task_cls.label_y):
        return None
    if est.needs_continuous_values and task_cls.discrete_values:
        return None
    return est


def _bin_counts(suite: Suite, cls: type, est: Estimator) -> tuple[int, ...]:
    """The bins grid where binning applies; one count where any binning gives the same
    codes (a task whose values are a few codes); (0,) where nothing is binned."""
    if not (cls.continuous and est.count_based):
        return (0,)
    return suite.bins[:1] if cls.discrete_values else suite.bins


def _expand(suite: Suite, fail: Any) -> list[Group]:
    groups: dict[tuple, Group] = {}
    too_few: dict[tuple[int, int, int], tuple[dict, dict]] = {}  # (N, D, rows needed) -> specs, families (ordered)
    for i, entry in enumerate(suite.tasks):
        cls = TASKS[entry.name]
        for est, limit in zip(suite.estimators, suite.limits):
            if not limit.allows(entry):
                continue
            for b in _bin_counts(suite, cls, est):
                configured = _estimator_for(est, entry, cls, b)
                if configured is None:
                    continue
                try:
                    configured.check_params(2)
                except ValueError as exc:
                    raise fail(f"tasks[{i}].binning", str(exc)) from None
                for d in limit.ds(entry, suite.d):
                    try:
                        params = {k: resolve(v, d, b) for k, v in entry.params.items()}
                        task = get_task(entry.name, **params)
                    except (ValueError, TypeError) as exc:
                        raise fail(f"tasks[{i}].params", f"at D={d}, B={b}: {exc}") from None
                    except (OverflowError, MemoryError) as exc:  # e.g. a dimension too large for the task's truth
                        raise fail(f"tasks[{i}].params", f"at D={d}, B={b}: {params} is too large a task "
                                   f"({type(exc).__name__}: {exc})") from None
                    if configured.target(task) is None:
                        continue
                    needed = configured.min_rows(task.dim_x + task.dim_y) if hasattr(configured, "min_rows") else 2
                    for n in limit.ns(entry, suite.n):
                        if n < needed:  # said once per (N, D), after the loop
                            specs, families = too_few.setdefault((n, d, needed), ({}, {}))
                            specs[configured.spec], families[entry.family] = None, None
                            continue
                        try:  # one chunk of seeds at a time is in memory; one seed must fit
                            check_fits(task, n, 1, f"at D={d}, B={b}")
                        except ValueError as exc:
                            raise fail(f"tasks[{i}]", str(exc)) from None
                        group = Group(configured.spec, entry.family, entry.name, tuple(sorted(params.items())),
                                      task.id, n, d, configured.bin_count, suite.seeds)
                        key = (group.estimator, group.task_id, group.n)
                        if key in groups:  # e.g. two D that make the same task, or binned forms that coincide
                            if groups[key].d != d:
                                _note_duplicate(suite, entry.family, groups[key].d, d, task.id)
                            continue
                        groups[key] = group
                        if len(groups) * len(suite.seeds) > MAX_CELLS:
                            raise fail("seeds", f"the suite grows beyond {MAX_CELLS:,} cells ({len(groups):,} groups x "
                                       f"{len(suite.seeds):,} seeds so far); split it or use fewer seeds, N or D")
    for (n, d, needed), (specs, families) in too_few.items():
        note = (f"N = {n} at D = {d} left out for {' and '.join(specs)} on {' and '.join(families)}: "
                f"{'it needs' if len(specs) == 1 else 'they need'} at least {needed} rows for that many columns")
        if note not in suite.notes:
            suite.notes.append(note)
    return list(groups.values())


def _note_duplicate(suite: Suite, family: str, kept: int, dropped: int, task_id: str) -> None:
    note = (f"{family}: D = {dropped} gives the same task as D = {kept} ({task_id}); its cells are run and "
            f"counted once, under D = {kept}")
    if note not in suite.notes:
        suite.notes.append(note)


def select(suite: Suite, estimators: list[str] | None = None, families: list[str] | None = None,
           add: list[str] | None = None) -> Suite:
    """The suite with other estimators or fewer families, expanded again. ``estimators``:
    only these (ids or specs); ``add``: these beside the suite's own. The suite's own
    keep their limits; any other spec (e.g. ``mypkg.module:MyEstimator``) runs on the
    suite's whole grid of tasks, N and D. ``families``: only these task families
    (unknown ones are refused, listing the suite's). Peers whose library is absent are
    skipped with a note, as when the suite loads."""
    if not estimators and not families and not add:
        return suite
    own = {key: (e, lim) for e, lim in zip(suite.estimators, suite.limits) for key in (e.name, e.spec)}
    specs = list(estimators) if estimators else [e.spec for e in suite.estimators]
    specs += [s for s in add or [] if s not in specs]
    chosen = [own.get(s) or (parse_spec(s), Limit()) for s in specs]
    kept, limits, skipped = drop_missing([e for e, _ in chosen], [lim for _, lim in chosen])
    if not kept:
        raise SuiteError(f"none of the estimators can run here: {'; '.join(f'{s}: {why}' for s, why in skipped)}")
    tasks = suite.tasks
    if families:
        unknown = [f for f in families if f not in {t.family for t in tasks}]
        if unknown:
            raise SuiteError(f"{suite.path}: no family {unknown[0]!r} in suite {suite.name!r}; "
                             f"it has {', '.join(t.family for t in tasks)}")
        tasks = [t for t in tasks if t.family in families]
    if not estimators:  # the suite's own estimators stay: so do its notes on those it skipped
        skipped = suite.skipped + skipped
    cut = replace(suite, estimators=kept, limits=limits, tasks=tasks, groups=[], skipped=skipped,
                  notes=[f"skipped {spec}: {why}" for spec, why in skipped])

    def fail(key: str, why: str) -> SuiteError:
        return SuiteError(f"{suite.path}: {key}: {why}")

    cut.groups = _expand(cut, fail)
    named = {e.spec for e in kept if e.spec not in {x.spec for x in suite.estimators}} | \
        ({e.spec for e in kept} if estimators else set())
    idle = sorted(named - {g.estimator for g in cut.groups})
    only = {e.spec: limit.families for e, limit in zip(kept, limits) if limit.families}
    if idle and idle[0] in only:
        raise SuiteError(f"{idle[0]} runs only on {', '.join(only[idle[0]])} in suite {suite.name!r} (its "
                         f"estimators' families key), and none of those is chosen; add --family "
                         f"{only[idle[0]][0]}")
    if idle:  # it would be left off the board, or out of the map, without a word
        raise SuiteError(f"{idle[0]} pairs with no task of suite {suite.name!r} (its tasks: "
                         f"{', '.join(t.family for t in tasks)}): no cell would run it; check which quantity it "
                         "estimates (its tags), or pick a suite with tasks it can take")
    return cut
