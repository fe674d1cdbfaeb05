"""Measures built from estimators (all in bits): information-plane coordinates,
interaction information, the Generalized-IB synergy and complexity terms, and a
kernel-PCA reduction for high-dimensional inputs.

Conventions and choices (the papers leave them open; tested in tests/test_measures.py):
- Information plane (:func:`plane_coordinates`, the one rule the dumps' planes and
  scores use too), ``deterministic=True``: a deterministic network on a finite set of
  distinct inputs has I(X;T) = H(T) (Shwartz-Ziv & Tishby), so count-based estimators
  report their own H(T); the Kolchinsky-Tracey estimator reports H(T+Z) - H(Z); the
  others estimate I(X;T) from the inputs.
- Interaction information follows McGill: I(X;Y;Z) = I(X;Y) - I(X;Y|Z), and the
  n-variable co-information is -sum_{S nonempty} (-1)^|S| H(S); synergy is negative.
- Feature-wise synergy (GIB): (1/n) sum_i [I(X;Y) - I(X_i;Y) - I(X_-i;Y)] over the n
  columns of X (I of an empty set is 0).
- PMI reweighting: sample i gets weight w_i = p(z_i, y_i) / (p(z_i) p(y_i)) from the
  plug-in frequencies of the (discrete) representation z and labels y; Q is the
  label of rows drawn with replacement with probability proportional to w (n draws,
  seeded), paired with those rows' features X.
- GIB complexity: (1/(2n)) sum_i [I(X_-i; Q) + I(X_i; Q)]; the GIB objective is
  I(Z;Y) minus that over beta; the sum-versus-whole synergy is I(X;Y) - sum_i I(X_i;Y).
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np
import torch

from mibench.interface import Estimator
from mibench.registry import make_estimator


def _columns(x: Any) -> np.ndarray | torch.Tensor:
    """View (n,) as (n, 1); leave (n, d) alone."""
    return x[:, None] if x.ndim == 1 else x


def _select(x: Any, columns: Sequence[int]) -> Any:
    index = list(columns)
    return x[:, index]


def input_information_source(estimator: Estimator, deterministic: bool = True) -> str:
    """Where a layer's I(X;T) comes from for this estimator: ``"H(T)"`` (count-based, a
    deterministic layer: I(X;T) = H(T), the estimator's own), else ``"inputs"``:
    estimated against the inputs X, unless the estimator defines it from T alone
    (:meth:`~mibench.BaseEstimator.layer_information`: Kolchinsky-Tracey's H(T+Z) - H(Z))."""
    return "H(T)" if deterministic and estimator.count_based else "inputs"


def plane_coordinates(estimator: str | Estimator, t: Any, y: Any, x: Any = None, *,
                      deterministic: bool = True) -> tuple[Any, Any]:
    """(I(X;T), I(T;Y)) in bits of a layer's activations ``t`` ((n, d), or batched (b, n, d)
    for b estimates each) and labels ``y``, by the rule of :func:`input_information_source`;
    ``x``, the inputs, is needed only where I(X;T) is estimated against them (as I(T;X), T
    first as in I(T;Y)). Count-based estimators read H(T) off the same counting pass as
    I(T;Y)."""
    est = make_estimator(estimator)
    i_ty, h_t, _ = est.mutual_information_parts(t, y)
    if input_information_source(est, deterministic) == "H(T)":
        return h_t, i_ty
    from_layer = est.layer_information(t) if deterministic else None
    if from_layer is not None:
        return from_layer, i_ty
    if x is None:
        raise ValueError(f"{est.spec} estimates I(X;T) from the inputs, and none were given (x; a dump's 'inputs'): "
                         "record the inputs, or use a count-based estimator (I(X;T) = H(T) for a deterministic layer)")
    return est.mutual_information(t, x), i_ty


def information_plane(x: Any, t: Any, y: Any, estimator: str | Estimator = "binned(plugin, rule=fixed, bins=30)", *, deterministic: bool = True) -> tuple[float, float]:
    """(I(X;T), I(T;Y)) in bits for inputs x, a layer's activations t and labels y
    (:func:`plane_coordinates`)."""
    i_xt, i_ty = plane_coordinates(estimator, t, y, x, deterministic=deterministic)
    return float(i_xt), float(i_ty)


def interaction_information(x: Any, y: Any, z: Any, estimator: str | Estimator = "plugin") -> float:
    """McGill's I(X;Y;Z) = I(X;Y) - I(X;Y|Z) in bits (negative: synergy)."""
    est = make_estimator(estimator)
    return float(est.mutual_information(x, y)) - float(est.conditional_mutual_information(x, y, z))


def co_information(variables: Sequence[Any], estimator: str | Estimator = "plugin") -> float:
    """-sum over nonempty subsets S of (-1)^|S| H(V_S), in bits."""
    est = make_estimator(estimator)
    parts = [_columns(np.asarray(v)) for v in variables]
    total = 0.0
    for size in range(1, len(parts) + 1):
        for subset in itertools.combinations(parts, size):
            total -= (-1) ** size * float(est.entropy(np.hstack(subset)))
    return total


def _mi_of_columns(x: Any, y: Any, columns: Sequence[int], est: Estimator) -> float:
    return float(est.mutual_information(_select(x, columns), y)) if columns else 0.0


def synergy(x: Any, y: Any, estimator: str | Estimator = "plugin") -> float:
    """GIB feature-wise synergy (1/n) sum_i [I(X;Y) - I(X_i;Y) - I(X_-i;Y)], bits."""
    est = make_estimator(estimator)
    x = _columns(x)
    n = x.shape[1]
    whole = float(est.mutual_information(x, y))
    terms = [whole - _mi_of_columns(x, y, [i], est) - _mi_of_columns(x, y, [j for j in range(n) if j != i], est) for i in range(n)]
    return float(np.mean(terms))


def sum_vs_whole(x: Any, y: Any, estimator: str | Estimator = "plugin") -> float:
    """I(X;Y) - sum_i I(X_i;Y) in bits (Schneidman et al. 2003)."""
    est = make_estimator(estimator)
    x = _columns(x)
    return float(est.mutual_information(x, y)) - sum(_mi_of_columns(x, y, [i], est) for i in range(x.shape[1]))


def pmi_weights(z: Any, y: Any) -> np.ndarray:
    """w_i = p(z_i, y_i) / (p(z_i) p(y_i)) from plug-in frequencies of integer codes."""
    z = _columns(np.asarray(z))
    y = _columns(np.asarray(y))
    if z.dtype.kind not in "biu" or y.dtype.kind not in "biu":
        raise TypeError("pmi_weights needs integer codes for z and y; bin continuous representations first")
    n = len(z)
    ids = lambda a: np.unique(a, axis=0, return_inverse=True)[1].reshape(-1)  # noqa: E731
    iz, iy = ids(z), ids(y)
    izy = ids(np.column_stack([iz, iy]))
    freq = lambda i: np.bincount(i)[i] / n  # noqa: E731
    return freq(izy) / (freq(iz) * freq(iy))


def pmi_resample(x: Any, z: Any, y: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, Q): rows drawn with replacement with probability proportional to the PMI
    weights of (z, y); Q is their label."""
    w = pmi_weights(z, y)
    rows = np.random.default_rng(seed).choice(len(w), size=len(w), replace=True, p=w / w.sum())
    return _columns(np.asarray(x))[rows], _columns(np.asarray(y))[rows]


def gib_complexity(x: Any, z: Any, y: Any, estimator: str | Estimator = "plugin", seed: int = 0) -> float:
    """(1/(2n)) sum_i [I(X_-i; Q) + I(X_i; Q)] in bits, Q the PMI-reweighted label."""
    est = make_estimator(estimator)
    xq, q = pmi_resample(x, z, y, seed)
    n = xq.shape[1]
    total = sum(
        _mi_of_columns(xq, q, [j for j in range(n) if j != i], est) + _mi_of_columns(xq, q, [i], est) for i in range(n)
    )
    return total / (2 * n)


def gib_objective(prediction: Any, y: Any, x: Any, z: Any, beta: float = 1.0, estimator: str | Estimator = "plugin", seed: int = 0) -> float:
    """I(Y_hat; Y) - gib_complexity / beta, in bits."""
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    est = make_estimator(estimator)
    return float(est.mutual_information(prediction, y)) - gib_complexity(x, z, y, est, seed) / beta


def kernel_pca(x: Any, n_components: int, gamma: float | None = None) -> torch.Tensor:
    """RBF kernel PCA of ``x (n, d)`` to ``(n, n_components)`` in torch, on x's device.

    K = exp(-gamma |x_i - x_j|^2), gamma = 1/d by default (the GIB paper used
    1/3072 for CIFAR-10, i.e. 1/d); K is double-centred and the training points are
    projected as sqrt(lambda_k) v_k (as scikit-learn's KernelPCA.fit_transform).
    """
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.float64)
    n, d = t.shape
    if not 1 <= n_components <= n:
        raise ValueError(f"n_components must be in [1, n={n}], got {n_components}")
    gamma = 1.0 / d if gamma is None else gamma
    k = torch.exp(-gamma * torch.cdist(t, t).pow(2))
    row = k.mean(dim=0, keepdim=True)
    centred = k - row - row.T + k.mean()
    values, vectors = torch.linalg.eigh(centred)
    values, vectors = values.flip(0)[:n_components], vectors.flip(1)[:, :n_components]
    return vectors * values.clamp(min=0).sqrt()
