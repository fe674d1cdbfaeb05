"""Are two runs of a suite the same map? Two rules, both over every group of the runs.

    python scripts/same_cells.py OLD_DIR NEW_DIR           # statistically invisible (the default)
    python scripts/same_cells.py --exact OLD_DIR NEW_DIR   # every estimate bit for bit

OLD_DIR and NEW_DIR are a suite's output folders (``mibench map SUITE --out ROOT`` writes
ROOT/SUITE: results.sqlite, regimes.csv, frontiers.csv); a results.sqlite path names its folder.

*Statistically invisible* (the rule for a change of speed that may change numbers): every
group's regime label is the same, every frontier has the same status and location, and
each group's mean over its seeds moves by less than a tenth of its standard error
(std / sqrt(seeds), the old run's) or by at most 1e-9 bit -- float noise, which is what
a group whose seeds agree (spread 0, or 1e-10 of float noise) may move by. It prints the
largest move in units of the standard error, and the groups that break the rule.

*Exact*: cells matched on (estimator spec, task id, N, seed); estimates equal as floats
(NaN equal to NaN), ok flags and error texts too -- a change of layout changes no number.

Exit status 1 when anything differs or a group (cell) is in one run only.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["estimator", "task_id", "n", "seed"]
GROUP = ["estimator", "task_id", "n"]
FRONTIER = ["estimator", "family", "bins", "n", "axis"]
SHARE_OF_SE = 0.1  # a group's mean may move by this many standard errors ...
FLOAT_NOISE = 1e-9  # ... or by at most this many bits (all a group whose seeds agree may move)


def folder(path: str) -> Path:
    p = Path(path)
    return p.parent if p.name == "results.sqlite" else p


def read_cells(path: Path) -> pd.DataFrame:
    with sqlite3.connect(path / "results.sqlite") as db:
        frame = pd.read_sql_query(f"SELECT {', '.join(KEY)}, estimate, ok, error FROM cells", db)
    return frame.set_index(KEY).sort_index()


def compare_exact(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
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


def _one_sided(old: pd.DataFrame, new: pd.DataFrame, what: str) -> list[str]:
    only_old, only_new = old.index.difference(new.index), new.index.difference(old.index)
    return ([f"{what} only in the first run: {k}" for k in only_old[:20]]
            + [f"{what} only in the second run: {k}" for k in only_new[:20]])


def compare_groups(old: pd.DataFrame, new: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Regime labels equal and means within the rule; returns the problems and, per
    group in both runs, the move of its mean in bits and in standard errors."""
    old, new = old.set_index(GROUP).sort_index(), new.set_index(GROUP).sort_index()
    problems = _one_sided(old, new, "group")
    both = old.index.intersection(new.index)
    a, b = old.loc[both], new.loc[both]
    relabelled = a["regime"].to_numpy() != b["regime"].to_numpy()
    problems += [f"regime {x} -> {y}: {k}" for k, x, y in
                 list(zip(both[relabelled], a["regime"][relabelled], b["regime"][relabelled]))[:20]]
    ma, mb = a["mean"].to_numpy(float), b["mean"].to_numpy(float)
    se = a["std"].to_numpy(float) / np.sqrt(a["seeds"].to_numpy(float))
    move = np.where(np.isnan(ma) & np.isnan(mb), 0.0, np.abs(mb - ma))  # NaN on one side only stays NaN: a break
    in_se = np.where(se > 0, move / np.where(se > 0, se, 1.0), np.where(move == 0, 0.0, np.inf))
    broken = ~((in_se < SHARE_OF_SE) | (move <= FLOAT_NOISE))
    problems += [f"mean moved {m:.3g} bit = {s:.3g} SE: {k}" for k, m, s in
                 list(zip(both[broken], move[broken], in_se[broken]))[:20]]
    moves = pd.DataFrame({"bits": move, "standard_errors": in_se}, index=both)
    return problems, moves


def compare_frontiers(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    old, new = (f.astype({"bins": "Int64"}).set_index(FRONTIER).sort_index() for f in (old, new))
    problems = _one_sided(old, new, "frontier")
    both = old.index.intersection(new.index)
    a, b = old.loc[both], new.loc[both]
    status = a["status"].fillna("").to_numpy() != b["status"].fillna("").to_numpy()
    xa, xb = a["max"].to_numpy(float), b["max"].to_numpy(float)
    moved = ~((np.isclose(xa, xb, rtol=0, atol=1e-9)) | (np.isnan(xa) & np.isnan(xb)))
    problems += [f"frontier {sa} at {x} -> {sb} at {y}: {k}" for k, sa, sb, x, y in
                 list(zip(both[status | moved], a["status"][status | moved], b["status"][status | moved],
                          xa[status | moved], xb[status | moved]))[:20]]
    return problems


def invisible(old_dir: Path, new_dir: Path) -> list[str]:
    problems, moves = compare_groups(pd.read_csv(old_dir / "regimes.csv"), pd.read_csv(new_dir / "regimes.csv"))
    problems += compare_frontiers(pd.read_csv(old_dir / "frontiers.csv"), pd.read_csv(new_dir / "frontiers.csv"))
    beyond_noise = moves[moves["bits"] > FLOAT_NOISE]
    finite = beyond_noise["standard_errors"].replace(np.inf, np.nan).dropna()
    print(f"{len(moves)} groups in both runs; {int((moves['bits'] > 0).sum())} means moved; largest move "
          f"{finite.max() if len(finite) else 0:.3g} SE beyond float noise ({moves['bits'].max():.3g} bit at most); "
          f"rule: < {SHARE_OF_SE} SE, or <= {FLOAT_NOISE:g} bit")
    if len(finite):
        worst = finite.idxmax()
        print(f"largest move in SE: {worst} ({beyond_noise.loc[worst, 'bits']:.3g} bit)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--exact", action="store_true", help="every cell's estimate bit for bit")
    args = parser.parse_args(argv)
    old, new = folder(args.old), folder(args.new)
    found = compare_exact(read_cells(old), read_cells(new)) if args.exact else invisible(old, new)
    print("\n".join(found) if found else ("identical" if args.exact else "statistically invisible"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
