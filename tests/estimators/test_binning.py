"""Discretizers: edges, conventions at the edges, agreement with the published code."""
import numpy as np
import pytest
import torch

import mibench
from mibench.estimators.binning import discretize
from mibench.gates.reference import ib_numpy_mi


def bin_codes(x, rule, **kw):
    return discretize(torch.as_tensor(x)[None], rule, **kw)[0].numpy()


def same_partition(a, b):
    a = np.unique(a, axis=0, return_inverse=True)[1].reshape(-1)
    b = np.unique(b, axis=0, return_inverse=True)[1].reshape(-1)
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_fixed_rule_reproduces_the_ib_numpy_code(rng):
    # np.digitize against linspace(-1, 1, 30) is 29 equal bins over (-1, 1).
    x = np.tanh(rng.standard_normal((3000, 5)).astype(np.float32))
    y = rng.integers(0, 4, 3000)
    ours = mibench.mutual_information(x, y, "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))")
    assert ours == pytest.approx(ib_numpy_mi(x, y, n_edges=30), abs=1e-9)
    edges = np.linspace(-1, 1, 30)
    assert same_partition(bin_codes(x.astype(np.float64), "fixed", bins=29), np.digitize(x.astype(np.float64), edges))


def test_fixed_rule_edges_are_half_open_and_out_of_range_values_clip():
    x = np.array([[-5.0], [0.0], [0.2499], [0.25], [0.5], [0.9999], [1.0], [7.0]])
    codes = bin_codes(x, "fixed", bins=4, value_range=(0.0, 1.0))[:, 0]
    assert codes.tolist() == [0, 0, 0, 1, 2, 3, 3, 3]


def test_uniform_rule_is_per_unit_min_max():
    x = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 40.0], [4.0, 50.0]])
    codes = bin_codes(x, "uniform", bins=4)
    assert codes[:, 0].tolist() == [0, 1, 2, 3, 3]  # the max falls in the last bin
    assert codes[:, 1].tolist() == codes[:, 0].tolist()


def test_uniform_rule_constant_unit_is_one_bin():
    x = np.column_stack([np.full(6, 3.3), np.arange(6.0)])
    codes = bin_codes(x, "uniform", bins=5)
    assert set(codes[:, 0].tolist()) == {0}


def test_width_rule_is_floor_of_a_over_w(rng):
    x = rng.uniform(-2, 2, (500, 3))
    codes = bin_codes(x, "width", width=0.3)
    assert same_partition(codes, np.floor(x / 0.3))
    assert codes.min() == 0


def test_quantile_rule_gives_equal_mass(rng):
    x = rng.standard_normal((1000, 2))
    codes = bin_codes(x, "quantile", bins=8)
    for j in range(2):
        assert np.bincount(codes[:, j]).tolist() == [125] * 8


def test_quantile_rule_keeps_ties_together():
    x = np.array([[0.0]] * 6 + [[1.0], [2.0]])
    codes = bin_codes(x, "quantile", bins=4)[:, 0]
    assert len(set(codes[:6].tolist())) == 1


def test_bins_per_batch_element_are_their_own(rng):
    x = rng.standard_normal((2, 100, 1))
    x[1] = 100 * x[0] + 5  # per-unit min-max of each batch element: same codes
    codes = discretize(torch.as_tensor(x), "uniform", bins=7).numpy()
    assert (codes[0] == codes[1]).all()


def test_integer_variables_pass_through_unbinned(rng):
    x = rng.standard_normal((400, 1))
    labels = rng.integers(0, 300, 400)  # more classes than bins: binning them would merge classes
    e = mibench.make_estimator("binned(plugin, rule=uniform, bins=3)")
    assert e.entropy(labels) == pytest.approx(mibench.entropy(labels))
    assert e.mutual_information(x, labels) > 0


def test_pass_through_labels_are_still_checked():
    with pytest.raises(ValueError, match="non-negative"):
        mibench.mutual_information(np.ones((5, 1)) * np.arange(5)[:, None], np.array([0, 1, -2, 1, 0]), "binned")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"bins": 0}, "bins must be an integer >= 1"),
        ({"bins": 2.5}, "bins must be an integer >= 1"),
        ({"rule": "width"}, "needs a bin width"),
        ({"rule": "width", "width": 0}, "width must be a number > 0"),
        ({"rule": "width", "width": -1.0}, "width must be a number > 0"),
        ({"rule": "fixed", "range": (1.0, -1.0)}, "lo < hi"),
        ({"rule": "uniform", "width": 0.5}, "does not apply to rule=uniform"),
        ({"rule": "histogram"}, "valid rules: fixed, uniform, width, quantile"),
        ({"discrete": "binned"}, "needs a discrete estimator inside"),
    ],
)
def test_bad_binning_parameters_say_what_to_change(params, message):
    with pytest.raises(ValueError, match=message):
        mibench.entropy(np.linspace(0, 1, 20), "binned", **params)


def test_float16_and_float32_inputs_bin_like_float64(rng):
    x = rng.uniform(-1, 1, (500, 3)).astype(np.float16)
    ref = mibench.entropy(x.astype(np.float64), "binned(plugin, rule=fixed, bins=8)")
    for dtype in (torch.float16, torch.float32):
        assert float(mibench.entropy(torch.as_tensor(x).to(dtype), "binned(plugin, rule=fixed, bins=8)")) == pytest.approx(ref, abs=1e-3)


def test_labels_saved_as_floats_are_read_as_labels_not_binned():
    # class labels 0..9 stored as float32: a fixed (-1, 1) grid would merge classes 1-9
    rng = np.random.default_rng(3)
    acts = np.tanh(rng.standard_normal((5000, 4)))
    labels = rng.integers(0, 10, 5000)
    spec = "binned(plugin, rule=fixed, bins=30)"
    with pytest.warns(mibench.AmbiguousInputWarning, match="whole numbers only .10 distinct rows.*merged them into 2"):
        as_float = mibench.mutual_information(acts, labels.astype(np.float32), spec)
    assert as_float == mibench.mutual_information(acts, labels, spec)
    assert as_float == pytest.approx(mibench.entropy(labels), abs=0.05)  # all binned rows distinct: I = H(Y)


def test_plus_minus_one_codes_are_read_as_codes_silently(recwarn):
    codes = 2.0 * np.random.default_rng(4).integers(0, 2, (400, 3)) - 1
    assert mibench.entropy(codes, "binned(plugin, rule=uniform, bins=8)") == mibench.entropy((codes > 0).astype(int))
    assert not [w for w in recwarn if issubclass(w.category, mibench.AmbiguousInputWarning)]


def test_fixed_range_says_how_much_it_clips():
    relu = np.maximum(np.random.default_rng(5).standard_normal((4000, 3)) * 2, 0)
    share = float(np.mean(relu > 1))
    with pytest.warns(mibench.AmbiguousInputWarning, match=f"{share:.1%} of the values of x .* outside range=.-1, 1."):
        clipped = mibench.entropy(relu, "binned(plugin, rule=fixed, bins=30)")
    assert clipped < mibench.entropy(relu, "binned(plugin, rule=uniform, bins=30)") - 1  # the effect is large
