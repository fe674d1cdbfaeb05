"""The SQLite results store."""
import sqlite3

import pytest

from mibench.map.store import SCHEMA_VERSION, Store, StoreError


def test_store_refuses_another_schema(tmp_path):
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "results.sqlite")
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()
    with pytest.raises(StoreError, match=f"schema {SCHEMA_VERSION + 1}, this mibench uses schema {SCHEMA_VERSION}"):
        Store(tmp_path)
    Store(tmp_path, fresh=True).close()  # --fresh starts over

def test_store_refuses_a_foreign_sqlite_file(tmp_path):
    db = sqlite3.connect(tmp_path / "results.sqlite")
    with db:
        db.execute("CREATE TABLE things (x)")
    db.close()
    with pytest.raises(StoreError, match="not a mibench results store"):
        Store(tmp_path)


# -- sweep -------------------------------------------------------------------------------------
