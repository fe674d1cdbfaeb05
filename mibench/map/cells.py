"""The cell record: one estimator on one seed's sample of one task at one N.

This is the row schema of the results store, of ``cells.csv`` and of every table the
regimes, figures and summaries are computed from, in one place. A cell is identified
by :data:`KEY`; the bin count is part of the estimator's spec wherever it applies, so
it needs no place in the key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable

import pandas as pd

KEY = ("estimator", "task_id", "n", "seed")


@dataclass(frozen=True)
class Cell:
    """One stored estimate (bits) beside the exact truth it is scored against.

    ``family`` and ``d`` place the cell on a suite's map (the task family's label and
    the grid dimension it was made from; None for cells placed off the grid to locate
    a frontier); ``bins`` is the bin count of a binned estimator, None when the
    estimator does not bin. ``ceiling`` is the estimator's declared ceiling at this N
    (bits: what it returns when every row is distinct; None where it declares none), and
    ``entropy_x`` / ``entropy_y`` its own estimates of H(X) and H(Y) on the same sample
    where they bound its I(X;Y) (count-based estimators; the labels' entropy for
    Kolchinsky-Tracey), None elsewhere: together they say which ceiling an estimate
    hit. A failed estimate is a cell too: ``ok`` false, ``estimate`` None and the
    ``error`` text.
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


def cells_frame(cells: Iterable[Cell]) -> pd.DataFrame:
    """A tidy frame of cells, one row each, columns in :data:`COLUMNS` order."""
    return pd.DataFrame([asdict(c) for c in cells], columns=list(COLUMNS))
