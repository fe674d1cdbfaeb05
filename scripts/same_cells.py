"""Are two results stores the same map? Compares every cell's estimate bit for bit.

    python scripts/same_cells.py OLD/results.sqlite NEW/results.sqlite

Cells are matched on (estimator spec, task id, N, seed), whatever the stores' schema
versions; estimates must be equal as floats (NaN equal to NaN), ok flags and error
texts too. Exit status 1 when anything differs or a cell is on one side only.
Used to check that a change of layout or speed changed no number.
"""
from __future__ import annotations

import sqlite3
import sys

import numpy as np
import pandas as pd

KEY = ["estimator", "task_id", "n", "seed"]


def read(path: str) -> pd.DataFrame:
    with sqlite3.connect(path) as db:
        frame = pd.read_sql_query(f"SELECT {', '.join(KEY)}, estimate, ok, error FROM cells", db)
    return frame.set_index(KEY).sort_index()


def compare(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    problems = []
    only_old, only_new = old.index.difference(new.index), new.index.difference(old.index)
    problems += [f"only in the first store: {k}" for k in only_old[:20]] + [f"only in the second store: {k}" for k in only_new[:20]]
    both = old.index.intersection(new.index)
    a, b = old.loc[both], new.loc[both]
    ea, eb = a["estimate"].to_numpy(float), b["estimate"].to_numpy(float)
    differs = ~((ea == eb) | (np.isnan(ea) & np.isnan(eb))) | (a["ok"].to_numpy() != b["ok"].to_numpy())
    differs |= a["error"].fillna("").to_numpy() != b["error"].fillna("").to_numpy()
    for key, x, y in list(zip(both[differs], ea[differs], eb[differs]))[:20]:
        problems.append(f"{key}: {x!r} != {y!r}")
    print(f"{len(both)} cells in both stores, {int(differs.sum())} differ; {len(only_old)} only in the first, "
          f"{len(only_new)} only in the second")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    found = compare(read(sys.argv[1]), read(sys.argv[2]))
    print("\n".join(found) if found else "identical")
    sys.exit(1 if found else 0)
