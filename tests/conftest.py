import numpy as np
import pytest
import torch

from mibench.registry import REGISTRY, make_estimator

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
]

# One configured instance per registry id (and per binning rule), used by the
# conformance suite. Discrete ones take integer codes, binned ones take floats.
DISCRETE_SPECS = ["plugin", "miller_madow", "jackknife", "grassberger", "chao_shen", "james_stein", "nsb(K=64)"]
BINNED_SPECS = [
    "binned(plugin, rule=uniform, bins=4)",
    "binned(miller_madow, rule=fixed, bins=4, range=(-3.0, 3.0))",
    "binned(grassberger, rule=quantile, bins=4)",
    "binned(jackknife, rule=width, width=1.5)",
]
ALL_SPECS = DISCRETE_SPECS + BINNED_SPECS


def test_every_registered_estimator_is_in_the_conformance_suite():
    covered = {make_estimator(s).name for s in ALL_SPECS}
    assert covered == set(REGISTRY)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def sample_for(spec: str, rng: np.random.Generator, n: int = 400, d: int = 2):
    """A dependent pair (x, y) suited to the estimator: codes < 4 or floats."""
    if spec in DISCRETE_SPECS:
        x = rng.integers(0, 4, (n, d))
        y = (x[:, :1] + rng.integers(0, 2, (n, 1))) % 4
        return x, y
    x = rng.standard_normal((n, d))
    y = x[:, :1] + 0.5 * rng.standard_normal((n, 1))
    return x, y
