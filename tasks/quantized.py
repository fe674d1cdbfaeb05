"""quantized_gaussian: what a binning estimator actually targets.

(Z_x, Z_y) standard bivariate normal with correlation rho, ``dim`` independent
pairs; X = a(Z_x), Y = a(Z_y) for the activation a in {identity, tanh} (a hidden
unit). The samples are the continuous values; the truth is the MI and entropy of
the variables **discretized** on B equal bins over ``range`` = (lo, hi), with values
outside falling in the end bins -- exactly mibench's
``binned(..., rule=fixed, bins=B, range=(lo, hi))``. The continuous MI,
-(dim/2) log2(1 - rho**2), is given beside it.

Bin probabilities: P(i, j) = int_{cell i} phi(z) [Phi((b_j+1 - rho z)/s) - Phi((b_j - rho z)/s)] dz
with s = sqrt(1 - rho**2), by composite Gauss-Legendre quadrature over each cell
(edges mapped through a^-1; the unbounded end cells cut at |z| = 12, where the
normal mass is below 1e-32). The error bound is the change from doubling the nodes.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from mibench._validate import check_choice, check_pair, check_range
from mibench.tasks.base import Task, shannon_entropy

_TAIL = 12.0


def _normal_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Phi(hi) - Phi(lo), taken in whichever tail avoids cancellation."""
    upper = lo > 0
    return np.where(upper, special.ndtr(-lo) - special.ndtr(-hi), special.ndtr(hi) - special.ndtr(lo))


def z_edges(bins: int, value_range: tuple[float, float], activation: str) -> np.ndarray:
    """Cell edges in z-space (B + 1 values, the outer ones -inf / +inf)."""
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    if activation == "tanh":
        with np.errstate(divide="ignore"):
            edges = np.arctanh(np.clip(edges, -1.0, 1.0))
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def cell_probabilities(rho: float, edges: np.ndarray, nodes: int = 64) -> np.ndarray:
    """P(i, j), a (B, B) table of the discretized pair's joint law."""
    finite = np.clip(edges, -_TAIL, _TAIL)
    t, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = finite[:-1, None], finite[1:, None]
    z = 0.5 * (hi - lo) * t[None, :] + 0.5 * (hi + lo)  # (B, nodes)
    weight = 0.5 * (hi - lo) * w[None, :] * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    s = math.sqrt(1 - rho**2)
    if s == 0.0:
        raise ValueError("rho must lie strictly inside (-1, 1)")
    ylo = (edges[None, None, :-1] - rho * z[..., None]) / s
    yhi = (edges[None, None, 1:] - rho * z[..., None]) / s
    return np.einsum("bn,bnj->bj", weight, _normal_mass(ylo, yhi))


def discretized_truths(rho: float, bins: int, value_range: tuple[float, float], activation: str) -> tuple[dict[str, float], float]:
    """I and H (bits, one pair) of the discretized variables, and an error bound."""
    edges = z_edges(bins, value_range, activation)

    def truths(nodes: int) -> dict[str, float]:
        joint = cell_probabilities(rho, edges, nodes)
        h_x = shannon_entropy(joint.sum(axis=1))
        h_y = shannon_entropy(joint.sum(axis=0))
        return {"I(X;Y)": h_x + h_y - shannon_entropy(joint), "H(X)": h_x, "H(Y)": h_y}

    fine, coarse = truths(96), truths(48)
    error = max(abs(fine[k] - coarse[k]) for k in fine) + 1e-12
    return fine, error


class QuantizedGaussian(Task):
    name = "quantized_gaussian"
    continuous = True
    binned_truth = True
    network_like = True
    params = {"rho": 0.9, "bins": 30, "range": (-1.0, 1.0), "activation": "tanh", "dim": 1}
    summary = "correlated Gaussian (or tanh unit) with the exact MI of its binned values"
    truth_method = "quadrature"

    def _validate(self) -> None:
        check_range("rho", self.rho, -1.0, 1.0, open_lo=True, open_hi=True)
        check_range("bins", self.bins, 1, 10_000, integer=True)
        check_choice("activation", self.activation, ("identity", "tanh"))
        check_range("dim", self.dim, 1, math.inf, integer=True)
        self._params["range"] = check_pair("range", self.range)

    @functools.cached_property
    def _truths(self) -> dict[str, float]:
        """Stored truths when this task is in the ground-truth table, else computed now."""
        from mibench.ground_truth import stored_truths

        stored = stored_truths(self.id)
        if stored is not None:
            self.truth_method, self.truth_error = stored["method"], stored["error"]
            return stored["values"]
        pair, error = discretized_truths(self.rho, self.bins, self.range, self.activation)
        self.truth_method, self.truth_error = "quadrature (computed on demand)", self.dim * error
        return {k: self.dim * v for k, v in pair.items()}

    @property
    def dim_x(self) -> int:
        return self.dim

    @property
    def dim_y(self) -> int:
        return self.dim

    @property
    def mutual_information(self) -> float:
        """I of the discretized variables (bits): what a fixed-rule binning estimator targets."""
        return self._truths["I(X;Y)"]

    @property
    def entropy_x(self) -> float:
        return self._truths["H(X)"]

    @property
    def entropy_y(self) -> float:
        return self._truths["H(Y)"]

    @property
    def continuous_mutual_information(self) -> float:
        """I of the continuous pair, -(dim/2) log2(1 - rho**2) bits."""
        return -0.5 * self.dim * math.log2(1 - self.rho**2)

    def truths(self) -> dict[str, float]:
        return {**self._truths, "continuous I(X;Y)": self.continuous_mutual_information}

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        zx = rng.standard_normal((n, self.dim))
        zy = self.rho * zx + math.sqrt(1 - self.rho**2) * rng.standard_normal((n, self.dim))
        if self.activation == "tanh":
            return np.tanh(zx), np.tanh(zy)
        return zx, zy
