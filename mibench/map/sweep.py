"""Sweep: run the groups of a suite and store every cell as soon as its group finishes.

Executors: in-process (``jobs=1``), local worker processes (``jobs > 1``), or Dask
distributed (a ``dask.distributed.Client``, e.g. on a LocalCluster or a scheduler
address). Whatever the executor, only this process writes the store, so an
interrupted sweep (Ctrl-C, a killed worker) keeps every finished group and the next
run resumes; an estimator that raises becomes error rows, never a crash.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections import Counter, deque
from dataclasses import replace
from typing import Any, Callable, Iterator

from mibench.arrays import floats
from mibench.core.memo import shared_work
from mibench.map.cells import Cell, Group, Target, cell_count
from mibench.map.store import Store
from mibench.map.suite import Suite
from mibench.registry import parse_spec
from mibench.tasks import get_task

_MAX_ELEMENTS = 40_000_000  # values per batched call; more seeds are split into chunks
_MAX_SOLO_DEATHS = 2  # a group that kills a worker this often on its own is recorded as failed


class CellTimeout(Exception):
    """An estimator ran past the per-cell time limit (the suite's ``cell_timeout``)."""


class BatchShapeError(ValueError):
    """An estimator returned a number of values other than the batch's number of samples."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CellTimeout` in the code inside once ``seconds`` have passed. A timer
    signal (SIGALRM), so only where one can be delivered: the main thread of a POSIX process
    (in-process sweeps and worker processes; not Dask's worker threads), and only when the
    code returns to Python (a sleep does; a C loop that never does is not stopped)."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CellTimeout(f"ran past the per-cell time limit of {seconds:g} s (suite key cell_timeout, or "
                          "--cell-timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_group(group: Group, device: str = "cpu", limit: float | None = None) -> list[Cell]:
    """Estimate every seed of one group (batched where possible); one cell per seed."""
    return run_bundle((group,), device, limit)[0][1]


def bundles(groups: list[Group]) -> list[tuple[Group, ...]]:
    """The groups that can share one sample: same task, N and seeds, in first-seen order."""
    out: dict[tuple, list[Group]] = {}
    for g in groups:
        out.setdefault((g.task_id, g.n, g.seeds), []).append(g)
    return [tuple(v) for v in out.values()]


def run_bundle(bundle: tuple[Group, ...], device: str = "cpu", limit: float | None = None
               ) -> list[tuple[Group, list[Cell]]]:
    """Every group of a bundle (:func:`bundles`) on one shared sample per chunk of seeds:
    a task is sampled once for all its estimators, not once per estimator, and mibench's
    own estimators share their counting and binning steps on it (:mod:`mibench.core.memo`;
    the numbers are those each computes alone). Each cell's seconds include its
    estimator's share of the sampling time. ``limit``: seconds per cell (a batched call
    of k seeds gets k times it); a call over it becomes error rows, and the rest go on."""
    first = bundle[0]
    task = get_task(first.task_name, **dict(first.task_params))
    estimators = [parse_spec(g.estimator) for g in bundle]
    targets = [Target.of(task, e, g.n) for g, e in zip(bundle, estimators)]
    per_call = max(1, _MAX_ELEMENTS // max(1, first.n * (task.dim_x + task.dim_y)))
    cells: list[list[Cell]] = [[] for _ in bundle]
    for start in range(0, len(first.seeds), per_call):
        seeds = first.seeds[start : start + per_call]
        t0 = time.perf_counter()
        try:
            sample = task.sample_seeds(first.n, seeds)
        except Exception:  # noqa: BLE001 - each group then samples alone and records the error
            sample = None
        share = (time.perf_counter() - t0) / len(bundle)
        with shared_work():
            for i, (group, estimator) in enumerate(zip(bundle, estimators)):
                cells[i] += _run_seeds(group, task, estimator, seeds, device, targets[i], sample, share, limit)
    return list(zip(bundle, cells))


def _run_seeds(group: Group, task: Any, estimator: Any, seeds: tuple[int, ...], device: str, target: Target,
               sample: tuple[Any, Any] | None = None, shared_seconds: float = 0.0, limit: float | None = None
               ) -> list[Cell]:
    t0 = time.perf_counter() - shared_seconds
    try:
        if sample is None:
            xs, ys = task.sample_seeds(group.n, seeds)
        elif leaves_inputs_alone(estimator):
            xs, ys = sample
        else:  # a copy each: no estimator from outside can alter the sample another one sees
            xs, ys = (a.copy() for a in sample)
        if device != "cpu":
            import torch

            xs, ys = torch.as_tensor(xs, device=device), torch.as_tensor(ys, device=device)
        with warnings.catch_warnings(record=True) as caught, time_limit(None if limit is None else limit * len(seeds)):
            warnings.simplefilter("always")
            parts = estimator.mutual_information_parts(xs, ys)
        values, h_x, h_y = ([None] * len(seeds) if v is None else floats(v).tolist() for v in parts)
        if not len(values) == len(h_x) == len(h_y) == len(seeds):  # zip would store some seeds and drop the rest
            raise BatchShapeError(f"returned {len(values)} value(s) for a batch of {len(seeds)} samples; an estimator "
                                  "gives one value per batch element (mibench conform checks this)")
        note = "; ".join(sorted({str(w.message) for w in caught})) or None
        seconds = (time.perf_counter() - t0) / len(seeds)
        return [group.cell(s, target, device=device, seconds=seconds, estimate=v, entropy_x=hx, entropy_y=hy, warning=note)
                for s, v, hx, hy in zip(seeds, values, h_x, h_y)]
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing estimator is data, not a crash (sys.exit too)
        if len(seeds) > 1 and not isinstance(exc, (CellTimeout, BatchShapeError)):  # isolate the failing seed(s)
            return [row for s in seeds for row in _run_seeds(group, task, estimator, (s,), device, target, limit=limit)]
        seconds = (time.perf_counter() - t0) / len(seeds)
        why = f"SystemExit: the estimator called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) \
            else f"{type(exc).__name__}: {exc}"
        return [group.cell(s, target, device=device, seconds=seconds, error=why) for s in seeds]


_OUTSIDE_CODE = ("mibench.estimators.peers", "mibench.estimators.command")


def leaves_inputs_alone(estimator: Any) -> bool:
    """True for mibench's own estimators, which never modify their inputs (tested for
    each of them): they may read the shared sample itself. Other libraries' estimators,
    commands and plug-ins get a copy each."""
    module = type(estimator).__module__
    return module.startswith("mibench.estimators.") and module not in _OUTSIDE_CODE


def pending_groups(suite: Suite, store: Store, groups: list[Group] | None = None) -> list[Group]:
    """The suite's groups (or ``groups``), each cut down to the seeds not yet stored."""
    done = store.finished()
    todo = []
    for g in suite.groups if groups is None else groups:
        seeds = tuple(s for s, key in zip(g.seeds, g.keys()) if key not in done)
        if seeds:
            todo.append(replace(g, seeds=seeds))
    return todo


def _worker_init(parent: int) -> None:
    import scipy.linalg  # noqa: F401 - loads the LAPACK whose threads are limited below
    import threadpoolctl
    import torch

    _die_with(parent)
    torch.set_num_threads(1)  # processes, not threads, share the cores
    threadpoolctl.threadpool_limits(1)  # NumPy's and SciPy's BLAS too


def _die_with(parent: int) -> None:
    """End this worker when the sweep's process ``parent`` dies, however it dies (a
    SIGKILL runs no cleanup): on Linux the kernel signals it at once; elsewhere a
    watchdog thread notices within a second."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="mibench-parent-watch", daemon=True).start()


def run_sweep(
    suite: Suite,
    store: Store,
    *,
    jobs: int = 1,
    client: Any = None,
    progress: bool = True,
    on_group: Callable[[Group], None] | None = None,
    groups: list[Group] | None = None,
    label: str | None = None,
    workers: WorkerPool | None = None,
) -> dict[str, Any]:
    """Run every pending group of ``suite`` (or of ``groups``) into ``store``. Returns
    counts, timing and the seconds spent per estimator. ``workers``: a warm
    :class:`WorkerPool` to run on when ``jobs > 1`` (else one is started for this call)."""
    chosen = suite.groups if groups is None else groups
    todo = pending_groups(suite, store, chosen)
    total = cell_count(todo)
    stats: dict[str, Any] = {"cells_total": cell_count(chosen), "cells_run": 0, "cells_skipped": cell_count(chosen) - total,
                             "errors": 0, "seconds_by_estimator": Counter()}
    bar = _progress_bar(todo, progress, label or f"mibench map {suite.name}", max(1, jobs))
    t0 = time.perf_counter()

    def record(group: Group, cells: list[Cell]) -> None:
        store.write(cells)
        stats["cells_run"] += len(cells)
        stats["errors"] += sum(not c.ok for c in cells)
        stats["seconds_by_estimator"][family_of(group.estimator)] += sum(c.seconds for c in cells)
        bar.done(group, len(cells))
        if on_group is not None:
            on_group(group)

    def record_bundle(bundle: tuple[Group, ...], results: list[tuple[Group, list[Cell]]]) -> None:
        for group, cells in results:
            record(group, cells)

    # costliest first: the long bundles start at once and the short ones fill the gaps
    # at the end, rather than one worker finishing a long bundle while the others idle
    units = sorted(bundles(todo), key=lambda unit: -sum(map(expected_cost, unit)))
    try:
        if client is not None:
            _run_dask(units, suite.device, client, record_bundle, suite.cell_timeout)
        elif jobs > 1:
            _run_processes(units, suite.device, jobs, record_bundle,
                           work=functools.partial(run_bundle, limit=suite.cell_timeout), workers=workers)
        else:
            for unit in units:
                record_bundle(unit, run_bundle(unit, suite.device, suite.cell_timeout))
    finally:
        bar.close()
        stats["seconds"] = time.perf_counter() - t0
    return stats


class WorkerPool:
    """Worker processes kept warm across the sweeps of one map (its grid, then each
    round of frontier probes) and its figures: started once, each with torch already
    imported, instead of once per round. A pool broken by a dead worker is replaced on
    the next request."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: cf.ProcessPoolExecutor | None = None

    def executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _new_pool(self.jobs)
        return self._pool

    def discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.discard()


def _new_pool(width: int) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=width, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                                  initargs=(os.getpid(),))


def _run_processes(todo: list[Any], device: str, jobs: int, record: Callable, work: Callable = run_group,
                   workers: WorkerPool | None = None) -> None:
    """Run groups on spawned worker processes, at most ``jobs`` in flight (on the warm
    ``workers`` when given).

    A worker that dies (killed, out of memory) breaks its pool; the groups in flight
    then become suspects and are re-run one at a time in a pool of their own, so an
    innocent group finishes and a group that kills its worker twice on its own is
    stored as error rows. Groups already recorded are never lost.
    """
    if workers is None:
        with WorkerPool(jobs) as own:
            return _run_processes(todo, device, jobs, record, work, own)
    queue = deque(todo)
    suspects: deque[Group] = deque()
    deaths: Counter[Group] = Counter()
    while queue or suspects:
        alone = bool(suspects)
        source, width = (suspects, 1) if alone else (queue, jobs)
        pool = _new_pool(1) if alone else workers.executor()
        in_flight: dict[cf.Future, Group] = {}
        finished = False
        try:
            while source or in_flight:
                while source and len(in_flight) < width:
                    # submit raises BrokenProcessPool once a worker has died: the group
                    # leaves its queue only after it is really in flight, or it is lost
                    future = _submit_holding_interrupts(pool, work, source[0], device)
                    in_flight[future] = source.popleft()
                done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                # record every group that did finish before acting on a dead worker
                died = [f for f in done if isinstance(f.exception(), cf.process.BrokenProcessPool)]
                for future in done.difference(died):
                    record(in_flight.pop(future), future.result())
                if died:
                    raise died[0].exception()
                if alone:
                    break  # each suspect gets a fresh pool
            finished = True
        except cf.process.BrokenProcessPool:
            lost = list(in_flight.values())
            if not alone:
                suspects.extend(lost)
            else:
                for group in lost:
                    deaths[group] += 1
                    if deaths[group] >= _MAX_SOLO_DEATHS:
                        record(group, _dead_worker_rows(group, device))
                    else:
                        suspects.appendleft(group)
        finally:
            if alone:
                pool.shutdown(wait=False, cancel_futures=True)
            elif not finished:  # broken, or interrupted with groups in flight: never reuse it
                workers.discard()


def _submit_holding_interrupts(pool: cf.ProcessPoolExecutor, work: Callable, group: Group, device: str) -> cf.Future:
    """Submit with SIGINT held back, so the workers and pool threads started now inherit it
    blocked: Ctrl-C then stops this process alone, which keeps every finished group. Held,
    not ignored: a Ctrl-C that arrives during the submit is delivered here as soon as it
    returns instead of being lost (the sweep would run on). Without signal masks
    (Windows) SIGINT is ignored for the submit instead."""
    if hasattr(signal, "pthread_sigmask"):
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return pool.submit(work, group, device)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return pool.submit(work, group, device)
    finally:
        signal.signal(signal.SIGINT, previous)


def _dead_worker_rows(unit: Group | tuple[Group, ...], device: str) -> Any:
    """Error rows for a unit whose worker kept dying: a group's cells, or a bundle's
    (group, cells) pairs."""
    if isinstance(unit, tuple):
        return [(group, _dead_group_rows(group, device)) for group in unit]
    return _dead_group_rows(unit, device)


def _dead_group_rows(group: Group, device: str) -> list[Cell]:
    target = Target.of(get_task(group.task_name, **dict(group.task_params)), parse_spec(group.estimator), group.n)
    error = f"worker process died (out of memory or killed) on each of {_MAX_SOLO_DEATHS} attempts on its own"
    return [group.cell(s, target, device=device, seconds=0.0, error=error) for s in group.seeds]


def _run_dask(todo: list[tuple[Group, ...]], device: str, client: Any, record: Callable, limit: float | None = None
              ) -> None:
    from dask.distributed import as_completed

    futures = {client.submit(run_bundle, unit, device, limit, pure=False): unit for unit in todo}
    try:
        for future in as_completed(list(futures)):
            record(futures[future], future.result())
    except BaseException:
        client.cancel(list(futures))
        raise


def expected_cost(group: Group) -> float:
    """Relative cost of a group (its estimator's cost model at its N and D, times its
    seeds; a binned estimator costs what its discrete estimator does), so the progress
    bar's ETA weighs a kernel estimate at N = 4096 above a plug-in count at N = 64, and
    the costliest bundles start first."""
    name = family_of(group.estimator).removeprefix("binned(").removesuffix(")")
    if name in CRITICS:  # a trained critic costs what its budget says, whatever N and D
        return len(group.seeds) * CRITIC_SECONDS_PER_PAIR * _critic_pairs(group.estimator, group.n)
    dim = group.d or 1
    return len(group.seeds) * COST_MODEL.get(name, COST_MODEL["default"])(group.n, dim)


CRITICS = ("infonce", "nwj", "mine")
CRITIC_SECONDS_PER_PAIR = 3e-7  # one thread, measured on the benchmark's tasks at its protocol


@functools.lru_cache(maxsize=256)
def _critic_pairs(spec: str, n: int) -> float:
    return parse_spec(spec).critic_pairs(n)


def family_of(spec: str) -> str:
    """An estimator spec's name without its parameters; a binned estimator keeps its
    discrete estimator (``binned(nsb)``), which is where its time goes."""
    inner = re.match(r"binned\(\s*(\w+)", spec)
    return f"binned({inner.group(1)})" if inner else spec.split("(")[0]


COST_MODEL = {  # seconds per seed, fitted to the per-cell timings of the default map (2 cores)
    "default": lambda n, d: 2e-3 + 2e-8 * n * d,
    "nsb": lambda n, d: 8e-3 + 1.2e-8 * n * d,
    "gcmi": lambda n, d: 1e-3 + 1.5e-7 * n * d,
    "parametric_gaussian": lambda n, d: 1e-3 + 6e-8 * n * d,
    "ksg": lambda n, d: 2e-3 + 1.7e-5 * n * d,
    "kozachenko_leonenko": lambda n, d: 2e-3 + 1.2e-5 * n * d,
    "kde": lambda n, d: 3e-2 + 6e-10 * n * n * d,
    "kolchinsky_tracey": lambda n, d: 2e-2 + 8e-10 * n * n * d,
    "renyi": lambda n, d: 2e-3 + 2.8e-10 * n**3,
}


class _NoBar:
    def done(self, group: Group, cells: int) -> None: ...
    def close(self) -> None: ...


class _CostBar:
    """A tqdm bar over expected cost (see :func:`expected_cost`), showing cells done and
    the estimator and family of the group that just finished."""

    def __init__(self, todo: list[Group], desc: str, workers: int = 1) -> None:
        from tqdm.auto import tqdm

        self.costs = {id(g): expected_cost(g) for g in todo}
        self.by_key = {(g.estimator, g.task_id, g.n): expected_cost(g) for g in todo}
        total = sum(self.costs.values())
        self.cells = 0
        self.bar = tqdm(total=total, desc=desc, smoothing=0.05,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {postfix}")
        # the costliest bundles run first and report only when done: until then, say what to expect
        seconds = total / workers  # the cost model is in seconds on this project's 2-core machine
        expected = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1.0, seconds):.0f} s"
        self.bar.set_postfix_str(f"{cell_count(todo)} cells; about {expected} expected on {workers} worker(s) "
                                 "(cost model); the first groups to finish are the slowest")

    def done(self, group: Group, cells: int) -> None:
        self.cells += cells
        self.bar.set_postfix_str(f"{self.cells} cells; last: {family_of(group.estimator)} on {group.family}, N={group.n}",
                                 refresh=False)
        step = self.by_key.get((group.estimator, group.task_id, group.n), 0.0)
        self.bar.update(min(step, max(0.0, self.bar.total - self.bar.n)))  # never past 100 %

    def close(self) -> None:
        self.bar.close()


def _progress_bar(todo: list[Group], enabled: bool, desc: str, workers: int = 1) -> Any:
    return _CostBar(todo, desc, workers) if enabled and todo else _NoBar()
