"""The map's records: a :class:`Group` of seeds to run, and the :class:`Cell` each seed
becomes.

A cell is one estimator on one seed's sample of one task at one N: the row schema of
the results store, of ``cells.csv`` and of every table the regimes, figures and
summaries are computed from. It is identified by :data:`KEY`; the bin count is part of
the estimator's spec wherever it applies, so it needs no place in the key. Cells are
made only by :meth:`Group.cell`, so a cell's identity and placement are its group's.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable

import pandas as pd

from mibench._version import __version__
from mibench.judging import declared_ceiling

KEY = ("estimator", "task_id", "n", "seed")


@dataclass(frozen=True)
class Target:
    """What every seed of a group is scored against (bits): the exact truth the
    estimator targets on the task, the task's joint entropy H(X,Y) where it states one,
    and the estimator's declared ceiling at N (None where it declares none)."""

    truth: float
    joint_entropy: float | None
    ceiling: float | None

    @classmethod
    def of(cls, task: Any, estimator: Any, n: int) -> "Target":
        ceiling = declared_ceiling(estimator, n)
        return cls(estimator.target(task), task.joint_entropy, None if math.isnan(ceiling) else ceiling)


@dataclass(frozen=True)
class Group:
    """All seeds of one (estimator, task, N): one batched estimator call, placed on a
    suite's map by ``family`` and ``d`` (the grid dimension it was made from; None for a
    group placed off the grid to locate a frontier). ``bins`` is the bin count of a
    binned estimator (also in its spec), None when it does not bin."""

    estimator: str
    family: str
    task_name: str
    task_params: tuple[tuple[str, Any], ...]
    task_id: str
    n: int
    d: int | None
    bins: int | None
    seeds: tuple[int, ...]

    def keys(self) -> list[tuple[str, str, int, int]]:
        """The cell keys (:data:`KEY`) of the group's seeds."""
        return [(self.estimator, self.task_id, self.n, s) for s in self.seeds]

    def cell(self, seed: int, target: Target, *, device: str, seconds: float, estimate: float | None = None,
             entropy_x: float | None = None, entropy_y: float | None = None, error: str | None = None,
             warning: str | None = None) -> "Cell":
        """The cell of one seed: an estimate (bits), or a failure with its ``error``."""
        return Cell(estimator=self.estimator, family=self.family, task_id=self.task_id,
                    task_params=dict(self.task_params), n=self.n, d=self.d, bins=self.bins, seed=seed,
                    estimate=estimate, truth=target.truth, joint_entropy=target.joint_entropy, ceiling=target.ceiling,
                    entropy_x=entropy_x, entropy_y=entropy_y, seconds=seconds, device=device, ok=error is None,
                    error=error, warning=warning, version=__version__)


@dataclass(frozen=True)
class Cell:
    """One stored estimate (bits) beside the exact truth it is scored against.

    ``family``, ``d`` and ``bins`` are its group's placement (:class:`Group`).
    ``ceiling`` is the estimator's declared ceiling at this N (bits: what it returns
    when every row is distinct; None where it declares none), and ``entropy_x`` /
    ``entropy_y`` its own estimates of H(X) and H(Y) on the same sample where they bound
    its I(X;Y) (count-based estimators; the labels' entropy for Kolchinsky-Tracey), None
    elsewhere: together they say which ceiling an estimate hit. A failed estimate is a
    cell too: ``ok`` false, ``estimate`` None and the ``error`` text.
    """

    estimator: str
    family: str
    task_id: str
    task_params: dict[str, Any]
    n: int
    d: int | None
    bins: int | None
    seed: int
    estimate: float | None
    truth: float
    joint_entropy: float | None
    ceiling: float | None
    entropy_x: float | None
    entropy_y: float | None
    seconds: float
    device: str
    ok: bool
    error: str | None
    warning: str | None
    version: str

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in KEY)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Cell))
#: A cell's place on a suite's map: its group's, not part of its identity.
PLACEMENT = ("family", "d", "bins")


def cells_frame(cells: Iterable[Cell]) -> pd.DataFrame:
    """A tidy frame of cells, one row each, columns in :data:`COLUMNS` order."""
    return pd.DataFrame([asdict(c) for c in cells], columns=list(COLUMNS))


def cell_count(groups: Iterable[Group]) -> int:
    """Cells (seeds) in these groups."""
    return sum(len(g.seeds) for g in groups)
