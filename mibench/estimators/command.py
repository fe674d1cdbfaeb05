"""Estimators in any language through a command (the protocol bmi uses): mibench writes
each sample to CSV files, runs the command, and reads one number from the last line of
its standard output.

``command(cmd="julia mi.jl {x} {y}", units=bits, timeout=60)``: ``{x}`` and ``{y}`` are
replaced by the paths of CSV files (one row per sample, one column per dimension, no
header; integer codes as integers, floats to 17 significant digits). A command without
``{y}`` estimates H(X). The command runs without a shell (its words split as a POSIX
shell would), once per batch element; a non-zero exit, a timeout or an output that is
not a number is an error naming the command, with the end of what it printed.
"""
from __future__ import annotations

import math
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mibench._validate import Prepared, check_choice, check_range
from mibench.estimators.base import ENTROPY, LN2, MUTUAL_INFORMATION, BaseEstimator, Terms


class Command(BaseEstimator):
    """An estimator run as an external command; values converted to bits."""

    name = "command"
    params = {"cmd": None, "units": "bits", "timeout": 60.0}
    summary = "any program that reads CSV samples and prints one number (the bmi protocol)"
    reference = "Czyz et al. (2023) 'Beyond normal', the bmi benchmark's external-estimator protocol"
    uses_distances = False  # the program decides what it does with the values

    def check_params(self, n_variables: int) -> None:
        cmd = self._params["cmd"]
        if not isinstance(cmd, str) or "{x}" not in cmd:
            raise ValueError('command needs cmd="program args {x} {y}" with {x} (and {y} for I(X;Y)) where the '
                             f"CSV paths go; got {cmd!r}")
        check_choice("units", self._params["units"], ("bits", "nats"), owner=self.name)
        check_range("timeout", self._params["timeout"], 0, open_lo=True, owner=self.name)

    def ceiling(self, n: int) -> float:
        return math.inf

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        cmd = self._params["cmd"]
        if terms is MUTUAL_INFORMATION and "{y}" not in cmd:
            raise ValueError(f"command {cmd!r} has no {{y}}: it estimates H(X); add {{y}} for I(X;Y)")
        if terms is not MUTUAL_INFORMATION and terms is not ENTROPY:
            raise ValueError("command estimates H(X) and I(X;Y) only")
        arrays = [v.cpu().numpy() for v in prepared.variables]
        values = [self._run_once([a[i] for a in arrays]) for i in range(prepared.variables[0].shape[0])]
        scale = 1 / LN2 if self._params["units"] == "nats" else 1.0
        return torch.tensor(values, dtype=torch.float64) * scale

    def _run_once(self, samples: list[np.ndarray]) -> float:
        with tempfile.TemporaryDirectory(prefix="mibench-cmd-") as tmp:
            paths = {}
            for name, data in zip("xy", samples):
                paths[name] = Path(tmp) / f"{name}.csv"
                fmt = "%d" if np.issubdtype(data.dtype, np.integer) else "%.17g"
                np.savetxt(paths[name], data, fmt=fmt, delimiter=",")
            argv = [_fill(word, paths) for word in shlex.split(self._params["cmd"])]
            try:
                # bytes a program prints that are not UTF-8 are shown escaped, in an error that names it
                done = subprocess.run(argv, capture_output=True, text=True, errors="backslashreplace",
                                      timeout=self._params["timeout"])
            except FileNotFoundError:
                raise ValueError(f"command {argv[0]!r} not found; give the full path or put it on PATH") from None
            except subprocess.TimeoutExpired:
                raise ValueError(f"command {self._params['cmd']!r} ran past its timeout of "
                                 f"{self._params['timeout']:g} s; raise timeout=... or give it less data") from None
        if done.returncode != 0:
            raise ValueError(f"command {self._params['cmd']!r} failed (exit {done.returncode}): "
                             f"{_tail(done.stderr or done.stdout)}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            return float(lines[-1])
        except (IndexError, ValueError):
            raise ValueError(f"command {self._params['cmd']!r} must print one number on its last line; it printed "
                             f"{_tail(done.stdout)!r}") from None


def _fill(word: str, paths: dict[str, Any]) -> str:
    for name, path in paths.items():
        word = word.replace("{" + name + "}", str(path))
    return word


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]
