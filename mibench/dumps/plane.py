"""The information plane of a dump: I(X;T) against I(T;Y), per layer and epoch.

For count-based estimators (discrete, binned) a layer of a deterministic network on
distinct inputs has I(X;T) = H(T) (Shwartz-Ziv & Tishby's convention), so I(X;T) is the
estimator's H(T); Kolchinsky-Tracey reports H(T+Z) - H(Z); other estimators need the
dump's ``inputs`` and estimate I(X;T) directly. All snapshots of a layer go through
the batched core in one call (``(b, n, d)``), not a loop over epochs.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench.dumps.format import Dump, DumpError
from mibench.estimators.discrete import CountBased
from mibench.estimators.kernel import KolchinskyTracey
from mibench.registry import make_estimator

_BATCH_ELEMENTS = 20_000_000  # values per batched call: more epochs are split into chunks


def information_plane(dump: Dump, estimator: Any = "binned(plugin, rule=fixed, bins=30)") -> pd.DataFrame:
    """One row per snapshot: layer, epoch, width, I(X;T), I(T;Y) (bits), and n."""
    est = make_estimator(estimator)
    spec = est.spec
    rows = []
    for layer in dump.layers:
        epochs = dump.epochs_of(layer)
        per_call = max(1, _BATCH_ELEMENTS // (dump.n * dump.width(layer)))
        for start in range(0, len(epochs), per_call):
            chunk = epochs[start : start + per_call]
            stacked = dump.stacked(layer, chunk)
            i_xt, i_ty = _plane_values(est, stacked, dump)
            rows += [{"layer": layer, "epoch": e, "width": stacked.shape[2], "I(X;T)": float(a), "I(T;Y)": float(b),
                      "n": dump.n, "estimator": spec} for e, a, b in zip(chunk, i_xt, i_ty)]
    return pd.DataFrame(rows)


def _plane_values(est: Any, stacked: np.ndarray, dump: Dump) -> tuple[np.ndarray, np.ndarray]:
    labels = dump.labels
    if isinstance(est, CountBased):
        i_ty, h_t, _ = est.mutual_information_parts(stacked, labels)
        return np.atleast_1d(h_t), np.atleast_1d(i_ty)
    i_ty = np.atleast_1d(est.mutual_information(stacked, labels))
    if isinstance(est, KolchinskyTracey):
        return np.atleast_1d(est.entropy(stacked)) - est.noise_entropy_bits(stacked.shape[2]), i_ty
    if dump.inputs is None:
        raise DumpError(f"{est.spec} estimates I(X;T) from the inputs, and this dump has no 'inputs'; use a count-based "
                        "estimator (I(X;T) = H(T) for a deterministic layer) or record the inputs")
    return np.atleast_1d(est.mutual_information(stacked, dump.inputs.astype(np.float64))), i_ty


def plane_limits(dump: Dump) -> dict[str, float]:
    """The lines an information plane is bounded by (bits): H(X) (of the distinct inputs,
    equal weights), H(Y) and log2 N."""
    ids = dump.input_ids
    distinct = len(np.unique(ids)) if ids is not None else (len(np.unique(dump.inputs, axis=0)) if dump.inputs is not None else dump.n)
    counts = np.unique(dump.labels, return_counts=True)[1] / dump.n
    return {"H(X)": math.log2(distinct), "H(Y)": float(-np.sum(counts * np.log2(counts))), "log2 N": math.log2(dump.n)}


def plot_plane(points: pd.DataFrame, limits: dict[str, float], path: str | Path, title: str = "",
               trusted: pd.Series | None = None) -> Path:
    """x = I(X;T), y = I(T;Y), one line per layer, epochs coloured on a log scale, the
    H(X), H(Y) and log2 N limits drawn; with ``trusted`` (one bool per point), untrusted
    points are drawn hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    epochs = points["epoch"].to_numpy(float) + 1
    norm = LogNorm(vmin=epochs.min(), vmax=max(epochs.max(), epochs.min() * 1.0001))
    markers = "osD^v<>ph*"
    for i, (layer, g) in enumerate(points.groupby("layer", sort=False)):
        g = g.sort_values("epoch")
        ax.plot(g["I(X;T)"], g["I(T;Y)"], color="#999999", lw=0.6, zorder=1)
        filled = np.ones(len(g), bool) if trusted is None else trusted.loc[g.index].to_numpy(bool)
        colours = plt.cm.viridis(norm(g["epoch"].to_numpy(float) + 1))
        ax.scatter(g["I(X;T)"][filled], g["I(T;Y)"][filled], c=colours[filled], marker=markers[i % len(markers)], s=22,
                   zorder=2, label=layer)
        ax.scatter(g["I(X;T)"][~filled], g["I(T;Y)"][~filled], facecolors="none", edgecolors=colours[~filled],
                   marker=markers[i % len(markers)], s=22, zorder=2)
    styles = {"H(X)": ("#1f4e9c", "--"), "log2 N": ("#8e3b8f", ":")}
    for name, (colour, ls) in styles.items():
        ax.axvline(limits[name], color=colour, ls=ls, lw=1, label=f"{name} = {limits[name]:.2f} bits")
    ax.axhline(limits["H(Y)"], color="#3b9a57", ls="--", lw=1, label=f"H(Y) = {limits['H(Y)']:.2f} bits")
    sm = plt.cm.ScalarMappable(norm=norm, cmap="viridis")
    fig.colorbar(sm, ax=ax, label="epoch + 1 (log scale)")
    ax.set_xlabel("I(X;T) (bits)")
    ax.set_ylabel("I(T;Y) (bits)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "Information plane", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
