"""Other libraries' estimators through their adapters: bits, the same samples, clear
refusals, and a missing library skipped rather than fatal."""
import numpy as np
import pytest
import torch

import mibench
from mibench.estimators.peers import INSTALL, PEERS, PeerEstimator
from mibench.registry import parse_spec


def _codes(rng, n=600):
    x = rng.integers(0, 4, (n, 2))
    return x, (x[:, :1] + rng.integers(0, 2, (n, 1))) % 4


def _floats(rng, n=800):
    x = rng.standard_normal((n, 1))
    return x, 0.8 * x + 0.6 * rng.standard_normal((n, 1))


# (peer, our estimator computing the same formula, tolerance in bits)
SAME_FORMULA = [
    ("infomeasure:plugin", "plugin", 1e-9),
    ("infomeasure:miller_madow", "miller_madow", 1e-9),
    ("infomeasure:chao_shen", "chao_shen", 1e-9),
    ("pyitlib:ml", "plugin", 1e-9),
    ("infomeasure:ksg(k=4)", "ksg(k=4)", 1e-9),
    ("frites:gcmi", "gcmi", 1e-9),
    ("sklearn:ksg", "ksg(k=3)", 0.02),  # scikit-learn jitters its input by 1e-10 of the scale
]


@pytest.mark.parametrize("peer, ours, tol", SAME_FORMULA)
def test_a_peer_agrees_with_our_estimator_of_the_same_formula(peer, ours, tol):
    est = parse_spec(peer)
    if est.missing():
        pytest.skip(est.missing())
    rng = np.random.default_rng(4)
    x, y = _codes(rng) if est.inputs == "codes" else _floats(rng)
    assert mibench.mutual_information(x, y, peer) == pytest.approx(mibench.mutual_information(x, y, ours), abs=tol)
    if est.estimates_entropy:
        assert mibench.entropy(x, peer) == pytest.approx(mibench.entropy(x, ours), abs=max(tol, 0.03))


@pytest.mark.parametrize("name", list(PEERS))
def test_every_peer_round_trips_its_spec_and_follows_the_device(name):
    est = parse_spec(name)
    assert parse_spec(est.spec) == est and est.spec == name
    if est.missing():
        pytest.skip(est.missing())
    rng = np.random.default_rng(5)
    x, y = _codes(rng, 200) if est.inputs == "codes" else _floats(rng, 200)
    batched = est.mutual_information(torch.as_tensor(np.stack([x, x])), torch.as_tensor(np.stack([y, y])))
    assert isinstance(batched, torch.Tensor) and batched.shape == (2,) and torch.isfinite(batched).all()
    assert float(batched[0]) == pytest.approx(est.mutual_information(x, y), abs=1e-12)


def test_refusals_name_the_fix():
    rng = np.random.default_rng(6)
    x, y = _floats(rng)
    with pytest.raises(ValueError, match="1 column"):
        mibench.mutual_information(np.hstack([x, x]), y, "sklearn:ksg")
    with pytest.raises(ValueError, match="I\\(X;Y\\) only"):
        mibench.entropy(x, "frites:gcmi")
    with pytest.raises(TypeError, match="takes integer codes.*bin continuous data first"):
        mibench.mutual_information(x, y, "pyitlib:ml")
    with pytest.raises(ValueError, match="H\\(X\\) and I\\(X;Y\\) only"):
        mibench.conditional_mutual_information(*_codes(rng), np.zeros((600, 1), int), estimator="pyitlib:ml")


class Absent(PeerEstimator):
    name = "nolib:plugin"
    library = "no_such_library_xyz"
    inputs = "codes"


def test_a_missing_library_refuses_with_the_install_line():
    assert "no_such_library_xyz is not available" in Absent.missing() and INSTALL in Absent.missing()
    with pytest.raises(ValueError, match="pip install"):
        Absent().mutual_information(np.arange(10), np.arange(10))
