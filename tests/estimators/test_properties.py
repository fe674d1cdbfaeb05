"""Hypothesis property tests: information inequalities and exact counting."""
import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mibench
from mibench.core import Counts, pattern_ids
from mibench.registry import make_estimator
from mibench.testing import codes, count_vectors, paired_codes

TOL = 1e-9
settings.register_profile("mibench", max_examples=60, deadline=None, derandomize=True)
settings.load_profile("mibench")


@given(paired_codes())
def test_plugin_mi_between_zero_and_the_smaller_entropy(xy):
    x, y = xy
    mi = mibench.mutual_information(x, y)
    assert -TOL <= mi <= min(mibench.entropy(x), mibench.entropy(y)) + TOL


@given(codes())
def test_plugin_entropy_at_most_log2_n(x):
    assert mibench.entropy(x) <= math.log2(len(x)) + TOL


@given(paired_codes(), st.integers(1, 3))
def test_data_processing_inequality(xy, modulus):
    x, y = xy
    processed = y.sum(axis=1) % modulus  # any function of y
    assert mibench.mutual_information(x, processed) <= mibench.mutual_information(x, y) + TOL


@given(paired_codes(variables=3))
def test_plugin_conditional_mi_is_non_negative_and_bounded(xyz):
    x, y, z = xyz
    cmi = mibench.conditional_mutual_information(x, y, z)
    assert -TOL <= cmi <= mibench.conditional_entropy(x, z) + TOL


@given(paired_codes())
def test_conditioning_reduces_plugin_entropy(xy):
    x, y = xy
    assert mibench.conditional_entropy(x, y) <= mibench.entropy(x) + TOL


@given(paired_codes())
def test_miller_madow_and_plugin_agree_on_mi_up_to_the_count_terms(xy):
    x, y = xy
    # MM adds (K-1)/(2N ln 2) to each entropy, so their MI differ by exactly that combination.
    n = len(x)
    k = lambda *v: len(np.unique(np.concatenate(v, axis=1), axis=0))  # noqa: E731
    shift = (k(x) - 1 + k(y) - 1 - (k(x, y) - 1)) / (2 * n * math.log(2))
    assert math.isclose(mibench.mutual_information(x, y, "miller_madow"), mibench.mutual_information(x, y) + shift, abs_tol=1e-9)


@given(codes(max_dim=12, max_symbols=300))
def test_pattern_ids_partition_rows_exactly(x):
    ids, k = pattern_ids(torch.from_numpy(x)[None])
    ref = np.unique(x, axis=0, return_inverse=True)[1].reshape(-1)
    assert int(k[0]) == len(set(ref.tolist()))
    assert len(set(zip(ids[0].tolist(), ref.tolist()))) == int(k[0])


@given(count_vectors())
def test_bias_corrections_do_not_lower_the_plugin(c):
    counts = Counts.from_list([c.tolist()])
    plugin = float(make_estimator("plugin").entropy_from_counts(counts)[0])
    for name in ("miller_madow", "jackknife"):
        assert float(make_estimator(name).entropy_from_counts(counts)[0]) >= plugin - TOL
