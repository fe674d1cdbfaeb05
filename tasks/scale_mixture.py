"""scale_mixture: a Gaussian pair sharing one random scale, the kind of dependence Student-t
has (magnitudes that move together even without correlation), from another law.

(X, Y) = S Z with Z ~ N(0, S_joint) (the covariance of :mod:`mibench.tasks.gaussian`) and
S = ``scale`` with probability ``share``, else 1, drawn once per row for both sides. Each
side and the pair are the whitened d-dimensional law S W (W standard normal) under a
linear map, so I = h(X) + h(Y) - h(X,Y) is the Gaussian term plus

    c = H(d_x) + H(d_y) - H(d_x + d_y),   H(d) = h(S W) = -E log f_d(S^2 T),  T ~ chi2_d,

with f_d(r^2) = sum_k w_k (2 pi v_k)^(-d/2) exp(-r^2 / (2 v_k)) over the two variances
v = 1, scale^2. Each H is one integral over T, by adaptive quadrature (relative error
~1e-10); for S = 1 the H terms cancel and I is the Gaussian's. Checked against Monte Carlo
of log f(x, y) - log f(x) - log f(y) on exact densities (tests).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import integrate, special, stats

from mibench._validate import check_range
from mibench.tasks.gaussian import Gaussian, gaussian_mi_bits


def log_density_of_radius(r2: np.ndarray, d: int, scale: float, share: float) -> np.ndarray:
    """log f_d at squared radius ``r2`` of the standard d-dimensional scale mixture (nats)."""
    variances = np.array([1.0, scale**2])
    weights = np.array([1.0 - share, share])
    keep = weights > 0
    terms = (np.log(weights[keep]) - 0.5 * d * np.log(2 * np.pi * variances[keep])
             - np.asarray(r2, dtype=float)[..., None] / (2 * variances[keep]))
    return special.logsumexp(terms, axis=-1)


@lru_cache(maxsize=1024)  # suites build a task per cell: each (d, scale, share) is integrated once
def mixture_entropy_nats(d: int, scale: float, share: float) -> float:
    """H(d) = h(S W) for W standard normal in d dimensions (nats), by quadrature."""
    total = 0.0
    chi2 = stats.chi2(d)
    for v, w in ((1.0, 1.0 - share), (scale**2, share)):
        if w == 0:
            continue
        value, _ = integrate.quad(lambda t: -log_density_of_radius(v * t, d, scale, share) * chi2.pdf(t), 0, np.inf,
                                  epsabs=0, epsrel=1e-11, limit=200)
        total += w * value
    return total


class ScaleMixture(Gaussian):
    name = "scale_mixture"
    params = {**Gaussian.params, "scale": 5.0, "share": 0.1}
    summary = "Gaussian pair sharing a random scale (S = scale with probability share): Student-t-like dependence"

    def relevant_params(self) -> list[str]:
        names = super().relevant_params()
        return names[:3] + ["scale", "share"] + names[3:]

    def _validate(self) -> None:
        check_range("scale", self.scale, 0.0, math.inf, open_lo=True)
        check_range("share", self.share, 0.0, 1.0, open_hi=True)
        super()._validate()

    def renyi_mutual_information(self) -> None:
        """Not known in closed form for a scale mixture."""
        return None

    @property
    def mutual_information(self) -> float:
        h = lambda d: mixture_entropy_nats(d, self.scale, self.share)  # noqa: E731
        correction = h(self.dim_x) + h(self.dim_y) - h(self.dim_x + self.dim_y)
        return gaussian_mi_bits(self.cov, self.dim_x) + correction / math.log(2)

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = self._gaussian_draw(n, rng)
        s = np.where(rng.random(n) < self.share, self.scale, 1.0)
        return self._finish(z * s[:, None])
