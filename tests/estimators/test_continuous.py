"""Continuous estimators: against naive references, closed forms and Monte Carlo."""
import math

import numpy as np
import pytest
import torch
from scipy import special, stats

import mibench
from conftest import DEVICES
from mibench.core.neighbors import count_within, kth_neighbours
from mibench.tasks import get_task

LOG2 = math.log(2)


def distances(*sides, p=np.inf):
    """Pairwise distances in the product of the sides: the largest side's p-norm distance."""
    d = np.max([np.linalg.norm(a[:, None, :] - a[None, :, :], ord=p, axis=2) for a in sides], axis=0)
    np.fill_diagonal(d, np.inf)
    return d


def chebyshev(a):
    return distances(a)


def naive_ksg(x, y, k, algorithm, p=np.inf):
    """O(n^2) KSG straight from Kraskov et al. (2004), eqs. 8 and 9, with the sides'
    p-norms joined by their maximum."""
    n = len(x)
    dj, dx, dy = distances(x, y, p=p), distances(x, p=p), distances(y, p=p)
    if algorithm == 1:
        eps = np.sort(dj, axis=1)[:, k - 1]
        nx, ny = (dx < eps[:, None]).sum(1), (dy < eps[:, None]).sum(1)
        return (special.digamma(k) + special.digamma(n) - np.mean(special.digamma(nx + 1) + special.digamma(ny + 1))) / LOG2
    nearest = np.argsort(dj, axis=1)[:, :k]
    ex = np.take_along_axis(dx, nearest, 1).max(1)
    ey = np.take_along_axis(dy, nearest, 1).max(1)
    nx, ny = (dx <= ex[:, None]).sum(1), (dy <= ey[:, None]).sum(1)
    return (special.digamma(k) - 1 / k + special.digamma(n) - np.mean(special.digamma(nx) + special.digamma(ny))) / LOG2


def naive_cmi(x, y, z, k, p=np.inf):
    eps = np.sort(distances(x, y, z, p=p), axis=1)[:, k - 1]
    count = lambda *a: (distances(*a, p=p) < eps[:, None]).sum(1)  # noqa: E731
    terms = special.digamma(count(x, z) + 1) + special.digamma(count(y, z) + 1) - special.digamma(count(z) + 1)
    return (special.digamma(k) - terms.mean()) / LOG2


def naive_kl(x, k, p=np.inf):
    n, d = x.shape
    eps = np.sort(distances(x, p=p), axis=1)[:, k - 1]
    log_ball = d * math.log(2) if p == np.inf else d / 2 * math.log(math.pi) - math.lgamma(d / 2 + 1)
    return (special.digamma(n) - special.digamma(k) + log_ball + d * np.mean(np.log(eps))) / LOG2


@pytest.fixture
def pair():
    task = get_task("gaussian", dim_x=2, dim_y=3, rho=0.6)
    return task.sample(300, seed=4)


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_ksg_matches_the_naive_reference(pair, algorithm, k):
    x, y = pair
    value = mibench.mutual_information(x, y, "ksg", k=k, algorithm=algorithm, noise=0)
    assert value == pytest.approx(naive_ksg(x, y, k, algorithm), abs=1e-9)


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("k", [1, 7])
def test_euclidean_ksg_matches_the_naive_reference(pair, algorithm, k):
    # bmi's variant: each side's Euclidean norm, the joint space their maximum
    x, y = pair
    value = mibench.mutual_information(x, y, "ksg", k=k, algorithm=algorithm, noise=0, metric="euclidean")
    assert value == pytest.approx(naive_ksg(x, y, k, algorithm, p=2), abs=1e-9)
    assert value != pytest.approx(naive_ksg(x, y, k, algorithm), abs=1e-3)  # the metric matters on 2 + 3 dims
    z = x[:, :1] + 0.3 * np.random.default_rng(1).standard_normal((300, 1))
    cmi = mibench.conditional_mutual_information(x, y, z, "ksg", k=k, noise=0, metric="euclidean")
    assert cmi == pytest.approx(naive_cmi(x, y, z, k, p=2), abs=1e-9)
    assert mibench.entropy(y, "ksg", k=k, noise=0, metric="euclidean") == pytest.approx(naive_kl(y, k, p=2), abs=1e-9)


def test_on_one_dimensional_sides_euclidean_and_max_norm_ksg_agree_to_the_last_bit():
    # Euclidean = max-norm on one coordinate; the distances must be computed the same way
    # on every path (a matrix-product form of the distance rounds differently from the
    # trees' and shifted about one count in ten: 0.005 bit low at n = 5,000)
    x, y = get_task("gaussian", rho=0.75).sample(3000, seed=0)
    for standardize in (False, True):
        same = dict(k=10, noise=0, standardize=standardize)
        assert (mibench.mutual_information(x, y, "ksg", metric="euclidean", **same)
                == mibench.mutual_information(x, y, "ksg", **same))


def test_standardize_scales_columns_to_unit_variance_first():
    x, y = get_task("gaussian", dim_x=2, dim_y=2, rho=0.6).sample(500, seed=3)
    stretched = x * np.array([1000.0, 0.001])
    z = lambda a: (a - a.mean(0)) / a.std(0)  # noqa: E731
    for metric in ("max", "euclidean"):
        est = dict(k=5, noise=0, metric=metric)
        standardized = mibench.mutual_information(stretched, y, "ksg", standardize=True, **est)
        assert standardized == pytest.approx(mibench.mutual_information(z(x), z(y), "ksg", **est), abs=1e-9)
        # without it one stretched column decides every neighbourhood
        assert abs(mibench.mutual_information(stretched, y, "ksg", **est) - standardized) > 0.05


@pytest.mark.parametrize("params, words", [({"metric": "l1"}, "metric must be one of max, euclidean"),
                                           ({"standardize": "yes"}, "standardize")])
def test_ksg_refuses_an_unknown_metric_or_a_non_boolean_standardize(pair, params, words):
    with pytest.raises(ValueError, match=words):
        mibench.mutual_information(*pair, "ksg", **params)


def test_frenzel_pompe_cmi_and_kl_entropy_match_naive_references(pair):
    x, y = pair
    z = x[:, :1] + 0.3 * np.random.default_rng(1).standard_normal((300, 1))
    assert mibench.conditional_mutual_information(x, y, z, "ksg", noise=0) == pytest.approx(naive_cmi(x, y, z, 3), abs=1e-9)
    assert mibench.entropy(x, "ksg", noise=0) == pytest.approx(naive_kl(x, 3), abs=1e-9)
    assert mibench.entropy(y, "kozachenko_leonenko", k=5, noise=0) == pytest.approx(naive_kl(y, 5), abs=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("strict", [True, False])
def test_tree_and_brute_force_neighbours_agree(pair, strict, device):
    # method="tree" on an accelerator runs on the host and hands back tensors on the input's device
    points = torch.from_numpy(np.hstack(pair)).to(device)
    d_tree, i_tree = kth_neighbours(points, 4, method="tree")
    d_brute, i_brute = kth_neighbours(points, 4, method="brute")
    assert d_tree.device == points.device and i_tree.device == points.device
    assert torch.allclose(d_tree, d_brute, atol=0, rtol=0)
    radius = d_tree[:, -1]
    tree = count_within(points, radius, strict=strict, method="tree")
    assert tree.device == points.device
    assert torch.equal(tree, count_within(points, radius, strict=strict, method="brute"))


@pytest.mark.parametrize("algorithm", [1, 2])
def test_a_batch_estimated_side_by_side_in_threads_matches_each_sample_by_the_paper(algorithm, monkeypatch):
    """A batch's kNN estimates run one per thread (a subsampling curve's blocks): each must
    still be its own sample's KSG, from the O(n^2) reference, and the threads' one-thread
    tree searches must not outlive the call."""
    from mibench.core import neighbors, threads
    from mibench.estimators import knn

    monkeypatch.setattr(threads, "threads_for", lambda values, limit=None: 2)  # busy cores would choose one
    alone = []
    real = knn.one_thread_each

    def counted():
        alone.append(1)
        return real()

    monkeypatch.setattr(knn, "one_thread_each", counted)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 300, 2))
    y = x[..., :1] + 0.5 * rng.standard_normal((5, 300, 1))
    got = mibench.mutual_information(x, y, "ksg", algorithm=algorithm, noise=0)
    assert len(alone) == 5 and neighbors._threads() == torch.get_num_threads()
    want = [naive_ksg(x[b], y[b], 3, algorithm) for b in range(5)]
    assert np.asarray(got) == pytest.approx(want, abs=1e-9)
    assert len(set(np.round(want, 6))) == 5  # five different samples, so a mix-up of elements would show


def test_fewer_rows_than_threads_still_find_their_neighbours(monkeypatch):
    # the tree searches split rows among threads; a thread with no rows must not be asked
    from mibench.core import neighbors

    monkeypatch.setattr(neighbors, "_threads", lambda: 4)
    points = torch.tensor([[0.0, 0.0], [1.0, 0.5], [3.0, 1.0]], dtype=torch.float64)
    d_tree, _ = kth_neighbours(points, 1, method="tree")
    assert d_tree[:, 0].tolist() == [1.0, 1.0, 2.0]  # Chebyshev distances to the nearest other point
    counts = count_within(points, torch.tensor([1.5, 1.5, 1.5], dtype=torch.float64), strict=True, method="tree")
    assert counts.tolist() == [1, 1, 0]


def test_ties_are_broken_deterministically():
    x = np.repeat(np.arange(50.0), 4)[:, None]  # every value four times
    y = x + np.repeat([0.0, 1.0], 100)[:, None]
    a = mibench.mutual_information(x, y, "ksg")
    assert a == mibench.mutual_information(x, y, "ksg") and math.isfinite(a)


@pytest.mark.parametrize("rho, dims", [(0.5, (1, 1)), (0.9, (2, 2))])
def test_ksg_and_parametric_estimators_recover_gaussian_truth(rho, dims):
    task = get_task("gaussian", dim_x=dims[0], dim_y=dims[1], rho=rho)
    x, y = task.sample(5000, seed=2)
    assert mibench.mutual_information(x, y, "ksg") == pytest.approx(task.mutual_information, abs=0.05)
    assert mibench.mutual_information(x, y, "parametric_gaussian") == pytest.approx(task.mutual_information, abs=0.03)
    assert mibench.mutual_information(x, y, "gcmi") == pytest.approx(task.mutual_information, abs=0.03)


def test_differential_entropies_of_a_standard_normal():
    x = np.random.default_rng(3).standard_normal((3000, 1))
    expected = 0.5 * math.log2(2 * math.pi * math.e)
    for spec in ("ksg", "kozachenko_leonenko", "kde", "parametric_gaussian"):
        assert mibench.entropy(x, spec) == pytest.approx(expected, abs=0.05), spec


def test_kde_resubstitution_is_below_leave_one_out():
    x = np.random.default_rng(4).standard_normal((500, 2))
    assert mibench.entropy(x, "kde", leave_one_out=False) < mibench.entropy(x, "kde")


def reference_gcmi(x, y):
    """Ince et al.'s recipe in plain numpy: rankdata -> ndtri -> log-det, bias corrected."""
    n = len(x)
    cx = special.ndtri(stats.rankdata(x, axis=0) / (n + 1))
    cy = special.ndtri(stats.rankdata(y, axis=0) / (n + 1))

    def h(a):
        d = a.shape[1]
        corr = d * (math.log(2) - math.log(n - 1)) / 2 + sum(special.digamma((n - i) / 2) for i in range(1, d + 1)) / 2
        return 0.5 * np.linalg.slogdet(np.cov(a.T).reshape(d, d))[1] - corr

    return (h(cx) + h(cy) - h(np.hstack([cx, cy]))) / LOG2


def test_gcmi_matches_reference_and_ignores_monotone_maps():
    task = get_task("gaussian", dim_x=3, dim_y=2, rho=0.5, transforms=("wiggly",))
    x, y = task.sample(2000, seed=5)
    value = mibench.mutual_information(x, y, "gcmi")
    assert value == pytest.approx(reference_gcmi(x, y), abs=1e-10)
    assert mibench.mutual_information(np.arcsinh(x), np.exp(y), "gcmi") == pytest.approx(value, abs=1e-12)


def test_kolchinsky_tracey_bounds_bracket_a_monte_carlo_mixture_entropy():
    rng = np.random.default_rng(6)
    t, sigma2 = rng.standard_normal((200, 2)), 0.05
    upper = mibench.entropy(t, "kolchinsky_tracey", sigma2=sigma2)
    lower = mibench.entropy(t, "kolchinsky_tracey", sigma2=sigma2, bound="lower")
    # Monte Carlo of H(T + Z) for T uniform on the 200 points.
    draws = t[rng.integers(0, 200, 40_000)] + math.sqrt(sigma2) * rng.standard_normal((40_000, 2))
    sq = ((draws[:, None, :] - t[None, :, :]) ** 2).sum(2)
    log_p = special.logsumexp(-sq / (2 * sigma2), axis=1) - math.log(200) - math.log(2 * math.pi * sigma2)
    mc, se = -log_p.mean() / LOG2, log_p.std() / LOG2 / math.sqrt(len(log_p))
    assert lower - 4 * se <= mc <= upper + 4 * se
    assert lower < upper


def test_kolchinsky_tracey_saturates_at_log2_n_for_separated_points():
    t = np.arange(64.0)[:, None] * 10  # far apart against the noise
    labels = np.arange(64) % 4
    est = mibench.make_estimator("kolchinsky_tracey", sigma2=0.01)
    assert est.entropy(t) - est.noise_entropy_bits(1) == pytest.approx(6.0, abs=1e-9)
    assert est.mutual_information(t, labels) == pytest.approx(2.0, abs=1e-9)


def test_renyi_entropy_reaches_log2_n_when_points_are_far_apart():
    x = np.arange(32.0)[:, None] * 100
    assert mibench.entropy(x, "renyi", sigma=1.0) == pytest.approx(5.0, abs=1e-9)


def test_renyi_mi_grows_with_dependence():
    low = get_task("gaussian", rho=0.2).sample(400, 1)
    high = get_task("gaussian", rho=0.9).sample(400, 1)
    assert mibench.mutual_information(*high, "renyi") > mibench.mutual_information(*low, "renyi")


def test_infonce_never_exceeds_log2_batch_and_is_seeded():
    task = get_task("gaussian", dim_x=4, dim_y=4, rho=0.99)  # about 26 bits
    x, y = task.sample(512, seed=1)
    spec = "infonce(steps=100, batch_size=16, hidden=16, lr=0.005, split=None, eval_every=0, patience=0, eval_batch=16)"
    value = mibench.mutual_information(x, y, spec)
    assert value <= 4.0 + 1e-9 < task.mutual_information
    assert value == mibench.mutual_information(x, y, spec)
    assert value != mibench.mutual_information(x, y, spec.replace(")", ", seed=1)"))


@pytest.mark.parametrize("name", ["infonce", "nwj", "mine"])
def test_neural_bounds_approach_a_moderate_truth(name):
    task = get_task("gaussian", rho=0.8)
    x, y = task.sample(4000, seed=2)
    value = mibench.mutual_information(x, y, f"{name}(steps=300, batch_size=64, hidden=32, lr=0.005)")
    assert value == pytest.approx(task.mutual_information, abs=0.2)


@pytest.mark.parametrize("name", ["infonce", "nwj", "mine"])
def test_a_batch_of_samples_trains_one_critic_each_with_the_numbers_each_gets_alone(name):
    # seeds trained side by side (as the map runs them) must not pool their critics: each
    # sample's bound is the one it gets alone (up to float32 rounding of the final average)
    xs, ys = get_task("gaussian", dim_x=2, dim_y=2, rho=0.6).sample_seeds(256, (0, 1, 2))
    spec = f"{name}(steps=40, batch_size=16, hidden=8, lr=0.005)"
    together = np.asarray(mibench.mutual_information(xs, ys, spec), dtype=float)
    alone = [float(mibench.mutual_information(xs[i], ys[i], spec)) for i in range(3)]
    assert together == pytest.approx(alone, abs=1e-6)
    assert len(set(np.round(alone, 6))) == 3  # three different samples, three different numbers


def test_kernel_sums_in_float32_agree_with_float64():
    from mibench.estimators.kernel import _log_mean_kernel

    x = torch.from_numpy(np.random.default_rng(3).standard_normal((500, 3)))
    scale = x.std(dim=0, keepdim=True) * 500 ** (-1 / 7)
    exact = torch.stack([torch.logsumexp(-0.5 * (((x[i] - x) / scale) ** 2).sum(1)[torch.arange(500) != i], 0)
                         for i in range(500)]) - np.log(499)
    fast = _log_mean_kernel(x, scale, exclude_self=True)
    assert float((fast - exact).abs().max()) < 1e-4 and abs(float(fast.mean() - exact.mean())) < 1e-6
    # one label per point: each group's mean over its own members, as if computed group by group
    groups = torch.from_numpy(np.random.default_rng(4).integers(0, 3, 500))
    within = _log_mean_kernel(x, scale, exclude_self=False, groups=groups)
    for g in range(3):
        alone = _log_mean_kernel(x[groups == g], scale, exclude_self=False)
        assert torch.allclose(within[groups == g], alone, atol=1e-4)
