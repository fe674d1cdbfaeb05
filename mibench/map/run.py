"""Running the main job: sweep a suite into its store, locate its frontiers between grid
points, and write its outputs (:mod:`mibench.map.report`); and one group judged on the
spot (:func:`estimate_on_task`, ``mibench estimate --task``).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from mibench.arrays import floats
from mibench.judging import Judgement, declared_ceiling, judge_seeds
from mibench.map.cells import COLUMNS, KEY, PLACEMENT, Group, cell_count
from mibench.map.locate import MAX_ROUNDS, probe_groups
from mibench.map.regimes import FRONTIER_KEY, classify
from mibench.map.report import write_outputs
from mibench.map.store import Store
from mibench.map.suite import Suite, check_fits, load_suite, select
from mibench.map.sweep import WorkerPool, run_sweep
from mibench.registry import make_estimator
from mibench.tasks import TASKS, parse_task


def chosen_suite(suite: str, estimators: list[str] | None = None, families: list[str] | None = None,
                 add: list[str] | None = None) -> Suite:
    """A suite (a built-in name or a TOML path), loaded and checked, with other estimators
    or fewer families where asked (:func:`mibench.map.suite.select`): ``estimators``
    only these, ``add`` these beside the suite's, ``families`` only these."""
    return select(load_suite(suite), estimators=estimators, families=families, add=add)


def run_map(
    suite: str | Suite = "default",
    out: str | Path = "mibench-results",
    *,
    jobs: int = 1,
    client: Any = None,
    fresh: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = lambda text: None,
    outputs: str | Path | None = None,
) -> dict[str, Any]:
    """Sweep ``suite`` into the results directory ``out`` (resuming what is there; a
    directory holds one suite), locate its frontiers between grid points, and write every
    output there (or in ``outputs``, e.g. for a subset of the suite). ``say`` receives
    one-line progress notes (what is being rendered)."""
    suite = load_suite(suite) if isinstance(suite, str) else suite
    store = Store(out, fresh=fresh, suite=suite.name)
    with WorkerPool(jobs) as workers:  # started on first use, warm for every round and the figures
        pool = workers if jobs > 1 and client is None else None
        try:
            cells, stats = sweep_and_locate(suite, store, jobs=jobs, client=client, progress=progress, workers=pool)
        finally:
            store.close()
        folder = Path(out if outputs is None else outputs)
        folder.mkdir(parents=True, exist_ok=True)
        say(f"writing the tables and summary.md in {folder}, and drawing the figures whose cells changed "
            "(two per family, four where a family is drawn in two parts)")
        return {**stats, **write_outputs(suite, cells, folder, stats, workers=pool)}


def sweep_and_locate(suite: Suite, store: Store, *, jobs: int = 1, client: Any = None,
                     progress: bool = True, workers: WorkerPool | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sweep the suite's groups into ``store``, then place cells between grid points
    until every frontier is located (or cannot be narrowed); the suite's cells and the
    run's statistics (``probe_cells``: how many were placed off the grid)."""
    stats = run_sweep(suite, store, jobs=jobs, client=client, progress=progress, workers=workers)
    probes: list[Group] = []
    regimes = classify(suite_cells(suite.groups, store), suite.tolerances)
    moved = regimes  # the groups whose frontiers may have moved since the last round
    for round_ in range(1, MAX_ROUNDS + 1):
        new = [g for g in probe_groups(suite, moved, suite.groups + probes) if g not in probes]
        if not new:
            break
        probes += new
        more = run_sweep(suite, store, jobs=jobs, client=client, progress=progress, groups=new,
                         label=f"locating frontiers (round {round_} of at most {MAX_ROUNDS}: each halves the brackets)",
                         workers=workers)
        stats = _add_stats(stats, more)
        # only the new groups need classifying, and only their frontiers (estimator, family,
        # bins, N) can move: the others would propose the probes already run
        regimes = pd.concat([regimes, classify(suite_cells(new, store), suite.tolerances)], ignore_index=True)
        touched = pd.MultiIndex.from_frame(pd.DataFrame([(g.estimator, g.family, g.bins, g.n) for g in new],
                                                        columns=FRONTIER_KEY).astype({"bins": "Int64"}))
        moved = regimes[pd.MultiIndex.from_frame(regimes[FRONTIER_KEY].astype({"bins": "Int64"})).isin(touched)]
    stats["probe_cells"] = cell_count(probes)
    return suite_cells(suite.groups + probes, store), stats


def _add_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key in ("cells_total", "cells_run", "cells_skipped", "errors", "seconds"):
        out[key] = a[key] + b[key]
    out["seconds_by_estimator"] = Counter(a["seconds_by_estimator"]) + Counter(b["seconds_by_estimator"])
    return out


def suite_cells(groups: list[Group], store: Store) -> pd.DataFrame:
    """The stored cells of these groups, placed on this suite's map: ``family``, ``d``
    and ``bins`` come from the groups, whatever run first wrote the cell."""
    placement = pd.DataFrame(
        [(*key, g.family, g.d, g.bins) for g in groups for key in g.keys()],
        columns=[*KEY, *PLACEMENT],
    ).astype({"bins": "Int64", "d": "Int64"})
    cells = store.cells().drop(columns=list(PLACEMENT))
    return placement.merge(cells, on=list(KEY), how="inner")[list(COLUMNS)]


def estimate_on_task(estimator: Any, task: Any, n: int, seeds: int) -> tuple[Any, Any, list[float], Judgement]:
    """I(X;Y) on ``seeds`` samples of N rows of a task (an id such as
    ``"parity(dim=3, noise=0.1)"`` or a task), judged against its exact truth as the map
    judges a group: (estimator, task, per-seed estimates in bits, judgement)."""
    if n < 2 or seeds < 1:
        raise ValueError(f"need -n >= 2 samples and --seeds >= 1; got -n {n}, --seeds {seeds}")
    task = parse_task(task) if isinstance(task, str) else task
    check_fits(task, n, seeds, "mibench estimate --task")
    est = make_estimator(estimator)
    truth = est.target(task)
    if truth is None:
        raise ValueError(f"{est.spec} targets a quantity that {task.id} does not know "
                         f"(tasks that do: {', '.join(name for name, c in TASKS.items() if c.noisy_truth)})")
    values, h_x, h_y = (floats(v, seeds).tolist() for v in est.mutual_information_parts(*task.sample_seeds(n, range(seeds))))
    return est, task, values, judge_seeds(values, truth, declared_ceiling(est, n), h_x, h_y)

