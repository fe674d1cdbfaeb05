"""JVHW and Wu-Yang: the minimax fit, the exact expectation, and the undersampled regime
where plug-in saturates."""
import numpy as np
import pytest
import torch

import mibench
from mibench.core.counting import codes_to_counts
from mibench.estimators.polynomial import MAX_DEGREE, WuYang, best_polynomial, wu_yang_expectation


def _phi(x):
    return -x * np.log(np.where(x > 0, x, 1.0))


@pytest.mark.parametrize("degree", [2, 5, 9, 14])
def test_the_fit_equioscillates_so_it_is_the_best_uniform_approximation(degree):
    # Chebyshev's alternation theorem: the best degree-L fit's error reaches its maximum with
    # alternating signs at L + 2 points; checked on a grid the fit was not solved on.
    coef, err = best_polynomial(degree)
    x = np.linspace(0, 1, 400_001) ** 2  # dense near 0
    e = np.polynomial.polynomial.polyval(x, coef) - _phi(x)
    assert np.abs(e).max() == pytest.approx(err, rel=1e-3)
    peaks = np.sign(e[np.abs(e) > 0.995 * err])
    alternations = 1 + int(np.count_nonzero(np.diff(peaks)))
    assert alternations >= degree + 2
    assert 0.19 < err * degree**2 < 0.24  # the known ~0.23 / L^2 decay of the minimax error


def test_fit_degree_is_checked():
    with pytest.raises(ValueError, match="degree"):
        best_polynomial(MAX_DEGREE + 1)


def _distribution(kind, k):
    if kind == "uniform":
        return np.full(k, 1.0 / k)
    w = 1.0 / np.arange(1, k + 1)
    return w / w.sum()


@pytest.mark.parametrize("kind,k,n", [("uniform", 256, 64), ("zipf", 256, 128), ("uniform", 1024, 2048)])
def test_wu_yang_monte_carlo_mean_matches_its_exact_expectation(kind, k, n):
    p = _distribution(kind, k)
    rng = np.random.default_rng(7)
    draws = torch.as_tensor(rng.choice(k, size=(400, n), p=p))[..., None]
    values = WuYang(K=k).entropy_from_counts(codes_to_counts(draws), k).numpy()
    exact = wu_yang_expectation(p, n)
    assert abs(values.mean() - exact) < 4 * values.std(ddof=1) / np.sqrt(len(values))


def test_below_log2_n_the_minimax_estimators_stay_near_the_truth_where_plugin_saturates():
    # Uniform on K = 4096 (H = 12 bits) from N = 1024 samples: log2 N = 10 < H, plug-in's
    # ceiling; N is about K / ln K * 3, where the minimax rate says a constant error is possible.
    k, n = 4096, 1024
    rng = np.random.default_rng(3)
    x = rng.integers(0, k, size=(20, n, 1))
    plugin = mibench.entropy(x, "plugin").mean()
    assert plugin < 10.0  # at most log2 N: 2 bits short
    for spec in ("jvhw", f"wu_yang(K={k})"):
        assert abs(mibench.entropy(x, spec).mean() - 12.0) < 0.15, spec
    assert abs(wu_yang_expectation(np.full(k, 1 / k), n) - 12.0) < 0.15


@pytest.mark.parametrize("spec", ["jvhw", "wu_yang(K=16)"])
def test_well_sampled_they_agree_with_the_truth(spec):
    p = _distribution("zipf", 16)
    truth = -(p * np.log2(p)).sum()
    x = np.random.default_rng(5).choice(16, size=(8, 20000, 1), p=p)
    assert abs(mibench.entropy(x, spec).mean() - truth) < 0.01


def test_frequent_symbols_get_the_corrected_plugin_term():
    n, k = 1000, 64
    counts = torch.tensor([500, 300])  # far above 3.5 ln K
    p = counts.double() / n
    expected = -p * torch.log(p) + 1 / (2 * n)
    assert torch.allclose(WuYang.per_symbol(counts, n, k), expected)


def test_wu_yang_needs_a_support_size_large_enough():
    x = np.arange(100) % 10
    with pytest.raises(ValueError, match="support size K"):
        mibench.entropy(x, "wu_yang")
    with pytest.raises(ValueError, match="smaller than the 10 distinct"):
        mibench.entropy(x, "wu_yang(K=8)")
