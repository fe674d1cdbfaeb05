"""Exact finite-sample expectations of count-based entropy estimators (bits).

For N draws from a law p, the count of symbol i is Binomial(N, p_i), and each of
these estimators is a sum of per-count terms, so its expectation is a finite sum:

- plug-in:      E = sum_i sum_{j=1..N} Binom(j; N, p_i) (j/N) log2(N/j);
- Miller-Madow: E[plug-in] + (E[K1] - 1) / (2 N ln 2), E[K1] = sum_i 1 - (1 - p_i)^N;
- jackknife:    N E_N[plug-in] - (N-1) E_{N-1}[plug-in] (each leave-one-out estimate
  is a plug-in on N-1 draws);
- Grassberger:  ln N - (1/N) sum_i sum_j Binom(j; N, p_i) j G(j), in nats.

For I(X;Y) = H(X) + H(Y) - H(X,Y), each term estimated alike, the expectation is the
same signed sum of the three exact expectations (expectation is linear), given the
laws of X, Y and (X, Y): tasks that know them say so with ``exact_laws()``.

Used to predict where each estimator's reliable region ends, without simulation.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

EXACT = ("plugin", "miller_madow", "jackknife", "grassberger")
#: A law as (distinct probabilities, how many symbols have each).
Law = tuple[np.ndarray, np.ndarray]


def _per_count_mean(values: np.ndarray, n: int, probabilities: np.ndarray, weights: np.ndarray) -> float:
    """sum_i w_i sum_{j=1..n} Binom(j; n, p_i) values[j-1]; each inner sum runs over the
    counts within 40 standard deviations of n p_i (the rest weigh below 1e-300)."""
    total = 0.0
    for p, w in zip(probabilities, weights):
        spread = 40.0 * math.sqrt(n * p * (1 - p)) + 10.0
        lo, hi = max(1, int(n * p - spread)), min(n, int(n * p + spread) + 1)
        j = np.arange(lo, hi + 1)
        total += w * float(np.dot(stats.binom.pmf(j, n, p), values[lo - 1 : hi]))
    return total


def _law(probabilities: np.ndarray | None, support: int | None, law: Law | None = None) -> Law:
    """(distinct probabilities, how many symbols have each): uniform K needs one term."""
    if law is not None:
        values, counts = (np.asarray(a, dtype=float) for a in law)
        if np.any(values <= 0) or not math.isclose(float(np.dot(values, counts)), 1.0, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError("a law's probabilities must be positive and, with their multiplicities, sum to 1")
        return values, counts
    if probabilities is None:
        if support is None or support < 1:
            raise ValueError("give the law's probabilities or a uniform support size")
        return np.array([1.0 / support]), np.array([float(support)])
    p = np.asarray(probabilities, dtype=float)
    if np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
        raise ValueError("probabilities must be non-negative and sum to 1")
    values, counts = np.unique(p[p > 0], return_counts=True)
    return values, counts.astype(float)


def expected_entropy(estimator: str, n: int, probabilities: np.ndarray | None = None, support: int | None = None,
                     law: Law | None = None) -> float:
    """Exact E[estimate] in bits for n draws from ``probabilities`` (or uniform over
    ``support``, or a ``law`` of distinct probabilities and their multiplicities)."""
    if estimator not in EXACT:
        raise ValueError(f"no exact expectation for {estimator!r}; available: {', '.join(EXACT)}")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    p, w = _law(probabilities, support, law)
    j = np.arange(1, n + 1)

    def plugin(m: int) -> float:
        jj = np.arange(1, m + 1)
        return _per_count_mean((jj / m) * np.log2(m / jj), m, p, w)

    if estimator == "plugin":
        return plugin(n)
    if estimator == "miller_madow":
        with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf, every draw sees it
            seen = float(np.sum(w * -np.expm1(n * np.log1p(-p))))
        return plugin(n) + (seen - 1) / (2 * n * math.log(2))
    if estimator == "jackknife":
        return n * plugin(n) - (n - 1) * plugin(n - 1)
    sign = 1.0 - 2.0 * (j % 2)
    g = special.digamma(j) + 0.5 * sign * (special.digamma((j + 1) / 2) - special.digamma(j / 2))
    return (math.log(n) - _per_count_mean(j * g, n, p, w) / n) / math.log(2)


SPREAD = ("plugin", "miller_madow", "grassberger")  # estimators of the form const + sum_i f(n_i)


def _per_count_form(estimator: str, n: int) -> tuple[float, np.ndarray]:
    """(c, f) with estimate = c + sum_i f(n_i) in bits, f[k] for counts k = 0..n (f[0] = 0)."""
    k = np.arange(n + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        plugin = np.where(k > 0, -(k / n) * np.log2(k / n), 0.0)
    if estimator == "plugin":
        return 0.0, plugin
    if estimator == "miller_madow":  # + (K1 - 1) / (2 N ln 2), K1 = the symbols seen
        return -1 / (2 * n * math.log(2)), plugin + (k > 0) / (2 * n * math.log(2))
    if estimator == "grassberger":
        j = k[1:]
        sign = 1.0 - 2.0 * (j % 2)
        g = special.digamma(j) + 0.5 * sign * (special.digamma((j + 1) / 2) - special.digamma(j / 2))
        return math.log2(n), np.concatenate([[0.0], -j * g / (n * math.log(2))])
    raise ValueError(f"no exact spread for {estimator!r}; available: {', '.join(SPREAD)}")


def _window(n: int, p: float, width: float = 12.0) -> np.ndarray:
    """Counts k within ``width`` standard deviations of n p (and k >= 0)."""
    spread = width * math.sqrt(n * p * (1 - p)) + 10.0
    return np.arange(max(0, int(n * p - spread)), min(n, int(n * p + spread) + 1) + 1)


def expected_std(estimator: str, n: int, law: Law) -> float:
    """Exact standard deviation (bits) of the entropy estimate for n draws from ``law``
    (plug-in, Miller-Madow, Grassberger: estimates of the form c + sum_i f(n_i), whose
    variance is a sum of the counts' variances and pairwise multinomial covariances;
    pairs are summed over counts within 12 standard deviations of their means)."""
    _, f = _per_count_form(estimator, n)
    p, m = _law(None, None, law)
    means, seconds = [], []
    for pi in p:
        k = _window(n, pi)
        pmf = stats.binom.pmf(k, n, pi)
        means.append(float(pmf @ f[k]))
        seconds.append(float(pmf @ f[k] ** 2))
    variance = sum(mi * (s - mu**2) for mi, s, mu in zip(m, seconds, means))
    for i, (pi, mi) in enumerate(zip(p, m)):
        for j, (pj, mj) in enumerate(zip(p, m)):
            pairs = mi * (mi - 1) if i == j else mi * mj
            if pairs == 0:
                continue
            a = _window(n, pi)
            pa = stats.binom.pmf(a, n, pi)
            q = min(pj / (1 - pi), 1.0) if pi < 1 else 0.0
            joint = 0.0
            for count, weight in zip(a, pa):  # n_j given n_i = count is Binomial(n - count, q)
                b = _window(int(n - count), q)
                joint += weight * f[count] * float(stats.binom.pmf(b, n - count, q) @ f[b])
            variance += pairs * (joint - means[i] * means[j])
    return math.sqrt(max(variance, 0.0))


def expected_mutual_information(estimator: str, n: int, laws: dict[str, Law]) -> float:
    """Exact E[I(X;Y) estimate] in bits: E[H(X)] + E[H(Y)] - E[H(X,Y)] for the laws
    ``{"x": ..., "y": ..., "xy": ...}`` (each a :data:`Law`)."""
    return sum(sign * expected_entropy(estimator, n, law=laws[key]) for sign, key in ((1, "x"), (1, "y"), (-1, "xy")))


def frontier(estimator: str, n: int, task_at: Any, h_range: tuple[float, float], tol: float,
             step: float = 0.25, resolution: float = 0.01) -> float:
    """Largest H(X,Y) in ``h_range`` with every task at or below it reliable by exact
    theory: the expected estimate within ``tol`` bits of the truth and, where it is known
    (entropy-like estimates, X = Y), the standard deviation within ``tol`` too, as the
    map's rule asks (NaN if the smallest task is not; the range's top if every one is).
    ``task_at(h)`` gives the family's task nearest to joint entropy h (one with
    ``exact_laws()``). The bias condition is scanned in ``step`` bits, then bisected to
    ``resolution``; the spread, which grows with the support, is then checked at that
    point and, where it is too wide, bisected below it."""

    def unbiased(h: float) -> tuple[bool, float]:
        task = task_at(h)
        bias = expected_mutual_information(estimator, n, task.exact_laws()) - task.mutual_information
        return abs(bias) <= tol, float(task.joint_entropy)

    def narrow(h: float) -> tuple[bool, float]:
        task = task_at(h)
        laws = task.exact_laws()
        ok = not (estimator in SPREAD and _same_law(laws)) or expected_std(estimator, n, laws["x"]) <= tol
        return ok, float(task.joint_entropy)

    top, at = _last_true(unbiased, h_range[0], h_range[1], step, resolution)
    if math.isnan(top) or narrow(at)[0]:
        return top
    return _last_true(narrow, h_range[0], at, at - h_range[0], resolution)[0]


def _last_true(test: Any, lo: float, hi: float, step: float, resolution: float) -> tuple[float, float]:
    """(actual H, requested h) of the last task for which ``test`` holds, scanning from
    ``lo`` in ``step`` and bisecting the first failing step to ``resolution``."""
    last, at, h = math.nan, math.nan, lo
    while h <= hi + 1e-12:
        ok, actual = test(h)
        if not ok:
            break
        last, at = actual, h
        h += max(step, resolution)
    else:
        return last, at
    if math.isnan(last):
        return last, at
    good, bad = at, h
    while bad - good > resolution:
        mid = (good + bad) / 2
        ok, actual = test(mid)
        if ok:
            good, last, at = mid, max(last, actual), mid
        else:
            bad = mid
    return last, at


def _same_law(laws: dict[str, Law]) -> bool:
    return all(np.array_equal(laws["x"][i], laws[k][i]) for k in ("y", "xy") for i in (0, 1))
