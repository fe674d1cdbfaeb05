"""Exact finite-sample expectations of count-based entropy estimators (bits).

For N draws from a law p, the count of symbol i is Binomial(N, p_i), and each of
these estimators is a sum of per-count terms, so its expectation is a finite sum:

- plug-in:      E = sum_i sum_{j=1..N} Binom(j; N, p_i) (j/N) log2(N/j);
- Miller-Madow: E[plug-in] + (E[K1] - 1) / (2 N ln 2), E[K1] = sum_i 1 - (1 - p_i)^N;
- jackknife:    N E_N[plug-in] - (N-1) E_{N-1}[plug-in] (each leave-one-out estimate
  is a plug-in on N-1 draws);
- Grassberger:  ln N - (1/N) sum_i sum_j Binom(j; N, p_i) j G(j), in nats.

Used to predict where each estimator's reliable region ends, without simulation.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

EXACT = ("plugin", "miller_madow", "jackknife", "grassberger")


def _per_count_mean(values: np.ndarray, n: int, probabilities: np.ndarray, weights: np.ndarray) -> float:
    """sum_i w_i sum_{j=1..n} Binom(j; n, p_i) values[j-1]."""
    j = np.arange(1, n + 1)
    return float(sum(w * np.dot(stats.binom.pmf(j, n, p), values) for p, w in zip(probabilities, weights)))


def _law(probabilities: np.ndarray | None, support: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(distinct probabilities, how many symbols have each): uniform K needs one term."""
    if probabilities is None:
        if support is None or support < 1:
            raise ValueError("give the law's probabilities or a uniform support size")
        return np.array([1.0 / support]), np.array([float(support)])
    p = np.asarray(probabilities, dtype=float)
    if np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
        raise ValueError("probabilities must be non-negative and sum to 1")
    values, counts = np.unique(p[p > 0], return_counts=True)
    return values, counts.astype(float)


def expected_entropy(estimator: str, n: int, probabilities: np.ndarray | None = None, support: int | None = None) -> float:
    """Exact E[estimate] in bits for n draws from ``probabilities`` (or uniform over ``support``)."""
    if estimator not in EXACT:
        raise ValueError(f"no exact expectation for {estimator!r}; available: {', '.join(EXACT)}")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    p, w = _law(probabilities, support)
    j = np.arange(1, n + 1)

    def plugin(m: int) -> float:
        jj = np.arange(1, m + 1)
        return _per_count_mean((jj / m) * np.log2(m / jj), m, p, w)

    if estimator == "plugin":
        return plugin(n)
    if estimator == "miller_madow":
        seen = float(np.sum(w * -np.expm1(n * np.log1p(-p))))
        return plugin(n) + (seen - 1) / (2 * n * math.log(2))
    if estimator == "jackknife":
        return n * plugin(n) - (n - 1) * plugin(n - 1)
    sign = 1.0 - 2.0 * (j % 2)
    g = special.digamma(j) + 0.5 * sign * (special.digamma((j + 1) / 2) - special.digamma(j / 2))
    return (math.log(n) - _per_count_mean(j * g, n, p, w) / n) / math.log(2)
