"""How often H(T) verdicts are right (I(X;T) of a deterministic layer, as the information
plane reads it), on subsampled networks with an exact population truth: the README's table.

    python scripts/entropy_verdicts.py [--without-entropy-cells] [--out results.csv]

Each network's snapshots are the population (every input once, equal weight); a case draws
N rows with replacement and estimates H(T) with a count-based estimator under a fixed
binning, whose exact value is the plug-in H(T) over the whole population. The measured
class is the regime 10 seeds earn against it (mibench.verdicts.calibration). No network is a
map family: the verdicts rest on the map's I(X;Y) groups read as entropy cells of their
joint codes (``Atlas.nearest_entropy``). Development rows were looked at while that was
written (nothing in it was tuned on them); the confirmation rows (another training seed,
a binary network, real handwritten digits; Grassberger as well) were run once, afterwards.
``--without-entropy-cells`` gives the verdicts as they were before (the map had no
evidence for an entropy). About 10 minutes.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import mibench
from mibench.dumps.nets import train_reference
from mibench.judging import Regime
from mibench.verdicts.atlas import Atlas, MapEvidence
from mibench.verdicts.calibration import entropy_dump_cases, evaluate, print_report

BINNING = {"relu": "rule=fixed, bins=30, range=(0.0, 13.0)"}  # else tanh-like: [-1, 1]
TANH = "rule=fixed, bins=30, range=(-1.0, 1.0)"
NS = [256, 1024, 4096]
DEVELOPMENT = [("tishby-tanh", 0, 300), ("tishby-relu", 0, 300), ("tishby-quantized", 0, 300)]
CONFIRM = [("tishby-tanh", 1, 1000), ("bnn", 0, 300), ("digits-mlp", 0, 300)]


def rows(net: str, seed: int, epochs: int, inners: list[str], folder: Path, atlas: Atlas, label: str) -> list:
    path = folder / f"{net}-{seed}-{epochs}.npz"
    train_reference(net, epochs=epochs, snapshots=4, seed=seed, out=path)
    dump = mibench.Dump(path)
    binning = BINNING.get(net.split("-")[-1], TANH)
    ns = [n for n in NS if n <= 2 * dump.n]
    return [evaluate(entropy_dump_cases(dump, f"binned({inner}, {binning})", ns), atlas)
            .assign(family=f"{label}{net} ({inner})") for inner in inners]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without-entropy-cells", action="store_true")
    parser.add_argument("--out", help="write every case's row to this CSV")
    args = parser.parse_args()
    if args.without_entropy_cells:
        Atlas.nearest_entropy = lambda self, *a: MapEvidence(Regime.UNKNOWN, "the map holds no entropy cells")
    atlas = Atlas.shipped()
    t0 = time.perf_counter()
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for net, seed, epochs in DEVELOPMENT:
            parts += rows(net, seed, epochs, ["plugin", "miller_madow", "nsb"], Path(tmp), atlas, "")
        for net, seed, epochs in CONFIRM:
            parts += rows(net, seed, epochs, ["plugin", "miller_madow", "nsb", "grassberger"], Path(tmp), atlas,
                          "confirm: ")
    print_report(pd.concat(parts, ignore_index=True), time.perf_counter() - t0, args.out)


if __name__ == "__main__":
    main()
