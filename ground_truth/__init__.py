"""Stored ground truths that take computation (enumeration, quadrature).

Installed as ``mibench.ground_truth``. Each CSV table in this folder has one row per
(task, quantity): ``task_id``, ``quantity``, ``value_bits``, ``method``, ``error_bound``
(bits), ``params`` (JSON) and ``command`` (how to regenerate it); ``provenance.json``
says for each table how it was computed, over which parameter grid, when, by which
mibench version and command. Tasks read the tables through :func:`stored_truths`;
``python -m mibench.ground_truth.regenerate`` rewrites them and ``--check`` compares
the stored values with a fresh computation.
"""
from __future__ import annotations

import csv
import json
from functools import lru_cache
from importlib import resources
from typing import Any

COLUMNS = ("task_id", "quantity", "value_bits", "method", "error_bound", "params", "command")
TABLES = ("quantized_gaussian.csv", "force_to_1.csv", "layer_codes.csv")
PROVENANCE = "provenance.json"


def read_provenance() -> dict[str, Any]:
    """Per table: method, grid, generated (date), mibench (version), command."""
    return json.loads(resources.files(__package__).joinpath(PROVENANCE).read_text())


def read_table(name: str) -> list[dict[str, Any]]:
    """Rows of one stored table, values as floats."""
    path = resources.files(__package__).joinpath(name)
    if not path.is_file():
        return []
    text = path.read_text()
    rows = list(csv.DictReader(text.splitlines()))
    if rows and set(rows[0]) != set(COLUMNS):
        raise ValueError(f"ground-truth table {name} has columns {sorted(rows[0])}; expected {list(COLUMNS)}")
    for row in rows:
        row["value_bits"] = float(row["value_bits"])
        row["error_bound"] = float(row["error_bound"])
    return rows


@lru_cache(maxsize=None)
def _index() -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for name in TABLES:
        for row in read_table(name):
            entry = index.setdefault(row["task_id"], {"values": {}, "error": 0.0, "method": row["method"]})
            entry["values"][row["quantity"]] = row["value_bits"]
            entry["error"] = max(entry["error"], row["error_bound"])
    return index


def stored_truths(task_id: str) -> dict[str, Any] | None:
    """``{"values": {quantity: bits}, "error": bits, "method": str}`` or None if not stored."""
    return _index().get(task_id)
