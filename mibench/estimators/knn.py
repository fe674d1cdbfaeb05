"""k-nearest-neighbour estimators: KSG mutual information and Kozachenko-Leonenko
entropy, with max-norm neighbourhoods (Kraskov, Stoegbauer & Grassberger 2004).

- KSG algorithm 1: I = psi(k) + psi(N) - <psi(n_x + 1) + psi(n_y + 1)>, eps_i the
  max-norm distance to the k-th neighbour in the joint space, n_x (n_y) the points
  strictly closer than eps_i in the x (y) space.
- KSG algorithm 2: I = psi(k) - 1/k + psi(N) - <psi(n_x) + psi(n_y)>, with eps_x,i the
  largest x-distance among the k joint neighbours and n_x the points within
  eps_x,i (inclusive), likewise for y.
- Conditional MI (Frenzel & Pompe 2007): psi(k) - <psi(n_xz+1) + psi(n_yz+1) - psi(n_z+1)>.
- Kozachenko-Leonenko differential entropy with the max-norm ball of volume
  (2 eps)^d: H = psi(N) - psi(k) + d <ln(2 eps_i)>.

All in nats inside, reported in bits. Ties: like the paper, a tiny deterministic
jitter (``noise`` times each column's std, fixed seed) separates repeated values.
KSG's ``metric="euclidean"`` measures each side (X, Y, Z) with the Euclidean norm and
the joint space with the largest of them (the unit ball's volume then enters the
entropy), and ``standardize=True`` scales every column to mean 0, variance 1 first:
together with k = 10 they are the variant bmi (Czyz et al. 2023) runs by default.
Known failure mode: the estimate needs samples exponential in the true MI (Gao,
Ver Steeg & Galstyan 2015) and saturates near psi(N) - psi(k).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import torch
from scipy import special

from mibench.core.neighbors import count_within, kth_neighbours, neighbour_distances, one_thread_each
from mibench._validate import check_bool, check_choice, check_range
from mibench.estimators.continuous import ContinuousEstimator

_JITTER_SEED = 20040601
_NORMS = {"max": float("inf"), "euclidean": 2.0}


def _log_unit_ball(d: int, p: float) -> float:
    """ln of the volume of the radius-1 ball in d dimensions: the cube [-1, 1]^d for the
    max-norm, pi^(d/2) / Gamma(d/2 + 1) for the Euclidean norm."""
    return d * math.log(2.0) if p == float("inf") else 0.5 * d * math.log(math.pi) - math.lgamma(d / 2 + 1)


def _standardized(v: torch.Tensor) -> torch.Tensor:
    """Columns at mean 0 and variance 1 (population std, as scikit-learn's scaler; a
    constant column is only centred)."""
    std = v.std(dim=0, unbiased=False)
    return (v - v.mean(dim=0)) / torch.where(std > 0, std, torch.ones_like(std))


def _digamma_of_counts(counts: torch.Tensor, shift: float) -> torch.Tensor:
    """psi(count + shift) in float64 (counts are int64 neighbour counts)."""
    return torch.digamma(counts.to(torch.float64) + shift)


class _NeighbourEstimator(ContinuousEstimator):
    nearest_neighbours = True
    pairwise = True

    def check_params(self, n_variables: int) -> None:
        check_range("k", self._params["k"], 1, integer=True, owner=self.name)
        check_range("noise", self._params["noise"], 0, owner=self.name)

    def check_input(self, variables: list[torch.Tensor], names: list[str]) -> None:
        super().check_input(variables, names)
        n, k = variables[0].shape[1], self._params["k"]
        if k >= n:
            raise ValueError(f"{self.name}: k={k} must be smaller than the number of samples n={n}; lower k or add samples")

    def _each_element(self, element: Callable[[int], torch.Tensor], batch: int, device: torch.device
                      ) -> list[torch.Tensor]:
        """On CPU with the max-norm (KD-trees), a batch's elements side by side, one thread
        each with single-threaded tree searches, rather than one after another each split
        across the threads: no thread waits for the slowest share of one search, and each
        tree is built once (a subsampling curve's 8-16 blocks)."""
        threads = torch.get_num_threads()
        if batch < 2 or threads < 2 or device.type != "cpu" or self._p != float("inf"):
            return super()._each_element(element, batch, device)

        def alone(b: int) -> torch.Tensor:
            with one_thread_each():
                return element(b)

        with ThreadPoolExecutor(min(threads, batch)) as pool:
            return list(pool.map(alone, range(batch)))

    @property
    def _p(self) -> float:
        return _NORMS[self._params.get("metric", "max")]

    def _prepare(self, *parts: torch.Tensor) -> list[torch.Tensor]:
        """Standardized (where asked for), then jittered."""
        if self._params.get("standardize", False):
            parts = tuple(map(_standardized, parts))
        return self._jitter(*parts)

    def _jitter(self, *parts: torch.Tensor) -> list[torch.Tensor]:
        noise = float(self._params["noise"])
        if noise == 0:
            return list(parts)
        g = torch.Generator(device=parts[0].device).manual_seed(_JITTER_SEED)
        out = []
        for p in parts:
            scale = noise * p.std(dim=0, keepdim=True)
            out.append(p + scale * torch.randn(p.shape, generator=g, device=p.device, dtype=p.dtype))
        return out

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        (x,) = self._prepare(x)
        n, d = x.shape
        k, p = self._params["k"], self._p
        eps = kth_neighbours(x, k, p=p)[0][:, -1]
        if p == float("inf"):
            return special.digamma(n) - special.digamma(k) + d * torch.log(2 * eps).mean()
        return special.digamma(n) - special.digamma(k) + _log_unit_ball(d, p) + d * torch.log(eps).mean()


class KSG(_NeighbourEstimator):
    """Kraskov-Stoegbauer-Grassberger MI (algorithm 1 or 2), bits; entropy by
    Kozachenko-Leonenko with the same k."""

    name = "ksg"
    params = {"k": 3, "algorithm": 1, "noise": 1e-10, "metric": "max", "standardize": False}
    summary = "kNN mutual information (KSG 2004, max-norm); needs samples exponential in I"
    reference = "Kraskov, Stoegbauer & Grassberger (2004) Phys. Rev. E 69:066138"

    def check_params(self, n_variables: int) -> None:
        super().check_params(n_variables)
        check_choice("algorithm", self._params["algorithm"], (1, 2), owner=self.name)
        check_choice("metric", self._params["metric"], tuple(_NORMS), owner=self.name)
        check_bool("standardize", self._params["standardize"], owner=self.name)

    def ceiling(self, n: int) -> float:
        """psi(N) - psi(k) (bits): the value when every marginal neighbourhood holds
        just the joint neighbours, where KSG saturates."""
        k = self._params["k"]
        return float((special.digamma(n) - special.digamma(k)) / math.log(2))

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = self._prepare(x, y)
        n, k, p = x.shape[0], self._params["k"], self._p
        dist, idx = kth_neighbours((x, y), k, p=p)
        base = special.digamma(k) + special.digamma(n)
        if self._params["algorithm"] == 1:
            eps = dist[:, -1]
            nx = count_within(x, eps, strict=True, p=p)
            ny = count_within(y, eps, strict=True, p=p)
            return base - (_digamma_of_counts(nx, 1.0) + _digamma_of_counts(ny, 1.0)).mean()
        idx = idx.to(x.device)
        eps_x = neighbour_distances(x, idx, p).amax(dim=1)
        eps_y = neighbour_distances(y, idx, p).amax(dim=1)
        nx = count_within(x, eps_x, strict=False, p=p)
        ny = count_within(y, eps_y, strict=False, p=p)
        return base - 1.0 / k - (_digamma_of_counts(nx, 0.0) + _digamma_of_counts(ny, 0.0)).mean()

    def _conditional_mutual_information(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x, y, z = self._prepare(x, y, z)
        k, p = self._params["k"], self._p
        eps = kth_neighbours((x, y, z), k, p=p)[0][:, -1]
        n_xz = count_within((x, z), eps, strict=True, p=p)
        n_yz = count_within((y, z), eps, strict=True, p=p)
        n_z = count_within(z, eps, strict=True, p=p)
        digammas = _digamma_of_counts(n_xz, 1.0) + _digamma_of_counts(n_yz, 1.0) - _digamma_of_counts(n_z, 1.0)
        return special.digamma(k) - digammas.mean()


class KozachenkoLeonenko(_NeighbourEstimator):
    """Kozachenko-Leonenko differential entropy (bits); MI as H(X) + H(Y) - H(X,Y)."""

    name = "kozachenko_leonenko"
    params = {"k": 3, "noise": 1e-10}
    summary = "kNN differential entropy; MI from three entropies (more biased than KSG)"
    reference = "Kozachenko & Leonenko (1987) Probl. Inf. Transm. 23:95"

    def ceiling(self, n: int) -> float:
        return math.inf
