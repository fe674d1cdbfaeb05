"""Results store: SQLite, one row per cell (:class:`mibench.map.cells.Cell`), written in
a transaction per finished group.

A cell is keyed by :data:`mibench.map.cells.KEY`; re-running skips finished cells
(error rows included: a failing estimator fails the same way again). The schema
version is kept in the ``meta`` table; a store from another version is refused.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from mibench.map.cells import COLUMNS, KEY, Cell

SCHEMA_VERSION = 3  # 2: joint_entropy; 3: ceiling, entropy_x/y, bins and d NULL where absent, key without bins
FILENAME = "results.sqlite"
_TYPES = {
    "estimator": "TEXT NOT NULL", "family": "TEXT NOT NULL", "task_id": "TEXT NOT NULL", "task_params": "TEXT NOT NULL",
    "n": "INTEGER NOT NULL", "d": "INTEGER", "bins": "INTEGER", "seed": "INTEGER NOT NULL",
    "estimate": "REAL", "truth": "REAL NOT NULL", "joint_entropy": "REAL", "ceiling": "REAL", "entropy_x": "REAL", "entropy_y": "REAL", "seconds": "REAL NOT NULL",
    "device": "TEXT NOT NULL", "ok": "INTEGER NOT NULL", "error": "TEXT", "warning": "TEXT", "version": "TEXT NOT NULL",
}
assert tuple(_TYPES) == COLUMNS, "the store's columns are the cell record's fields"
_CREATE = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    {', '.join(f'{c} {t}' for c, t in _TYPES.items())},
    UNIQUE ({', '.join(KEY)})
);
"""


class StoreError(ValueError):
    """The results directory cannot be used as it is; the message says why and what to do."""


class Store:
    """The SQLite results store of one results directory."""

    def __init__(self, out: str | Path, *, fresh: bool = False, suite: str | None = None) -> None:
        """Open (creating) the store of ``out``. With ``suite``, the directory belongs to
        that suite: a store written by another suite is refused, so two suites' outputs
        never lie side by side."""
        self.dir = Path(out)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / FILENAME
        if fresh and self.path.exists():
            self.path.unlink()
        self.db = sqlite3.connect(self.path)
        self._check_schema()
        if suite is not None:
            self._claim(suite)

    def _claim(self, suite: str) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='suite'").fetchone()
        if row is not None and row[0] != suite:
            self.db.close()
            raise StoreError(
                f"{self.dir} holds the results of suite {row[0]!r}, not {suite!r}; a directory holds one suite: "
                f"use another --out, or --fresh to replace them"
            )
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('suite', ?)", (suite,))

    def _check_schema(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            found = row[0] if row else "unknown"
            if found != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path} was written with results schema {found}, this mibench uses schema {SCHEMA_VERSION}; "
                    "results are not mixed across schemas: use another --out directory, or --fresh to start over"
                )
        elif tables:
            raise StoreError(f"{self.path} is an SQLite file but not a mibench results store; use another --out directory")
        with self.db:
            self.db.executescript(_CREATE)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def finished(self) -> set[tuple[Any, ...]]:
        """Keys (:data:`~mibench.map.cells.KEY`) of every stored cell."""
        return set(self.db.execute(f"SELECT {', '.join(KEY)} FROM cells"))

    def write(self, cells: Iterable[Cell]) -> None:
        """Insert the cells of one finished group in one transaction."""
        values = [tuple(_sql(getattr(cell, c)) for c in COLUMNS) for cell in cells]
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO cells ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", values
            )

    def cells(self) -> pd.DataFrame:
        """Every stored cell as a tidy frame (NaN estimates come back as NaN)."""
        frame = pd.read_sql_query("SELECT * FROM cells", self.db)
        for column in ("estimate", "ceiling", "joint_entropy", "entropy_x", "entropy_y"):
            frame[column] = frame[column].astype(float)
        for column in ("bins", "d"):  # NULL when the estimator does not bin / the cell is off the grid
            frame[column] = frame[column].astype("Int64")
        frame["ok"] = frame["ok"].astype(bool)
        return frame

    def close(self) -> None:
        self.db.close()


def _sql(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
