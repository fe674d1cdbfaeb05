"""How often `mibench score` calls a wrong value reliable on a population dump.

    python scripts/population_scores.py DUMP.npz [--bins 30]   # e.g. mibench dump --net tishby-tanh --out DUMP.npz

On a population dump (every input once, equal weight) the exact I(X;T) = H(T) and
I(T;Y) of the layer binned on fixed [-1, 1] bins are recomputed here with NumPy's unique
rows, sharing no code with mibench; each count-based estimator's scored rows are then
compared with them. Prints per estimator: rows, rows called reliable, and rows called
reliable whose error exceeds 0.1 and 0.3 bit.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

import mibench
from mibench.verdicts.score import score_dump

ESTIMATORS = ("plugin", "miller_madow", "chao_shen", "nsb", "grassberger", "jvhw")


def entropy(*columns: np.ndarray) -> float:
    rows = np.column_stack(columns)
    p = np.unique(rows, axis=0, return_counts=True)[1] / len(rows)
    return float(-(p * np.log2(p)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump")
    parser.add_argument("--bins", type=int, default=30)
    args = parser.parse_args()
    dump, b = mibench.Dump(args.dump), args.bins
    y = np.asarray(dump.labels)
    exact = {}
    for layer, epoch in dump.snapshots():
        t = np.clip(np.floor((dump.snapshot(layer, epoch) + 1.0) * b / 2.0), 0, b - 1).astype(np.int64)
        h_t = entropy(t)
        exact[layer, epoch, "I(X;T)"], exact[layer, epoch, "I(T;Y)"] = h_t, h_t + entropy(y) - entropy(t, y)
    print(f"{'estimator':<13} {'rows':>5} {'reliable':>8} {'reliable, |error| > 0.1':>24} {'> 0.3':>6} {'max |error|':>11}")
    for inner in ESTIMATORS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NSB is undefined on injective layers: counted as such, not shown
            scores = score_dump(dump, [f"binned({inner}, rule=fixed, bins={b}, range=(-1.0, 1.0))"])
        error = np.array([r.estimate - exact[r.layer, r.epoch, r.quantity] for r in scores.itertuples()])
        reliable = (scores["regime"] == "reliable").to_numpy()
        finite = np.isfinite(error)
        print(f"{inner:<13} {len(scores):>5} {reliable.sum():>8} {(reliable & finite & (abs(error) > 0.1)).sum():>24} "
              f"{(reliable & finite & (abs(error) > 0.3)).sum():>6} {np.nanmax(np.abs(error)):>11.2f}")


if __name__ == "__main__":
    main()
