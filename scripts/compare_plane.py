"""Side-by-side timing of a dump's whole information plane: mibench vs the IDNNs-style
NumPy loop, in one run; and the recorder's overhead in a training loop.

    python scripts/compare_plane.py            # tishby-tanh, 3000 epochs, 100 snapshots
    python scripts/compare_plane.py --peakmem  # also the peak RSS of each (subprocesses)

Workload: the tishby-tanh reference dump (N = 4096, 6 layers x 100 snapshots), plug-in
H(T) = I(X;T) and I(T;Y), 29 bins over (-1, 1) (the NumPy code's linspace(-1, 1, 30)
edges). The NumPy loop digitizes each snapshot, finds its distinct rows with np.unique
over a void view, and sums plug-in entropies, per snapshot (Shwartz-Ziv & Tishby's code).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of  # noqa: E402
from mibench.dumps.format import Dump  # noqa: E402
from mibench.dumps.nets import train_reference  # noqa: E402
from mibench.dumps.plane import information_plane  # noqa: E402
from mibench.gates.reference import ib_numpy_mi, _entropy_bits, _row_probabilities  # noqa: E402

SPEC = "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))"


def numpy_plane(dump: Dump) -> list[tuple[float, float]]:
    out = []
    for layer, epoch in dump.snapshots():
        t = dump.snapshot(layer, epoch)
        edges = np.linspace(-1.0, 1.0, 30, dtype=t.dtype)
        binned = edges[np.digitize(t.reshape(-1), edges) - 1].reshape(t.shape)
        out.append((_entropy_bits(_row_probabilities(binned)), ib_numpy_mi(t, dump.labels, n_edges=30)))
    return out


def peak_rss_mib(path: Path, which: str) -> float:
    code = (
        "import sys; sys.path.insert(0, '.')\n"
        "from scripts.compare_plane import numpy_plane, SPEC\n"
        "from mibench.dumps.format import Dump\nfrom mibench.dumps.plane import information_plane\n"
        f"dump = Dump({str(path)!r})\n"
        f"{'numpy_plane(dump)' if which == 'numpy' else 'information_plane(dump, SPEC)'}\n"
        "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--snapshots", type=int, default=100)
    parser.add_argument("--peakmem", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    path = folder / "tanh.npz"
    for net in ("tishby-tanh", "tishby-relu", "bnn", "tishby-quantized", "digits-mlp"):
        start = time.perf_counter()
        rec = train_reference(net, epochs=args.epochs, snapshots=args.snapshots, seed=0,
                              out=path if net == "tishby-tanh" else None)
        total = time.perf_counter() - start
        print(f"{net}: {args.epochs} epochs in {total:.1f} s; recording {len(rec._epochs)} snapshots of "
              f"{len(rec.layers)} layers took {rec.seconds:.2f} s ({100 * rec.seconds / total:.1f} % of the loop, "
              f"{rec.seconds / len(rec._epochs) * 1e3:.1f} ms a snapshot)")
    on_disk = Dump(path)
    in_memory = Dump({"labels": on_disk.labels, **{f"{l}@{e}": on_disk.snapshot(l, e) for l, e in on_disk.snapshots()}})
    for name, dump in (("in memory", in_memory), ("read from the .npz", on_disk)):
        t_np, v_np = best_of(lambda: numpy_plane(dump), 2)
        t_mb, points = best_of(lambda: information_plane(dump, SPEC), 3)
        diff = max(max(abs(a - x), abs(b - y)) for (a, b), x, y in zip(v_np, points["I(X;T)"], points["I(T;Y)"]))
        print(f"information plane of {len(points)} snapshots ({dump.n} rows, {len(dump.layers)} layers), {name}: "
              f"numpy loop {t_np:.2f} s, mibench {t_mb:.2f} s, ratio {t_np / t_mb:.1f}x (max |difference| {diff:.1e} bits: "
              "a value on a bin edge, which float32 edges and mibench's arithmetic place in neighbouring bins)")
    if args.peakmem:
        print(f"peak RSS: numpy loop {peak_rss_mib(path, 'numpy'):.0f} MiB, mibench {peak_rss_mib(path, 'mibench'):.0f} MiB "
              "(each a fresh process holding torch and the dump)")


if __name__ == "__main__":
    main()
