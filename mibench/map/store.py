"""Results store: SQLite, one row per cell (:class:`mibench.map.cells.Cell`), written in
a transaction per finished group.

A cell is keyed by :data:`mibench.map.cells.KEY`; re-running skips finished cells
(error rows included: a failing estimator fails the same way again). The schema
version is kept in the ``meta`` table; a store from another version is refused.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from mibench._version import __version__
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


_ENVIRONMENTAL = ("worker process died", "MemoryError", "OutOfMemoryError", "out of memory", "CUDA", "device")


def environmental(error: str | None) -> bool:
    """True for a cell error caused by the machine rather than the estimator."""
    return bool(error) and any(mark in error for mark in _ENVIRONMENTAL)


class StoreError(ValueError):
    """The results directory cannot be used as it is; the message says why and what to do."""


class Store:
    """The SQLite results store of one results directory."""

    def __init__(self, out: str | Path, *, fresh: bool = False, suite: str | None = None) -> None:
        """Open (creating) the store of ``out``. With ``suite``, the directory belongs to
        that suite: a store written by another suite is refused, so two suites' outputs
        never lie side by side."""
        self.dir = Path(out)
        self.path = self.dir / FILENAME
        if fresh and self.path.exists():
            self._discard(suite)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.dir, os.W_OK | os.X_OK):
                raise PermissionError(13, "not writable")
        except OSError as exc:
            raise StoreError(f"cannot write results to {self.dir} ({exc.strerror or exc}); choose a writable --out") from None
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{self.path} is a {'directory' if self.path.is_dir() else 'special file'}, not a results "
                             "store; move it away or choose another --out")
        self.db = sqlite3.connect(self.path)
        try:
            self._check_schema()
            self._check_version()
            if suite is not None:
                self._claim(suite)
        except sqlite3.OperationalError as exc:
            self.db.close()
            raise StoreError(f"cannot use {self.path} ({exc}); check that it is writable and not on a full disk, "
                             "or choose another --out") from None
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{self.path} is damaged ({exc}); it is left untouched: move it away and rerun, "
                             "use --fresh to discard it and start over, or choose another --out") from None
        except StoreError:
            self.db.close()
            raise

    def _check_version(self) -> None:
        """Cells written by another mibench version are not mixed with this one's: their
        numbers may differ (estimators and tasks change between versions)."""
        others = [r[0] for r in self.db.execute("SELECT DISTINCT version FROM cells") if r[0] != __version__]
        if others:
            count = self.db.execute("SELECT COUNT(*) FROM cells WHERE version != ?", (__version__,)).fetchone()[0]
            raise StoreError(f"{self.dir} holds {count} cell(s) written by mibench {', '.join(sorted(others))}; this is "
                             f"mibench {__version__}, whose numbers may differ, so they are not reused: use --fresh to "
                             "recompute them here, or another --out")

    def _discard(self, suite: str | None) -> None:
        """``--fresh``: remove the store only when it is this suite's own (another suite's
        results, or a file that is not a mibench store, are never deleted)."""
        from contextlib import closing

        try:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
                row = db.execute("SELECT value FROM meta WHERE key='suite'").fetchone()
        except sqlite3.DatabaseError:
            row = ("(not a mibench results store)",)
        owner = None if row is None else row[0]
        if suite is not None and owner not in (None, suite):
            raise StoreError(f"{self.path} holds the results of suite {owner!r}, not {suite!r}; --fresh removes only "
                             "this suite's own store: choose another --out")
        try:
            self.path.unlink()
        except OSError as exc:
            raise StoreError(f"cannot remove {self.path} ({exc.strerror or exc}); choose another --out") from None

    def _claim(self, suite: str) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='suite'").fetchone()
        if row is not None and row[0] != suite:
            self.db.close()
            raise StoreError(
                f"{self.dir} holds the results of suite {row[0]!r}, not {suite!r}; a directory holds one suite: "
                f"use another --out (--fresh removes only a suite's own store)"
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
        """Keys (:data:`~mibench.map.cells.KEY`) of the stored cells that need no rerun:
        every cell but those that failed for a reason of the environment (a dead worker,
        memory, a device), which the next run retries. An estimator's own error (NSB
        without coincidences) would fail the same way again and is kept."""
        rows = self.db.execute(f"SELECT {', '.join(KEY)}, ok, error FROM cells")
        return {tuple(r[:-2]) for r in rows if r[-2] or not environmental(r[-1])}

    def write(self, cells: Iterable[Cell]) -> None:
        """Insert the cells of one finished group in one transaction."""
        values = [tuple(_sql(getattr(cell, c)) for c in COLUMNS) for cell in cells]
        try:
            with self.db:
                self.db.executemany(
                    f"INSERT OR REPLACE INTO cells ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", values
                )
        except sqlite3.OperationalError as exc:  # a full disk mid-map: the cells stored before are kept
            raise OSError(28 if "full" in str(exc) else 5, f"cannot store results in {self.path} ({exc}); every cell "
                          "stored before is kept: free space and run the same command to resume") from None

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
