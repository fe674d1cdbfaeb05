"""Stored ground truths: read by the package, equal to their regeneration, and
confirmed by an independent route."""
import datetime
import json
import math

import numpy as np

import pytest

from importlib import resources

from mibench.ground_truth import TABLES, read_provenance, read_table, stored_truths
from mibench.ground_truth.regenerate import GENERATORS, METHODS, disagreements, render
from mibench.tasks import get_task
from mibench.tasks.force_to_1 import closed_form_truths


@pytest.mark.parametrize("name", TABLES)
def test_stored_values_equal_their_regeneration(name):
    assert read_table(name), f"{name} is empty or missing from the package"
    assert disagreements(name) == []


@pytest.mark.parametrize("name", TABLES)
def test_regenerating_reproduces_the_committed_table_exactly(name):
    """Every row and field as committed; numbers to within 1e-13 bit, the float noise of
    quadrature sums across CPUs (a truth of exactly 0 comes out as 1.07e-14 on one
    machine and 9.8e-15 on another), far below each row's stated error bound."""
    import csv
    import io

    committed = list(csv.reader(io.StringIO(resources.files("mibench.ground_truth").joinpath(name).read_text())))
    regenerated = list(csv.reader(io.StringIO(render(GENERATORS[name]()))))
    assert len(regenerated) == len(committed) and regenerated[0] == committed[0]
    for new, old in zip(regenerated[1:], committed[1:]):
        for a, b in zip(new, old, strict=True):
            if a != b:
                assert abs(float(a) - float(b)) <= 1e-13, (name, new, old)


def test_every_table_states_its_provenance():
    provenance = read_provenance()
    assert set(provenance) == set(TABLES) == set(GENERATORS)
    for name, entry in provenance.items():
        assert entry["method"] == METHODS[name]["method"] and entry["grid"]
        assert entry["command"] == "python -m mibench.ground_truth.regenerate" and entry["mibench"]
        datetime.date.fromisoformat(entry["generated"])


@pytest.mark.parametrize("name", TABLES)
def test_rows_state_method_error_and_command(name):
    for row in read_table(name):
        assert row["method"] and row["command"].startswith("python -m mibench.ground_truth.regenerate")
        assert 0 <= row["error_bound"] < 1e-6
        json.loads(row["params"])


def test_enumerated_force_to_1_rows_match_the_closed_forms():
    for row in read_table("force_to_1.csv"):
        params = json.loads(row["params"])
        closed = closed_form_truths(params["dim"], params["p"], params["f"])
        assert row["value_bits"] == pytest.approx(closed[row["quantity"]], abs=1e-10)


def test_tasks_read_stored_truths():
    task = get_task("quantized_gaussian", rho=0.9, bins=30, range=(-1.0, 1.0), activation="tanh")
    stored = stored_truths(task.id)
    assert stored is not None
    assert task.mutual_information == stored["values"]["I(X;Y)"]
    assert task.truth_method.startswith("quadrature (Gauss-Legendre")
    assert task.truth_error < 1e-6


def binary_channel_by_monte_carlo(sigma2, draws=2_000_000, seed=0):
    """I(B; B + Z) for B uniform on {-1, +1}: the mean of log2 p(x|b) / p(x), with its SE."""
    rng = np.random.default_rng(seed)
    b = rng.choice([-1.0, 1.0], draws)
    x = b + math.sqrt(sigma2) * rng.standard_normal(draws)
    log_like = -((x - b) ** 2) / (2 * sigma2)
    log_mix = np.logaddexp(-((x - 1) ** 2) / (2 * sigma2), -((x + 1) ** 2) / (2 * sigma2)) - math.log(2)
    terms = (log_like - log_mix) / math.log(2)
    return terms.mean(), terms.std() / math.sqrt(draws)


def test_stored_binary_channel_rows_agree_with_monte_carlo():
    for row in read_table("layer_codes.csv"):
        sigma2 = float(row["quantity"].split("sigma2=")[1])
        mean, se = binary_channel_by_monte_carlo(sigma2)
        assert abs(row["value_bits"] - mean) <= 5 * se + 1e-4, (sigma2, row["value_bits"], mean, se)


def test_binary_channel_limits():
    from mibench.tasks.layer_codes import binary_gaussian_channel_bits

    assert binary_gaussian_channel_bits(1e-3) == pytest.approx(1.0, abs=1e-12)  # noise-free: one bit
    # Low SNR: C ~ SNR / (2 ln 2) - SNR^2 / (4 ln 2) with SNR = 1 / sigma2
    snr = 1 / 200
    assert binary_gaussian_channel_bits(200.0) == pytest.approx(snr / (2 * math.log(2)) - snr**2 / (4 * math.log(2)), rel=1e-3)


def test_layer_codes_read_the_stored_per_bit_values():
    task = get_task("layer_codes", dim=5)
    per_bit = stored_truths("layer_codes(dim=1)")["values"]["I(X+Z;Y), sigma2=0.25"]
    assert task.noisy_mutual_information(0.25) == 5 * per_bit
    assert task.noisy_mutual_information(0.3) == pytest.approx(5 * binary_channel_by_monte_carlo(0.3)[0], abs=5e-3)
