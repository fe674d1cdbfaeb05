"""Tasks: samplers follow their laws, truths agree with independent routes."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats

import mibench
from mibench.tasks import TASKS, get_task, list_tasks
from mibench.tasks.base import binary_entropy, shannon_entropy
from mibench.tasks.binary import _codeword_ints
from mibench.tasks.force_to_1 import closed_form_truths, enumerate_truths
from mibench.tasks.transforms import PER_COORDINATE, apply


def test_task_names_are_the_contract():
    # the six families (with scale_mixture, Student-t's kind of dependence from another
    # law), then layer_codes (Kolchinsky-Tracey's noisy-layer target) and beyond_normal (the public
    # continuous benchmark's 40 tasks)
    assert list_tasks() == ["binary_codes", "parity", "force_to_1", "gaussian", "student_t", "scale_mixture",
                            "quantized_gaussian", "layer_codes", "beyond_normal"]
    assert mibench.list_tasks() == list_tasks()


@pytest.mark.parametrize("name", list(TASKS))
def test_same_seed_same_sample_and_shapes(name):
    task = get_task(name)
    x1, y1 = task.sample(500, seed=3)
    x2, y2 = task.sample(500, seed=3)
    x3, _ = task.sample(500, seed=4)
    assert x1.shape == (500, task.dim_x) and y1.shape == (500, task.dim_y)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert isinstance(task.mutual_information, float)


@pytest.mark.parametrize("name", list(TASKS))
def test_ids_derive_from_parameters(name):
    task = get_task(name)
    assert task.id.startswith(f"{name}(") and task == get_task(name)
    assert get_task(name).id == task.id


def test_unknown_task_and_parameter():
    with pytest.raises(ValueError, match="valid tasks: binary_codes"):
        get_task("parityy")
    with pytest.raises(TypeError, match="valid parameters: dim, noise"):
        get_task("parity", bits=3)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("binary_codes", {"p": 1.5}, r"p must be a number in \[0, 1\]"),
        ("binary_codes", {"eps": 0.6}, r"eps must be a number in \[0, 0.5\]"),
        ("binary_codes", {"dim": 0}, "dim must be an integer"),
        ("binary_codes", {"source": "codebook", "K": 0, "output": "label"}, "K must be an integer"),
        ("binary_codes", {"source": "codebook", "dim": 4, "K": 17, "output": "label"}, r"K must be an integer in \[1, 16\]"),
        ("binary_codes", {"source": "codebook", "K": 4}, "output=bsc is offered for source=bernoulli only"),
        ("binary_codes", {"output": "noisy"}, "output must be one of copy, bsc, label"),
        ("binary_codes", {"source": "codebook", "output": "label"}, "needs K"),
        ("parity", {"noise": 0.6}, r"noise must be a number in \[0, 0.5\]"),
        ("parity", {"dim": 0}, "dim must be an integer"),
        ("force_to_1", {"p": -0.1}, r"p must be a number in \[0, 1\]"),
        ("force_to_1", {"f": "and"}, "f must be one of x1, xor, parity"),
        ("force_to_1", {"f": "xor", "dim": 1}, "needs dim >= 2"),
        ("gaussian", {"rho": 1.0}, r"rho must be a number in \(-1, 1\)"),
        ("gaussian", {"dim_x": 4, "dim_y": 4, "rho": 0.5, "structure": "dense"}, "not positive definite"),
        ("gaussian", {"transforms": ("cube",)}, "valid transforms: half_cube"),
        ("student_t", {"dof": 0}, "dof must be a number > 0"),
        ("scale_mixture", {"scale": 0}, "scale must be a number > 0"),
        ("scale_mixture", {"share": 1.0}, r"share must be a number in \[0, 1\)"),
        ("quantized_gaussian", {"bins": 0}, "bins must be an integer"),
        ("quantized_gaussian", {"range": (1.0, -1.0)}, "lo < hi"),
    ],
)
def test_out_of_range_parameters_name_the_parameter(name, params, message):
    with pytest.raises(ValueError, match=message):
        get_task(name, **params)


def test_sample_arguments_are_checked():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        get_task("parity").sample(0, seed=1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        get_task("parity").sample(10, seed=-1)


# -- binary codes --------------------------------------------------------------------

def within(value, expected, se, k=4.0):
    return abs(value - expected) <= k * se + 1e-12


def test_bernoulli_rates_and_bsc_flip_rate():
    task = get_task("binary_codes", dim=6, p=0.3, eps=0.2)
    t, y = task.sample(200_000, seed=1)
    assert within(t.mean(), 0.3, math.sqrt(0.3 * 0.7 / t.size))
    flips = (t != y).mean()
    assert within(flips, 0.2, math.sqrt(0.2 * 0.8 / t.size))


def joint_bsc_mi_by_enumeration(dim, p, eps):
    codes = np.array(list(itertools.product([0, 1], repeat=dim)))
    pt = np.prod(np.where(codes == 1, p, 1 - p), axis=1)
    d = (codes[:, None, :] != codes[None, :, :]).sum(axis=2)
    joint = pt[:, None] * eps**d * (1 - eps) ** (dim - d)
    return shannon_entropy(joint.sum(1)) + shannon_entropy(joint.sum(0)) - shannon_entropy(joint)


@pytest.mark.parametrize("p, eps", [(0.5, 0.1), (0.2, 0.05), (0.9, 0.5)])
def test_bsc_truth_matches_enumeration(p, eps):
    task = get_task("binary_codes", dim=4, p=p, eps=eps)
    assert task.mutual_information == pytest.approx(joint_bsc_mi_by_enumeration(4, p, eps), abs=1e-12)
    if p == 0.5:
        assert task.mutual_information == pytest.approx(4 * (1 - binary_entropy(eps)))


@pytest.mark.parametrize("classes", [1, 3, 5])
def test_bernoulli_label_distribution_matches_enumeration(classes):
    task = get_task("binary_codes", dim=7, p=0.35, output="label", classes=classes)
    codes = np.array(list(itertools.product([0, 1], repeat=7)))
    weights = np.prod(np.where(codes == 1, 0.35, 0.65), axis=1)
    expected = np.bincount(codes.sum(1) % classes, weights=weights, minlength=classes)
    np.testing.assert_allclose(task.label_distribution(), expected, atol=1e-14)
    assert task.mutual_information == pytest.approx(shannon_entropy(expected))


def test_codebook_codewords_are_distinct_and_uniform():
    assert len(np.unique(_codeword_ints(np.arange(2**12), 12, seed=5))) == 2**12  # a bijection
    task = get_task("binary_codes", dim=20, source="codebook", K=50, output="label", classes=7)
    t, y = task.sample(20_000, seed=2)
    rows, counts = np.unique(t, axis=0, return_counts=True)
    assert len(rows) == 50
    assert stats.chisquare(counts).pvalue > 1e-4
    assert task.entropy_x == pytest.approx(math.log2(50))
    assert mibench.mutual_information(t, y) == pytest.approx(task.mutual_information, abs=0.01)


def test_copy_output_carries_the_whole_entropy():
    task = get_task("binary_codes", dim=12, source="codebook", K=300, output="copy")
    t, y = task.sample(50_000, seed=1)
    assert np.array_equal(t, y) and task.mutual_information == task.entropy_x == pytest.approx(math.log2(300))
    assert mibench.mutual_information(t, y) == pytest.approx(task.mutual_information, abs=0.01)


def test_codebook_shows_plugin_saturation_at_log2_n():
    task = get_task("binary_codes", dim=40, source="codebook", K=2**30, output="label", classes=4)
    t, _ = task.sample(1024, seed=0)
    assert task.entropy_x == 30.0
    assert mibench.entropy(t) == pytest.approx(10.0, abs=0.01)


# -- parity ----------------------------------------------------------------------------

def parity_joint(dim, noise):
    """Enumerated law of (X_1..X_dim, Y) as (outcomes, probabilities)."""
    rows, probs = [], []
    for bits in itertools.product([0, 1], repeat=dim):
        for y in (0, 1):
            rows.append(bits + (y,))
            probs.append(2.0**-dim * (1 - noise if y == sum(bits) % 2 else noise))
    return np.array(rows), np.array(probs)


def entropy_of(rows, probs, columns):
    if not columns:
        return 0.0
    _, inverse = np.unique(rows[:, columns], axis=0, return_inverse=True)
    return shannon_entropy(np.bincount(inverse.reshape(-1), weights=probs))


@pytest.mark.parametrize("dim, noise", [(1, 0.1), (2, 0.0), (3, 0.1), (4, 0.25)])
def test_parity_truths_match_enumeration(dim, noise):
    task = get_task("parity", dim=dim, noise=noise)
    rows, probs = parity_joint(dim, noise)
    y = [dim]
    mi = lambda s: entropy_of(rows, probs, s) + entropy_of(rows, probs, y) - entropy_of(rows, probs, s + y)  # noqa: E731
    for size in range(dim + 1):
        for subset in itertools.combinations(range(dim), size):
            assert task.subset_mutual_information(subset) == pytest.approx(mi(list(subset)), abs=1e-12)
    variables = list(range(dim + 1))
    co_info = -sum(
        (-1) ** len(s) * entropy_of(rows, probs, list(s))
        for k in range(1, dim + 2)
        for s in itertools.combinations(variables, k)
    )
    assert task.interaction_information == pytest.approx(co_info, abs=1e-12)
    full = list(range(dim))
    synergy = np.mean([mi(full) - mi([i]) - mi([j for j in full if j != i]) for i in full])
    assert task.synergy == pytest.approx(synergy, abs=1e-12)


def test_xor_co_information_is_minus_one_bit():
    assert get_task("parity", dim=2).interaction_information == -1.0


# -- force to 1 ------------------------------------------------------------------------

@pytest.mark.parametrize("f", ["x1", "xor", "parity"])
@pytest.mark.parametrize("dim", [1, 2, 3, 5, 9])
@pytest.mark.parametrize("p", [0.0, 0.2, 0.6, 1.0])
def test_force_to_1_closed_forms_match_enumeration(f, dim, p):
    if f == "xor" and dim < 2:
        pytest.skip("xor reads two bits")
    closed, enumerated = closed_form_truths(dim, p, f), enumerate_truths(dim, p, f)
    for key in closed:
        assert closed[key] == pytest.approx(enumerated[key], abs=1e-10), key


def test_force_to_1_sampler_follows_its_law():
    task = get_task("force_to_1", dim=4, p=0.6, f="x1")
    drawn = task.sample_all(200_000, seed=9)
    forced = drawn["noise"][:, 0] > 0
    assert within(forced.mean(), 0.6, math.sqrt(0.24 / 200_000))
    rows = np.nonzero(forced)[0]
    assert np.all(drawn["x_tilde"][rows, drawn["noise"][rows, 0] - 1] == 1)
    assert np.array_equal(drawn["x_tilde"][~forced], drawn["x"][~forced])
    x, y = task.sample(200_000, seed=9)
    assert np.array_equal(x, drawn["x"])
    assert mibench.mutual_information(x, y, "miller_madow") == pytest.approx(task.mutual_information, abs=0.005)
    assert mibench.mutual_information(drawn["noise"], y, "miller_madow") == pytest.approx(task.truths()["I(N;Y)"], abs=0.005)


# -- gaussian and student-t --------------------------------------------------------------

def monte_carlo_mi(x, y, logpdf_joint, logpdf_x, logpdf_y):
    """Mean of log p(x,y) - log p(x) - log p(y) in bits, with its standard error."""
    terms = (logpdf_joint(np.hstack([x, y])) - logpdf_x(x) - logpdf_y(y)) / math.log(2)
    return terms.mean(), terms.std(ddof=1) / math.sqrt(len(terms))


def test_sparse_gaussian_truth_is_the_pairwise_sum():
    task = get_task("gaussian", dim_x=5, dim_y=3, rho=0.7, pairs=2)
    assert task.mutual_information == pytest.approx(-math.log2(1 - 0.49), abs=1e-12)


@pytest.mark.parametrize("params", [{"dim_x": 2, "dim_y": 3, "rho": 0.3, "structure": "dense", "within": 0.2}, {"dim_x": 64, "dim_y": 64, "rho": 0.4}])
def test_gaussian_truth_matches_monte_carlo_and_covariance(params):
    task = get_task("gaussian", **params)
    x, y = task.sample(40_000, seed=5)
    dx = task.dim_x
    cov = task.cov
    mvn = lambda c: stats.multivariate_normal(np.zeros(len(c)), c).logpdf  # noqa: E731
    mean, se = monte_carlo_mi(x, y, mvn(cov), mvn(cov[:dx, :dx]), mvn(cov[dx:, dx:]))
    assert within(mean, task.mutual_information, se)
    np.testing.assert_allclose(np.cov(np.hstack([x, y]).T), cov, atol=0.05)


@pytest.mark.parametrize("dof, dims", [(1.0, (1, 1)), (3.0, (2, 3)), (10.0, (1, 2))])
def test_student_t_truth_matches_monte_carlo(dof, dims):
    task = get_task("student_t", dim_x=dims[0], dim_y=dims[1], rho=0.5, dof=dof)
    x, y = task.sample(100_000, seed=6)
    dx, cov = task.dim_x, task.cov
    mvt = lambda c: stats.multivariate_t(np.zeros(len(c)), c, df=dof).logpdf  # noqa: E731
    mean, se = monte_carlo_mi(x, y, mvt(cov), mvt(cov[:dx, :dx]), mvt(cov[dx:, dx:]))
    assert within(mean, task.mutual_information, se)


@pytest.mark.parametrize("dims, rho, scale, share", [((1, 1), 0.0, 5.0, 0.1), ((2, 3), 0.5, 20.0, 0.1),
                                                     ((3, 3), 0.9, 3.0, 0.3)])
def test_scale_mixture_truth_matches_monte_carlo(dims, rho, scale, share):
    # another route to the density: scipy's multivariate normal at the two covariances, mixed
    from scipy.special import logsumexp

    task = get_task("scale_mixture", dim_x=dims[0], dim_y=dims[1], rho=rho, scale=scale, share=share)
    x, y = task.sample(100_000, seed=8)
    dx, cov = task.dim_x, task.cov

    def mixture(c):
        laws = [stats.multivariate_normal(np.zeros(len(c)), v * c) for v in (1.0, scale**2)]
        return lambda v: logsumexp([np.log(1 - share) + laws[0].logpdf(v), np.log(share) + laws[1].logpdf(v)], axis=0)

    mean, se = monte_carlo_mi(x, y, mixture(cov), mixture(cov[:dx, :dx]), mixture(cov[dx:, dx:]))
    assert within(mean, task.mutual_information, se)


def test_scale_mixture_with_one_scale_is_the_gaussian_and_a_shared_scale_adds_information():
    gaussian = get_task("gaussian", dim_x=2, dim_y=2, rho=0.5).mutual_information
    for scale, share in ((1.0, 0.3), (4.0, 0.0)):  # S = 1 always: the scale terms cancel
        same = get_task("scale_mixture", dim_x=2, dim_y=2, rho=0.5, scale=scale, share=share).mutual_information
        assert same == pytest.approx(gaussian, abs=1e-8)
    assert get_task("scale_mixture", rho=0.0, scale=5.0, share=0.1).mutual_information > 0.05


def test_student_t_dof_term_vanishes_as_dof_grows_and_stays_without_correlation():
    assert get_task("student_t", rho=0.5, dof=1e7).mutual_information == pytest.approx(get_task("gaussian", rho=0.5).mutual_information, abs=1e-6)
    assert get_task("student_t", rho=0.0, dof=2.0).mutual_information > 0.05


@pytest.mark.parametrize("names", [("half_cube",), ("asinh", "normal_cdf"), ("wiggly", "spiral"), ("rotation", "asinh", "spiral")])
def test_transforms_keep_truth_and_change_sample(names):
    plain = get_task("gaussian", dim_x=3, dim_y=2, rho=0.6)
    bent = get_task("gaussian", dim_x=3, dim_y=2, rho=0.6, transforms=names)
    assert bent.mutual_information == plain.mutual_information
    assert "transforms=(" in bent.id and bent.id != plain.id
    x0, _ = plain.sample(300, seed=1)
    x1, _ = bent.sample(300, seed=1)
    assert not np.allclose(x0, x1)


@pytest.mark.parametrize("name", list(PER_COORDINATE))
def test_per_coordinate_transforms_are_strictly_increasing(name):
    grid = np.linspace(-6, 6, 20001)[:, None]
    assert np.all(np.diff(apply((name,), grid, 0)[:, 0]) > 0)


NEW_MARGINALS = {"logistic": stats.logistic, "laplace": stats.laplace, "t2": stats.t(2), "cauchy": stats.cauchy}


@pytest.mark.parametrize("name", list(NEW_MARGINALS))
def test_marginal_transforms_give_their_law_to_a_normal_coordinate(name):
    law = NEW_MARGINALS[name]
    a = np.random.default_rng(5).standard_normal((20000, 1))
    assert stats.kstest(apply((name,), a, 0)[:, 0], law.cdf).pvalue > 1e-3
    # scipy's quantile of Phi(a) is another route; odd symmetry carries it to the upper tail,
    # where 1 - Phi(a) has lost its digits in scipy's route but not in ours
    lower = -np.linspace(0.01, 8.0, 400)[:, None]
    assert np.allclose(apply((name,), lower, 0)[:, 0], law.ppf(stats.norm.cdf(lower[:, 0])), rtol=1e-9)
    assert np.array_equal(apply((name,), -lower, 0), -apply((name,), lower, 0))
    assert apply((name,), np.zeros((1, 1)), 0)[0, 0] == 0


def test_joint_transforms_are_invertible():
    v = np.random.default_rng(0).standard_normal((200, 3))
    rotated = apply(("rotation",), v, 4)
    assert np.allclose(np.linalg.norm(rotated, axis=1), np.linalg.norm(v, axis=1))
    spun = apply(("spiral",), v, 0)
    angle = np.sum(spun**2, axis=1)  # the norm is kept, so the angle can be recomputed
    back = spun.copy()
    back[:, 0] = np.cos(angle) * spun[:, 0] + np.sin(angle) * spun[:, 1]
    back[:, 1] = -np.sin(angle) * spun[:, 0] + np.cos(angle) * spun[:, 1]
    assert np.allclose(back, v)


# -- quantized gaussian --------------------------------------------------------------------

def cell_probabilities_by_genz(rho, edges):
    """Rectangle probabilities from scipy's multivariate normal CDF (Genz), another route."""
    mvn = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]], abseps=1e-13, releps=1e-13, maxpts=10**7)
    e = np.clip(edges, -40, 40)
    table = np.empty((len(e) - 1, len(e) - 1))
    for i in range(len(e) - 1):
        for j in range(len(e) - 1):
            table[i, j] = mvn.cdf([e[i + 1], e[j + 1]], lower_limit=[e[i], e[j]])
    return table


@pytest.mark.parametrize("rho, bins, rng, act", [(0.9, 6, (-1.0, 1.0), "tanh"), (0.5, 5, (-3.0, 3.0), "identity")])
def test_quantized_truth_matches_an_independent_integration(rho, bins, rng, act):
    from mibench.tasks.quantized import z_edges

    task = get_task("quantized_gaussian", rho=rho, bins=bins, range=rng, activation=act)
    joint = cell_probabilities_by_genz(rho, z_edges(bins, rng, act))
    expected = shannon_entropy(joint.sum(1)) + shannon_entropy(joint.sum(0)) - shannon_entropy(joint)
    assert task.mutual_information == pytest.approx(expected, abs=1e-6)
    assert task.entropy_x == pytest.approx(shannon_entropy(joint.sum(1)), abs=1e-6)


def test_binning_estimator_targets_the_discretized_truth():
    task = get_task("quantized_gaussian", rho=0.9, bins=10, range=(-1.0, 1.0), activation="tanh")
    x, y = task.sample(1_000_000, seed=8)
    estimate = mibench.mutual_information(x, y, "binned(miller_madow, rule=fixed, bins=10, range=(-1.0, 1.0))")
    assert estimate == pytest.approx(task.mutual_information, abs=0.003)
    assert abs(task.continuous_mutual_information - task.mutual_information) > 0.05


def test_quantized_truth_scales_with_independent_pairs():
    one = get_task("quantized_gaussian", rho=0.7, bins=8)
    three = get_task("quantized_gaussian", rho=0.7, bins=8, dim=3)
    assert three.mutual_information == pytest.approx(3 * one.mutual_information, abs=1e-9)
    assert three.truth_method == "quadrature (computed on demand)"


def h2(p):
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


@pytest.mark.parametrize(
    "name, params, expected",
    [
        # H(X,Y) = H(X) + H(Y|X), written out by the chain rule rather than from I
        ("parity", {"dim": 5, "noise": 0.1}, 5 + h2(0.1)),
        ("binary_codes", {"dim": 6, "p": 0.3, "output": "bsc", "eps": 0.2}, 6 * h2(0.3) + 6 * h2(0.2)),
        ("binary_codes", {"dim": 12, "source": "codebook", "K": 300, "output": "copy"}, math.log2(300)),
        ("force_to_1", {"dim": 4, "p": 0.3, "f": "x1"}, None),  # checked against a large sample below
        ("quantized_gaussian", {"rho": 0.6, "bins": 6}, None),
        ("gaussian", {"dim_x": 2, "dim_y": 2, "rho": 0.5}, "continuous"),
    ],
)
def test_joint_entropy_by_an_independent_route(name, params, expected):
    task = get_task(name, **params)
    if expected == "continuous":
        assert task.joint_entropy is None and "H(X,Y)" not in task.truths()
    elif expected is None:  # Miller-Madow on 400k draws of a small alphabet: error << 0.01 bit
        x, y = task.sample(400_000, seed=3)
        spec = "miller_madow" if name != "quantized_gaussian" else f"binned(miller_madow, rule=fixed, bins={task.bins}, range={task.range})"
        assert task.joint_entropy == pytest.approx(mibench.entropy(np.hstack([x, y]), spec), abs=0.01)
    else:
        assert task.joint_entropy == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "name, params",
    [(name, {}) for name in TASKS]
    + [
        ("binary_codes", {"dim": 30, "source": "codebook", "K": 512, "output": "label", "classes": 4}),
        ("gaussian", {"dim_x": 2, "dim_y": 3, "rho": -0.4, "transforms": ("asinh", "rotation")}),
        ("quantized_gaussian", {"rho": 0.3, "bins": 7, "range": (-2.0, 2.0), "activation": "identity"}),
    ],
)
def test_every_task_id_parses_back_to_the_same_task(name, params):
    from mibench.tasks import parse_task

    task = get_task(name, **params)
    again = parse_task(task.id)
    assert again == task and again.mutual_information == task.mutual_information


@pytest.mark.parametrize(
    "spec, message",
    [("parity(3)", "name(param=value"), ("parity(dim=3, dim=4)", "dim is given twice"),
     ("parity(dim=f(3))", "unsupported value"), ("nope(dim=3)", "valid tasks"), (3, "must be a string")],
)
def test_bad_task_specs_say_what_is_wrong(spec, message):
    from mibench.tasks import parse_task

    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        parse_task(spec)


def test_sample_seeds_stacks_the_per_seed_samples():
    task = get_task("parity", dim=3, noise=0.1)
    xs, ys = task.sample_seeds(50, [4, 7])
    assert xs.shape == (2, 50, 3) and ys.shape == (2, 50, 1)
    for i, seed in enumerate([4, 7]):
        x, y = task.sample(50, seed)
        assert np.array_equal(xs[i], x) and np.array_equal(ys[i], y)


def test_layer_codes_are_the_plus_minus_one_bits_of_a_uniform_label():
    task = get_task("layer_codes", dim=3)
    x, y = task.sample(40_000, seed=1)
    bits = (y >> np.arange(3)) & 1
    assert np.array_equal(x, 2.0 * bits - 1.0) and x.dtype == np.float64
    assert np.bincount(y[:, 0], minlength=8) / 40_000 == pytest.approx(np.full(8, 1 / 8), abs=0.01)
    codes = mibench.mutual_information(bits, y, "plugin")  # X determines Y: I = H(Y) = dim bits
    assert task.mutual_information == 3.0 and codes == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize("sigma2", [0.25, 1.0])
def test_kolchinsky_tracey_bounds_bracket_the_noisy_layer_truth(sigma2):
    # Their bounds hold for the population; 4 codewords at N = 3000 put the sample close to it.
    task = get_task("layer_codes", dim=2)
    x, y = task.sample(3000, seed=2)
    truth = task.noisy_mutual_information(sigma2)
    upper = mibench.mutual_information(x, y, "kolchinsky_tracey", sigma2=sigma2, bound="upper")
    lower = mibench.mutual_information(x, y, "kolchinsky_tracey", sigma2=sigma2, bound="lower")
    assert lower - 0.02 <= truth <= upper + 0.02 and lower < upper
    estimator = mibench.make_estimator("kolchinsky_tracey", sigma2=sigma2)
    assert estimator.target(task) == truth and mibench.make_estimator("ksg").target(task) == 2.0
