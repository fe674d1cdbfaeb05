"""Budget curve of the neural bounds: error (bits) against training steps, at the public
benchmark's protocol otherwise (batch 256, Adam lr 0.1, MLP (16, 8), half the rows held
out, the bound read on them every 250 steps), on a few of its tasks, with no early stop so
the whole curve shows; where its early stop (2 evaluations without gain) would have
ended, and the error it would have reported there (the best evaluation so far).

    python scripts/budget_curve.py [--steps 4000] [--n 5000] [--seeds 2] [--out docs]

Writes OUT/budget_curve.md (a table), OUT/budget_curve.png (a figure) and
OUT/budget_curve.csv (every evaluation). Seeds are
separate samples, trained side by side as one batch. About 10 minutes on 2 cores with
the defaults.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mibench.registry import make_estimator
from mibench.tasks import parse_task

BOUNDS = ("infonce", "nwj", "mine")
TASKS = ("1v1-normal-0.75", "multinormal-dense-5-5-0.5", "student-identity-2-2-1")
READ_AT = (250, 500, 1000, 2000, 4000, 10_000)
PATIENCE = 2  # the protocol's early stop


def early_stop(values: np.ndarray) -> tuple[int, float]:
    """Index of the evaluation at which PATIENCE evaluations in a row have not beaten the
    best, and that best (the value the protocol reports); the last one if never."""
    best, stale = -np.inf, 0
    for i, v in enumerate(values):
        if v > best:
            best, stale = v, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                return i, best
    return len(values) - 1, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves, rows = {}, []
    for task_id in TASKS:
        task = parse_task(f"beyond_normal(task={task_id!r})")
        samples = [task.sample(args.n, seed) for seed in range(args.seeds)]
        xs, ys = np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])
        for bound in BOUNDS:
            est = make_estimator(f"{bound}(steps={args.steps}, patience=0)")
            t0 = time.perf_counter()
            steps, values = est.training_curve(xs, ys)
            seconds = time.perf_counter() - t0
            errors = values - task.mutual_information  # (evaluations, seeds)
            curves[task_id, bound] = (steps, errors)
            stops = [early_stop(values[:, s]) for s in range(values.shape[1])]
            row = {"task": task_id, "truth": task.mutual_information, "bound": bound, "seconds": seconds,
                   "stop_step": float(np.mean([steps[i] for i, _ in stops])),
                   "stop_error": float(np.mean([b for _, b in stops]) - task.mutual_information),
                   "best_error": float(values.max(axis=0).mean() - task.mutual_information)}
            for at in READ_AT:
                hit = np.nonzero(steps == at)[0]
                row[f"at_{at}"] = float(errors[hit[0]].mean()) if len(hit) else np.nan
            rows.append(row)
            print(f"{task_id} {bound}: {seconds:.0f} s, stop at {row['stop_step']:.0f} steps, "
                  f"error there {row['stop_error']:+.3f}, at {steps[-1]} steps {errors[-1].mean():+.3f}", flush=True)
    with open(out / "budget_curve.csv", "w", encoding="utf-8") as fh:
        fh.write("task,bound,sample,step,error_bits\n")
        for (task_id, bound), (steps, errors) in curves.items():
            for sample in range(errors.shape[1]):
                for step, error in zip(steps, errors[:, sample]):
                    fh.write(f"{task_id},{bound},{sample},{step},{error:.6g}\n")
    write_table(rows, out / "budget_curve.md", args)
    draw(curves, out / "budget_curve.png", args)


FLOOR = -5.0  # bits: errors below this are blow-ups (a critic's exp overflowing on heavy tails), shown as such


def bits(error: float) -> str:
    return f"{error:+.3f}" if error >= FLOOR else f"< {FLOOR:+.0f}"


def write_table(rows: list[dict], path: Path, args: argparse.Namespace) -> None:
    read_at = [at for at in READ_AT if at <= args.steps]
    head = ["task (truth, bits)", "bound"] + [f"{at} steps" for at in read_at] + ["early stop at", "error there",
                                                                                  "best of all", "seconds"]
    lines = [
        "# Budget curve of the neural bounds",
        "",
        f"Mean error (bits, estimate − truth) over {args.seeds} samples of n = {args.n} rows, at the public benchmark's "
        "protocol (batch 256, Adam lr 0.1, MLP (16, 8), half the rows held out, the bound read on the held-out half "
        f"every 250 steps), trained {args.steps} steps with no early stop; *early stop at* is where the protocol's "
        "stop (2 evaluations without gain) would have ended, *error there* what it would have reported (the best "
        "evaluation so far), *best of all* the best over the whole run. Made by `python scripts/budget_curve.py` "
        f"(--steps {args.steps} --n {args.n} --seeds {args.seeds}); the figure is `budget_curve.png`, every "
        f"evaluation of every sample is in `budget_curve.csv`. Errors below {FLOOR:+.0f} bits (a critic whose "
        "exponentials overflow on a heavy-tailed held-out row) are shown as such.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * 2 + "---:|" * (len(head) - 2),
    ]
    for r in rows:
        cells = [f"{r['task']} ({r['truth']:.3f})", r["bound"]] + [bits(r[f"at_{at}"]) for at in read_at]
        cells += [f"{r['stop_step']:.0f}", bits(r["stop_error"]), bits(r["best_error"]), f"{r['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def draw(curves: dict, path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(4.2 * len(TASKS), 3.6), sharey=False, constrained_layout=True)
    colours = dict(zip(BOUNDS, ("tab:blue", "tab:orange", "tab:green")))
    for ax, task_id in zip(np.atleast_1d(axes), TASKS):
        for bound in BOUNDS:
            steps, errors = curves[task_id, bound]
            mean = errors.mean(axis=1)
            ax.plot(steps, mean, color=colours[bound], label=bound, lw=1.8)
            ax.fill_between(steps, errors.min(axis=1), errors.max(axis=1), color=colours[bound], alpha=0.15, lw=0)
            stop = np.mean([steps[early_stop(errors[:, s])[0]] for s in range(errors.shape[1])])
            ax.axvline(stop, color=colours[bound], ls=":", lw=1)
        ax.axhline(0, color="black", lw=0.8)
        low = min(float(np.nanmin(curves[task_id, b][1].mean(axis=1))) for b in BOUNDS)
        ax.set_ylim(max(low, FLOOR) - 0.1, 0.1)
        if low < FLOOR:
            ax.text(0.02, 0.02, f"below {FLOOR:+.0f} bits: off the axis", transform=ax.transAxes, fontsize=8, color="0.3")
        ax.set_xscale("log")
        ticks = [t for t in (250, 500, 1000, 2000, 4000, 10_000) if t <= args.steps]
        ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.minorticks_off()
        ax.set_title(task_id, fontsize=10)
        ax.set_xlabel("training steps (dotted: where early stopping would end)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("held-out bound − truth (bits)")
    np.atleast_1d(axes)[0].legend(frameon=False)
    fig.suptitle(f"Neural bounds at the public benchmark's protocol, n = {args.n}: error against training steps "
                 f"(band: {args.seeds} samples)", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
