"""One conformance suite over the whole registry: every estimator x every check that
``mibench conform`` ships (:func:`mibench.gates.conform.checks`, as scikit-learn's
``parametrize_with_checks``), then what only mibench's own estimators promise."""
import math

import numpy as np
import pytest
import torch

import mibench
from conftest import ALL_SPECS, BINNED_SPECS, CONTINUOUS_SPECS, DEVICES, DISCRETE_SPECS, LABEL_Y, MI_ONLY, name_of, sample_for
from mibench.gates.conform import checks, run_check


def _cases():
    for spec, check in checks(ALL_SPECS):
        known = mibench.make_estimator(spec).known_failures.get(check)
        marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
        yield pytest.param(spec, check, id=f"{spec}-{check}", marks=marks)


@pytest.mark.parametrize("spec, check", list(_cases()))
def test_shipped_check(spec, check):
    result = run_check(mibench.make_estimator(spec), check)
    if result.skipped:
        pytest.skip(result.detail)
    assert result.passed and not result.known, result.detail


def test_every_registered_estimator_declares_its_tags_consistently():
    for spec in ALL_SPECS:
        e = mibench.make_estimator(spec)
        assert e.inputs in ("codes", "continuous")
        assert (e.discrete is not None) == e.count_based, spec  # counts of codes <=> a discrete estimator behind
        assert (e.codes(np.arange(6)[:, None]) is not None) == e.count_based, spec
        assert (spec in DISCRETE_SPECS) == (e.inputs == "codes"), spec
        assert (name_of(spec) in MI_ONLY) == (not e.estimates_entropy), spec
        assert (name_of(spec) in LABEL_Y) == e.needs_label_y, spec


# -- beyond the shipped checks: what mibench's own estimators promise -----------------

@pytest.mark.parametrize("spec", [s for s in BINNED_SPECS if "uniform" in s or "quantile" in s] + ["gcmi"])
def test_invariant_to_increasing_affine_maps(spec, rng):
    # Per-unit min-max and quantile edges, and ranks, move with the data.
    x, y = sample_for(spec, rng)
    e = mibench.make_estimator(spec)
    assert e.mutual_information(2.0 * x + 1.0, y) == pytest.approx(e.mutual_information(x, y), abs=1e-12)


def test_nsb_with_a_support_size_saturates_at_log2_k():
    assert mibench.make_estimator("nsb(K=64)").ceiling(100) == pytest.approx(6.0)


@pytest.mark.parametrize("spec", ALL_SPECS)
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


# -- bad input: mibench's own wording (every estimator goes through mibench._validate) -

@pytest.mark.parametrize("spec", ["plugin", "binned(plugin, rule=uniform, bins=4)", "ksg"])
def test_bad_input_messages_say_what_to_change(spec, rng):
    x, y = sample_for(spec, rng)
    bad = np.asarray(x, dtype=float).copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        mibench.mutual_information(bad, y, spec)
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        mibench.mutual_information(bad, y, spec)
    with pytest.raises(ValueError, match="sample counts differ"):
        mibench.mutual_information(x, y[:-1], spec)
    with pytest.raises(ValueError, match="at least 2 samples"):
        mibench.mutual_information(x[:1], y[:1], spec)
    with pytest.raises(ValueError, match="rank 4"):
        mibench.mutual_information(x[None, None], y, spec)


@pytest.mark.parametrize("spec", ALL_SPECS)
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
    # the published protocol trains on half the rows in batches of 256: 100 rows cannot fill one
    with pytest.raises(ValueError, match=r"trains on 50 of n=100 rows \(split=0.5\), fewer than its batch_size=256; "
                                         r"lower batch_size, raise split or add samples \(at least 512 rows\)"):
        mibench.mutual_information(rng.standard_normal((100, 1)), rng.standard_normal((100, 1)), name)


@pytest.mark.parametrize("spec", sorted(MI_ONLY))
def test_mi_only_estimators_refuse_entropy(spec, rng):
    with pytest.raises(TypeError, match="mutual information only"):
        mibench.entropy(rng.standard_normal((200, 1)), spec)
