"""The information plane of a dump."""
import json

import numpy as np
import pandas as pd
import pytest

import mibench
from mibench.cli import main
from mibench.dumps.format import Dump
from mibench.dumps.plane import information_plane, plane_limits


@pytest.fixture
def dump(rng):
    n = 200
    x = rng.integers(0, 2, (n, 8))
    arrays = {"labels": x[:, 0], "inputs": x, "meta": json.dumps({"population": True})}
    for epoch in (0, 1, 2):
        arrays[f"wide@{epoch}"] = np.tanh((2 * x - 1) @ rng.standard_normal((8, 6)))
        arrays[f"narrow@{epoch}"] = np.tanh((2 * x - 1) @ rng.standard_normal((8, 2)))
    return Dump(arrays)


def test_points_equal_the_per_snapshot_estimates(dump):
    spec = "binned(plugin, rule=fixed, bins=10)"
    points = information_plane(dump, spec)
    assert len(points) == 6 and set(points["layer"]) == {"wide", "narrow"}
    for row in points.itertuples():
        t = dump.snapshot(row.layer, row.epoch)
        assert row._4 == pytest.approx(mibench.entropy(t, spec))  # I(X;T) = H(T)
        assert row._5 == pytest.approx(mibench.mutual_information(t, dump.labels, spec))


def test_continuous_estimators_use_the_inputs(dump):
    points = information_plane(dump, "ksg")
    row = points.iloc[0]
    t = dump.snapshot(row["layer"], row["epoch"])
    assert row["I(X;T)"] == pytest.approx(mibench.mutual_information(t, dump.inputs.astype(float), "ksg"))


def test_limits(dump):
    limits = plane_limits(dump)
    assert limits["log2 N"] == pytest.approx(np.log2(200)) and limits["H(Y)"] == pytest.approx(mibench.entropy(dump.labels))


def test_cli_writes_the_figure_and_the_points(dump, tmp_path, capsys):
    arrays = {"labels": dump.labels, "inputs": dump.inputs, **{f"{l}@{e}": dump.snapshot(l, e) for l, e in dump.snapshots()}}
    np.savez(tmp_path / "d.npz", **arrays)
    assert main(["plane", str(tmp_path / "d.npz"), "--out", str(tmp_path / "plane.png")]) == 0
    assert (tmp_path / "plane.png").stat().st_size > 10_000
    assert len(pd.read_csv(tmp_path / "plane.csv")) == 6
