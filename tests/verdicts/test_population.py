"""Scores on population dumps: each estimator's own value against the exact value of the
binned variables, computed here another way (NumPy's unique rows over the whole
population, plug-in frequencies), never the estimator's rule restated."""
import math

import numpy as np
import pytest

import mibench
from mibench.dumps.nets import train_reference
from mibench.verdicts.score import score_dump

BINS = 30
FIXED = f"rule=fixed, bins={BINS}, range=(-1.0, 1.0)"


@pytest.fixture(scope="module")
def tanh_dump(tmp_path_factory):
    path = tmp_path_factory.mktemp("population") / "tanh.npz"
    train_reference("tishby-tanh", epochs=200, snapshots=2, seed=3, out=path)
    return mibench.Dump(path)


def _codes(t: np.ndarray) -> np.ndarray:
    """rule=fixed on [-1, 1]: floor((a + 1) * B / 2), clipped to the B bins."""
    return np.clip(np.floor((t + 1.0) * BINS / 2.0), 0, BINS - 1).astype(np.int64)


def _entropy(*columns: np.ndarray) -> float:
    rows = np.column_stack(columns)
    p = np.unique(rows, axis=0, return_counts=True)[1] / len(rows)
    return float(-(p * np.log2(p)).sum())


def _exact(dump, layer, epoch) -> dict[str, float]:
    t = _codes(dump.snapshot(layer, epoch))
    y = np.asarray(dump.labels)
    h_t = _entropy(t)
    return {"I(X;T)": h_t, "I(T;Y)": h_t + _entropy(y) - _entropy(t, y)}


UNDEFINED_ON_INJECTIVE = pytest.mark.filterwarnings("ignore::mibench.interface.UndefinedEstimateWarning")  # NSB


@UNDEFINED_ON_INJECTIVE
@pytest.mark.parametrize("inner", ["nsb", "chao_shen", "plugin", "miller_madow"])
def test_each_estimator_is_judged_against_the_exact_population_value(tanh_dump, inner):
    scores = score_dump(tanh_dump, [f"binned({inner}, {FIXED})"])
    h_x = math.log2(tanh_dump.n)  # distinct inputs, equal weights
    for row in scores.itertuples():
        exact = _exact(tanh_dump, row.layer, row.epoch)[row.quantity]
        error = row.estimate - exact
        if not math.isfinite(row.estimate):  # NSB on an injective layer: no coincidences, no estimate
            assert row.regime == "undefined"
            continue
        assert row.expected_bias == pytest.approx(error, abs=1e-9)  # the bias is known exactly here
        assert row.bias_lo == pytest.approx(error, abs=1e-9) and row.bias_hi == pytest.approx(error, abs=1e-9)
        if abs(error) > 0.1:
            assert row.regime in ("biased", "saturated"), (row.snapshot, row.quantity, row.estimate, exact)
        if row.quantity == "I(X;T)" and row.estimate > h_x + 0.1:
            assert row.regime != "reliable" and "above" in row.reason
    if inner == "plugin":  # the population's plug-in value is its exact value
        assert np.allclose(scores["expected_bias"], 0.0, atol=1e-9)


@UNDEFINED_ON_INJECTIVE
def test_the_gross_error_nobody_may_call_reliable(tanh_dump):
    # NSB spreads probability over patterns it never saw: on an injective layer of 4096
    # inputs it reports more than H(X) = 12 bits, which no I(X;T) can exceed
    scores = score_dump(tanh_dump, [f"binned(nsb, {FIXED})"])
    above = scores[(scores["quantity"] == "I(X;T)") & (scores["estimate"] > 12.1)]
    assert len(above) and (above["regime"] != "reliable").all()
    assert ((scores["expected_bias"].abs() > 0.3) & (scores["regime"] == "reliable")).sum() == 0
