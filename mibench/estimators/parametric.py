"""Parametric estimators: a Gaussian fit, and the Gaussian copula (GCMI).

- ``parametric_gaussian``: H = 1/2 log det(2 pi e S) of the sample covariance S;
  I(X;Y) = H(X) + H(Y) - H(X,Y) = 1/2 log(det S_x det S_y / det S). Exact for
  Gaussians, blind to any non-Gaussian dependence.
- ``gcmi`` (Ince et al. 2017): each column is replaced by the normal scores of its
  ranks, Phi^-1(rank / (n + 1)) (ties get their average rank), then Gaussian MI.
  A lower bound on the MI of the copula; invariant to monotone maps of each column.

Bias correction (both, on by default; Ince et al. 2017, their gcmi code): the
log-determinant of a d-dimensional sample covariance is biased; each entropy is
corrected by  - d (ln 2 - ln(n - 1)) / 2 - sum_{i=1..d} psi((n - i) / 2) / 2  nats.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special

from mibench._validate import check_bool
from mibench.estimators.continuous import ContinuousEstimator

_CONDITION_LIMIT = 1e12


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n of each column of ``x (n, d)`` (float64), ties given their average rank."""
    return torch.stack([_column_ranks(x[:, j].contiguous()) for j in range(x.shape[1])], dim=1)


def _column_ranks(column: torch.Tensor) -> torch.Tensor:
    n = column.shape[0]
    if column.device.type == "cpu":  # numpy's vectorised argsort is several times faster than torch's here
        perm = torch.from_numpy(np.argsort(column.numpy()))
        ordered = column[perm]
    else:
        ordered, perm = torch.sort(column)
    ranks = torch.empty(n, dtype=torch.float64, device=column.device)
    is_start = torch.ones(n, dtype=torch.bool, device=column.device)
    is_start[1:] = ordered[1:] != ordered[:-1]
    if bool(is_start.all()):  # no ties: the rank is the sorted position
        return ranks.scatter_(0, perm, torch.arange(1, n + 1, dtype=torch.float64, device=column.device))
    group = torch.cumsum(is_start.to(torch.int64), dim=0) - 1
    starts = torch.nonzero(is_start)[:, 0].to(torch.float64)
    ends = torch.cat([starts[1:], torch.tensor([float(n)], dtype=torch.float64, device=column.device)]) - 1
    return ranks.scatter_(0, perm, ((starts + ends) / 2 + 1)[group])


def copula_normal(x: torch.Tensor) -> torch.Tensor:
    """Normal scores of the ranks: Phi^-1(rank / (n + 1)) per column."""
    return torch.special.ndtri(average_ranks(x) / (x.shape[0] + 1))


class ParametricGaussian(ContinuousEstimator):
    """Gaussian-fit entropy and MI (bits) from log-determinants of the covariance."""

    name = "parametric_gaussian"
    params = {"bias_correct": True}
    summary = "log-det of the sample covariance; exact for Gaussians, blind to nonlinear dependence"
    reference = "Cover & Thomas (2006) ch. 8; bias correction: Ince et al. (2017) Hum. Brain Mapp. 38:1541"
    needs_continuous_values = True

    def check_params(self, n_variables: int) -> None:
        check_bool("bias_correct", self._params["bias_correct"], owner=self.name)

    def ceiling(self, n: int) -> float:
        return math.inf

    def min_rows(self, columns: int) -> int:
        """More rows than the joint covariance has dimensions, plus one (its log-det)."""
        return columns + 2

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_entropy_nats(self._transform(x), self._params["bias_correct"], self.name)

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = self._transform(x), self._transform(y)
        h = lambda v: gaussian_entropy_nats(v, self._params["bias_correct"], self.name)  # noqa: E731
        return h(x) + h(y) - h(torch.cat([x, y], dim=1))

    def _conditional_mutual_information(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x, y, z = self._transform(x), self._transform(y), self._transform(z)
        h = lambda *v: gaussian_entropy_nats(torch.cat(v, dim=1), self._params["bias_correct"], self.name)  # noqa: E731
        return h(x, z) + h(y, z) - h(x, y, z) - h(z)


class GaussianCopula(ParametricGaussian):
    """Gaussian-copula MI (Ince et al. 2017), bits; MI and conditional MI only."""

    uses_distances = False  # ranks only: any rescaling of a variable leaves them as they are
    estimates_entropy = False
    name = "gcmi"
    summary = "Gaussian copula MI: rank -> normal scores -> Gaussian MI (a lower bound)"
    reference = "Ince et al. (2017) Hum. Brain Mapp. 38:1541"

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        return copula_normal(x)

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError("gcmi estimates (conditional) mutual information only: the entropy of normal scores is fixed by n")


def gaussian_entropy_nats(x: torch.Tensor, bias_correct: bool, owner: str) -> torch.Tensor:
    """1/2 log det(2 pi e S) (nats) of the sample covariance of ``x (n, d)``."""
    n, d = x.shape
    if n <= d + 1:
        raise ValueError(f"{owner}: a {d}-dimensional covariance needs more than {d + 1} samples, got n={n}")
    centred = x - x.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / (n - 1)
    eig = torch.linalg.eigvalsh(cov)
    if float(eig[0]) <= float(eig[-1]) / _CONDITION_LIMIT:
        raise ValueError(
            f"{owner}: the covariance is singular (condition number above {_CONDITION_LIMIT:.0e}): some columns are "
            "constant or linear combinations of others; drop or merge them, or add small noise"
        )
    logdet = torch.log(eig).sum()
    h = 0.5 * logdet + 0.5 * d * math.log(2 * math.pi * math.e)
    if bias_correct:
        h = h - d * (math.log(2) - math.log(n - 1)) / 2 - sum(special.digamma((n - i) / 2) for i in range(1, d + 1)) / 2
    return h
