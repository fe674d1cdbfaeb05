"""gaussian and student_t: correlated continuous pairs with closed-form MI.

Covariance (unit variances; X block then Y block):
- ``sparse``: X_i and Y_i correlated by rho for the first ``pairs`` coordinates,
  everything else independent: I = -(pairs / 2) log2(1 - rho**2).
- ``dense``: every X-Y covariance rho, every within-block covariance ``within``.
Gaussian: I = 1/2 log2(det S_x det S_y / det S) (bits).

Student-t with dof nu (Gaussian scale matrix S divided by sqrt(W / nu), W ~ chi2_nu)
has t marginals with the same nu, so I = h(X) + h(Y) - h(X,Y) is the Gaussian term
plus c = g(d_x) + g(d_y) - g(d_x + d_y), derived from the entropies
h_d = 1/2 log det S + d/2 log(nu pi) + g(d) with
g(d) = log Gamma(nu/2) - log Gamma((nu+d)/2) + (nu+d)/2 [psi((nu+d)/2) - psi(nu/2)].
(The d/2 log(nu pi) terms cancel.) c > 0: even rho = 0 leaves shared-scale dependence.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from mibench._validate import check_choice, check_range
from mibench.tasks import transforms
from mibench.tasks.base import Task


def covariance(dim_x: int, dim_y: int, rho: float, structure: str, pairs: int | None, within: float) -> np.ndarray:
    """The joint covariance (dim_x + dim_y square), unit variances."""
    d = dim_x + dim_y
    cov = np.eye(d)
    if structure == "sparse":
        for i in range(min(dim_x, dim_y) if pairs is None else pairs):  # None: every pair
            cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    else:
        cov[:dim_x, :dim_x] = cov[dim_x:, dim_x:] = within
        cov[:dim_x, dim_x:] = cov[dim_x:, :dim_x] = rho
        np.fill_diagonal(cov, 1.0)
    return cov


def gaussian_mi_bits(cov: np.ndarray, dim_x: int) -> float:
    """1/2 log2(det S_x det S_y / det S) from log-determinants."""
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return float(0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov)) / math.log(2))


def student_t_correction_bits(dof: float, dim_x: int, dim_y: int) -> float:
    """c = g(d_x) + g(d_y) - g(d_x + d_y) in bits (see the module docstring)."""

    def g(d: int) -> float:
        a, b = dof / 2, (dof + d) / 2
        return special.gammaln(a) - special.gammaln(b) + b * (special.digamma(b) - special.digamma(a))

    return float((g(dim_x) + g(dim_y) - g(dim_x + dim_y)) / math.log(2))


class Gaussian(Task):
    name = "gaussian"
    continuous = True
    params = {"dim_x": 1, "dim_y": 1, "rho": 0.5, "structure": "sparse", "pairs": None, "within": 0.0, "transforms": (), "transform_seed": 0}
    summary = "correlated multivariate normal (sparse pairs or dense), optional MI-preserving transforms"

    def relevant_params(self) -> list[str]:
        names = ["dim_x", "dim_y", "rho", "structure"]
        names += ["pairs"] if self.structure == "sparse" else ["within"]
        if self.transforms:
            names += ["transforms"] + (["transform_seed"] if "rotation" in self.transforms else [])
        return names

    def _validate(self) -> None:
        check_range("dim_x", self.dim_x, 1, math.inf, integer=True)
        check_range("dim_y", self.dim_y, 1, math.inf, integer=True)
        check_choice("structure", self.structure, ("sparse", "dense"))
        check_range("rho", self.rho, -1.0, 1.0, open_lo=True, open_hi=True)
        if self.pairs is None:
            self._params["pairs"] = min(self.dim_x, self.dim_y)
        check_range("pairs", self.pairs, 0, min(self.dim_x, self.dim_y), integer=True)
        check_range("within", self.within, -1.0, 1.0, open_lo=True, open_hi=True)
        self._params["transforms"] = transforms.check(self.transforms)
        check_range("transform_seed", self.transform_seed, 0, math.inf, integer=True)
        self.cov = self._covariance()
        try:
            self._chol = np.linalg.cholesky(self.cov)
        except np.linalg.LinAlgError:
            raise ValueError(self._not_positive_definite()) from None

    def _covariance(self) -> np.ndarray:
        return covariance(self.dim_x, self.dim_y, self.rho, self.structure, self.pairs, self.within)

    def _not_positive_definite(self) -> str:
        lo = float(np.linalg.eigvalsh(self.cov)[0])
        hint = (
            f"with structure=dense the cross correlation must satisfy |rho| < sqrt((1+(dx-1)w)(1+(dy-1)w)/(dx*dy)) "
            f"for within=w; lower rho or within"
            if self.structure == "dense"
            else "lower |rho|"
        )
        return f"covariance is not positive definite (smallest eigenvalue {lo:.3g}); {hint}"

    @property
    def mutual_information(self) -> float:
        return gaussian_mi_bits(self.cov, self.dim_x)

    def renyi_mutual_information(self) -> float | None:
        """The Renyi entropy of a normal law is its Shannon entropy plus a term in the
        dimension alone, which cancels in H_a(X) + H_a(Y) - H_a(X,Y); orthogonal maps keep
        it. Nonlinear transforms change Renyi entropies, so then None."""
        return self.mutual_information if set(self.transforms) <= {"rotation"} else None

    def _gaussian_draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, self.dim_x + self.dim_y)) @ self._chol.T

    def _finish(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = z[:, : self.dim_x], z[:, self.dim_x :]
        seed = self.transform_seed
        return transforms.apply(self.transforms, x, seed), transforms.apply(self.transforms, y, seed + 1)

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return self._finish(self._gaussian_draw(n, rng))


class StudentT(Gaussian):
    name = "student_t"
    params = {**Gaussian.params, "dof": 5.0}
    summary = "multivariate Student-t: Gaussian MI plus the shared-scale dof term"

    def relevant_params(self) -> list[str]:
        names = super().relevant_params()
        return names[:3] + ["dof"] + names[3:]

    def _validate(self) -> None:
        check_range("dof", self.dof, 0.0, math.inf, open_lo=True)
        super()._validate()

    def renyi_mutual_information(self) -> None:
        """The Student-t's Renyi MI depends on the order: not known in closed form here."""
        return None

    @property
    def gaussian_part(self) -> float:
        """The Gaussian term 1/2 log2(det S_x det S_y / det S) of the scale matrix."""
        return gaussian_mi_bits(self.cov, self.dim_x)

    @property
    def mutual_information(self) -> float:
        return self.gaussian_part + student_t_correction_bits(self.dof, self.dim_x, self.dim_y)

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = self._gaussian_draw(n, rng)
        scale = np.sqrt(rng.chisquare(self.dof, n) / self.dof)
        return self._finish(z / scale[:, None])
