"""Regenerate (or check) the stored ground-truth tables and their provenance.

    python -m mibench.ground_truth.regenerate          # rewrite the CSV tables and provenance.json
    python -m mibench.ground_truth.regenerate --check  # recompute, compare, exit 1 on disagreement
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import sys
from importlib import resources
from typing import Any, Iterator

from mibench._version import __version__
from mibench.ground_truth import COLUMNS, PROVENANCE, read_table
from mibench.tasks.force_to_1 import ForceToOne, enumerate_truths
from mibench.tasks.layer_codes import NOISY_QUANTITY, LayerCodes, binary_gaussian_channel_bits
from mibench.tasks.quantized import QuantizedGaussian, discretized_truths

COMMAND = "python -m mibench.ground_truth.regenerate"
QUANTIZED_AXES = {"activation, range": (("tanh", (-1.0, 1.0)), ("identity", (-3.0, 3.0))), "bins": (2, 10, 30),
                  "rho": (0.0, 0.5, 0.9, 0.99)}
QUANTIZED_GRID = [
    (rho, bins, rng, act) for act, rng in QUANTIZED_AXES["activation, range"] for bins in QUANTIZED_AXES["bins"]
    for rho in QUANTIZED_AXES["rho"]
]
LAYER_SIGMA2 = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
FORCE_AXES = {"f": ("x1", "xor", "parity"), "dim": (2, 3, 4, 6, 8, 12), "p": (0.1, 0.5, 0.9)}
FORCE_GRID = [(dim, p, f) for f in FORCE_AXES["f"] for dim in FORCE_AXES["dim"] for p in FORCE_AXES["p"]]


def quantized_rows() -> Iterator[dict[str, Any]]:
    for rho, bins, rng, act in QUANTIZED_GRID:
        params = {"rho": rho, "bins": bins, "range": rng, "activation": act, "dim": 1}
        task_id = QuantizedGaussian(**params).id
        values, error = discretized_truths(rho, bins, rng, act)
        for quantity, value in values.items():
            yield _row(task_id, quantity, value, "quadrature (Gauss-Legendre, 96 vs 48 nodes)", error, params)


def force_rows() -> Iterator[dict[str, Any]]:
    for dim, p, f in FORCE_GRID:
        params = {"dim": dim, "p": p, "f": f}
        task_id = ForceToOne(**params).id
        for quantity, value in enumerate_truths(dim, p, f).items():
            yield _row(task_id, quantity, value, "exact enumeration", 1e-12, params)


def layer_rows() -> Iterator[dict[str, Any]]:
    task_id = LayerCodes(dim=1).id  # one bit: dim bits carry dim times as much
    for sigma2 in LAYER_SIGMA2:
        value = binary_gaussian_channel_bits(sigma2)
        yield _row(task_id, NOISY_QUANTITY.format(sigma2=sigma2), value, "adaptive quadrature (split at the decision boundary)", 1e-9, {"dim": 1})


def _row(task_id: str, quantity: str, value: float, method: str, error: float, params: dict) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "quantity": quantity,
        "value_bits": repr(float(value)),
        "method": method,
        "error_bound": f"{error:.3g}",
        "params": json.dumps(params),
        "command": COMMAND,
    }


GENERATORS = {"quantized_gaussian.csv": quantized_rows, "force_to_1.csv": force_rows, "layer_codes.csv": layer_rows}
METHODS = {
    "quantized_gaussian.csv": {
        "method": "composite Gauss-Legendre quadrature of the binned bivariate normal (96 nodes per cell; "
                  "error bound = change from 48 nodes)",
        "grid": {**QUANTIZED_AXES, "dim": 1},
    },
    "force_to_1.csv": {
        "method": "exact enumeration of the 2**dim x (dim + 1) outcomes of (X, N)",
        "grid": FORCE_AXES,
    },
    "layer_codes.csv": {
        "method": "adaptive quadrature (scipy.integrate.quad) of the binary-input Gaussian channel, split at the "
                  "decision boundary",
        "grid": {"sigma2": LAYER_SIGMA2, "dim": 1},
    },
}


def render(rows: Iterator[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def disagreements(name: str) -> list[str]:
    """Stored rows of one table whose fresh value differs by more than their bound."""
    stored = {(r["task_id"], r["quantity"]): r for r in read_table(name)}
    fresh = {(r["task_id"], r["quantity"]): r for r in GENERATORS[name]()}
    problems = [f"{key} missing from the stored table" for key in fresh.keys() - stored.keys()]
    problems += [f"{key} stored but no longer generated" for key in stored.keys() - fresh.keys()]
    for key in fresh.keys() & stored.keys():
        old, new = stored[key]["value_bits"], float(fresh[key]["value_bits"])
        if abs(old - new) > 2 * stored[key]["error_bound"] + 1e-12:
            problems.append(f"{key}: stored {old!r}, regenerated {new!r}")
    return problems


def provenance() -> dict[str, Any]:
    """What each table holds, how it was computed, when and by which command."""
    today = datetime.date.today().isoformat()
    return {name: {**METHODS[name], "generated": today, "mibench": __version__, "command": COMMAND} for name in GENERATORS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        problems = [p for name in GENERATORS for p in disagreements(name)]
        print("\n".join(problems) if problems else "stored ground truths agree with their regeneration")
        return 1 if problems else 0
    folder = resources.files("mibench.ground_truth")
    for name, generate in GENERATORS.items():
        path = folder.joinpath(name)
        with open(str(path), "w") as fh:
            fh.write(render(generate()))
        print(f"wrote {path}")
    path = folder.joinpath(PROVENANCE)
    with open(str(path), "w") as fh:
        fh.write(json.dumps(provenance(), indent=1) + "\n")  # tuples become JSON lists
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
