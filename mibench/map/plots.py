"""Figures of a regime map: heatmaps (N x D, colour = regime) and bias-vs-N curves."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from mibench.map.regimes import REGIMES, frontier_axis  # noqa: E402

COLOURS = {"reliable": "#3b9a57", "biased": "#f2a93b", "saturated": "#8e3b8f", "unstable": "#9aa5b1", "undefined": "#e6a3a3"}  # not computed (estimator caps) stays white


def _panels(count: int) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(4, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows + 0.8), squeeze=False, constrained_layout=True)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def regime_heatmap(regimes: pd.DataFrame, family: str, d_label: str, path: Path) -> Path:
    """One panel per estimator spec: N (log2 axis) x D, colour = regime, with the
    curve where the frontier's axis (the joint entropy H(X,Y) where the family
    states one, else the truth I(X;Y)) equals log2 N: the plug-in ceiling."""
    data = regimes[regimes["family"] == family]
    level_column, level_name = frontier_axis(data)
    specs = sorted(data["estimator"].unique())
    fig, axes = _panels(len(specs))
    cmap = ListedColormap([COLOURS[r] for r in REGIMES])
    ns = sorted(data["n"].unique())
    ds = sorted(data["d"].unique())
    for ax, spec in zip(axes, specs):
        panel = data[data["estimator"] == spec]
        grid = np.full((len(ds), len(ns)), np.nan)
        for row in panel.itertuples():
            grid[ds.index(row.d), ns.index(row.n)] = REGIMES.index(row.regime)
        ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(REGIMES) - 0.5, interpolation="nearest")
        if len(ns) * len(ds) <= 120:  # small grids: print the mean bias in each cell
            for row in panel.groupby(["n", "d"])["bias"].mean().reset_index().itertuples():
                if math.isfinite(row.bias):
                    ax.text(ns.index(row.n), ds.index(row.d), f"{row.bias:+.2f}", ha="center", va="center", fontsize=6, color="white")
        ax.set_xticks(range(len(ns)), [f"$2^{{{int(round(math.log2(n)))}}}$" for n in ns])
        ax.set_yticks(range(len(ds)), [str(d) for d in ds])
        level = panel.groupby("d")[level_column].mean()
        xs = [_n_axis_position(level[d], ns) if d in level else np.nan for d in ds]
        ax.plot(xs, range(len(ds)), color="black", lw=1.5, ls="--")
        ax.set_xlim(-0.5, len(ns) - 0.5)  # the line may run past the grid: clip it there
        ax.set_title(spec, fontsize=8)
        ax.set_xlabel("N (samples)")
        ax.set_ylabel(d_label)
    handles = [Patch(color=COLOURS[r], label=r) for r in REGIMES]
    handles.append(plt.Line2D([], [], color="black", ls="--", label=f"{level_name} = log2 N"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"Where estimates can be trusted: {family}", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _n_axis_position(bits: float, ns: list[int]) -> float:
    """Where log2 N = ``bits`` on a heatmap's N axis (cell i centred at i), linear in
    log2 N between cells and extrapolated past the ends."""
    logn = np.log2(ns)
    if len(logn) == 1:
        return 0.0 if bits == logn[0] else math.nan
    i = int(np.clip(np.searchsorted(logn, bits) - 1, 0, len(logn) - 2))
    return i + (bits - logn[i]) / (logn[i + 1] - logn[i])


def bias_curves(regimes: pd.DataFrame, family: str, d_label: str, abs_tol: float, path: Path) -> Path:
    """Mean bias (bits) against N, one line per D, ±1 seed std shaded, per estimator."""
    data = regimes[regimes["family"] == family]
    specs = sorted(data["estimator"].unique())
    fig, axes = _panels(len(specs))
    ds = sorted(data["d"].unique())
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(ds)))
    handles: dict[str, Any] = {}
    for ax, spec in zip(axes, specs):
        panel = data[data["estimator"] == spec]
        ax.set_title(spec, fontsize=8)
        for colour, d in zip(colours, ds):
            line = panel[panel["d"] == d].groupby("n")[["bias", "std"]].mean().sort_index().dropna(subset=["bias"])
            if line.empty:
                continue
            label = f"{d_label}={d}"
            handles[label] = ax.plot(line.index, line["bias"], marker="o", ms=3, color=colour, label=label)[0]
            ax.fill_between(line.index, line["bias"] - line["std"], line["bias"] + line["std"], color=colour, alpha=0.15)
        if not ax.lines:  # every group undefined: nothing to put on log axes
            ax.text(0.5, 0.5, "no finite estimate\n(errors in cells.csv)", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.axhspan(-abs_tol, abs_tol, color="#3b9a57", alpha=0.12, lw=0)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log", base=2)
        # linear inside the tolerance band, logarithmic beyond: a 0.05-bit bias and a
        # 20-bit collapse both stay readable on one panel
        ax.set_yscale("symlog", linthresh=abs_tol)
        ax.set_xlabel("N (samples)")
        ax.set_ylabel("bias (bits, symlog)")
    order = [f"{d_label}={d}" for d in ds if f"{d_label}={d}" in handles]
    fig.legend([handles[k] for k in order], order, loc="outside lower center", ncol=max(1, len(order)), fontsize=8, frameon=False)
    fig.suptitle(f"Bias of the mean estimate vs N: {family} (band: ±{abs_tol} bit, linear inside)", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
