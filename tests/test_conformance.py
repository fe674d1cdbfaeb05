"""One conformance suite over the whole registry: every estimator x every check."""
import math

import numpy as np
import pytest
import torch

import mibench
from conftest import (
    ALL_SPECS,
    BINNED_SPECS,
    CONTINUOUS_SPECS,
    COUNT_BASED,
    DEVICES,
    DISCRETE_SPECS,
    LABEL_Y,
    MI_ONLY,
    STOCHASTIC,
    large_n,
    name_of,
    sample_for,
)

specs = pytest.mark.parametrize("spec", ALL_SPECS)


@specs
def test_deterministic(spec, rng):
    x, y = sample_for(spec, rng)
    assert mibench.mutual_information(x, y, spec) == mibench.mutual_information(x, y, spec)


@specs
def test_leaves_its_inputs_unchanged(spec, rng):
    # the map hands one sample to all of mibench's estimators without copying it
    x, y = sample_for(spec, rng)
    xs, ys = np.stack([x, x[::-1]]), np.stack([y, y[::-1]])
    before = (xs.copy(), ys.copy())
    tx, ty = torch.from_numpy(xs.copy()), torch.from_numpy(ys.copy())
    mibench.make_estimator(spec).mutual_information_parts(xs, ys)
    mibench.make_estimator(spec).mutual_information_parts(tx, ty)
    assert np.array_equal(xs, before[0]) and np.array_equal(ys, before[1])
    assert np.array_equal(tx.numpy(), before[0]) and np.array_equal(ty.numpy(), before[1])


@specs
def test_invariant_to_joint_row_permutation(spec, rng):
    if name_of(spec) in STOCHASTIC:
        pytest.skip("a trained critic sees row order through its minibatches: invariant in distribution only")
    x, y = sample_for(spec, rng)
    perm = rng.permutation(len(x))
    e = mibench.make_estimator(spec)
    assert e.mutual_information(x[perm], y[perm]) == pytest.approx(e.mutual_information(x, y), abs=1e-9)
    if name_of(spec) not in MI_ONLY:
        assert e.entropy(x[perm]) == pytest.approx(e.entropy(x), abs=1e-9)


@pytest.mark.parametrize("spec", DISCRETE_SPECS)
def test_invariant_to_relabelling_symbols(spec, rng):
    x, y = sample_for(spec, rng)
    relabel = rng.permutation(4)
    e = mibench.make_estimator(spec)
    assert e.mutual_information(relabel[x], y) == pytest.approx(e.mutual_information(x, y), abs=1e-12)


@pytest.mark.parametrize("spec", [s for s in BINNED_SPECS if "uniform" in s or "quantile" in s] + ["gcmi"])
def test_invariant_to_increasing_affine_maps(spec, rng):
    # Per-unit min-max and quantile edges, and ranks, move with the data.
    x, y = sample_for(spec, rng)
    e = mibench.make_estimator(spec)
    assert e.mutual_information(2.0 * x + 1.0, y) == pytest.approx(e.mutual_information(x, y), abs=1e-12)


@specs
def test_symmetric(spec, rng):
    if name_of(spec) in LABEL_Y | STOCHASTIC:
        pytest.skip("asymmetric by design: labels on one side, or a critic reading (x, y) in order")
    x, y = sample_for(spec, rng)
    e = mibench.make_estimator(spec)
    assert e.mutual_information(x, y) == pytest.approx(e.mutual_information(y, x), abs=1e-9)


@pytest.mark.parametrize("spec", sorted(COUNT_BASED))
def test_information_with_itself_is_entropy(spec, rng):
    x, _ = sample_for(spec, rng)
    e = mibench.make_estimator(spec)
    if e.get_params().get("K") is not None:
        pytest.skip("with a support size, H(X,X) is estimated over K**2 symbols, not K")
    assert e.mutual_information(x, x) == pytest.approx(e.entropy(x), abs=1e-9)


# Known finite-n offsets on independent data (bits): the matrix functional's is
# positive and shrinks with n; KL's three-entropy sum carries each entropy's bias; NWJ is a
# high-variance bound, here with a 150-step training budget; Wu-Yang gives each of the K
# possible symbols its polynomial's value at 0 (the fit's error, > 0), so a support far
# larger than the symbols seen (K = 64 for 4, and 4096 joint for 16) adds a little.
INDEPENDENCE_TOL = {"renyi": 0.05, "kozachenko_leonenko": 0.03, "nwj": 0.1, "wu_yang": 0.02}


@specs
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


@specs
def test_detects_dependence(spec, rng):
    x, y = sample_for(spec, rng, n=large_n(spec, 5000))
    assert mibench.mutual_information(x, y, spec) > 0.2


@specs
def test_never_above_a_hard_ceiling(spec, rng):
    e = mibench.make_estimator(spec)
    if not e.ceiling_is_bound:
        pytest.skip(f"{spec} declares no hard ceiling")
    for n in (40, 200) if spec in CONTINUOUS_SPECS else (2, 3, 17, 200):
        x, y = sample_for(spec, rng, n=n)
        assert e.mutual_information(x, 3 * x[:, :1] if name_of(spec) not in LABEL_Y else y) <= e.ceiling(n) + 1e-9
        if spec in CONTINUOUS_SPECS:
            continue
        assert e.entropy(x) <= e.ceiling(n) + 1e-9
        distinct = np.arange(n)[:, None] if spec in DISCRETE_SPECS else np.linspace(0, 1, n)[:, None]
        if spec.startswith("nsb"):
            continue  # K=64 caps the symbols; 200 distinct rows would exceed the support
        assert e.entropy(distinct) <= e.ceiling(n) + 1e-9


@pytest.mark.parametrize("spec", sorted(COUNT_BASED))
def test_ceiling_is_the_all_distinct_value(spec):
    e = mibench.make_estimator(spec)
    if spec.startswith("nsb"):
        assert e.ceiling(100) == pytest.approx(6.0)  # log2 K
        return
    n = 64
    distinct = np.arange(n)[:, None] if spec in DISCRETE_SPECS else np.linspace(0, 1, n)[:, None]
    if "bins=4" in spec or "width" in spec:
        pytest.skip("four bins cannot make 64 distinct codes")
    assert e.entropy(distinct) == pytest.approx(e.ceiling(n), abs=1e-9)


@specs
def test_batched_call_equals_a_loop(spec, rng):
    pairs = [sample_for(spec, rng, n=300) for _ in range(4)]
    xs = np.stack([p[0] for p in pairs])
    ys = np.stack([p[1] for p in pairs])
    batched = mibench.mutual_information(xs, ys, spec)
    assert batched.shape == (4,)
    looped = [mibench.mutual_information(x, y, spec) for x, y in pairs]
    np.testing.assert_allclose(batched, looped, atol=1e-12)


@specs
def test_unbatched_variable_broadcasts_against_a_batch(spec, rng):
    x, y = sample_for(spec, rng, n=300)
    values = mibench.mutual_information(np.stack([x, x]), y, spec)
    assert values[0] == values[1] == pytest.approx(mibench.mutual_information(x, y, spec), abs=1e-12)


@specs
@pytest.mark.parametrize("device", DEVICES)
def test_torch_output_follows_input_device_and_dtype(spec, device, rng):
    x, y = sample_for(spec, rng)
    tx = torch.as_tensor(x, device=device)
    if tx.is_floating_point():
        tx = tx.to(torch.float32)
    ty = torch.as_tensor(y, device=device)
    out = mibench.mutual_information(tx, ty, spec)
    assert isinstance(out, torch.Tensor) and out.ndim == 0
    assert out.device.type == device
    assert out.dtype == (torch.float32 if tx.is_floating_point() else torch.float64)
    ref = mibench.mutual_information(tx.cpu().numpy(), y, spec)
    assert float(out) == pytest.approx(ref, abs=1e-5)


@specs
def test_numpy_input_gives_a_python_float(spec, rng):
    x, y = sample_for(spec, rng)
    assert type(mibench.mutual_information(x, y, spec)) is float


# -- bad input --------------------------------------------------------------------

@specs
def test_rejects_nan_and_inf(spec, rng):
    x, y = sample_for(spec, rng)
    bad = np.asarray(x, dtype=float).copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        mibench.mutual_information(bad, y, spec)
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        mibench.mutual_information(bad, y, spec)


@specs
def test_rejects_mismatched_n(spec, rng):
    x, y = sample_for(spec, rng)
    with pytest.raises(ValueError, match="sample counts differ"):
        mibench.mutual_information(x, y[:-1], spec)


@specs
def test_rejects_too_few_samples(spec, rng):
    x, y = sample_for(spec, rng)
    with pytest.raises(ValueError, match="at least 2 samples"):
        mibench.mutual_information(x[:1], y[:1], spec)


@specs
def test_rejects_rank_above_three(spec, rng):
    x, y = sample_for(spec, rng)
    with pytest.raises(ValueError, match="rank 4"):
        mibench.mutual_information(x[None, None], y, spec)


@specs
def test_rejects_unknown_parameter_listing_valid_ones(spec):
    with pytest.raises(TypeError, match="valid parameters"):
        mibench.entropy([0, 1, 1], spec, no_such_option=3)


@pytest.mark.parametrize("spec", DISCRETE_SPECS)
def test_discrete_rejects_floats_naming_the_binned_form(spec, rng):
    with pytest.raises(TypeError, match=r"binned\("):
        mibench.entropy(rng.standard_normal(50), spec)


@pytest.mark.parametrize("spec", DISCRETE_SPECS)
def test_discrete_rejects_negative_codes(spec):
    with pytest.raises(ValueError, match="non-negative"):
        mibench.entropy(np.array([0, -1, 2, 2]), spec)


def test_whole_number_floats_get_a_cast_hint():
    with pytest.raises(TypeError, match="astype"):
        mibench.entropy(np.array([0.0, 1.0, 1.0]))


def test_unknown_estimator_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid estimators: plugin"):
        mibench.entropy([0, 1], "plugn")


def test_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="dtype"):
        mibench.entropy(np.array(["a", "b"]))


def test_batch_sizes_must_agree(rng):
    with pytest.raises(ValueError, match="batch sizes differ"):
        mibench.mutual_information(rng.integers(0, 2, (3, 10, 1)), rng.integers(0, 2, (2, 10, 1)))


def test_quantities_are_in_bits():
    fair_coin = np.array([0, 1] * 500)
    assert mibench.entropy(fair_coin) == pytest.approx(1.0)
    assert mibench.entropy(np.arange(8)) == pytest.approx(3.0)
    assert math.isclose(mibench.mutual_information(fair_coin, fair_coin), 1.0)


# -- bad input for the continuous estimators ------------------------------------------

@pytest.mark.parametrize("spec", [s for s in CONTINUOUS_SPECS if name_of(s) in ("ksg", "kozachenko_leonenko", "parametric_gaussian", "gcmi", "kde", "renyi")])
def test_constant_columns_are_refused(spec, rng):
    x, y = sample_for(spec, rng)
    x[:, 1] = 2.5
    with pytest.raises(ValueError, match="column 1 of x is constant"):
        mibench.mutual_information(x, y, spec)


@pytest.mark.parametrize("spec", ["ksg", "kozachenko_leonenko"])
def test_k_must_be_below_n(spec, rng):
    x, y = sample_for(spec, rng, n=5)
    with pytest.raises(ValueError, match="k=5 must be smaller than the number of samples n=5"):
        mibench.mutual_information(x, y, spec, k=5)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        mibench.mutual_information(x, y, spec, k=0)


def test_singular_covariance_says_how_to_fix_it(rng):
    x = rng.standard_normal((200, 2))
    x = np.column_stack([x, x[:, 0] + x[:, 1]])  # collinear
    with pytest.raises(ValueError, match="singular.*drop or merge them"):
        mibench.mutual_information(x, rng.standard_normal(200), "parametric_gaussian")


@pytest.mark.parametrize("params, message", [({"sigma2": 0}, "sigma2 must be a number > 0"), ({"bound": "tight"}, "bound must be")])
def test_kolchinsky_tracey_parameters(params, message, rng):
    with pytest.raises(ValueError, match=message):
        mibench.entropy(rng.standard_normal((50, 2)), "kolchinsky_tracey", **params)


def test_kolchinsky_tracey_needs_labels(rng):
    with pytest.raises(TypeError, match="integer class labels"):
        mibench.mutual_information(rng.standard_normal((50, 2)), rng.standard_normal(50), "kolchinsky_tracey")


@pytest.mark.parametrize("name", ["infonce", "nwj", "mine"])
def test_critic_batch_needs_enough_samples(name, rng):
    with pytest.raises(ValueError, match="fewer than the critic's batch_size=128"):
        mibench.mutual_information(rng.standard_normal((100, 1)), rng.standard_normal((100, 1)), name)


@pytest.mark.parametrize("spec", sorted(MI_ONLY))
def test_mi_only_estimators_refuse_entropy(spec, rng):
    with pytest.raises(TypeError, match="mutual information only"):
        mibench.entropy(rng.standard_normal((200, 1)), spec)
