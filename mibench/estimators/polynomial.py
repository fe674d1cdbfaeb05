"""Minimax entropy estimators by best polynomial approximation: JVHW and Wu-Yang.

Plug-in entropy needs N of several times the support size K; any estimator needs
about K / log K samples (Valiant & Valiant 2011), and these two reach that rate. Both
split the symbols by their count: on rare symbols (probability below an interval
Delta) -p ln p is replaced by its best uniform polynomial approximation of degree L,
whose every power p^k has an unbiased estimate from the count c, the falling factorial
(c)_k / (N)_k; frequent symbols get the bias-corrected plug-in -p ln p + 1/(2N).
Values in bits. Coefficients: :func:`best_polynomial`, computed here (a linear
programme for the minimax fit of -x ln x on [0, 1]) rather than shipped.

- ``jvhw`` (Jiao, Venkat, Han & Weissman 2015): needs no support size. L = min(4 +
  ceil(1.2 ln N), 22); Delta = 4 c1 ln N / N with c1 set from the share of singletons
  by the authors' fitted rule; between Delta/2 and Delta the two forms are blended
  linearly in the observed frequency; each symbol's term is kept >= 0; unseen symbols
  add nothing.
- ``wu_yang`` (Wu & Yang 2016): needs the support size K and counts the unseen symbols
  too. L = floor(1.6 ln K) and Delta = 3.5 ln K / N (the paper's constants; L is capped
  at 22, where the monomial coefficients still fit float64); symbols with c / N <= Delta
  take the polynomial, the others the corrected plug-in. Its expectation is a sum over
  symbols of one function of each count, so it is known exactly for any distribution
  (:func:`wu_yang_expectation`).

Both use the multinomial moments (c)_k / (N)_k, unbiased at fixed N (the papers'
analysis Poissonizes N). Neither is bounded by log2 N.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from scipy import optimize, special, stats

from mibench.core.counting import Counts
from mibench.estimators.base import LN2
from mibench.estimators.discrete import _CountFormula

MAX_DEGREE = 22  # beyond this the monomial coefficients of the fit lose float64 precision
_GRID = 4000


@functools.lru_cache(maxsize=None)
def best_polynomial(degree: int) -> tuple[np.ndarray, float]:
    """(coefficients a_0..a_L in powers of x, maximum error) of the best uniform
    approximation of -x ln x on [0, 1] by a polynomial of this degree (natural log).

    Solved as a linear programme over a Chebyshev-clustered grid (dense near 0, where
    -x ln x has its infinite slope), in the Chebyshev basis, then converted to powers."""
    if not 1 <= degree <= MAX_DEGREE:
        raise ValueError(f"polynomial degree must be in [1, {MAX_DEGREE}]; got {degree}")
    x = (1 - np.cos(np.linspace(0, math.pi, _GRID))) / 2
    f = -special.xlogy(x, x)
    basis = np.polynomial.chebyshev.chebvander(2 * x - 1, degree)
    # variables: Chebyshev coefficients, then the error bound t; minimise t
    ones = np.ones((len(x), 1))
    a_ub = np.vstack([np.hstack([basis, -ones]), np.hstack([-basis, -ones])])
    b_ub = np.concatenate([f, -f])
    cost = np.zeros(degree + 2)
    cost[-1] = 1.0
    res = optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * (degree + 1) + [(0, None)],
                           method="highs")
    if not res.success:  # pragma: no cover - HiGHS solves this small problem
        raise RuntimeError(f"minimax fit of degree {degree} failed: {res.message}")
    cheb = np.polynomial.Chebyshev(res.x[:-1], domain=[0, 1])
    return cheb.convert(kind=np.polynomial.Polynomial).coef, float(res.x[-1])


def _polynomial_terms(c: torch.Tensor, n: int, delta: torch.Tensor, degree: int) -> torch.Tensor:
    """Unbiased estimate (nats) of Delta * phi(p / Delta) - p ln Delta, the polynomial
    stand-in for -p ln p on [0, Delta], from each count c (phi(u) = -u ln u)."""
    coef = torch.as_tensor(best_polynomial(degree)[0], dtype=torch.float64, device=c.device)
    k = torch.arange(degree, dtype=torch.float64, device=c.device)
    # ratio_k = (c)_k / ((N)_k Delta^k): the unbiased estimate of (p / Delta)^k
    factors = (c[:, None] - k) / ((n - k) * delta[:, None])
    powers = torch.cumprod(torch.cat([torch.ones_like(c)[:, None], factors], dim=1), dim=1)
    return delta * (powers @ coef) - c / n * torch.log(delta)


def _corrected_plugin(c: torch.Tensor, n: int) -> torch.Tensor:
    """-p ln p + 1/(2N) per symbol (nats), p = c / N: Miller-Madow's correction shared out."""
    p = c / n
    return -p * torch.log(p) + 1 / (2 * n)


class JVHW(_CountFormula):
    """Jiao-Venkat-Han-Weissman minimax entropy estimator (bits; no support size needed)."""

    name = "jvhw"
    summary = "best polynomial approximation on rare symbols; reliable from N ~ K / log K"
    reference = "Jiao, Venkat, Han & Weissman (2015) IEEE Trans. Inf. Theory 61:2835"

    @staticmethod
    def _c1(n: int, singletons: torch.Tensor) -> torch.Tensor:
        """The authors' fitted width constant from ln(N / f1), f1 = singletons; 0 (plug-in
        only) without singletons or with N below the degree."""
        ratio = torch.log(n / singletons.clamp(min=1))
        small = -0.530556484842359 * ratio**2 + 1.09787328176926 * ratio + 0.184831781602259
        large = 0.3303 * ratio + 0.4679
        c1 = large if n < 200 else torch.where(ratio <= 1.5, small, large)
        c1 = torch.maximum(c1, torch.full_like(c1, 1 / (1.9 * math.log(n))))
        return torch.where(singletons > 0, c1, torch.zeros_like(c1))

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        c, n = self._prep(counts)
        degree = min(4 + math.ceil(1.2 * math.log(n)), MAX_DEGREE)
        singletons = self._sum((c == 1).to(torch.float64), counts)
        c1 = self._c1(n, singletons) if n >= degree else torch.zeros_like(singletons)
        # A symbol's term is a function of its count and its batch's Delta alone: computed once
        # per (batch, count) pair present (a few hundred where symbols number 10^5-10^6: the
        # degree-L polynomial per symbol was 3/4 of the time) and handed back to every symbol.
        pairs, back = torch.unique(counts.batch.to(torch.int64) * (n + 1) + counts.values.to(torch.int64),
                                   return_inverse=True)
        c_seen = (pairs % (n + 1)).to(torch.float64)
        delta = (4 * c1 * math.log(n) / n)[pairs // (n + 1)]
        plugin = _corrected_plugin(c_seen, n)
        wide = delta > 0
        poly = torch.where(wide, _polynomial_terms(c_seen, n, torch.where(wide, delta, torch.ones_like(delta)), degree),
                           plugin)
        weight = torch.where(wide, (2 * (c_seen / n) / delta.clamp(min=1e-300) - 1).clamp(0, 1), torch.ones_like(c_seen))
        term = (weight * plugin + (1 - weight) * poly).clamp(min=0)
        return self._sum(term[back], counts) / LN2


class WuYang(_CountFormula):
    """Wu-Yang minimax entropy estimator for a known support size K (bits)."""

    name = "wu_yang"
    params = {"K": None}
    summary = "best polynomial approximation with the support size K known; reliable from N ~ K / log K"
    reference = "Wu & Yang (2016) IEEE Trans. Inf. Theory 62:3702"
    takes_support = True
    known_failures = {"independence -> 0": "with K far above the symbols seen (the check's K = 64 for 4), every "
                                           "unseen symbol adds its polynomial's error: -0.05 bits at N = 4000, "
                                           "shrinking as 1/N"}

    @staticmethod
    def plan(n: int, support: int) -> tuple[int, float]:
        """(degree L, interval Delta) for N samples over K symbols."""
        log_k = math.log(support)
        return min(max(int(1.6 * log_k), 1), MAX_DEGREE, n), min(3.5 * log_k / n, 1.0)

    @classmethod
    def per_symbol(cls, counts: torch.Tensor, n: int, support: int) -> torch.Tensor:
        """The term (nats) each symbol contributes given its count (0 for an unseen one)."""
        degree, delta = cls.plan(n, support)
        c = counts.to(torch.float64)
        poly = _polynomial_terms(c, n, torch.full_like(c, delta), degree)
        safe = torch.where(c > 0, c, torch.ones_like(c))
        return torch.where(c / n <= delta, poly, _corrected_plugin(safe, n))

    def ceiling(self, n: int) -> float:
        """The all-distinct value (bits) for the configured K; infinite until K is given."""
        return math.inf if self._params["K"] is None else super().ceiling(n)

    def check_params(self, n_variables: int) -> None:
        if self._params["K"] is None:
            raise ValueError("wu_yang needs the support size K (the number of possible symbols), e.g. "
                             "wu_yang(K=4096); without it use jvhw")
        super().check_params(n_variables)

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        if support is None:
            raise ValueError("wu_yang needs the support size K, e.g. wu_yang(K=4096); without it use jvhw")
        k1 = counts.distinct().to(torch.float64)
        if bool((k1 > support).any()):
            raise ValueError(f"{self.name}: support size K={support} is smaller than the {int(k1.max())} distinct "
                             "symbols observed; give the true number of possible symbols")
        n = counts.n_samples
        seen = self._sum(self.per_symbol(counts.values, n, support), counts)
        unseen = (support - k1) * self.per_symbol(torch.zeros(1, dtype=torch.int64, device=k1.device), n, support)
        return (seen + unseen) / LN2


def wu_yang_expectation(p: np.ndarray, n: int) -> float:
    """E[wu_yang] (bits) for N samples of the distribution ``p`` (support K = len(p)):
    each symbol's count is Binomial(N, p_i), so the expectation is a finite sum."""
    p = np.asarray(p, dtype=float)
    counts = torch.arange(n + 1)
    terms = WuYang.per_symbol(counts, n, len(p)).numpy()
    pmf = stats.binom.pmf(np.arange(n + 1)[None, :], n, p[:, None])
    return float((pmf @ terms).sum() / LN2)
