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
# conformance suite. Discrete ones take integer codes, the others take floats.
DISCRETE_SPECS = ["plugin", "miller_madow", "jackknife", "grassberger", "chao_shen", "james_stein", "nsb(K=64)", "jvhw",
                  "wu_yang(K=64)"]
BINNED_SPECS = [
    "binned(plugin, rule=uniform, bins=4)",
    "binned(miller_madow, rule=fixed, bins=4, range=(-3.0, 3.0))",
    "binned(grassberger, rule=quantile, bins=4)",
    "binned(jackknife, rule=width, width=1.5)",
]
NEURAL_BUDGET = "steps=150, batch_size=32, lr=0.005, hidden=16, split=None, eval_every=0, patience=0, eval_batch=32, out_bias=None"  # the default map's
CONTINUOUS_SPECS = [
    "ksg",
    "ksg(algorithm=2)",
    "kozachenko_leonenko",
    "parametric_gaussian",
    "gcmi",
    "kde",
    "kolchinsky_tracey",
    "renyi",
    f"infonce({NEURAL_BUDGET})",
    f"nwj({NEURAL_BUDGET})",
    f"mine({NEURAL_BUDGET})",
]
ALL_SPECS = DISCRETE_SPECS + BINNED_SPECS + CONTINUOUS_SPECS

COUNT_BASED = set(DISCRETE_SPECS + BINNED_SPECS)  # estimates are functions of pattern counts
LABEL_Y = {"kolchinsky_tracey"}  # I(T+Z; Y) needs integer labels y
MI_ONLY = {"gcmi", "infonce", "nwj", "mine"}  # no entropy
STOCHASTIC = {"infonce", "nwj", "mine"}  # trained critics: row order changes the minibatches
# O(n^2) and O(n^3) estimators and trained critics get smaller "large" samples.
MAX_N = {"kde": 3000, "renyi": 800, "kolchinsky_tracey": 3000, "infonce": 2000, "nwj": 2000, "mine": 2000}


def name_of(spec: str) -> str:
    return make_estimator(spec).name


def test_every_registered_estimator_is_in_the_conformance_suite():
    covered = {name_of(s) for s in ALL_SPECS}
    assert covered == set(REGISTRY)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def large_n(spec: str, n: int) -> int:
    return min(n, MAX_N.get(name_of(spec), n))


def sample_for(spec: str, rng: np.random.Generator, n: int = 400, d: int = 2):
    """A dependent pair (x, y) suited to the estimator: codes < 4, floats, or floats and labels."""
    if spec in DISCRETE_SPECS:
        x = rng.integers(0, 4, (n, d))
        y = (x[:, :1] + rng.integers(0, 2, (n, 1))) % 4
        return x, y
    x = rng.standard_normal((n, d))
    if name_of(spec) in LABEL_Y:
        return x, (x[:, :1] + 0.5 * rng.standard_normal((n, 1)) > 0).astype(np.int64)
    return x, x[:, :1] + 0.5 * rng.standard_normal((n, 1))
