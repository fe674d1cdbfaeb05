"""MI-preserving transforms: invertible maps applied to the X side and the Y side
separately, so I(f(X); g(Y)) = I(X; Y). Composable; a task's id lists them in order.

Per coordinate (strictly increasing):
- ``half_cube``: a |a|^(1/2);  ``asinh``;  ``normal_cdf``: Phi(a);
- ``wiggly``: a + 0.4 sin(2a) (derivative 1 + 0.8 cos 2a > 0);  ``tanh``;
- new marginals for a standard normal coordinate, the quantile of another law at Phi(a)
  (light to heavy tails): ``logistic``, ``laplace``, ``t2`` (Student-t with 2 dof),
  ``cauchy``. Computed from log Phi(-|a|) so that the tails keep their precision.
Joint (on one side's vector; identity on a 1-dimensional side):
- ``rotation``: a fixed random orthogonal matrix (seeded);
- ``spiral``: rotate the first two coordinates by the angle ||v||^2 (the norm is
  unchanged, so rotating back by the same angle inverts it; bmi's spiral idea).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import special

def _upper_tail(a: np.ndarray) -> np.ndarray:
    """Phi(-|a|): the smaller tail probability at each coordinate, without cancellation."""
    return special.ndtr(-np.abs(a))


def _logistic(a: np.ndarray) -> np.ndarray:
    return special.log_ndtr(a) - special.log_ndtr(-a)  # logit(Phi(a))


def _laplace(a: np.ndarray) -> np.ndarray:
    return -np.sign(a) * (np.log(2.0) + special.log_ndtr(-np.abs(a)))  # Laplace(0, 1) quantile of Phi(a)


def _t2(a: np.ndarray) -> np.ndarray:
    q = _upper_tail(a)  # t2 quantile of p: (2p - 1) / sqrt(2 p (1 - p)), symmetric about p = 1/2
    return np.sign(a) * (1 - 2 * q) / np.sqrt(2 * q * (1 - q))


def _cauchy(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # tan(pi (p - 1/2)) = sign(a) cot(pi Phi(-|a|)); 0 at a = 0
        return np.sign(a) / np.tan(np.pi * _upper_tail(a))


PER_COORDINATE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "half_cube": lambda a: a * np.sqrt(np.abs(a)),
    "asinh": np.arcsinh,
    "normal_cdf": special.ndtr,
    "wiggly": lambda a: a + 0.4 * np.sin(2 * a),
    "tanh": np.tanh,
    "logistic": _logistic,
    "laplace": _laplace,
    "t2": _t2,
    "cauchy": _cauchy,
}
JOINT = ("rotation", "spiral")
TRANSFORMS = tuple(PER_COORDINATE) + JOINT


def _rotation(v: np.ndarray, seed: int) -> np.ndarray:
    d = v.shape[1]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return v @ (q * np.sign(np.diag(r)))


def spiral(v: np.ndarray, i: int = 0, j: int = 1, speed: float = 1.0) -> np.ndarray:
    """Rotate coordinates i and j of each row by the angle ``speed * ||v||^2``, as
    exp(angle A) v with A[i, j] = -1, A[j, i] = 1 (the generator of the released
    ``benchmark-mi``). A rotation keeps the norm, so the same map with -speed inverts it.
    The defaults are this module's ``spiral``."""
    angle = speed * np.sum(v**2, axis=1)
    out = v.copy()
    c, s = np.cos(angle), np.sin(angle)
    out[:, i] = c * v[:, i] - s * v[:, j]
    out[:, j] = s * v[:, i] + c * v[:, j]
    return out


def apply(names: tuple[str, ...], v: np.ndarray, seed: int) -> np.ndarray:
    """Apply the named transforms in order to one side ``v (n, d)``."""
    for name in names:
        if name in PER_COORDINATE:
            v = PER_COORDINATE[name](v)
        elif v.shape[1] >= 2:
            v = _rotation(v, seed) if name == "rotation" else spiral(v)
    return v


def check(names: object) -> tuple[str, ...]:
    """Validate a transform list; returns it as a tuple."""
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"transforms must be a tuple of names from {', '.join(TRANSFORMS)}; got {names!r}")
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown transform(s) {', '.join(unknown)}; valid transforms: {', '.join(TRANSFORMS)}")
    return tuple(names)
