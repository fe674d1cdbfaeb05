"""Side-by-side timing of the continuous estimators against the peers a user would
otherwise use, in one run:

    python scripts/compare_continuous.py

- KSG (algorithm 1, k = 4, N = 20,000, X and Y 5-dimensional): mibench vs the PyPI
  package ``infomeasure`` and a plain scipy cKDTree implementation.
- Gaussian-copula MI at N = 100,000 (3 + 2 dims): mibench vs ``frites``' gcmi_nd_cc.
- Peak memory of KSG at N = 100,000, 2 + 2 dims (fresh process, VmHWM).
The peers are optional (pip install -e ".[bench]"); missing ones are skipped.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mibench  # noqa: E402
from benchmarks.common import best_of  # noqa: E402


def plain_ckdtree_ksg(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """KSG algorithm 1 the direct way: cKDTree kNN, then ball counts (bits)."""
    n = len(x)
    xy = np.hstack([x, y])
    eps = cKDTree(xy).query(xy, k=k + 1, p=np.inf)[0][:, -1]
    r = np.nextafter(eps, 0)
    nx = cKDTree(x).query_ball_point(x, r, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r, p=np.inf, return_length=True) - 1
    return (special.digamma(k) + special.digamma(n) - np.mean(special.digamma(nx + 1) + special.digamma(ny + 1))) / np.log(2)


def peak_rss_ksg(n: int) -> tuple[float, float]:
    code = (
        "import mibench\n"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024\n"
        f"x, y = mibench.get_task('gaussian', dim_x=2, dim_y=2, rho=0.5).sample({n}, seed=0)\n"
        "before = hwm()\n"
        "mibench.mutual_information(x, y, 'ksg', k=4)\n"
        "print(before, hwm())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = (float(v) for v in out.stdout.split())
    return before, after


def main() -> None:
    x, y = mibench.get_task("gaussian", dim_x=5, dim_y=5, rho=0.5).sample(20_000, seed=1)
    t_mb, v_mb = best_of(lambda: mibench.mutual_information(x, y, "ksg", k=4))
    print(f"KSG N=20,000 d=5+5 k=4: mibench {t_mb:.2f} s ({v_mb:.6f} bits)")
    t_kd, v_kd = best_of(lambda: plain_ckdtree_ksg(x, y, 4))
    print(f"  plain cKDTree   {t_kd:.2f} s ({v_kd:.6f} bits): mibench is {t_kd / t_mb:.1f}x faster")
    try:
        import infomeasure as im

        t_im, v_im = best_of(lambda: float(im.mutual_information(x, y, approach="ksg", k=4, base=2)), repeat=1)
        print(f"  infomeasure     {t_im:.2f} s ({v_im:.6f} bits): mibench is {t_im / t_mb:.1f}x faster, |diff| {abs(v_im - v_mb):.1e}")
    except ImportError:
        print("  infomeasure not installed: skipped")

    x, y = mibench.get_task("gaussian", dim_x=3, dim_y=2, rho=0.5, transforms=("asinh",)).sample(100_000, seed=2)
    t_mb, v_mb = best_of(lambda: mibench.mutual_information(x, y, "gcmi"), repeat=5)
    print(f"GCMI N=100,000 d=3+2: mibench {t_mb * 1000:.1f} ms ({v_mb:.6f} bits)")
    try:
        from frites.core import gcmi_nd_cc

        t_fr, v_fr = best_of(lambda: float(np.squeeze(gcmi_nd_cc(x.T, y.T, mvaxis=0, traxis=1))), repeat=5)
        print(f"  frites gcmi_nd_cc {t_fr * 1000:.1f} ms ({v_fr:.6f} bits): mibench time / frites time = {t_mb / t_fr:.2f}")
    except ImportError:
        print("  frites not installed: skipped")

    before, after = peak_rss_ksg(100_000)
    print(f"KSG N=100,000 d=2+2: peak RSS {after:.0f} MiB ({before:.0f} MiB before the call: +{after - before:.0f} MiB)")


if __name__ == "__main__":
    main()
