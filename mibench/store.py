"""Results store: SQLite, one row per cell, written in a transaction per finished group.

A cell is (estimator spec, task id, N, bins, seed); re-running skips finished cells
(error rows included: a failing estimator fails the same way again). The schema
version is kept in the ``meta`` table; a store from another version is refused.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

SCHEMA_VERSION = 2  # 2: joint_entropy column
FILENAME = "results.sqlite"
COLUMNS = (
    "estimator", "family", "task_id", "task_params", "n", "d", "bins", "seed",
    "estimate", "truth", "joint_entropy", "seconds", "device", "ok", "error", "warning", "version",
)
_CREATE = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    estimator TEXT NOT NULL, family TEXT NOT NULL, task_id TEXT NOT NULL, task_params TEXT NOT NULL,
    n INTEGER NOT NULL, d INTEGER NOT NULL, bins INTEGER NOT NULL, seed INTEGER NOT NULL,
    estimate REAL, truth REAL NOT NULL, joint_entropy REAL, seconds REAL NOT NULL, device TEXT NOT NULL,
    ok INTEGER NOT NULL, error TEXT, warning TEXT, version TEXT NOT NULL,
    UNIQUE (estimator, task_id, n, bins, seed)
);
"""


class StoreError(ValueError):
    """The results directory cannot be used as it is; the message says why and what to do."""


class Store:
    """The SQLite results store of one results directory."""

    def __init__(self, out: str | Path, *, fresh: bool = False) -> None:
        self.dir = Path(out)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / FILENAME
        if fresh and self.path.exists():
            self.path.unlink()
        self.db = sqlite3.connect(self.path)
        self._check_schema()

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

    def finished(self) -> set[tuple[str, str, int, int, int]]:
        """Keys (estimator, task_id, n, bins, seed) of every stored cell."""
        return set(self.db.execute("SELECT estimator, task_id, n, bins, seed FROM cells"))

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert the rows of one finished group in one transaction."""
        values = [tuple(_sql(row[c]) for c in COLUMNS) for row in rows]
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO cells ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", values
            )

    def cells(self) -> pd.DataFrame:
        """Every stored cell as a tidy frame (NaN estimates come back as NaN)."""
        frame = pd.read_sql_query("SELECT * FROM cells", self.db)
        frame["estimate"] = frame["estimate"].astype(float)
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
