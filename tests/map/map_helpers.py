"""Suites and cell tables shared by the map pipeline's tests."""
import textwrap

import pandas as pd
import pytest

from mibench.map.cells import KEY
from mibench.map.suite import load_suite
from mibench.judging import declared_ceiling
from mibench.registry import make_estimator


TINY = """
name = "tiny"
seeds = 3
n = [64, 512]
d = [2, 9]
bins = [4]

[[estimators]]
spec = "plugin"

[[estimators]]
spec = "miller_madow"

[[tasks]]
name = "binary_codes"
family = "codebook"
d_label = "log2 K"
params = { dim = 30, source = "codebook", K = "=2**D", output = "copy" }

[[tasks]]
name = "quantized_gaussian"
params = { rho = 0.8, bins = "=B", dim = "=D", range = [-1.0, 1.0] }
binning = { rule = "fixed", range = [-1.0, 1.0] }
"""

SMALL = TINY.replace("d = [2, 9]", "d = [9]").split("[[tasks]]\nname = \"quantized_gaussian\"")[0]

def write_suite(tmp_path, text, name="suite.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)

def stored(store):
    return store.cells().sort_values(list(KEY)).reset_index(drop=True)

def fake_cells(estimates, truth, n=1024, estimator="plugin", ok=True, joint_entropy=None, task_id="t", d=1):
    """Cells of one group, with the ceiling the sweep would store for the estimator."""
    return pd.DataFrame({
        "estimator": estimator, "family": "f", "task_id": task_id, "n": n, "d": d, "bins": None,
        "seed": range(len(estimates)), "estimate": estimates, "truth": truth, "ok": ok,
        "joint_entropy": joint_entropy, "ceiling": declared_ceiling(make_estimator(estimator), n),
        "entropy_x": None, "entropy_y": None,
    })


@pytest.fixture
def tiny(tmp_path):
    """The TINY suite, loaded (a fixture: import it into a test module to use it)."""
    return load_suite(write_suite(tmp_path, TINY))
