"""Regimes and frontiers from the cells table."""
import math

import pandas as pd
import pytest

from map_helpers import fake_cells

from mibench.map.regimes import classify, describe_fit, frontiers


@pytest.mark.parametrize(
    "estimates, truth, regime",
    [
        ([5.02, 4.98, 5.0], 5.0, "reliable"),
        ([19.2, 19.1, 19.15], 20.0, "reliable"),  # within 5% of the truth
        ([9.95, 9.97, 9.96], 14.0, "saturated"),  # log2 1024 = 10 is the plug-in ceiling
        ([4.0, 6.0, 5.0], 5.0, "unstable"),
        ([4.5, 4.52, 4.51], 5.0, "biased"),
        ([5.0, math.nan, 5.0], 5.0, "undefined"),
    ],
)
def test_regime_rules(estimates, truth, regime):
    assert classify(fake_cells(estimates, truth))["regime"].tolist() == [regime]

@pytest.mark.parametrize("joint", [True, False])
def test_frontier_axis_is_the_joint_entropy_where_the_task_states_one(joint):
    # Three parity-like tasks: the same 0.5-bit truth, codes of 4, 8 and 12 bits; the
    # estimate fails only on the widest. Measured against I the frontier would say
    # nothing; against H(X,Y) it ends at 8 bits, 2 bits below log2 N = 10.
    cells = pd.concat([
        fake_cells(estimates, 0.5, joint_entropy=float(h) if joint else None, task_id=f"t{h}", d=h)
        for h, estimates in [(4, [0.5, 0.51, 0.49]), (8, [0.52, 0.5, 0.51]), (12, [1.5, 1.52, 1.49])]
    ])
    points, fits = frontiers(classify(cells))
    point = points.iloc[0]
    if joint:
        assert (point["axis"], point["max"], point["margin"], point["d_max"]) == ("H(X,Y)", 8.0, 2.0, 8.0)
        assert "log2 N - H(X,Y) >= 2.0" in describe_fit(fits.iloc[0].to_dict())
    else:
        assert point["axis"] == "I(X;Y)" and math.isnan(point["max"]) and math.isnan(point["margin"])
        assert "log2 N -" not in describe_fit(fits.iloc[0].to_dict())
