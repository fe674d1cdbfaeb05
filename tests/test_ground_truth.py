"""Stored ground truths: read by the package, equal to their regeneration, and
confirmed by an independent route."""
import json

import pytest

from mibench.ground_truth import TABLES, read_table, stored_truths
from mibench.ground_truth.regenerate import disagreements
from mibench.tasks import get_task
from mibench.tasks.force_to_1 import closed_form_truths


@pytest.mark.parametrize("name", TABLES)
def test_stored_values_equal_their_regeneration(name):
    assert read_table(name), f"{name} is empty or missing from the package"
    assert disagreements(name) == []


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
