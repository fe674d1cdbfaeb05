"""NSB: the Nemenman-Shafee-Bialek Bayesian entropy estimator.

With a support size K it is the posterior mean of the entropy under a mixture of
symmetric Dirichlet(beta) priors whose mixing density makes the prior on the entropy
flat: p(beta) proportional to d xi / d beta, xi(beta) = psi(K beta + 1) - psi(beta + 1)
(Nemenman, Shafee & Bialek 2002). The one-dimensional integral over beta is done on
a grid in log beta around the posterior mode.

Without K the support is chosen from the data, as ndd does (Marsili's package):
K grows by factors of 10 from the number of distinct symbols K1 while the NSB
estimate keeps rising by more than 1e-3 nats per e-fold of K; once it settles, the
estimate at the geometric midpoint of the last step is returned. With few
coincidences the data hardly bound K and the estimate settles just below the
K -> infinity limit (Nemenman 2011, Entropy 13:2013),
H = (gamma - ln 2) + 2 ln N - psi(Delta) nats with Delta = N - K1 coincidences;
that limit is returned if the scan ever reaches it. Without coincidences
(Delta = 0) nothing bounds K and the result is NaN with a warning.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch
from scipy import integrate, special

from mibench.core.counting import Counts
from mibench.estimators.base import LN2
from mibench.estimators.discrete import DiscreteEstimator
from mibench.interface import UndefinedEstimateWarning

_EULER_GAMMA = 0.5772156649015329
_LOG_KB_MIN = -46.0  # the coarse grid starts where K * beta is about 1e-20 ...
_LOG_BETA_MAX = 23.0  # ... and ends at beta about 1e10 (the uniform distribution, for any K)
_COARSE_STEP = 0.1
_SPARSE = 10  # coarse points per step of the first, sparse pass
_FIRST_POINTS = 129  # the integration grid starts with 2**7 + 1 points ...
_MAX_POINTS = 4097  # ... and is halved at most to 2**12 + 1
_QUADRATURE_TOL = 1e-11  # nats: a grid and its halving that agree this well are done
_SETTLED = 1e-3  # nats per e-fold of K: below this, more support no longer moves the estimate
_MAX_DECADES = 40


def _log_posterior(log_beta: np.ndarray, values: np.ndarray, mult: np.ndarray, n: int, k: float) -> np.ndarray:
    """log of P(counts | beta) * p(beta) * beta (the Jacobian of the log-beta grid)."""
    beta = np.exp(log_beta)[:, None]
    # gammaln(K b) - gammaln(N + K b) and gammaln(c + b) - gammaln(b), written with
    # betaln, which stays accurate when K b is huge.
    like = special.betaln(k * beta[:, 0], n) - special.gammaln(n)
    like = like + (mult * (special.gammaln(values) - special.betaln(beta, values))).sum(axis=1)
    # trigamma as zeta(2, x): what polygamma(1, x) returns, without its digamma pass
    prior = k * special.zeta(2.0, k * beta[:, 0] + 1) - special.zeta(2.0, beta[:, 0] + 1)
    prior = np.maximum(prior, np.finfo(float).tiny)
    return like + np.log(prior) + log_beta


def _posterior_mean_entropy(log_beta: np.ndarray, values: np.ndarray, mult: np.ndarray, n: int, k: float, k1: int) -> np.ndarray:
    """E[H | counts, beta] in nats for each beta of the grid (Wolpert & Wolf 1995)."""
    beta = np.exp(log_beta)
    total = n + k * beta
    seen = (mult * (values + beta[:, None]) * special.digamma(values + beta[:, None] + 1)).sum(axis=1)
    unseen = (k - k1) * beta * special.digamma(beta + 1)
    return special.digamma(total + 1) - (seen + unseen) / total


def nsb_entropy_nats(counts: np.ndarray, k: float) -> float:
    """NSB posterior-mean entropy (nats) of positive ``counts`` over ``k`` symbols."""
    n = int(counts.sum())
    values, mult = np.unique(counts, return_counts=True)
    values = values.astype(float)
    mult = mult.astype(float)
    # The posterior's mass sits where K * beta is comparable to N's coincidences, so the
    # range in log beta follows K: a fixed range misses it once K is large (2**35 and up).
    lo_coarse = min(_LOG_KB_MIN - math.log(k), -46.0)
    coarse_grid = np.arange(lo_coarse, _LOG_BETA_MAX + _COARSE_STEP, _COARSE_STEP)
    # Every tenth point first: the (unimodal) posterior's window on the full coarse grid
    # lies within one sparse step of the sparse points near its top, so only that part of
    # the coarse grid is evaluated, and it gives the same window as all of it would.
    sparse = _log_posterior(coarse_grid[::_SPARSE], values, mult, n, k)
    near = np.nonzero(sparse > sparse.max() - 80.0)[0]
    part = coarse_grid[max(near[0] - 1, 0) * _SPARSE : (near[-1] + 1) * _SPARSE + 1]
    coarse = _log_posterior(part, values, mult, n, k)
    keep = np.nonzero(coarse > coarse.max() - 60.0)[0]
    lo = part[keep[0]] - _COARSE_STEP
    hi = part[keep[-1]] + _COARSE_STEP
    return _posterior_average(lo, hi, values, mult, n, k, len(counts))


def _posterior_average(lo: float, hi: float, values: np.ndarray, mult: np.ndarray, n: int, k: float, k1: int) -> float:
    """E[H | counts] (nats): the posterior-weighted mean of E[H | counts, beta] over log beta
    in [lo, hi], by the trapezoid rule on a grid halved until halving no longer moves the
    result (it converges geometrically on the smooth posterior: when the grid and its
    every other point agree to _QUADRATURE_TOL, the finer one is far closer than that)."""
    grid = np.linspace(lo, hi, _FIRST_POINTS)
    logw = _log_posterior(grid, values, mult, n, k)
    h = _posterior_mean_entropy(grid, values, mult, n, k, k1)
    while True:
        w = np.exp(logw - logw.max())
        mean = integrate.trapezoid(w * h, grid) / integrate.trapezoid(w, grid)
        coarser = integrate.trapezoid(w[::2] * h[::2], grid[::2]) / integrate.trapezoid(w[::2], grid[::2])
        if abs(mean - coarser) <= _QUADRATURE_TOL or len(grid) >= _MAX_POINTS:
            return float(mean)
        middle = (grid[:-1] + grid[1:]) / 2
        grid, logw, h = (_interleave(a, b) for a, b in (
            (grid, middle),
            (logw, _log_posterior(middle, values, mult, n, k)),
            (h, _posterior_mean_entropy(middle, values, mult, n, k, k1)),
        ))


def _interleave(points: np.ndarray, middles: np.ndarray) -> np.ndarray:
    """``points[0], middles[0], points[1], ...``: a grid with its midpoints added."""
    out = np.empty(len(points) + len(middles))
    out[0::2], out[1::2] = points, middles
    return out


def asymptotic_nsb_nats(n: int, coincidences: int) -> float:
    """The K -> infinity limit of NSB (nats), Nemenman (2011) eq. 29."""
    return _EULER_GAMMA - math.log(2) + 2 * math.log(n) - float(special.digamma(coincidences))


def nsb_unknown_support_nats(counts: np.ndarray) -> float:
    """NSB (nats) with the support size chosen from the data; see the module notes."""
    n, k = int(counts.sum()), float(len(counts))
    limit = asymptotic_nsb_nats(n, n - len(counts))
    previous = nsb_entropy_nats(counts, k)
    for _ in range(_MAX_DECADES):
        k *= 10.0
        h = nsb_entropy_nats(counts, k)
        if h >= limit:
            return limit
        if (h - previous) / math.log(10.0) < _SETTLED:
            return nsb_entropy_nats(counts, k / math.sqrt(10.0))
        previous = h
    return limit


def _profile(counts: np.ndarray) -> tuple[bytes, bytes]:
    """The count profile (each count value and how many symbols have it): all NSB sees."""
    values, mult = np.unique(counts, return_counts=True)
    return values.astype(np.int64).tobytes(), mult.astype(np.int64).tobytes()


@functools.lru_cache(maxsize=1024)
def _profile_nats(values: bytes, mult: bytes, support: float | None) -> float:
    """NSB (nats) of a count profile; remembered, as the same profile recurs (H(X) and
    H(X,Y) when Y is a copy or a function of X), and the result is the same number."""
    counts = np.repeat(np.frombuffer(values, dtype=np.int64), np.frombuffer(mult, dtype=np.int64))
    return nsb_unknown_support_nats(counts) if support is None else nsb_entropy_nats(counts, support)


class NSB(DiscreteEstimator):
    """Nemenman-Shafee-Bialek entropy (bits). ``K``: support size (an int for every
    variable, or one per variable); ``None`` chooses it from the data, falling back on
    the K -> infinity asymptotic form when undersampled. Without K it needs coincidences."""

    name = "nsb"
    params = {"K": None}
    summary = "Bayesian, prior flat in entropy; K unknown -> chosen from the data, or the asymptotic form"
    reference = "Nemenman, Shafee & Bialek (2002) NIPS 14; Nemenman (2011) Entropy 13:2013"
    takes_support = True
    ceiling_is_bound = True

    def ceiling(self, n: int) -> float:
        """log2 K with a support size (the posterior mean never exceeds it); without K
        the asymptotic value with one coincidence, which the support scan stops below."""
        support = self._supports(1)[0]
        if support is not None:
            return math.log2(support)
        return asymptotic_nsb_nats(n, 1) / LN2

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        out = []
        n = counts.n_samples
        for c in counts.per_batch():
            c = c.cpu().numpy()
            k1 = len(c)
            delta = n - k1
            if support is not None:
                if support < k1:
                    raise ValueError(
                        f"nsb: support size K={support} is smaller than the {k1} distinct symbols observed; "
                        "give the true number of possible symbols"
                    )
                out.append(_profile_nats(*_profile(c), float(support)) / LN2)
            elif delta == 0:
                warnings.warn(
                    f"nsb without K is undefined when all {n} samples are distinct (no coincidences); "
                    "returning NaN. Pass the support size K, or collect more samples",
                    UndefinedEstimateWarning,
                    stacklevel=2,
                )
                out.append(math.nan)
            else:
                out.append(_profile_nats(*_profile(c), None) / LN2)
        return torch.tensor(out, dtype=torch.float64, device=counts.values.device)
