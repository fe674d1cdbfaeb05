"""Command line: each subcommand parses its arguments and calls one library function.
What needs torch is imported by the commands that use it, so ``--version`` and ``--help``
answer at once."""
from __future__ import annotations

import argparse
import os
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mibench.arrays import floats, load_array, plain
from mibench._version import __version__
from mibench.interface import AmbiguousInputWarning, UndefinedEstimateWarning
from mibench.outputs import output_dir, output_file, writing


def cmd_list(args: argparse.Namespace) -> int:
    from mibench.registry import REGISTRY, make_estimator
    from mibench.tasks import TASKS

    print("Estimators (values in bits):")
    width = max(map(len, REGISTRY))
    for name, cls in REGISTRY.items():
        params = ", ".join(f"{k}={v!r}" for k, v in cls.params.items()) or "-"
        print(f"  {name:<{width}} {cls.summary}")
        print(f"  {'':<{width}} parameters: {params}; ceiling at N=1024: {make_estimator(name).ceiling(1024):.3f} bits")
    from mibench.estimators.peers import INSTALL, PEERS

    print(f"\nOther libraries' estimators, on the same samples ({INSTALL}):")
    width = max(map(len, PEERS))
    for name, cls in PEERS.items():
        absent = not cls.installed()  # found, not imported: importing the peers took 1.5 s of the listing
        print(f"  {name:<{width}} {cls.summary}; takes {cls.inputs}" + (f" [not available: {cls.library}]" if absent else ""))
    print('  command(cmd="prog {x} {y}")  any program that reads CSV samples and prints one number')
    print('\nExample specs: plugin, nsb(K=1024), "binned(miller_madow, rule=uniform, bins=30)", infomeasure:ksg(k=4), '
          'mypackage.module:MyEstimator')
    print("\nTasks (exact truth in bits; parameters with defaults):")
    for name, cls in TASKS.items():
        task = cls()
        params = ", ".join(f"{k}={v!r}" for k, v in cls.params.items())
        print(f"  {name:<19} {cls.summary}")
        print(f"  {'':<19} parameters: {params}")
        print(f"  {'':<19} e.g. {task.id}: I = {task.mutual_information:.4f} bits ({task.truth_method})")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from mibench import api
    from mibench.judging import describe_ceiling, quantity_ceiling
    from mibench.registry import make_estimator

    if args.task is not None:
        return _estimate_on_task(args)
    if args.x is None:
        raise ValueError("give --x (a data file) or --task (a synthetic task with exact truth)")
    arrays = [load_array(s) for s in (args.x, args.y, args.z) if s is not None]
    if args.z is not None and args.y is None:
        raise ValueError("--z needs --y: the quantity is I(X;Y|Z)")
    estimator = make_estimator(args.estimator)
    quantity = ["entropy", "mutual_information", "conditional_mutual_information"][len(arrays) - 1]
    if quantity == "mutual_information":
        value, h_x, h_y = estimator.mutual_information_parts(*arrays)
    else:
        value, h_x, h_y = getattr(api, quantity)(*arrays, estimator=estimator), None, None
    try:
        value = np.asarray(value.cpu() if hasattr(value, "cpu") else value, dtype=float).tolist()  # numpy, torch alike
    except (TypeError, ValueError):
        raise TypeError(f"estimator {estimator.spec} returned {type(value).__name__} {str(value)[:60]!r}, not a "
                        "number of bits (or one per batch element)") from None
    n = np.shape(arrays[0])[-2 if np.ndim(arrays[0]) > 1 else 0]
    ceiling, ceiling_of = quantity_ceiling(estimator, quantity, n, _mean(h_x), _mean(h_y))
    if args.json:
        undefined = not np.all(np.isfinite(value))
        print(json.dumps(plain({"estimator": estimator.spec, "quantity": quantity, "bits": value, "ceiling": ceiling,
                                "ceiling_of": ceiling_of,
                                **({"undefined": "the estimate is undefined here (NaN); see the warning"} if undefined else {})})))
    else:
        print(f"{quantity} [{estimator.spec}] = {value} bits")
        if math.isfinite(ceiling):
            print(f"  ceiling for this quantity: {ceiling:.4f} bits ({describe_ceiling(ceiling_of)})")
    return 0


def _mean(values: Any) -> float:
    """The mean of a batched H estimate (NaN where the estimator reports none)."""
    return float(np.mean(floats(values))) if values is not None else math.nan


def _estimate_on_task(args: argparse.Namespace) -> int:
    """I(X;Y) on ``--seeds`` samples of a task, beside its exact truth, with the
    regime the map would give this (estimator, task, N)."""
    from mibench.judging import describe_ceiling
    from mibench.map.run import estimate_on_task

    if any(v is not None for v in (args.x, args.y, args.z)):
        raise ValueError("--task draws its own samples: give --task or --x/--y/--z, not both")
    estimator, task, values, judged = estimate_on_task(args.estimator, args.task, args.n, args.seeds)
    truth = estimator.target(task)
    if args.json:
        print(json.dumps(plain({"estimator": estimator.spec, "task": task.id, "n": args.n, "bits": values, "truth": truth,
                                "bias": judged.bias, "std": judged.std, "ceiling": judged.ceiling,
                                "ceiling_of": judged.ceiling_of, "at_ceiling": judged.at_ceiling,
                                "regime": judged.regime})))
        return 0
    print(f"I(X;Y) [{estimator.spec}] on {task.id}, N = {args.n}, {args.seeds} seed(s):")
    print(f"  estimate {judged.mean:.4f} bits (seed std {judged.std:.4f}); truth {truth:.4f} bits "
          f"({task.truth_method}); bias {judged.bias:+.4f} bits")
    ceiling_text = f"{judged.ceiling:.4f} bits, {describe_ceiling(judged.ceiling_of)}" \
        if math.isfinite(judged.ceiling) else "none known"
    at = "; the estimate sits at it" if judged.at_ceiling else ""
    print(f"  regime: {judged.regime}  (ceiling of I(X;Y) here: {ceiling_text}{at})")
    return 0


SCHEDULER_TIMEOUT = 10  # seconds to reach a Dask scheduler before giving up


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1 (worker processes; 1 runs in this process); got {jobs}")


def _cell_timeout(args: argparse.Namespace) -> float | None:
    """``--cell-timeout`` checked (None: the suite's own ``cell_timeout``)."""
    from mibench._validate import timeout_problem

    seconds = getattr(args, "cell_timeout", None)
    problem = None if seconds is None else timeout_problem(seconds)
    if problem:
        raise ValueError(f"--cell-timeout {problem}")
    return seconds


def _timed(suite: Any, args: argparse.Namespace) -> Any:
    """The suite with ``--cell-timeout`` applied where given."""
    seconds = _cell_timeout(args)
    if seconds is not None:
        suite.cell_timeout = float(seconds)
    return suite


def cmd_map(args: argparse.Namespace) -> int:
    from mibench.map.regimes import describe_law
    from mibench.map.run import chosen_suite, run_map

    _check_jobs(args.jobs)
    suite = _timed(chosen_suite(args.suite, estimators=args.estimator, families=args.family), args)
    for note in suite.notes:
        print(f"mibench: note: {note}", file=sys.stderr)
    root = Path(args.out) / suite.name
    outputs = root / "subset" if (args.estimator or args.family) else root
    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ValueError('--scheduler needs Dask: pip install "mibench[dask]" (or drop --scheduler to use local processes)') from exc
        try:
            client = Client(LocalCluster(n_workers=args.jobs, threads_per_worker=1)) if args.scheduler == "local" \
                else Client(args.scheduler, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {args.scheduler} within {SCHEDULER_TIMEOUT} s "
                                  f"({type(exc).__name__}: {exc}); check the address, or drop --scheduler to use "
                                  "local processes") from None
    say = lambda text: print(f"mibench: {text}", file=sys.stderr)  # noqa: E731
    try:
        result = run_map(suite, root, jobs=args.jobs, client=client, fresh=args.fresh, progress=not args.no_progress,
                         say=say, outputs=outputs)
    except KeyboardInterrupt:
        print(f"\nmibench: interrupted; every finished cell is stored in {root}. Run the same command to resume.", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    print(f"{result['stored']} cells ({result['cells_run']} run now, {result['cells_skipped']} already stored, "
          f"{result['failed']} failed; {result['probe_cells']} of them placed to locate frontiers) in {result['seconds']:.1f} s; "
          + (f"{result['redrawn']} figures drawn" if result["redrawn"] == len(result["figures"]) else
             f"{result['redrawn']} of {len(result['figures'])} figures drawn (the others' cells are unchanged since they "
             "were drawn)"))
    times = result["seconds_by_estimator"]
    if times:
        print("Where the time went (estimator: seconds of estimation, summed over cells):")
        for name, seconds in times.most_common():
            print(f"  {name:<24} {seconds:8.1f}")
    laws = result["laws"]
    claimed = laws[laws["located"] >= 3] if not laws.empty else laws
    on_joint = claimed[claimed["axis"] == "H(X,Y)"] if not claimed.empty else claimed
    if not on_joint.empty:
        print("Frontier laws (where at least 3 N were located):")
        for law in on_joint.to_dict("records"):
            print(f"  {law['family']:<12} {law['estimator']:<40} {describe_law(law)}")
    if len(claimed) > len(on_joint):  # continuous families: a largest reliable I per N, not a law in log2 N
        print(f"{len(claimed) - len(on_joint)} more frontiers located at 3 or more N on the true I(X;Y) axis "
              f"(continuous families, no law in log2 N): each N in frontiers.csv and summary.md")
    print(f"summary: {result['summary']}")
    if result["cells_run"] and result["errors"] == result["cells_run"]:
        print(f"mibench: error: every one of the {result['cells_run']} cells run now failed; see the error column of "
              f"{outputs / 'cells.csv'}", file=sys.stderr)
        return 1
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    from mibench.dumps.format import Dump, describe
    from mibench.dumps.importers import import_dump
    from mibench.dumps.nets import train_reference

    if args.action == "info":
        with Dump(args.path) as dump:  # closed when done: no unclosed-file warning
            dump.validate()
            summary = describe(dump)
        if args.json:
            print(json.dumps(summary))
            return 0
        print(f"{args.path}: n = {summary['n']} rows, {summary['classes']} classes, "
              f"{len(summary['epochs'])} epochs ({summary['epochs'][0]}..{summary['epochs'][-1]}), "
              f"population: {'yes' if summary['population'] else 'no'}; inputs: {summary['inputs'] or 'none'}")
        print(f"  {'layer':<16} {'width':>5} {'snapshots':>9} {'min':>9} {'max':>9}  distinct rows per snapshot")
        for row in summary["layers"]:
            print(f"  {row['layer']:<16} {row['width']:>5} {row['snapshots']:>9} {row['min']:>9.3g} {row['max']:>9.3g}  "
                  f"{row['distinct_min']}..{row['distinct_max']}")
        if summary["meta"]:
            print(f"  meta: {json.dumps(summary['meta'])}")
        return 0
    if args.action == "import":
        output_file(args.import_out, "--out")
        inputs = load_array(args.inputs) if args.inputs else None
        out = import_dump(args.source, args.path, args.import_out, labels=args.labels, inputs=inputs)
        print(f"wrote {out}")
        return 0
    if not (args.net and args.out):
        raise ValueError("mibench dump --net NAME --out PATH (or: dump info FILE, dump import ...)")
    (output_dir if args.stream else output_file)(args.out, "--out")
    rec = train_reference(args.net, epochs=args.epochs, snapshots=args.snapshots, seed=args.seed, out=args.out,
                          stream=args.stream)
    print(f"wrote {args.out}: {args.net}, {len(rec._epochs)} snapshots of {len(rec.layers)} layers; "
          f"accuracy {rec.meta['accuracy']:.3f} (train {rec.meta['train_accuracy']:.3f})")
    return 0


def cmd_plane(args: argparse.Namespace) -> int:
    from mibench.dumps.format import Dump
    from mibench.dumps.plane import information_plane, plane_limits, plot_plane

    out = Path(args.out)
    if out.is_dir():  # a folder to write into: the figure takes its default name there
        out = out / "plane.png"
    out = output_file(out, "--out")
    csv = output_file(Path(args.csv) if args.csv else out.with_suffix(".csv"), "--csv")
    with Dump(args.dump) as dump:
        points = information_plane(dump, args.estimator)
        limits = plane_limits(dump)
    with writing(csv):
        points.to_csv(csv, index=False)
    with writing(out):
        plot_plane(points, limits, out, title=f"{args.dump} [{points['estimator'].iloc[0]}]")
    print(f"wrote {out} and {csv}: {len(points)} snapshots of {points['layer'].nunique()} layers")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from mibench.verdicts.verdict import trust

    x = load_array(args.x)
    y = load_array(args.y) if args.y else None
    ids = load_array(args.input_ids) if args.input_ids else None
    verdict = trust(x, y, args.estimator, maps=args.maps, input_ids=ids, bound=args.bound)
    print(json.dumps(verdict.to_dict()) if args.json else verdict)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from mibench.dumps.format import Dump
    from mibench.verdicts.score import default_estimators, score_dump, write_scores

    if args.estimator and args.bins:
        raise ValueError("give -e SPEC (with its own bins) or --bins B (binned plug-in at each B), not both")
    output_dir(args.out, "--out")
    with Dump(args.dump) as dump:
        specs = args.estimator or default_estimators(dump, args.bins or (30,))
        scores = score_dump(dump, specs, maps=args.maps, progress=not args.no_progress)
        with writing(args.out):
            paths = write_scores(dump, scores, args.out, source=Path(args.dump).name)
    counts = scores["regime"].value_counts()
    print(f"scored {scores['snapshot'].nunique()} snapshots x {len(specs)} estimator(s): "
          + ", ".join(f"{counts[r]} {r}" for r in counts.index))
    print(f"wrote {paths['scores']}, {paths['plane']} and {paths['report']}")
    return 0


def cmd_atlas(args: argparse.Namespace) -> int:
    from mibench.verdicts.atlas import build_atlas, package_data

    if args.into_package and args.out:
        raise ValueError("give --out DIR or --into-package, not both")
    out = package_data() if args.into_package else output_dir(args.out or "mibench-atlas", "--out")
    provenance = build_atlas(args.map_dir, out)
    print(f"wrote {out}: {provenance['groups']} groups of suite {provenance['suite']!r} (mibench {provenance['version']})"
          + ("" if args.into_package else f"; use it with: mibench trust --maps {out} ..."))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from mibench.page import find_documents, render_page

    out = output_file(args.out, "--out")
    page, docs = render_page(find_documents(args.paths), args.title)
    with writing(out):
        out.write_text(page, encoding="utf-8")
    for doc in docs:
        lost = f"; missing: {', '.join(doc.missing)}" if doc.missing else ""
        print(f"  {doc.title}: {doc.figures} figures ({doc.path}){lost}")
    print(f"wrote {out} ({len(page) / 2**20:.1f} MiB, self-contained): open it in a browser")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from mibench.map import leaderboard as lb

    _check_jobs(args.jobs)
    if args.format not in lb.FORMATS:
        raise ValueError(f"unknown --format {args.format!r}; choose one of {', '.join(lb.FORMATS)}")
    out = args.out or ("leaderboard.html" if args.format == "html" else None)
    if out is not None:
        output_file(out, "--out")
    board, name, skipped = lb.gather(args.results, args.suite, estimators=args.estimator, add=args.add,
                                     out_dir=args.out_dir, jobs=args.jobs, progress=not args.no_progress,
                                     say=lambda text: print(f"mibench: {text}", file=sys.stderr),
                                     cell_timeout=_cell_timeout(args))
    text = lb.render(board, args.format, name, skipped)
    if out is None:
        sys.stdout.write(text)
    else:
        with writing(out):
            Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}: {len(board['overall'])} estimators ranked on suite {name!r}"
              + (f"; {len(skipped)} skipped" if skipped else ""), file=sys.stderr)
    return 0


def cmd_conform(args: argparse.Namespace) -> int:
    from mibench.gates.conform import conform, passed, render

    results = conform(args.estimator)
    print(render(args.estimator, results))
    return 0 if passed(results) else 1


def cmd_check(args: argparse.Namespace) -> int:
    if args.speed:
        from mibench.gates.speed import BUSY, measure, render as render_speed

        results = measure() + measure(busy=BUSY)
        print(f"mibench check --speed: ratio = reference time / mibench time, best of 3, in this run; idle, then with "
              f"{BUSY} busy processes beside it (the gate starts them)")
        print(render_speed(results))
        return 0 if all(r.passed for r in results) else 1
    _check_jobs(args.jobs)
    from mibench.gates.bias import check_suite, render, update_baseline
    from mibench.map.run import chosen_suite

    suite = _timed(chosen_suite(args.suite, estimators=args.estimator, families=args.family), args)
    path = Path(args.baseline or Path("baselines") / f"{suite.name}.json")
    if args.update_baseline:
        output_file(path, "--baseline")
        say = lambda text: print(f"mibench: {text}", file=sys.stderr)  # noqa: E731
        print("\n".join(update_baseline(suite, path, jobs=args.jobs, progress=not args.no_progress, say=say)))
        return 0
    result, current, stats = check_suite(suite, path, jobs=args.jobs, progress=not args.no_progress)
    if args.format == "json":
        print(json.dumps(result.to_dict()))
    else:
        print(f"mibench check: suite {suite.name!r}, {len(current['groups'])} groups ({stats['cells_total']} cells, "
              f"{stats['seconds']:.0f} s) against {path}")
        print(render(result, path))
    return 0 if result.passed else 1


ONLY_THESE = ("only this estimator of the suite, or any other (e.g. mypkg.module:MyEstimator), which runs on the "
              "suite's whole grid (id or spec; repeatable)")


CELL_TIMEOUT_HELP = ("seconds an estimator may take per cell; a cell over it becomes an error row and the run goes on "
                     "(default: the suite's cell_timeout, 1800)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mibench", description="Can this mutual-information estimate be trusted?",
        epilog="Exit statuses: 0 done; 1 a check found a regression or a failing estimator; 2 input to change; 3 the "
        "system refused (disk full, a path that is a directory, permissions, a scheduler out of reach); 4 out of "
        "memory; 70 a fault in mibench or in code it ran (rerun with --debug); 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"mibench {__version__}")
    parser.add_argument("--debug", action="store_true", help="on a failure, show the traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list estimators and tasks").set_defaults(func=cmd_list)
    est = sub.add_parser(
        "estimate",
        help="entropy of --x, I(X;Y) with --y, I(X;Y|Z) with --z, in bits; or I(X;Y) on a --task against its truth",
        description="Estimate from data files (.npy, .npz with :KEY, .csv, .pt; loading never unpickles), "
        "or on samples of a synthetic task beside its exact truth (--task).",
    )
    est.add_argument("--x", help="PATH or PATH:KEY of the first variable, shape (n,), (n, d) or (b, n, d)")
    est.add_argument("--y", help="PATH[:KEY] of the second variable")
    est.add_argument("--z", help="PATH[:KEY] of the conditioning variable")
    est.add_argument("-e", "--estimator", default="plugin", help="estimator id or spec, e.g. 'binned(plugin, rule=uniform, bins=30)'")
    est.add_argument("--task", help="task spec, e.g. 'parity(dim=3, noise=0.1)' (mibench list shows them)")
    est.add_argument("-n", type=int, default=1000, help="with --task: samples per seed (default 1000)")
    est.add_argument("--seeds", type=int, default=10, help="with --task: seeds 0..SEEDS-1 (default 10)")
    est.add_argument("--json", action="store_true", help="print one JSON object")
    est.set_defaults(func=cmd_estimate)
    mp = sub.add_parser(
        "map",
        help="main job: regime maps of every estimator over N, D and bins (default suite embedded)",
        description="Run a suite (built-in: quick, default, full, leaderboard, trust; or a TOML file) and write regime maps. "
        "Finished cells are kept: re-running resumes.",
    )
    mp.add_argument("suite", nargs="?", default="default", help="built-in suite name or path to a suite TOML (default: default)")
    mp.add_argument("--out", default="mibench-results",
                    help="results root: each suite writes to OUT/SUITE-NAME/ (default: ./mibench-results)")
    mp.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: one per core; 1 runs in this process)")
    mp.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a local Dask cluster of --jobs workers")
    mp.add_argument("--fresh", action="store_true", help="discard stored results in --out and start over")
    mp.add_argument("--no-progress", action="store_true", help="no progress bar")
    mp.add_argument("-e", "--estimator", action="append", metavar="SPEC", help=ONLY_THESE)
    mp.add_argument("--family", action="append", metavar="FAMILY", help="run only this task family of the suite (repeatable)")
    mp.add_argument("--cell-timeout", type=float, metavar="SECONDS", help=CELL_TIMEOUT_HELP)
    mp.set_defaults(func=cmd_map)
    dp = sub.add_parser(
        "dump",
        help="activation dumps: build a reference network's (--net), describe one (info), convert another tool's (import)",
        description="mibench dump --net NAME --out PATH | mibench dump info FILE | "
        "mibench dump import --from ibsgd|idnns|npy SRC --out DUMP.npz --labels PATH[:KEY]",
    )
    dp.add_argument("--net", help="reference network: tishby-tanh, tishby-relu, bnn, tishby-quantized, "
                                  "tishby-quantized-4, digits-mlp")
    dp.add_argument("--out", help="where to write the dump (.npz, or a directory with --stream)")
    dp.add_argument("--epochs", type=int, default=3000, help="training epochs (default 3000)")
    dp.add_argument("--snapshots", type=int, default=100, help="snapshots at log-spaced epochs (default 100)")
    dp.add_argument("--seed", type=int, default=0)
    dp.add_argument("--stream", action="store_true", help="write one file per epoch into --out (a directory)")
    dp.set_defaults(func=cmd_dump, action=None)
    actions = dp.add_subparsers(dest="action")
    info = actions.add_parser("info", help="describe a dump: n, layers, widths, epochs, value ranges, distinct rows")
    info.add_argument("path", help="the dump: .npz, .pt or a directory")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    imp = actions.add_parser("import", help="convert an ibsgd, IDNNs or .npy-folder dump")
    imp.add_argument("path", metavar="SRC", help="the source: a directory or file")
    imp.add_argument("--from", dest="source", required=True, choices=("ibsgd", "idnns", "npy"), help="the source's format")
    imp.add_argument("--out", dest="import_out", required=True, help="the dump to write (.npz)")
    imp.add_argument("--labels", help="PATH[:KEY] of the (n,) class labels, where the source lacks them")
    imp.add_argument("--inputs", help="PATH[:KEY] of the (n, d) inputs (optional)")
    pp = sub.add_parser("plane", help="information plane of a dump: I(X;T) vs I(T;Y) per layer and epoch",
                        description="Writes plane.png (one line per layer, epochs coloured) and a CSV of the points.")
    pp.add_argument("dump", help="the dump: .npz, .pt or a directory")
    pp.add_argument("-e", "--estimator", default="binned(plugin, rule=fixed, bins=30)", help="estimator spec")
    pp.add_argument("--out", default="plane.png", help="the figure (default plane.png)")
    pp.add_argument("--csv", help="the points (default: the figure's name with .csv)")
    pp.set_defaults(func=cmd_plane)
    tp = sub.add_parser("trust", help="is this estimate trustworthy? the verdict of the regime map and of the data",
                        description="Estimate I(X;Y) (or H(X) without --y) and judge it: regime, expected bias, ceiling, "
                        "interval, and the evidence of the map and of the data side by side.")
    tp.add_argument("--x", required=True, help="PATH[:KEY] of X, shape (n,) or (n, d)")
    tp.add_argument("--y", help="PATH[:KEY] of Y")
    tp.add_argument("-e", "--estimator", default="plugin", help="estimator id or spec (default plugin)")
    tp.add_argument("--maps", help="a map directory of your own (default: the map shipped with mibench)")
    tp.add_argument("--bound", type=float, help="the largest value the truth can take, in bits, where you know it "
                    "(e.g. log2 of the number of classes): the interval stays within it")
    tp.add_argument("--input-ids", help="PATH[:KEY] of one id per row: rows sharing an id are one input recorded again, "
                    "counted once as evidence")
    tp.add_argument("--json", action="store_true", help="print one JSON object")
    tp.set_defaults(func=cmd_trust)
    sp = sub.add_parser("score", help="score every snapshot of a dump: I(X;T) and I(T;Y), each with a verdict",
                        description="Writes scores.csv, plane.png (trusted points filled, untrusted hollow, saturated "
                        "crossed) and report.md into --out.")
    sp.add_argument("dump", help="the dump: .npz, .pt or a directory")
    sp.add_argument("-e", "--estimator", action="append", metavar="SPEC", help="estimator spec (repeatable)")
    sp.add_argument("--bins", type=int, action="append", metavar="B",
                    help="binned plug-in at B bins (repeatable; default 30; fixed on [-1, 1] for bounded activations)")
    sp.add_argument("--maps", help="a map directory of your own (default: the map shipped with mibench)")
    sp.add_argument("--out", default="scores", help="output directory (default ./scores)")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_score)
    ap = sub.add_parser("atlas", help="turn `mibench map` directories into the compact map trust() reads",
                        description="Regenerating the shipped map: mibench map default --out maps && mibench map "
                        "trust --out maps && mibench atlas maps/default maps/trust --into-package")
    ap.add_argument("map_dir", nargs="+", help="one or more suites' result directories, e.g. maps/default maps/trust")
    ap.add_argument("--out", help="where to write atlas.csv.gz and atlas.json (default ./mibench-atlas; read it "
                                  "with trust --maps DIR)")
    ap.add_argument("--into-package", action="store_true",
                    help="replace the map shipped in the installed package (for maintainers regenerating it)")
    ap.set_defaults(func=cmd_atlas)
    rp = sub.add_parser("report", help="one self-contained HTML page of map, score and leaderboard outputs",
                        description="Render the Markdown outputs of mibench map (summary.md), mibench score "
                        "(report.md) and mibench leaderboard (a .md board) into one HTML page with every figure "
                        "inlined: mibench report mibench-results/default scores --out report.html")
    rp.add_argument("paths", nargs="+", metavar="PATH",
                    help="folders written by map --out (or one suite's folder in it), score --out, or .md files")
    rp.add_argument("--out", default="mibench-report.html", help="the page to write (default ./mibench-report.html)")
    rp.add_argument("--title", default="mibench report", help="the page's title")
    rp.set_defaults(func=cmd_report)
    lp = sub.add_parser("leaderboard", help="rank estimators (mibench's and other libraries') on the same cells",
                        description="Rank every estimator of a results store, overall and per task family. Without "
                        "--results, runs the embedded leaderboard suite first (resuming what is stored in --out-dir).")
    lp.add_argument("--results", metavar="DIR", help="a results directory written by `mibench map` (OUT/SUITE)")
    lp.add_argument("--suite", help="the suite to run (default: leaderboard), or the one --results must hold")
    lp.add_argument("-e", "--estimator", action="append", metavar="SPEC", help=ONLY_THESE)
    lp.add_argument("--add", action="append", metavar="SPEC",
                    help="also rank this estimator beside the suite's (e.g. mypackage.module:MyEstimator), run on the "
                    "suite's grid (repeatable)")
    lp.add_argument("--format", default="md", help="md (default), html (self-contained, heatmaps inline) or csv")
    lp.add_argument("--out", metavar="PATH", help="write here (default: standard output; leaderboard.html for html)")
    lp.add_argument("--out-dir", default="mibench-results", help="results root for the suite run (default: ./mibench-results)")
    lp.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes for the suite run")
    lp.add_argument("--no-progress", action="store_true", help="no progress bar")
    lp.add_argument("--cell-timeout", type=float, metavar="SECONDS", help=CELL_TIMEOUT_HELP)
    lp.set_defaults(func=cmd_leaderboard)
    cp = sub.add_parser("conform", help="run the conformance checks every built-in estimator passes on any estimator",
                        description="Units in bits, batched == looped, numpy/torch agreement, determinism, invariances, "
                        "symmetry, I(X;X) = H(X), independence -> 0, ceilings, inputs left unchanged and bad-input "
                        "errors, on an estimator spec or module:Class(...); checks that do not apply to the estimator "
                        "(by its tags) are skipped. Exit 1 when a check fails.")
    cp.add_argument("estimator", help="an estimator spec: plugin, infomeasure:ksg, mypackage.module:MyEstimator(k=5)")
    cp.set_defaults(func=cmd_conform)
    ck = sub.add_parser("check", help="regression gate: a suite's bias, std, regimes and frontiers against a baseline",
                        description="Runs the suite afresh and compares every group with a committed baseline file; exits 1 "
                        "on a regression (|bias| or std grew beyond the gate, a worse regime, new failures, a frontier "
                        "moved down), 2 on bad input. --speed instead times core workloads against NumPy in the same run.")
    ck.add_argument("--suite", default="quick", help="built-in suite name or suite TOML (default quick)")
    ck.add_argument("--baseline", help="baseline JSON (default baselines/SUITE.json)")
    ck.add_argument("--update-baseline", action="store_true", help="rewrite the baseline from this run and print what changed")
    ck.add_argument("--format", choices=("text", "json"), default="text")
    ck.add_argument("-e", "--estimator", action="append", metavar="SPEC", help=ONLY_THESE)
    ck.add_argument("--family", action="append", metavar="FAMILY", help="only this task family (repeatable)")
    ck.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ck.add_argument("--no-progress", action="store_true", help="no progress bar")
    ck.add_argument("--cell-timeout", type=float, metavar="SECONDS", help=CELL_TIMEOUT_HELP)
    ck.add_argument("--speed", action="store_true", help="the speed gate: ratios against NumPy, each with a floor")
    ck.set_defaults(func=cmd_check)
    return parser


def _report(caught: list[warnings.WarningMessage]) -> None:
    """mibench's own warnings as one plain line each (once); others as Python shows them."""
    ours = [w for w in caught if issubclass(w.category, (UndefinedEstimateWarning, AmbiguousInputWarning))]
    for message in dict.fromkeys(str(w.message) for w in ours):
        print(f"mibench: warning: {message}", file=sys.stderr)
    for w in caught:
        if w not in ours:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


#: Exit statuses, one per kind of failure (README, "Exit statuses"): a check that found a
#: regression exits 1 (``check``, ``conform``), input to change 2, the machine or file system
#: refused (a full disk, a path that is a directory, no permission, a scheduler out of reach)
#: 3, out of memory 4, a fault in mibench or in code it ran 70 (EX_SOFTWARE), Ctrl-C 130.
EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_MEMORY, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 4, 70, 130


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line a failure of a command gets (see :data:`EXIT_BAD_INPUT`)."""
    import sqlite3

    if isinstance(exc, (ValueError, TypeError)):  # bad input, malformed suites, stores, dumps and baselines
        return EXIT_BAD_INPUT, str(exc)
    if isinstance(exc, MemoryError):
        return EXIT_MEMORY, (f"out of memory ({exc or 'an allocation failed'}); use a smaller input, fewer rows, or a "
                             "machine with more memory")
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_ENVIRONMENT, f"the system refused{where}: {exc.strerror or exc}; free space, fix the path or its " \
                                 "permissions and run again"
    if isinstance(exc, sqlite3.Error):
        return EXIT_ENVIRONMENT, f"the results store failed ({type(exc).__name__}: {exc}); is the disk full or the " \
                                 "store path a directory?"
    if isinstance(exc, SystemExit):  # raised by code mibench ran (an estimator, a plug-in), not by mibench
        return EXIT_INTERNAL, (f"code run by mibench called sys.exit({exc.code!r}) (an estimator or plug-in?); "
                               "nothing after it ran")
    return EXIT_INTERNAL, (f"internal error ({type(exc).__name__}: {exc}); run again with --debug for the traceback "
                           "and report it")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every failure becomes one line on stderr and an exit status
    (:func:`failure`); ``--debug`` lets the traceback through instead."""
    args = build_parser().parse_args(argv)
    caught: list[warnings.WarningMessage] = []
    try:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                status = args.func(args)
        finally:  # reported outside the recording (showing one records it again), failed or not
            _report(caught)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below
        return status
    except BrokenPipeError:  # piped into head or less, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail again
        return 0
    except KeyboardInterrupt:
        print("\nmibench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the command line's boundary
        if args.debug:
            raise
        status, line = failure(exc)
        print(f"mibench: error: {line}", file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
