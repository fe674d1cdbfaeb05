"""The neural bounds at the public benchmark's protocol on its 40 tasks (mibench's
``beyond_normal`` family): InfoNCE, NWJ and MINE with their default spec (batch 256, Adam
lr 0.1, MLP (16, 8), half the rows held out, the best held-out evaluation every 250
steps, stopping after 2 without gain, at most 10,000 steps), n = 5,000 rows.

    python scripts/neural_benchmark.py [--seeds 1] [--tasks ID ...] [--out docs/neural_benchmark.md] [--csv F]
    python scripts/neural_benchmark.py --from-csv A.csv B.csv     # the table from runs split by task

Seeds are separate samples trained side by side as one batch (each gets what it would
alone). On 2 cores one seed of all 40 tasks takes about 45 minutes. Errors are in bits
(estimate - truth); the bounds are lower bounds, so a positive error is sampling noise
or the best-of-evaluations pick, a negative one what the critic did not learn.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import mibench
from mibench.registry import make_estimator
from mibench.tasks import parse_task
from mibench.tasks.beyond_normal import TASK_IDS

BOUNDS = ("infonce", "nwj", "mine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--tasks", nargs="*", help="task ids (default: all 40)")
    parser.add_argument("--out", default="docs/neural_benchmark.md")
    parser.add_argument("--csv", help="also write every estimate (bits) here")
    parser.add_argument("--from-csv", nargs="*", help="only write the table from these --csv files (runs split by task)")
    args = parser.parse_args()
    if args.from_csv:
        import pandas as pd

        d = pd.concat([pd.read_csv(f) for f in args.from_csv]).set_index("task").loc[list(TASK_IDS)]
        rows = [{"task": t, "truth": g["truth"].iloc[0], **{b: g[b].to_numpy() for b in BOUNDS}}
                for t, g in d.groupby(level=0, sort=False)]
        write(rows, args, float(d["seconds"].sum()), "summed over the runs merged")
        return
    names = args.tasks or list(TASK_IDS)
    rows, total = [], time.perf_counter()
    for name in names:
        task = parse_task(f"beyond_normal(task={name!r})")
        samples = [task.sample(args.n, seed) for seed in range(args.seeds)]
        xs, ys = np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])
        row = {"task": name, "truth": task.mutual_information}
        for bound in BOUNDS:
            t0 = time.perf_counter()
            values = np.atleast_1d(mibench.mutual_information(xs, ys, bound))
            row[bound], row[f"{bound}_s"] = values, time.perf_counter() - t0
        rows.append(row)
        print(f"{name}: truth {row['truth']:.3f}; " + ", ".join(
            f"{b} {row[b].mean():.3f} ({row[f'{b}_s']:.0f} s)" for b in BOUNDS), flush=True)
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as fh:
            fh.write("task,truth,sample," + ",".join(BOUNDS) + ",seconds\n")
            for r in rows:
                for i in range(args.seeds):
                    seconds = sum(r[f"{b}_s"] for b in BOUNDS) / args.seeds
                    fh.write(f"{r['task']},{r['truth']!r},{i}," + ",".join(repr(float(r[b][i])) for b in BOUNDS)
                             + f",{seconds}\n")
    write(rows, args, time.perf_counter() - total)


def write(rows: list[dict], args: argparse.Namespace, seconds: float, how: str = "on a 2-core machine") -> None:
    specs = ", ".join(f"`{make_estimator(b).spec}`" for b in BOUNDS[:1])
    spread = " ± seed std" if args.seeds > 1 else ""
    lines = [
        "# Neural bounds at the public benchmark's protocol",
        "",
        f"`python scripts/neural_benchmark.py --seeds {args.seeds}`: the 40 tasks of Czyz et al. (2023) as mibench's "
        f"`beyond_normal` family, n = {args.n}, {args.seeds} sample(s) per task, estimate{spread} in **bits** and its "
        f"error (estimate − truth). Each bound runs its default spec, the benchmark's protocol: {specs} (and the same "
        f"for `nwj` and `mine`). Run time {seconds / 60:.0f} min ({how}). These are mibench's own numbers; "
        "the package's neural estimators were not run beside them.",
        "",
        "| task | truth | InfoNCE | error | NWJ | error | MINE | error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [f"`{r['task']}`", f"{r['truth']:.3f}"]
        for b in BOUNDS:
            v = r[b]
            cells += [f"{v.mean():.3f}" + (f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else ""),
                      f"{v.mean() - r['truth']:+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    errors = {b: np.array([r[b].mean() - r["truth"] for r in rows]) for b in BOUNDS}
    lines += ["", "| bound | median error | median abs error | tasks within 0.1 bit | tasks more than 0.5 bit low |",
              "|---|---:|---:|---:|---:|"]
    for b in BOUNDS:
        e = errors[b]
        lines.append(f"| {b} | {np.median(e):+.3f} | {np.median(np.abs(e)):.3f} | {int((np.abs(e) <= 0.1).sum())} of "
                     f"{len(e)} | {int((e < -0.5).sum())} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
