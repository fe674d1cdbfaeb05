"""Other people's ways of computing the same numbers, for tests and side-by-side timing.

``ib_numpy_mi`` follows the method of Shwartz-Ziv & Tishby's IDNNs code: digitize
every activation against ``np.linspace(lo, hi, n_edges)``, find distinct rows with
``np.unique`` over a void view of each row, then I(T;Y) = H(T) - sum_y p(y) H(T|y).
"""
from __future__ import annotations

import numpy as np


def _row_probabilities(rows: np.ndarray) -> np.ndarray:
    as_void = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
    _, counts = np.unique(as_void, return_counts=True)
    return counts / counts.sum()


def _entropy_bits(p: np.ndarray) -> float:
    return float(-np.sum(p * np.log2(p)))


def ib_numpy_mi(activations: np.ndarray, labels: np.ndarray, n_edges: int = 30, lo: float = -1.0, hi: float = 1.0) -> float:
    """Plug-in I(T;Y) in bits, the NumPy way (see module docstring)."""
    edges = np.linspace(lo, hi, n_edges, dtype=activations.dtype)
    binned = edges[np.digitize(activations.reshape(-1), edges) - 1].reshape(activations.shape)
    h_t = _entropy_bits(_row_probabilities(binned))
    h_t_given_y = 0.0
    for label in np.unique(labels):
        mask = labels == label
        h_t_given_y += mask.mean() * _entropy_bits(_row_probabilities(binned[mask]))
    return h_t - h_t_given_y
