"""Reference networks at a reduced size: they train, record and make sense."""
import numpy as np
import pytest

from mibench.dumps.format import Dump
from mibench.dumps.nets import NETS, icosahedron, log_epochs, train_reference, twelve_bit_task


def test_the_twelve_bit_task():
    u = icosahedron()
    assert np.allclose(np.linalg.norm(u, axis=1), 1) and np.allclose(u.sum(axis=0), 0)
    # every vertex has 5 nearest neighbours at the same angle: evenly spread
    dots = np.sort(u @ u.T, axis=1)[:, -6:-1]
    assert np.allclose(dots, dots[0, 0])
    x, y = twelve_bit_task()
    assert x.shape == (4096, 12) and len(np.unique(x, axis=0)) == 4096
    assert abs(y.mean() - 0.5) < 0.01


@pytest.mark.parametrize("net", NETS)
def test_each_reference_net_builds_a_dump_in_seconds(net, tmp_path):
    rec = train_reference(net, epochs=30, snapshots=5, seed=1, out=tmp_path / f"{net}.npz")
    dump = Dump(tmp_path / f"{net}.npz")
    assert dump.epochs == log_epochs(30, 5) and dump.layers[-1] == "output"
    assert dump.population == (net != "digits-mlp") and dump.meta["net"] == net
    if net == "bnn":
        for layer in dump.layers[:-1]:
            assert set(np.unique(dump.snapshot(layer, 30))) <= {-1.0, 1.0}
    if net.startswith("tishby-quantized"):
        levels = 2 ** (4 if net.endswith("-4") else 8) - 1
        a = dump.snapshot("layer1", 30)
        assert np.allclose(np.round((a + 1) / 2 * levels), (a + 1) / 2 * levels, atol=1e-5)


def test_the_same_seed_gives_the_same_dump(tmp_path):
    a = train_reference("tishby-tanh", epochs=10, snapshots=3, seed=4)
    b = train_reference("tishby-tanh", epochs=10, snapshots=3, seed=4)
    for key, value in a.snapshots.items():
        np.testing.assert_array_equal(value, b.snapshots[key])


@pytest.fixture(scope="module")
def tanh_dump(tmp_path_factory):
    path = tmp_path_factory.mktemp("tanh") / "tanh.npz"
    train_reference("tishby-tanh", epochs=1500, snapshots=12, seed=0, out=path)
    return Dump(path)


def test_tishby_tanh_trains_to_high_accuracy(tanh_dump):
    assert tanh_dump.meta["accuracy"] > 0.9


def test_the_first_layer_reaches_h_of_x_and_the_last_ones_stay_below(tanh_dump):
    # 30 bins: the 10-unit first layer keeps all 4096 inputs apart (I(X;T) = H(X) = 12
    # bits) before training saturates its units; the 4- and 3-unit layers never do
    first = [tanh_dump.exact_information("layer1", e, bins=30)["I(X;T)"] for e in tanh_dump.epochs]
    assert max(first) == 12.0 and min(first) > 11
    for layer in ("layer4", "layer5"):
        assert max(tanh_dump.exact_information(layer, e, bins=30)["I(X;T)"] for e in tanh_dump.epochs) < 12.0 - 3
