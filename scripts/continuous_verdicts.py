"""How often trust verdicts are right on continuous data: Gaussians, transformed Gaussians,
Student-t down to one degree of freedom, and independent heavy tails.

    python scripts/continuous_verdicts.py [--confirm] [--out results.csv]

The development set was in view while the truth-free checks were written; ``--confirm``
runs the confirmation set, fixed afterwards and never used to set anything: other
Student-t degrees of freedom and correlations, X and Y of different dimensions, other
transforms, independent Laplace and Student-t tails, other N. Each case's measured class is the regime 10 seeds earn against the exact truth
(mibench.verdicts.calibration); the verdict sees seed 0's sample and the shipped map.
Prints the agreement table (agreement among known verdicts, share unknown, reliable
verdicts on errors beyond 0.3 bit, 90 % interval coverage) per family.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from mibench.verdicts.atlas import Atlas
from mibench.verdicts.calibration import Case, agreement_table, evaluate, task_cases
from mibench.verdicts.families import cauchy_pair, independent_cases, laplace_t_pair

ESTIMATORS = ["ksg", "kozachenko_leonenko", "kde", "gcmi", "parametric_gaussian"]
NS = [512, 2048]


def independent_heavy_tails(ns: list[int]) -> list[Case]:
    """X and Y independent standard Cauchy (d = 1, 2): I(X;Y) = 0 exactly."""
    return independent_cases(cauchy_pair, "cauchy_independent", "independent heavy tails", (1, 2), ESTIMATORS, ns)


def independent_tails(ns: list[int]) -> list[Case]:
    """Confirmation: X Laplace, Y Student-t (1.5 dof), independent (d = 1, 3): I = 0 exactly."""
    return independent_cases(laplace_t_pair, "laplace_t_independent", "confirm: independent tails", (1, 3),
                             ESTIMATORS, ns)


def confirmation_cases() -> list[Case]:
    ns = [1024, 4096]
    cases = task_cases([f"student_t(dim_x={dx}, dim_y={dy}, rho={r}, dof={k})" for dx, dy in ((1, 3), (3, 3))
                        for r in (0.3,) for k in (1.5, 3.0)], ESTIMATORS, ns, "confirm: student_t")
    cases += task_cases([f"gaussian(dim_x={dx}, dim_y={dy}, rho={r}, transforms=({t},))" for dx, dy in ((2, 1), (3, 3))
                         for r in (0.7,) for t in ("normal_cdf", "wiggly")], ESTIMATORS, ns,
                        "confirm: transformed gaussian")
    cases += task_cases([f"gaussian(dim_x={dx}, dim_y={dy}, rho=0.95)" for dx, dy in ((2, 6), (8, 8))], ESTIMATORS, ns,
                        "confirm: gaussian")
    return cases + independent_tails(ns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confirm", action="store_true", help="the confirmation set instead of the development set")
    parser.add_argument("--out", help="write every case's row to this CSV")
    args = parser.parse_args()
    atlas = Atlas.shipped()
    t0 = time.perf_counter()
    cases = confirmation_cases() if args.confirm else development_cases()
    results = evaluate(cases, atlas)
    if args.out:
        results.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(agreement_table(results).round(3))
        print()
        print(pd.crosstab([results["family"], results["verdict"]], results["measured"]))
    print(f"\n{len(results)} cases in {time.perf_counter() - t0:.0f} s")


def development_cases() -> list[Case]:
    cases = task_cases([f"gaussian(dim_x={d}, dim_y={d}, rho={r})" for d in (1, 4) for r in (0.5, 0.9, 0.99)],
                       ESTIMATORS, NS, "gaussian")
    cases += task_cases([f"gaussian(dim_x={d}, dim_y={d}, rho=0.9, transforms=({t},))" for d in (1, 2)
                         for t in ("asinh", "half_cube")], ESTIMATORS, NS, "transformed gaussian")
    cases += task_cases([f"student_t(dim_x={d}, dim_y={d}, rho={r}, dof={k})" for d in (1, 2) for r in (0.0, 0.5)
                         for k in (1, 2)], ESTIMATORS, NS, "student_t (dof 1-2)")
    return cases + independent_heavy_tails(NS)


if __name__ == "__main__":
    main()
