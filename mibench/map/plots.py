"""Figures of a regime map: heatmaps (N x D, colour = regime) and bias-vs-N curves."""
from __future__ import annotations

import math
import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from mibench.judging import REGIMES, Regime, Tolerances  # noqa: E402
from mibench.map.regimes import frontier_axis  # noqa: E402

COLOURS = {Regime.RELIABLE: "#3b9a57", Regime.BIASED: "#f2a93b", Regime.UNSTABLE: "#9aa5b1", Regime.SATURATED: "#8e3b8f",
           Regime.UNDEFINED: "#e6a3a3"}
CAPPED = "#d9d9d9"  # not run: the suite caps this estimator's N or D


def _panels(count: int, cols: int | None = None) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(cols or 4, count)
    rows = math.ceil(count / cols)
    # A fixed layout in inches (panels of 3.8 x 3.2 in, room for two-line titles, the
    # title above and two legend rows below), not constrained_layout, which measures every
    # label of every panel (half the drawing time of a 26-panel page); and not sharex/sharey,
    # whose limit updates visit every sibling: _same_limits gives the panels one scale.
    width, height = 3.8 * cols, 3.2 * rows + 1.7
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.15 / width, top=1 - 0.85 / height, bottom=1.05 / height,
                        wspace=0.75 / 3.8 * cols / max(cols - 1, 1) if cols > 1 else 0.2, hspace=0.95 / 3.2)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def _same_limits(axes: list[plt.Axes]) -> None:
    """Give every panel the x and y range that holds all of them (as shared axes would)."""
    for get, put in (("get_xlim", "set_xlim"), ("get_ylim", "set_ylim")):
        ranges = [getattr(ax, get)() for ax in axes]
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
        for ax in axes:
            getattr(ax, put)(lo, hi)


def _set_title(ax: plt.Axes, spec: str, bins: Any) -> None:
    """The panel's spec in two lines at most: a long one (a critic's whole training
    budget) in smaller type rather than a third line over the panel above."""
    text = spec if pd.isna(bins) or f"bins={int(bins)}" in spec else f"{spec} [bins={int(bins)}]"
    lines = textwrap.wrap(text, 44, break_on_hyphens=False)
    size = 7.5
    if len(lines) > 2:
        lines, size = textwrap.wrap(text, 66, break_on_hyphens=False), 5.0
    ax.set_title("\n".join(lines), fontsize=size)


def _n_label(n: int) -> str:
    """2^k for a power of two, else the number itself (a benchmark's n = 5,000)."""
    k = int(round(math.log2(n)))
    return f"$2^{{{k}}}$" if 2**k == n else f"{n:,}"


_BINS = re.compile(r",?\s*bins=\d+")


def _panel_keys(data: pd.DataFrame) -> list[tuple[str, Any]]:
    """(estimator, bins) of each panel: by estimator, then by bin count as a number (4, 8, 30;
    the spec's text would put "bins=30" before "bins=4")."""
    keys = {(e, None if pd.isna(b) else b) for e, b in zip(data["estimator"], data["bins"])}  # NaN != NaN in a set
    return sorted(keys, key=lambda k: (_BINS.sub("", k[0]), -1.0 if pd.isna(k[1]) else float(k[1]), k[0]))


def _columns(keys: list[tuple[str, Any]]) -> int | None:
    """Panels per row: one estimator per row where every estimator comes in the same 2-4 bin
    counts (a row reads as one estimator across grids, a column as one grid across
    estimators); None (the default) otherwise."""
    per = set(Counter(_BINS.sub("", spec) for spec, _ in keys).values())
    return per.pop() if len(per) == 1 and 2 <= min(per) <= 4 else None


def _select(data: pd.DataFrame, spec: str, bins: Any) -> pd.DataFrame:
    rows = data[data["estimator"] == spec]
    return rows[rows["bins"].isna()] if pd.isna(bins) else rows[rows["bins"] == bins]


def _d_position(levels: pd.Series, ds: list[int], value: float) -> float:
    """Where an axis value (e.g. H(X,Y)) falls on the heatmap's D rows (row i at i),
    interpolating between the grid tasks' values."""
    known = [(ds.index(d), levels[d]) for d in ds if d in levels.index and math.isfinite(levels[d])]
    if len(known) < 2 or not math.isfinite(value):
        return math.nan
    rows, values = zip(*sorted(known, key=lambda kv: kv[1]))
    return float(np.interp(value, values, rows, left=math.nan, right=math.nan))


def regime_heatmap(regimes: pd.DataFrame, family: str, d_label: str, path: Path, points: pd.DataFrame | None = None,
                   caps: dict[str, tuple[float, float]] | None = None, part: str = "") -> Path:
    """One panel per estimator (and bin count): N (log2 axis) x D, colour = regime; a dot
    marks a reliable group that sits at its ceiling. Lines: where the frontier's axis
    (H(X,Y) where the family states one, else I(X;Y)) equals log2 N (dashed), the measured
    frontier (solid) and exact theory's (dotted) where known. Grey: not run (capped).
    ``part`` names the estimators of a family's figure drawn in parts (in the title)."""
    data = regimes[regimes["family"] == family].copy()
    grid = data[data["d"].notna()]
    level_column, level_name = frontier_axis(data)
    keys = _panel_keys(grid)
    fig, axes = _panels(len(keys), _columns(keys))
    cmap = ListedColormap([COLOURS[r] for r in REGIMES])
    ns = sorted(grid["n"].unique())
    ds = sorted(int(d) for d in grid["d"].unique())
    x_of = {n: i for i, n in enumerate(ns)}
    any_capped = False
    for ax, (spec, bins) in zip(axes, keys):
        panel = _select(grid, spec, bins)
        cells = np.full((len(ds), len(ns)), np.nan)
        for row in panel.itertuples():
            cells[ds.index(int(row.d)), x_of[row.n]] = REGIMES.index(row.regime)
        cap = (caps or {}).get(spec)
        if cap is not None:
            capped = np.array([[d > cap[1] or n > cap[0] for n in ns] for d in ds])
            if capped.any():
                any_capped = True
                ax.imshow(np.where(capped, 1.0, np.nan), origin="lower", aspect="auto", cmap=ListedColormap([CAPPED]),
                          interpolation="nearest")
        ax.imshow(cells, origin="lower", aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(REGIMES) - 0.5, interpolation="nearest")
        flagged = panel[panel["at_ceiling"].astype(bool) & (panel["regime"] == Regime.RELIABLE)]
        ax.plot([x_of[n] for n in flagged["n"]], [ds.index(int(d)) for d in flagged["d"]], "o", ms=2.5, color="white")
        if len(ns) * len(ds) <= 120:  # small grids: print the mean bias in each cell
            for row in panel.itertuples():
                if math.isfinite(row.bias):
                    ax.text(x_of[row.n], ds.index(int(row.d)), f"{row.bias:+.2f}", ha="center", va="center", fontsize=6, color="black")
        levels = panel.groupby(panel["d"].astype(int))[level_column].mean()
        xs = [_n_axis_position(levels[d], ns) if d in levels else np.nan for d in ds]
        ax.plot(xs, range(len(ds)), color="black", lw=1.2, ls="--")
        if points is not None and not points.empty:
            mine = _select(points, spec, bins).sort_values("n")
            measured = [_d_position(levels, ds, v) for v in mine["max"]]
            ax.plot([x_of.get(n, np.nan) for n in mine["n"]], measured, color="white", lw=2.2)
            ax.plot([x_of.get(n, np.nan) for n in mine["n"]], measured, color="black", lw=1.0)
            if "theory" in mine and mine["theory"].notna().any():
                theory = [_d_position(levels, ds, v) for v in mine["theory"]]
                ax.plot([x_of.get(n, np.nan) for n in mine["n"]], theory, color="#1f4e9c", lw=1.6, ls=":")
        ax.set_xticks(range(len(ns)), [_n_label(n) for n in ns])
        ax.set_yticks(range(len(ds)), [str(d) for d in ds])
        ax.set_xlim(-0.5, len(ns) - 0.5)
        ax.set_ylim(-0.5, len(ds) - 0.5)
        _set_title(ax, spec, bins)
        ax.set_xlabel("N (samples)")
        ax.set_ylabel(d_label)
    handles: list[Any] = [Patch(color=COLOURS[r], label=r) for r in REGIMES]
    if any_capped:
        handles.append(Patch(color=CAPPED, label="not run (max_n / max_d cap)"))
    handles.append(Patch(facecolor="white", edgecolor="#999999", label="not paired"))
    handles += [Line2D([], [], marker="o", ls="", color="white", markeredgecolor="#555555", label="reliable, at ceiling"),
                Line2D([], [], color="black", ls="--", label=f"{level_name} = log2 N"),
                Line2D([], [], color="black", lw=1.0, label="frontier (measured)")]
    if points is not None and "theory" in points and points["theory"].notna().any():
        handles.append(Line2D([], [], color="#1f4e9c", ls=":", lw=1.6, label="frontier (exact theory)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7.5, frameon=False)
    fig.suptitle(f"Where estimates can be trusted: {family}{part and f' — {part}'}", fontsize=11, y=1 - 0.2 / fig.get_figheight(), va="top")
    fig.savefig(path, dpi=110, pil_kwargs={"compress_level": 1})  # quicker to write than zlib level 6, ~5 % more bytes
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


def bias_curves(regimes: pd.DataFrame, family: str, d_label: str, tolerances: Tolerances | dict[str, float],
                path: Path, part: str = "") -> Path:
    """Mean bias (bits) against N, one line per D with ±1 seed std shaded, per estimator
    (and bin count); thin dashes: the bias the estimate would have at its ceiling; dots:
    exact theory's expected bias where known. The green band is the tolerance."""
    data = regimes[(regimes["family"] == family) & regimes["d"].notna()]
    keys = _panel_keys(data)
    fig, axes = _panels(len(keys), _columns(keys))
    ds = sorted(int(d) for d in data["d"].unique())
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(ds)))
    handles: dict[str, Any] = {}
    tolerances = Tolerances.of(tolerances)
    abs_tol = tolerances.abs_tol
    for ax, (spec, bins) in zip(axes, keys):
        panel = _select(data, spec, bins)
        _set_title(ax, spec, bins)
        ax.set_xscale("log", base=2)
        ax.set_yscale("symlog", linthresh=abs_tol)  # linear inside the band, logarithmic beyond
        ax.axhspan(-abs_tol, abs_tol, color="#3b9a57", alpha=0.12, lw=0)
        ax.axhline(0, color="black", lw=0.8)
        for colour, d in zip(colours, ds):
            line = panel[panel["d"] == d].groupby("n")[["bias", "std", "ceiling", "truth"]].mean().sort_index()
            finite = line.dropna(subset=["bias"])
            if not finite.empty:
                label = f"{d_label}={d}"
                handles[label] = ax.plot(finite.index, finite["bias"], marker="o", ms=3, color=colour, label=label)[0]
                ax.fill_between(finite.index, finite["bias"] - finite["std"], finite["bias"] + finite["std"], color=colour, alpha=0.1)
            at_ceiling = (line["ceiling"] - line["truth"]).dropna()
            if not at_ceiling.empty:
                ax.plot(at_ceiling.index, at_ceiling, color=colour, lw=0.7, ls=(0, (2, 2)))
            if "theory_bias" in panel:
                theory = panel[panel["d"] == d].groupby("n")["theory_bias"].mean().dropna()
                ax.plot(theory.index, theory, color=colour, lw=0, marker="x", ms=4)
        if not any(line.get_marker() == "o" for line in ax.lines):
            ax.text(0.5, 0.5, "no finite estimate\n(errors in cells.csv)", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        ax.set_xlabel("N (samples)")
        ax.set_ylabel("bias (bits, symlog)")
    _same_limits(axes)
    order = [f"{d_label}={d}" for d in ds if f"{d_label}={d}" in handles]
    extra = [Patch(color="#3b9a57", alpha=0.3, label=f"|bias| <= {abs_tol:g} bit"),
             Line2D([], [], color="black", lw=0.8, label="truth (bias 0)"),
             Line2D([], [], color="grey", lw=0.7, ls=(0, (2, 2)), label="estimate at its ceiling")]
    if "theory_bias" in data and data["theory_bias"].notna().any():
        extra.append(Line2D([], [], color="grey", lw=0, marker="x", label="exact theory"))
    fig.legend([handles[k] for k in order] + extra, order + [h.get_label() for h in extra], loc="lower center",
               ncol=min(6, max(1, len(order) + len(extra))), fontsize=7.5, frameon=False)
    rel = tolerances.rel_tol
    note = f" (band: ±{abs_tol:g} bit" + (f"; rel_tol {rel:.0%} widens it for large truths)" if rel else ")")
    fig.suptitle(f"Bias of the mean estimate vs N: {family}{part and f' — {part}'}{note}", fontsize=11, y=1 - 0.2 / fig.get_figheight(), va="top")
    fig.savefig(path, dpi=110, pil_kwargs={"compress_level": 1})  # quicker to write than zlib level 6, ~5 % more bytes
    plt.close(fig)
    return path
