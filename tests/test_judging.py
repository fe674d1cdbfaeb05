"""The judging language: one order of severity, tolerances checked where they are read,
ceilings, and one rule for a group of seeds whichever route reaches it."""
import math

import numpy as np
import pandas as pd
import pytest

import mibench
from mibench.judging import (REGIMES, TOLERANCES, Regime, Tolerances, declared_ceiling,
                             describe_ceiling, judge_seeds, quantity_ceiling)
from mibench.map.regimes import classify
from mibench.map.run import estimate_on_task


def test_one_order_of_severity_with_unknown_last_and_the_words_as_strings():
    assert [r.value for r in Regime] == ["reliable", "biased", "unstable", "saturated", "undefined", "unknown"]
    assert [r.severity for r in Regime] == list(range(6))
    assert Regime.SATURATED == "saturated" and {"saturated": 1}[Regime.SATURATED] == 1 and f"{Regime.BIASED}" == "biased"
    assert Regime.UNKNOWN not in REGIMES and mibench.Regime is Regime


def test_the_gate_grades_trusted_not_trusted_and_failed():
    # a move within "not trusted" (biased <-> unstable <-> saturated) is not a regression
    assert {r: r.grade for r in Regime} == {Regime.RELIABLE: 0, Regime.BIASED: 1, Regime.UNSTABLE: 1,
                                            Regime.SATURATED: 1, Regime.UNKNOWN: 1, Regime.UNDEFINED: 2}


@pytest.mark.parametrize("given, message", [({"abs_tol": 0}, "abs_tol must be a number > 0"),
                                            ({"delta": -1}, "delta must be a number >= 0"),
                                            ({"tol": 0.1}, "unknown key; valid keys: abs_tol, rel_tol, delta")])
def test_tolerances_are_checked_naming_the_key(given, message):
    with pytest.raises(ValueError, match=message):
        Tolerances.of(given)


def test_tolerances_allow_the_larger_of_absolute_and_relative():
    tol = Tolerances.of({"rel_tol": 0.05})
    assert tol.allowed(1.0) == 0.1 and tol.allowed(10.0) == pytest.approx(0.5) and TOLERANCES.allowed(10.0) == 0.1


def test_declared_ceiling_is_nan_where_an_estimator_declares_none():
    assert declared_ceiling(mibench.make_estimator("plugin"), 1024) == 10.0
    assert math.isfinite(declared_ceiling(mibench.make_estimator("ksg(k=3)"), 1024))  # psi(N) - psi(k), in bits
    assert math.isnan(declared_ceiling(mibench.make_estimator("gcmi"), 1024))


def test_quantity_ceiling_follows_the_quantity():
    plugin = mibench.make_estimator("plugin")
    assert quantity_ceiling(plugin, "entropy", 256) == (8.0, "N")
    assert quantity_ceiling(plugin, "mutual_information", 256, 7.99, 1.0) == (1.0, "H(Y)")  # X rows all distinct
    ceiling, of = quantity_ceiling(plugin, "conditional_mutual_information", 256)
    assert math.isnan(ceiling) and of is None
    assert "every X row" in describe_ceiling("H(Y)", "short") and describe_ceiling(None) == "none known"


def test_judging_seeds_directly_and_through_the_map_gives_one_answer():
    # two routes to one rule: judge_seeds on the values, classify on the same cells as a frame
    rng = np.random.default_rng(3)
    for truth, values in [(1.0, 1.0 + 0.02 * rng.standard_normal(10)), (1.0, 1.5 + 0.02 * rng.standard_normal(10)),
                          (1.0, 1.0 + 0.5 * rng.standard_normal(10)), (2.0, [9.99] * 10), (1.0, [1.0, np.nan] * 5)]:
        cells = pd.DataFrame({"estimator": "plugin", "family": "f", "task_id": "t", "n": 1024, "d": 1, "bins": None,
                              "seed": range(10), "estimate": values, "truth": truth, "ok": True, "joint_entropy": None,
                              "ceiling": 10.0, "entropy_x": 10.0, "entropy_y": 10.0})
        row = classify(cells).iloc[0]
        judged = judge_seeds(values, truth, 10.0, [10.0] * 10, [10.0] * 10)
        assert judged.regime == row["regime"] and judged.at_ceiling == row["at_ceiling"]
        assert judged.ceiling == row["ceiling"] and judged.ceiling_of == row["ceiling_of"]
        assert judged.bias == pytest.approx(row["bias"], abs=1e-12, nan_ok=True)


def test_a_group_judged_where_the_answer_is_known_exactly():
    # 2^20 equally likely words copied into Y: at N = 64 every row is distinct in all but a
    # 0.2 % of samples, so plug-in's I(X;Y) = H^(X) + H^(Y) - H^(X,Y) = log2 64 = 6 bits,
    # its ceiling, against a truth of 20 bits: saturated on every seed
    est, task, values, judged = estimate_on_task("plugin", "binary_codes(dim=20, source=codebook, K=1048576, output=copy)",
                                                 64, 10)
    assert task.mutual_information == pytest.approx(20.0)
    assert np.median(values) == pytest.approx(6.0) and judged.mean == pytest.approx(np.mean(values))
    assert judged.regime == Regime.SATURATED and judged.at_ceiling and judged.ceiling_of == "N"
    assert judged.bias == pytest.approx(judged.mean - 20.0)
