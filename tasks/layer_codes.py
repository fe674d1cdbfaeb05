"""layer_codes: a deterministic layer's +-1 codes of a uniform label -- Saxe et al.'s
noisy-layer setting, where Kolchinsky-Tracey bounds are used.

Y is uniform on {0, ..., 2**dim - 1}; X = 2 b(Y) - 1 in {-1, +1}^dim, b(Y) the bits of
Y, stored as floats like a layer's activations. X determines Y, so I(X;Y) = H(X) =
H(Y) = dim bits.

Noise-analytic estimators (Kolchinsky & Tracey's pairwise bounds) add Gaussian noise
Z ~ N(0, sigma2 I) to X and target I(X + Z; Y) instead. The noisy layer is ``dim``
independent binary-input Gaussian channels fed uniform bits, so
I(X + Z; Y) = dim * C(sigma2) with C the capacity of one such channel,
C = 1 - E_n[log2(1 + exp(-2 (1 + sigma n) / sigma2))], n ~ N(0, 1),
by adaptive quadrature (error < 1e-9 bits; checked by Monte Carlo in the tests).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats

from mibench._validate import check_range
from mibench.tasks.base import UniformBitsToLabel


NOISY_QUANTITY = "I(X+Z;Y), sigma2={sigma2!r}"  # how the stored table names the per-bit value


def binary_gaussian_channel_bits(sigma2: float) -> float:
    """I(B; X + Z) in bits for B uniform on {-1, +1} and Z ~ N(0, sigma2)."""
    sigma = math.sqrt(sigma2)

    def loss(n: float) -> float:  # log2(1 + exp(-a)), written to stay finite for any a
        return float(np.logaddexp(0.0, -2.0 * (1.0 + sigma * n) / sigma2)) / math.log(2) * stats.norm.pdf(n)

    # The loss lives where 1 + sigma n is near 0 or below, n ~ -1/sigma: split there.
    edge = -1.0 / sigma
    lo, hi = min(edge - 12.0, -12.0), 12.0
    parts = [integrate.quad(loss, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0] for a, b in ((lo, edge), (edge, hi))]
    return 1.0 - sum(parts)


class LayerCodes(UniformBitsToLabel):
    name = "layer_codes"
    params = {"dim": 4}
    summary = "+-1 codes of a uniform dim-bit label (a deterministic layer); with noise sigma2: dim x BPSK capacity"
    continuous = True
    label_y = True
    noisy_truth = True
    discrete_values = True
    network_like = True

    def _validate(self) -> None:
        check_range("dim", self.dim, 1, 62, integer=True)

    @property
    def mutual_information(self) -> float:
        return float(self.dim)

    @property
    def entropy_y(self) -> float:
        return float(self.dim)

    def renyi_mutual_information(self) -> float:
        """X determines Y and both are uniform on 2**dim values: every order gives dim bits."""
        return float(self.dim)

    def noisy_mutual_information(self, sigma2: float) -> float:
        """dim x C(sigma2), from the stored table where it holds sigma2 (bits)."""
        from mibench.ground_truth import stored_truths

        check_range("sigma2", sigma2, 0.0, math.inf, open_lo=True)
        stored = stored_truths(LayerCodes(dim=1).id)
        per_bit = (stored or {"values": {}})["values"].get(NOISY_QUANTITY.format(sigma2=float(sigma2)))
        return self.dim * (per_bit if per_bit is not None else binary_gaussian_channel_bits(float(sigma2)))

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2**self.dim, n, dtype=np.int64)
        bits = (labels[:, None] >> np.arange(self.dim)) & 1
        return (2.0 * bits - 1.0), labels[:, None]
