"""Trust verdicts judged family by family, each family's verdicts made with its own cells
left out of the map and its intervals widened by a factor fitted on the other families
only (leave-one-family-out): the README's acceptance table.

    python scripts/held_out_families.py [--out rows.csv] [--rows rows.csv] [--only NAME ...] [--replicate]

Families (``mibench.verdicts.families``): binary codes through a BSC, codebooks, parity,
force_to_1 (6 discrete estimators, JVHW among them, N = 256 / 1024 / 4096); Gaussians, transformed
Gaussians, Student-t with 1-3 dof, independent heavy tails (KSG, Kozachenko-Leonenko, KDE,
Gaussian copula, Gaussian fit; N = 512 / 2048); five trained networks subsampled from their
population dumps, I(T;Y) and H(T) (binned plug-in, Miller-Madow, NSB, JVHW, 30 bins). Each
case's measured class is the regime 10 seeds earn against the exact truth
(``mibench.verdicts.calibration``); the verdict sees seed 0's sample. ``--out`` keeps the
raw rows (intervals unscaled), ``--rows`` re-tables them without recomputing. Prints the
table with raw intervals, the held-out table, the factors fitted on every family (what
``INTERVAL_SCALE`` ships) and the stricter views (``families.STRICTER``: the Gaussian family
with the copula cells left out too, Student-t with the scale mixtures left out too). About 5 minutes on 2 cores.

``--replicate`` measures each case's class a second time, on seeds 10-19: the table then says
how often the measured class agrees with itself (what no verdict from one sample can be expected
to beat) and how often the verdict agrees with that second measurement (3 min 40 s in all,
measured on an idle 2-core machine).

``--unseen`` judges instead the cases nothing was ever tuned on (``families.UNSEEN``: the
public continuous benchmark's 40 tasks with KSG and an 8-bin plug-in at n = 5,000, and the
continuous families' cases through an 8-bin plug-in) with the shipped verdicts as a user
gets them, and prints their table (about 10 minutes).
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from mibench.verdicts.atlas import Atlas
from mibench.verdicts.calibration import (agreement_table, evaluate, family_scales, held_out_atlas, held_out_table,
                                          rescaled, unscaled_intervals)
from mibench.verdicts.families import FAMILIES, STRICTER, UNSEEN


def raw_rows(only: list[str] | None, replicate: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw rows of every family, and of the STRICTER views (reported, never fitted)."""
    shipped = Atlas.shipped()
    parts, stricter = [], []
    for family in FAMILIES:
        if only and not any(o in family.name for o in only):
            continue
        t0 = time.perf_counter()
        cases = family.cases()
        atlas = held_out_atlas(shipped, family.left_out) if family.left_out else shipped
        with unscaled_intervals():
            parts.append(evaluate(cases, atlas, replicate=replicate).assign(family=family.name))
            if family.name in STRICTER:
                left_out = STRICTER[family.name]
                stricter.append(evaluate(cases, held_out_atlas(shipped, left_out))
                                .assign(family=f"{family.name}, {' and '.join(left_out)} left out"))
        print(f"{family.name}: {len(parts[-1])} cases in {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.concat(parts, ignore_index=True), pd.concat(stricter, ignore_index=True) if stricter else pd.DataFrame()


def unseen_table(out: str | None) -> None:
    """The UNSEEN families judged as shipped (shipped map, shipped interval factors)."""
    shipped = Atlas.shipped()
    parts = []
    for family in UNSEEN:
        atlas = held_out_atlas(shipped, family.left_out) if family.left_out else shipped
        parts.append(evaluate(family.cases(), atlas).assign(family=family.name))
        print(f"{family.name}: {len(parts[-1])} cases", flush=True)
    results = pd.concat(parts, ignore_index=True)
    if out:
        results.to_csv(out, index=False)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(agreement_table(results).round(3).to_string())
        by = results.groupby(["estimator", "measured", "verdict"]).size().rename("cases")
        print("\nmeasured class x verdict:\n" + by.to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the raw rows (intervals unscaled) to this CSV")
    parser.add_argument("--rows", help="read raw rows written by --out instead of recomputing them")
    parser.add_argument("--only", nargs="*", help="families whose name contains one of these")
    parser.add_argument("--unseen", action="store_true", help="judge the never-tuned-on cases with the shipped verdicts")
    parser.add_argument("--replicate", action="store_true",
                        help="measure each case's class again on 10 other seeds: how often the class agrees with itself")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.unseen:
        unseen_table(args.out)
        print(f"{time.perf_counter() - t0:.0f} s")
        return
    results, stricter = (pd.read_csv(args.rows), pd.DataFrame()) if args.rows else raw_rows(args.only, args.replicate)
    if args.out:
        results.to_csv(args.out, index=False)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print("\nraw intervals (no calibrated factor):")
        print(agreement_table(results).round(3).to_string())
        table, factors = held_out_table(results)
        print("\nleave-one-family-out (each family's factor fitted on the others):")
        print(table.round(3).to_string())
        print("\nfactors used per family:\n" + factors.round(3).to_string())
        if len(stricter):  # judged with the shipped factors fitted on every family (the shipped behaviour)
            print("\nstricter views (more of the map left out; not fitted on):")
            print(agreement_table(rescaled(stricter, family_scales(results))).drop(index="all").round(3).to_string())
    print(f"\nINTERVAL_SCALE fitted on every family: {family_scales(results)}")
    print(f"{len(results)} cases in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
