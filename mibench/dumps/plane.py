"""The information plane of a dump: I(X;T) against I(T;Y), per layer and epoch.

The coordinates follow :func:`mibench.measures.plane_coordinates`: for count-based
estimators (discrete, binned) a layer of a deterministic network on distinct inputs has
I(X;T) = H(T) (Shwartz-Ziv & Tishby's convention), so I(X;T) is the estimator's H(T);
Kolchinsky-Tracey reports H(T+Z) - H(Z); other estimators need the dump's ``inputs``
and estimate I(X;T) directly. All snapshots of a layer go through the batched core in
one call (``(b, n, d)``), not a loop over epochs.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench.dumps.format import Dump
from mibench.measures import input_information_source, plane_coordinates
from mibench.registry import make_estimator

_BATCH_ELEMENTS = 20_000_000  # values per batched call: more epochs are split into chunks


def information_plane(dump: Dump, estimator: Any = "binned(plugin, rule=fixed, bins=30)") -> pd.DataFrame:
    """One row per snapshot: layer, epoch, width, I(X;T), I(T;Y) (bits), and n."""
    est = make_estimator(estimator)
    spec = est.spec
    inputs = None
    if input_information_source(est) == "inputs" and dump.inputs is not None:
        inputs = dump.inputs.astype(np.float64)
    rows = []
    for layer in dump.layers:
        epochs = dump.epochs_of(layer)
        per_call = max(1, _BATCH_ELEMENTS // (dump.n * dump.width(layer)))
        for start in range(0, len(epochs), per_call):
            chunk = epochs[start : start + per_call]
            stacked = dump.stacked(layer, chunk)
            i_xt, i_ty = (np.atleast_1d(v) for v in plane_coordinates(est, stacked, dump.labels, inputs))
            rows += [{"layer": layer, "epoch": e, "width": stacked.shape[2], "I(X;T)": float(a), "I(T;Y)": float(b),
                      "n": dump.n, "estimator": spec} for e, a, b in zip(chunk, i_xt, i_ty)]
    return pd.DataFrame(rows)


def plane_limits(dump: Dump) -> dict[str, float]:
    """The lines an information plane is bounded by (bits): H(X) (of the distinct inputs,
    equal weights), H(Y) and log2 N."""
    ids = dump.input_ids
    distinct = len(np.unique(ids)) if ids is not None else (len(np.unique(dump.inputs, axis=0)) if dump.inputs is not None else dump.n)
    counts = np.unique(dump.labels, return_counts=True)[1] / dump.n
    return {"H(X)": math.log2(distinct), "H(Y)": float(-np.sum(counts * np.log2(counts))), "log2 N": math.log2(dump.n)}


def plot_plane(points: pd.DataFrame, limits: dict[str, float], path: str | Path, title: str = "") -> Path:
    """The information plane, one panel per estimator: x = I(X;T), y = I(T;Y) (bits), one
    line per layer (its own marker), epochs coloured on a log scale, the H(X), H(Y) and
    log2 N limits drawn. ``points``: columns estimator, layer, epoch, ``I(X;T)``,
    ``I(T;Y)`` (as :func:`information_plane` gives them), and where the points were
    judged (``mibench score``) ``regime_xt`` and ``regime_ty``: then trusted points (both
    reliable) are filled, the others hollow, and saturated ones crossed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    from mibench.judging import Regime

    judged = {"regime_xt", "regime_ty"} <= set(points.columns)
    estimators = list(dict.fromkeys(points["estimator"]))
    panels = max(1, len(estimators))
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels + 2.2, 5), constrained_layout=True, squeeze=False)
    epochs = points["epoch"].to_numpy(float) + 1
    norm = LogNorm(vmin=max(epochs.min(), 1), vmax=max(epochs.max(), epochs.min() * 1.0001))
    markers = "osD^v<>ph*"
    layers = list(dict.fromkeys(points["layer"]))
    for ax, spec in zip(axes[0], estimators):
        for layer, g in points[points["estimator"] == spec].groupby("layer", sort=False):
            g = g.sort_values("epoch")
            marker = markers[layers.index(layer) % len(markers)]
            x, y = g["I(X;T)"].to_numpy(float), g["I(T;Y)"].to_numpy(float)
            colours = plt.cm.viridis(norm(g["epoch"].to_numpy(float) + 1))
            trusted = np.ones(len(g), bool)
            if judged:
                trusted = ((g["regime_xt"] == Regime.RELIABLE) & (g["regime_ty"] == Regime.RELIABLE)).to_numpy()
                saturated = ((g["regime_xt"] == Regime.SATURATED) | (g["regime_ty"] == Regime.SATURATED)).to_numpy()
                ax.scatter(x[saturated], y[saturated], c="#c0392b", marker="x", s=14, linewidths=0.8, zorder=4)
            ax.plot(x, y, color="#aaaaaa", lw=0.6, zorder=1)
            ax.scatter(x[trusted], y[trusted], c=colours[trusted], marker=marker, s=24, zorder=3)
            ax.scatter(x[~trusted], y[~trusted], facecolors="none", edgecolors=colours[~trusted], marker=marker, s=24,
                       zorder=2)
        ax.axvline(limits["H(X)"], color="#1f4e9c", ls="--", lw=1)
        ax.axvline(limits["log2 N"], color="#8e3b8f", ls=":", lw=1)
        ax.axhline(limits["H(Y)"], color="#3b9a57", ls="--", lw=1)
        ax.set_xlabel("I(X;T) (bits)")
        ax.set_ylabel("I(T;Y) (bits)")
        ax.set_title(f"{title} [{spec}]" if title else spec, fontsize=9)
    handles = [Line2D([], [], marker=markers[i % len(markers)], ls="", color="#444444", label=layer)
               for i, layer in enumerate(layers)]
    if judged:
        handles += [Line2D([], [], marker="o", ls="", color="#444444", label="trusted (both reliable)"),
                    Line2D([], [], marker="o", ls="", markerfacecolor="none", color="#444444", label="not trusted"),
                    Line2D([], [], marker="x", ls="", color="#c0392b", label="saturated")]
    handles += [Line2D([], [], color="#1f4e9c", ls="--", label=f"H(X) = {limits['H(X)']:.2f}"),
                Line2D([], [], color="#8e3b8f", ls=":", label=f"log2 N = {limits['log2 N']:.2f}"),
                Line2D([], [], color="#3b9a57", ls="--", label=f"H(Y) = {limits['H(Y)']:.2f}")]
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes[0, -1], label="epoch + 1 (log scale)")
    fig.legend(handles=handles, fontsize=7, loc="outside right upper")  # beside the panels: never clipped
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
