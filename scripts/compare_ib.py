"""Side-by-side timing: mibench vs the NumPy information-plane approach, one run.

    python scripts/compare_ib.py            # N = 1e6 and 16 x 1e4, prints ratios
    python scripts/compare_ib.py --peakmem  # also peak RSS of mibench alone (subprocess)

Workload: plug-in I(T;Y), tanh activations D = 64, 29 bins over (-1, 1) (the NumPy
code's linspace(-1, 1, 30) edges), 10 classes.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mibench  # noqa: E402
from benchmarks.common import activations, best_of, labels  # noqa: E402
from benchmarks.bench_core import IB_SPEC  # noqa: E402
from mibench.gates.reference import ib_numpy_mi  # noqa: E402


def peak_rss_mib(n: int) -> tuple[float, float]:
    """Peak resident memory (VmHWM, MiB) of a fresh process before and after one
    mibench call at N = n. (ru_maxrss would carry over the parent's peak.)"""
    code = (
        "import mibench\n"
        "from benchmarks.common import activations, labels\n"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024\n"
        f"x, y = activations({n}, 64), labels({n})\n"
        "before = hwm()\n"
        f"mibench.mutual_information(x, y, {IB_SPEC!r})\n"
        "print(before, hwm())\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    before, after = (float(v) for v in out.stdout.split())
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--peakmem", action="store_true")
    args = parser.parse_args()
    est = mibench.parse_spec(IB_SPEC)

    x, y = activations(args.n, 64), labels(args.n)
    t_np, v_np = best_of(lambda: ib_numpy_mi(x, y, n_edges=30), 2)
    t_mb, v_mb = best_of(lambda: est.mutual_information(x, y), 5)
    print(f"N={args.n:,} D=64: numpy {t_np:.3f} s, mibench {t_mb:.3f} s, ratio {t_np / t_mb:.1f}x "
          f"(|difference| {abs(v_np - v_mb):.1e} bits)")

    xb, yb = activations(10_000, 64, batch=16), labels(10_000, batch=16)
    t_np, v_np = best_of(lambda: [ib_numpy_mi(xb[i], yb[i, :, 0], n_edges=30) for i in range(16)], 3)
    t_mb, v_mb = best_of(lambda: est.mutual_information(xb, yb), 10)
    diff = max(abs(a - b) for a, b in zip(v_np, v_mb))
    print(f"16 seeds x N=10,000: numpy loop {t_np:.3f} s, mibench batched {t_mb:.3f} s, ratio {t_np / t_mb:.1f}x "
          f"(max |difference| {diff:.1e} bits)")
    if args.peakmem:
        before, after = peak_rss_mib(args.n)
        print(f"peak RSS at N={args.n:,}: {after:.0f} MiB for the whole process; "
              f"{before:.0f} MiB before the call (torch + data), so mibench adds {after - before:.0f} MiB")


if __name__ == "__main__":
    main()
