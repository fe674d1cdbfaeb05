"""MI-preserving transforms: invertible maps applied to the X side and the Y side
separately, so I(f(X); g(Y)) = I(X; Y). Composable; a task's id lists them in order.

Per coordinate (strictly increasing):
- ``half_cube``: a |a|^(1/2);  ``asinh``;  ``normal_cdf``: Phi(a);
- ``wiggly``: a + 0.4 sin(2a) (derivative 1 + 0.8 cos 2a > 0).
Joint (on one side's vector; identity on a 1-dimensional side):
- ``rotation``: a fixed random orthogonal matrix (seeded);
- ``spiral``: rotate the first two coordinates by the angle ||v||^2 (the norm is
  unchanged, so rotating back by the same angle inverts it; bmi's spiral idea).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import special

PER_COORDINATE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "half_cube": lambda a: a * np.sqrt(np.abs(a)),
    "asinh": np.arcsinh,
    "normal_cdf": special.ndtr,
    "wiggly": lambda a: a + 0.4 * np.sin(2 * a),
}
JOINT = ("rotation", "spiral")
TRANSFORMS = tuple(PER_COORDINATE) + JOINT


def _rotation(v: np.ndarray, seed: int) -> np.ndarray:
    d = v.shape[1]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return v @ (q * np.sign(np.diag(r)))


def _spiral(v: np.ndarray) -> np.ndarray:
    angle = np.sum(v**2, axis=1)
    out = v.copy()
    c, s = np.cos(angle), np.sin(angle)
    out[:, 0] = c * v[:, 0] - s * v[:, 1]
    out[:, 1] = s * v[:, 0] + c * v[:, 1]
    return out


def apply(names: tuple[str, ...], v: np.ndarray, seed: int) -> np.ndarray:
    """Apply the named transforms in order to one side ``v (n, d)``."""
    for name in names:
        if name in PER_COORDINATE:
            v = PER_COORDINATE[name](v)
        elif v.shape[1] >= 2:
            v = _rotation(v, seed) if name == "rotation" else _spiral(v)
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
