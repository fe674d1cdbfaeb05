"""Accuracy: against exact finite-sample expectations and independent reference code.

The references below are written straight from the papers' formulas on a plain
list of counts (loops, scipy special functions), sharing no code with mibench.
"""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import mibench
from mibench.core import Counts
from mibench.registry import make_estimator
from conftest import ALL_SPECS, CONTINUOUS_SPECS, LABEL_Y, large_n, name_of, sample_for

LN2 = math.log(2)


def counts_of(codes: np.ndarray) -> np.ndarray:
    return np.unique(codes, return_counts=True)[1]


def ref_plugin(c):
    p = c / c.sum()
    return -np.sum(p * np.log2(p))


def ref_miller_madow(c):
    return ref_plugin(c) + (len(c) - 1) / (2 * c.sum() * LN2)


def ref_jackknife(samples):
    # Literal leave-one-out over the samples.
    n = len(samples)
    loo = [ref_plugin(counts_of(np.delete(samples, j))) for j in range(n)]
    return n * ref_plugin(counts_of(samples)) - (n - 1) / n * np.sum(loo)


def ref_grassberger(c):
    n = c.sum()
    g = [special.digamma(k) + 0.5 * (-1) ** k * (special.digamma((k + 1) / 2) - special.digamma(k / 2)) for k in c]
    return (np.log(n) - np.sum(c * np.array(g)) / n) / LN2


def ref_chao_shen(c):
    n = c.sum()
    f1 = np.sum(c == 1)
    if f1 == n:
        f1 = n - 1
    p = (1 - f1 / n) * c / n
    return np.sum(-p * np.log(p) / (1 - (1 - p) ** n)) / LN2


def ref_james_stein(c, k):
    full = np.concatenate([c, np.zeros(k - len(c))]).astype(float)
    n = full.sum()
    u = full / n
    t = np.full(k, 1.0 / k)
    lam = 1.0 if np.sum((t - u) ** 2) == 0 else (1 - np.sum(u**2)) / ((n - 1) * np.sum((t - u) ** 2))
    lam = min(1.0, max(0.0, lam))
    p = lam * t + (1 - lam) * u
    p = p[p > 0]
    return -np.sum(p * np.log2(p))


def ref_nsb(c, k):
    """Posterior mean by adaptive quadrature in beta (mibench uses a log-beta grid)."""
    c = np.asarray(c, float)
    n, k1 = c.sum(), len(c)

    def log_post(b):
        like = special.gammaln(k * b) - special.gammaln(n + k * b) + np.sum(special.gammaln(c + b) - special.gammaln(b))
        return like + np.log(k * special.polygamma(1, k * b + 1) - special.polygamma(1, b + 1))

    def mean_h(b):
        seen = np.sum((c + b) * special.digamma(c + b + 1))
        return special.digamma(n + k * b + 1) - (seen + (k - k1) * b * special.digamma(b + 1)) / (n + k * b)

    # Adaptive quadrature over t = ln(beta) on unit pieces; the 1/beta**2 prior tail
    # beyond beta = e**25 holds a negligible share of the mass.
    peak = max(log_post(math.exp(t)) for t in np.linspace(-28, 25, 531))
    weight = lambda t: math.exp(log_post(math.exp(t)) - peak + t)  # noqa: E731
    z = m = 0.0
    for a in range(-28, 25):
        z += integrate.quad(weight, a, a + 1, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
        m += integrate.quad(lambda t: weight(t) * mean_h(math.exp(t)), a, a + 1, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
    return m / z / LN2


SAMPLES = [
    np.array([0, 0, 1, 2, 2, 2, 3, 4, 4, 5]),
    np.random.default_rng(0).integers(0, 6, 40),
    np.random.default_rng(1).geometric(0.3, 120) - 1,
    np.random.default_rng(2).integers(0, 50, 30),  # many singletons
]


@pytest.mark.parametrize("sample", range(len(SAMPLES)))
@pytest.mark.parametrize(
    "spec, reference",
    [
        ("plugin", ref_plugin),
        ("miller_madow", ref_miller_madow),
        ("grassberger", ref_grassberger),
        ("chao_shen", ref_chao_shen),
    ],
)
def test_count_formulas_match_reference(spec, reference, sample):
    x = SAMPLES[sample]
    assert mibench.entropy(x, spec) == pytest.approx(reference(counts_of(x)), abs=1e-10)


@pytest.mark.parametrize("sample", range(len(SAMPLES)))
def test_jackknife_matches_literal_leave_one_out(sample):
    x = SAMPLES[sample]
    assert mibench.entropy(x, "jackknife") == pytest.approx(ref_jackknife(x), abs=1e-9)


@pytest.mark.parametrize("sample", range(len(SAMPLES)))
@pytest.mark.parametrize("extra", [0, 7])
def test_james_stein_matches_reference(sample, extra):
    x = SAMPLES[sample]
    c = counts_of(x)
    k = len(c) + extra
    assert mibench.entropy(x, "james_stein", K=k) == pytest.approx(ref_james_stein(c, k), abs=1e-10)
    if extra == 0:
        assert mibench.entropy(x, "james_stein") == pytest.approx(ref_james_stein(c, k), abs=1e-10)


# The reference's prior is a difference of trigammas, noisy far in its tail; quad
# says so but the agreement below is what counts.
@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("sample, k", [(0, 10), (1, 6), (1, 100), (2, 30), (3, 50), (3, 1000)])
def test_nsb_matches_quadrature_reference(sample, k):
    x = SAMPLES[sample]
    assert mibench.entropy(x, "nsb", K=k) == pytest.approx(ref_nsb(counts_of(x), k), abs=1e-6)


def test_nsb_without_k_is_the_asymptotic_form_when_undersampled():
    # Nemenman (2011) eq. 29, written out here. With few coincidences the data hardly
    # bound K: the scan must end at (or just below) this K -> infinity limit, which
    # full NSB at a huge K approaches.
    rng = np.random.default_rng(5)
    x = rng.integers(0, 10**9, 400)
    x[:4] = x[4:8]  # four coincidences
    n, coincidences = 400, 4
    closed_form = (0.5772156649015329 - math.log(2) + 2 * math.log(n) - special.digamma(coincidences)) / LN2
    chosen = mibench.entropy(x, "nsb")
    assert closed_form - 0.05 < chosen <= closed_form + 1e-12
    assert mibench.entropy(x, "nsb", K=10**12) == pytest.approx(closed_form, abs=0.05)


@pytest.mark.parametrize("k, n", [(3, 200), (1024, 4096), (1024, 65536)])
def test_nsb_without_k_matches_nsb_told_k_when_well_sampled(k, n):
    # Once every symbol is seen often, the support chosen from the data must give the
    # estimate that knowing K gives, and both must sit near log2 K.
    x = np.random.default_rng(k + n).integers(0, k, n)
    told = mibench.entropy(x, "nsb", K=k)
    assert mibench.entropy(x, "nsb") == pytest.approx(told, abs=0.1)
    assert told == pytest.approx(math.log2(k), abs=0.1)


def test_nsb_without_k_is_nearly_unbiased_where_plugin_is_not():
    # A 10-bit uniform source at N = 4096: plug-in's exact expected bias is
    # -0.17 bits; NSB without K must do better over seeds.
    estimates = [mibench.entropy(np.random.default_rng(s).integers(0, 1024, 4096), "nsb") for s in range(8)]
    plugin = [mibench.entropy(np.random.default_rng(s).integers(0, 1024, 4096), "plugin") for s in range(8)]
    assert abs(np.mean(estimates) - 10) < 0.5 * abs(np.mean(plugin) - 10)


def test_nsb_without_coincidences_is_nan_with_a_reason():
    with pytest.warns(mibench.UndefinedEstimateWarning, match="no coincidences"):
        value = mibench.entropy(np.arange(20), "nsb")
    assert math.isnan(value)


def test_support_smaller_than_observed_is_an_error():
    with pytest.raises(ValueError, match="smaller than the 5 distinct"):
        mibench.entropy(np.arange(10) % 5, "nsb", K=3)
    with pytest.raises(ValueError, match="smaller than the 5 distinct"):
        mibench.entropy(np.arange(10) % 5, "james_stein", K=3)


def exact_expected_plugin(p, n):
    """E[plug-in entropy] of n draws from p: sum_i sum_j Binom(j; n, p_i) (j/n) log2(n/j)."""
    j = np.arange(1, n + 1)
    return sum(np.sum(stats.binom.pmf(j, n, pi) * (j / n) * np.log2(n / j)) for pi in p)


def sample_batch(p, n, reps, seed):
    rng = np.random.default_rng(seed)
    return rng.choice(len(p), size=(reps, n, 1), p=p)


@pytest.mark.parametrize("p, n", [([0.5, 0.3, 0.2], 10), (np.full(64, 1 / 64), 32), ([0.9, 0.05, 0.05], 25)])
def test_plugin_mean_matches_exact_finite_sample_expectation(p, n):
    draws = sample_batch(np.asarray(p), n, 4000, seed=11)
    values = mibench.entropy(draws, "plugin")
    expected = exact_expected_plugin(p, n)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - expected) < 4 * se + 1e-12


def test_miller_madow_mean_matches_exact_expectation():
    p, n = np.full(64, 1 / 64), 32
    draws = sample_batch(p, n, 4000, seed=12)
    values = mibench.entropy(draws, "miller_madow")
    expected_k1 = np.sum(1 - (1 - p) ** n)
    expected = exact_expected_plugin(p, n) + (expected_k1 - 1) / (2 * n * LN2)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - expected) < 4 * se


def test_plugin_saturates_at_log2_n_on_a_large_codebook():
    # 2**12 equiprobable codewords, 256 samples: most samples are distinct.
    draws = sample_batch(np.full(2**12, 2.0**-12), 256, 50, seed=3)
    values = mibench.entropy(draws, "plugin")
    assert np.all(values <= 8.0 + 1e-12)
    assert values.mean() == pytest.approx(exact_expected_plugin(np.full(2**12, 2.0**-12), 256), abs=0.01)


def test_entropy_from_counts_is_batched():
    counts = Counts.from_list([[5, 5], [1, 1, 1, 1, 1, 1, 2, 2], [10]])
    values = make_estimator("plugin").entropy_from_counts(counts)
    np.testing.assert_allclose(values.numpy(), [1.0, ref_plugin(np.array([1] * 6 + [2, 2])), 0.0])


def test_conditional_quantities_follow_their_definitions(rng):
    x = rng.integers(0, 3, 500)
    y = (x + rng.integers(0, 2, 500)) % 3
    z = rng.integers(0, 2, 500)
    h = lambda *v: mibench.entropy(np.stack(v, axis=1))  # noqa: E731
    assert mibench.conditional_entropy(x, y) == pytest.approx(h(x, y) - h(y))
    cmi = mibench.conditional_mutual_information(x, y, z)
    assert cmi == pytest.approx(h(x, z) + h(y, z) - h(x, y, z) - h(z))
    xor = (x + z) % 2
    # Given x, xor and z determine each other, so I(xor; z | x) = H(z | x).
    assert mibench.conditional_mutual_information(xor, z, x) == pytest.approx(h(z, x) - h(x), abs=1e-9)


# -- on large samples, beyond the conformance checks' (mibench.gates.conform) ---------------
# Known finite-n offsets on independent data (bits): the matrix functional's is
# positive and shrinks with n; KL's three-entropy sum carries each entropy's bias; NWJ is a
# high-variance bound, here with a 150-step training budget; Wu-Yang gives each of the K
# possible symbols its polynomial's value at 0 (the fit's error, > 0), so a support far
# larger than the symbols seen (K = 64 for 4, and 4096 joint for 16) adds a little.
INDEPENDENCE_TOL = {"renyi": 0.05, "kozachenko_leonenko": 0.03, "nwj": 0.1, "wu_yang": 0.02}


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_near_zero_on_independent_data(spec, rng):
    n = large_n(spec, 20000)
    x, _ = sample_for(spec, rng, n=n, d=1)
    _, y = sample_for(spec, np.random.default_rng(999), n=n, d=1)
    value = mibench.mutual_information(x, y, spec)
    assert abs(value) < INDEPENDENCE_TOL.get(name_of(spec), 0.01)


# Independence in more dimensions (d per side), N = 1000 or the estimator's cap: the
# bandwidth and neighbourhood rules must scale with d. Three known failures are kept as
# strict xfails, so a fix shows up: Kozachenko-Leonenko's three-entropy sum and KDE's
# Scott-rule densities carry a dimension bias that does not cancel, and the
# Kolchinsky-Tracey bounds target I(T+Z;Y) of the sample's own points, which for noise
# small against their spacing is H(Y) of the labels, not 0.
KNOWN_HIGH_D_BIAS = {("kozachenko_leonenko", 4), ("kozachenko_leonenko", 8), ("kde", 4), ("kde", 8),
                     ("kolchinsky_tracey", 4), ("kolchinsky_tracey", 8)}


@pytest.mark.parametrize("d", [1, 2, 4, 8])
@pytest.mark.parametrize("spec", CONTINUOUS_SPECS)
def test_near_zero_on_independent_data_in_more_dimensions(spec, d, request):
    if (name_of(spec), d) in KNOWN_HIGH_D_BIAS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="a known dimension bias of this estimator (see above)"))
    n = large_n(spec, 1000)
    values = []
    for seed in range(2):
        rng = np.random.default_rng(100 + seed)
        x = rng.standard_normal((n, d))
        y = rng.integers(0, 2, n) if name_of(spec) in LABEL_Y else rng.standard_normal((n, d))
        values.append(mibench.mutual_information(x, y, spec))
    assert abs(float(np.mean(values))) < 0.1, values


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_detects_dependence(spec, rng):
    x, y = sample_for(spec, rng, n=large_n(spec, 5000))
    assert mibench.mutual_information(x, y, spec) > 0.2


@pytest.mark.parametrize("counts, k", [([5, 3, 1, 1], 10.0), ([1] * 30 + [2] * 5, 1000.0), ([40, 30, 20, 10], 4.0),
                                       ([1] * 200 + [3] * 2, 1e6)])
def test_nsb_posterior_average_matches_scipys_adaptive_quadrature(counts, k):
    # the grid (a sparse pass, then a grid halved until it agrees with its halving) against
    # another route: SciPy's adaptive Gauss-Kronrod quadrature of the same posterior
    from scipy import integrate

    import mibench.estimators.nsb as nsb

    counts = np.array(counts)
    n = int(counts.sum())
    values, mult = (a.astype(float) for a in np.unique(counts, return_counts=True))
    grid = np.linspace(-60.0 - np.log(k), 23.0, 40001)
    log_post = nsb._log_posterior(grid, values, mult, n, k)
    top = log_post.max()
    lo, hi = grid[log_post > top - 60][[0, -1]]

    def weight(t):
        return math.exp(nsb._log_posterior(np.array([t]), values, mult, n, k)[0] - top)

    def weighted_entropy(t):
        return weight(t) * nsb._posterior_mean_entropy(np.array([t]), values, mult, n, k, len(counts))[0]

    peak = float(grid[np.argmax(log_post)])
    options = dict(limit=400, epsabs=0, epsrel=1e-12, points=[peak])
    expected = integrate.quad(weighted_entropy, lo, hi, **options)[0] / integrate.quad(weight, lo, hi, **options)[0]
    assert nsb.nsb_entropy_nats(counts, k) == pytest.approx(expected, abs=1e-9)
