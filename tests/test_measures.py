"""Measures checked on tasks whose synergy is known exactly."""
import numpy as np
import pytest
import torch

from mibench import measures
from mibench.tasks import get_task


@pytest.mark.parametrize("dim", [2, 3])
def test_synergy_of_parity_matches_the_task_truth(dim):
    task = get_task("parity", dim=dim, noise=0.1)
    x, y = task.sample(40_000, seed=1)
    assert measures.synergy(x, y, "miller_madow") == pytest.approx(task.synergy, abs=0.01)
    assert measures.sum_vs_whole(x, y, "miller_madow") == pytest.approx(task.mutual_information, abs=0.01)


def test_xor_interaction_information_is_minus_the_mi():
    task = get_task("parity", dim=2, noise=0.05)
    x, y = task.sample(40_000, seed=2)
    value = measures.interaction_information(x[:, 0], x[:, 1], y, "miller_madow")
    assert value == pytest.approx(task.interaction_information, abs=0.01)
    co = measures.co_information([x[:, 0], x[:, 1], y], "miller_madow")
    assert co == pytest.approx(task.interaction_information, abs=0.01)


def test_co_information_of_four_variables_matches_parity():
    task = get_task("parity", dim=3, noise=0.1)
    x, y = task.sample(60_000, seed=3)
    co = measures.co_information([x[:, 0], x[:, 1], x[:, 2], y], "miller_madow")
    assert co == pytest.approx(task.interaction_information, abs=0.02)


def test_force_to_1_synergy_is_positive_for_parity_and_zero_for_x1():
    parity = get_task("force_to_1", dim=3, p=0.3, f="parity")
    x, y = parity.sample(40_000, seed=4)
    assert measures.synergy(x, y, "miller_madow") > 0.3
    first = get_task("force_to_1", dim=3, p=0.3, f="x1")
    x, y = first.sample(40_000, seed=4)
    # Y depends on X through x1 alone: every term I(X;Y) - I(X_i;Y) - I(X_-i;Y) is 0.
    assert measures.synergy(x, y, "miller_madow") == pytest.approx(0.0, abs=0.01)


def test_information_plane_conventions():
    rng = np.random.default_rng(5)
    x = np.arange(2000)[:, None]  # distinct inputs
    t = np.tanh(rng.standard_normal((2000, 8)))
    y = rng.integers(0, 2, 2000)
    i_xt, i_ty = measures.information_plane(x, t, y, "binned(plugin, rule=fixed, bins=30)")
    assert i_xt == pytest.approx(np.log2(2000), abs=0.01)  # every binned row distinct: I(X;T) = H(T) = log2 N
    assert i_ty == pytest.approx(1.0, abs=0.01)  # and I(T;Y) collapses to H(Y)
    kt_xt, kt_ty = measures.information_plane(x, t, y, "kolchinsky_tracey(sigma2=0.001)")
    assert kt_xt <= np.log2(2000) + 1e-9 and kt_ty <= 1.0 + 1e-6


def test_pmi_weights_and_reweighted_label():
    z = np.array([0, 0, 1, 1, 1, 1])
    y = np.array([0, 0, 1, 1, 1, 0])
    w = measures.pmi_weights(z, y)
    # p(z=0,y=0)=2/6, p(z=0)=2/6, p(y=0)=3/6 -> 2
    assert w[0] == pytest.approx(2.0) and w[2] == pytest.approx((3 / 6) / ((4 / 6) * (3 / 6)))
    xq, q = measures.pmi_resample(np.arange(6)[:, None], z, y, seed=1)
    assert xq.shape == (6, 1) and set(q[:, 0]) <= {0, 1}
    assert np.array_equal(q, measures.pmi_resample(np.arange(6)[:, None], z, y, seed=1)[1])
    with pytest.raises(TypeError, match="integer codes"):
        measures.pmi_weights(np.linspace(0, 1, 6), y)


def test_gib_complexity_is_low_for_synergy_and_high_for_a_single_feature():
    task = get_task("parity", dim=3)
    x, y = task.sample(20_000, seed=6)
    synergistic = measures.gib_complexity(x, y, y, "miller_madow")
    copy = x[:, :1]
    lone = measures.gib_complexity(x, copy, copy, "miller_madow")
    assert synergistic < 0.05 < lone
    objective = measures.gib_objective(y, y, x, y, beta=2.0, estimator="miller_madow")
    assert objective == pytest.approx(1.0 - synergistic / 2, abs=0.01)


def test_kernel_pca_matches_scikit_learn():
    from sklearn.decomposition import KernelPCA

    x = np.random.default_rng(7).standard_normal((120, 6))
    ours = measures.kernel_pca(torch.from_numpy(x), 4, gamma=0.2).numpy()
    ref = KernelPCA(n_components=4, kernel="rbf", gamma=0.2).fit_transform(x)
    for k in range(4):  # components are defined up to sign
        assert min(np.abs(ours[:, k] - ref[:, k]).max(), np.abs(ours[:, k] + ref[:, k]).max()) < 1e-8
