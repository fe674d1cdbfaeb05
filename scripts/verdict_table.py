"""How often trust verdicts are right, on cases the map never saw: the README's table.

    python scripts/verdict_table.py [--dump-epochs 300 3000] [--out results.csv]

The development rows were in view when the rules were written; the confirmation rows
(marked "confirm") were added afterwards and never used to set anything: other parity
noise, force_to_1 p, two more discrete estimators, N values, and dumps from another
network seed and a quantized network, scored with plug-in and Miller-Madow.

The first row is the calibration set, on the map's own families against the whole map
(binary codes through a BSC and codebooks): the 90 % interval's rule was set there. The
other rows are held out: parity (noise 0.05 and 0.2) and force_to_1 (p = 0.3) against a map without the
parity, force_to_1 and student_t families; subsampled ``tishby-tanh`` population dumps
(no network is a map family) against the shipped map. Each case's measured class is the
regime 10 seeds earn against the exact truth (mibench.verdicts.calibration); the verdict
sees seed 0's sample only. Prints the agreement table and, per row, verdict x measured
class counts.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import mibench
from mibench.dumps.nets import train_reference
from mibench.verdicts.atlas import Atlas
from mibench.verdicts.calibration import dump_cases, evaluate, held_out_atlas, print_report, task_cases

DISCRETE = ["plugin", "miller_madow", "grassberger", "nsb"]
NS = [128, 512, 2048, 8192]
DUMP_SPEC = "binned({}, rule=fixed, bins=30, range=(-1.0, 1.0))"
CONFIRM_ESTIMATORS = DISCRETE + ["chao_shen", "jackknife"]
CONFIRM_NS = [256, 1024, 4096]
CONFIRM_DUMPS = [("tishby-tanh", 1), ("tishby-quantized", 0)]  # (net, training seed), 1000 epochs


def dump_rows(net: str, seed: int, epochs: int, snapshots: int, inners: list[str], folder: Path, atlas: Atlas,
              label: str) -> list:
    """Cases from one trained reference dump, subsampled at N = 256 ... 2048, scored per inner estimator."""
    path = folder / f"{net}-{seed}-{epochs}.npz"
    train_reference(net, epochs=epochs, snapshots=snapshots, seed=seed, out=path)
    dump = mibench.Dump(path)
    return [evaluate(dump_cases(dump, DUMP_SPEC.format(inner), [256, 512, 1024, 2048]), atlas)
            .assign(family=f"{label} ({inner})" if len(inners) > 1 else label) for inner in inners]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump-epochs", type=int, nargs="*", default=[300, 3000])
    parser.add_argument("--out", help="write every case's row to this CSV")
    args = parser.parse_args()
    shipped = Atlas.shipped()
    held = held_out_atlas(shipped, ["parity", "force_to_1", "student_t"])
    t0 = time.perf_counter()
    calibration = task_cases([f"binary_codes(dim={d}, source=bernoulli, p=0.5, output=bsc, eps=0.1)" for d in (4, 8, 12, 16)]
                             + [f"binary_codes(dim=40, source=codebook, K={2**h}, output=copy)" for h in (3, 6, 9, 12)],
                             DISCRETE, NS, "calibration: binary codes (in the map)")
    parts = [
        evaluate(calibration, shipped),
        evaluate(task_cases([f"parity(dim={d}, noise={z})" for z in (0.05, 0.2) for d in (3, 6, 10, 14)], DISCRETE, NS,
                            "parity"), held),
        evaluate(task_cases([f"force_to_1(dim={d}, p=0.3, f=parity)" for d in (4, 8, 12)], DISCRETE, NS, "force_to_1"),
                 held),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in args.dump_epochs:
            parts += dump_rows("tishby-tanh", 0, epochs, 6, ["plugin"], Path(tmp), shipped, f"tishby-tanh ({epochs} epochs)")
        parts += [
            evaluate(task_cases([f"parity(dim={d}, noise=0.1)" for d in (4, 8, 12)], CONFIRM_ESTIMATORS, CONFIRM_NS,
                                "confirm: parity, noise 0.1"), held),
            evaluate(task_cases([f"force_to_1(dim={d}, p=0.5, f=parity)" for d in (6, 10)], CONFIRM_ESTIMATORS,
                                CONFIRM_NS, "confirm: force_to_1, p 0.5"), held),
        ]
        for net, seed in CONFIRM_DUMPS:
            parts += dump_rows(net, seed, 1000, 5, ["plugin", "miller_madow"], Path(tmp), shipped,
                               f"confirm: {net}, seed {seed}")
    print_report(pd.concat(parts, ignore_index=True), time.perf_counter() - t0, args.out)


if __name__ == "__main__":
    main()
