"""The regression gate: run a suite and compare every group with a committed baseline.

Seeds are fixed, so on one platform a suite's numbers are deterministic. The gate
tells two kinds of difference apart:

* **changed**: any difference beyond float noise (:data:`FLOAT_NOISE`) in a group's
  mean bias or seed std, its regime, or a frontier; listed as information;
* **regressed**: |bias| grew by more than ``bias`` bits, the std by more than ``std``
  bits, the regime got worse (reliable -> anything else; anything -> undefined), a seed
  that ran now fails, or a located frontier moved down by more than ``frontier`` bits
  (:data:`GATE`). Only regressions fail the gate.

A baseline is a small JSON file, one group per line, so a diff of it reads in review.
It records the platform that wrote it: differences when the platform differs are
reported as such. Groups of the baseline that the suite no longer has are *removed*,
new ones *added*; neither is a regression.
"""
from __future__ import annotations

import json
import math
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench._version import __version__
from mibench.arrays import plain
from mibench.judging import Regime
from mibench.map.regimes import FRONTIER_KEY, GROUP_KEYS, classify, frontiers
from mibench.map.store import Store
from mibench.map.suite import Suite
from mibench.outputs import writing

FORMAT = "mibench-baseline"
FORMAT_VERSION = 1
GATE = {"bias": 0.05, "std": 0.05, "frontier": 0.5}  # bits a number may worsen by before it is a regression
FLOAT_NOISE = 1e-9  # bits: smaller differences are not even "changed"
GROUP_FIELDS = (*GROUP_KEYS, "bias", "std", "regime", "failed", "error")  # one group of a baseline
FRONTIER_FIELDS = (*FRONTIER_KEY, "axis", "max", "status")  # one frontier point of a baseline


class BaselineError(ValueError):
    """The baseline file cannot be used; the message says why and what to do."""


def machine() -> dict[str, str]:
    """What the numbers depend on beyond the code: platform and numeric libraries."""
    import torch

    return {"system": platform.system(), "machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__}


def _int(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def summarize(suite: Suite, cells: pd.DataFrame) -> dict[str, Any]:
    """The baseline of a suite's cells: per group bias, std, regime and failures (with
    the first error), per estimator x family x bins x N the located frontier."""
    regimes = classify(cells, suite.tolerances)
    errors = cells[~cells["ok"]].groupby(["estimator", "task_id", "n"])["error"].first() if not cells.empty else {}
    groups = []
    for r in regimes.itertuples():
        error = errors.get((r.estimator, r.task_id, r.n)) if len(errors) else None
        groups.append({"estimator": r.estimator, "family": r.family, "task_id": r.task_id, "n": int(r.n), "d": _int(r.d),
                       "bins": _int(r.bins), "bias": plain(float(r.bias)), "std": plain(float(r.std)), "regime": str(r.regime),
                       "failed": int(r.failed), "error": error})
    points = frontiers(regimes)[0]
    fronts = [{"estimator": p.estimator, "family": p.family, "bins": _int(p.bins), "n": int(p.n), "axis": p.axis,
               "max": plain(float(p.max)), "status": p.status} for p in points.itertuples()] if not points.empty else []
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "suite": suite.name, "mibench": __version__,
            "platform": machine(), "gate": dict(GATE), "groups": groups, "frontiers": fronts}


def run_check(suite: Suite, *, jobs: int = 1, progress: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the suite afresh in a temporary store (frontiers located as by ``mibench
    map``); its summary (:func:`summarize`) and the run's statistics."""
    from mibench.map.run import sweep_and_locate

    with tempfile.TemporaryDirectory(prefix="mibench-check-") as tmp:
        store = Store(tmp, suite=suite.name)
        try:
            cells, stats = sweep_and_locate(suite, store, jobs=jobs, progress=progress)
        finally:
            store.close()
    return summarize(suite, cells), stats


def check_suite(suite: Suite, path: str | Path, *, jobs: int = 1, progress: bool = False
                ) -> tuple[Comparison, dict[str, Any], dict[str, Any]]:
    """``mibench check``: the suite run afresh and compared with the baseline at ``path``
    (read, and refused when missing, malformed or another suite's, before any work).
    Returns the comparison, the run's summary and its statistics."""
    old = read_baseline(path)
    if old["suite"] != suite.name:
        raise BaselineError(f"{path} is the baseline of suite {old['suite']!r}, not {suite.name!r}: give "
                            f"--suite {old['suite']} or another --baseline")
    current, stats = run_check(suite, jobs=jobs, progress=progress)
    return compare(old, current), current, stats


def update_baseline(suite: Suite, path: str | Path, *, jobs: int = 1, progress: bool = False,
                    say: Any = lambda text: None) -> list[str]:
    """``mibench check --update-baseline``: run the suite, write its baseline to ``path``,
    and return what changed against the old one (lines of text); an old baseline that
    cannot be read is replaced, with a note through ``say``."""
    old = None
    if Path(path).exists():
        try:
            old = read_baseline(path)
        except BaselineError as exc:
            say(f"note: the old baseline is replaced, not compared: {exc}")
    current, stats = run_check(suite, jobs=jobs, progress=progress)
    lines = []
    if old is not None and old["suite"] == current["suite"]:
        lines += [f"changes against the old {path}:", render(compare(old, current), path)]
    write_baseline(current, path)
    lines.append(f"wrote {path}: {len(current['groups'])} groups and {len(current['frontiers'])} frontier points of suite "
                 f"{suite.name!r} ({stats['cells_total']} cells)")
    return lines


def write_baseline(baseline: dict[str, Any], path: str | Path) -> Path:
    """Write the baseline as JSON with one group (and one frontier) per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in baseline.items() if k not in ("groups", "frontiers")}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    for name in ("groups", "frontiers"):
        rows = [f"    {json.dumps(row)}" for row in baseline[name]]
        lines += [f'  "{name}": [', ",\n".join(rows), "  ]" + ("," if name == "groups" else "")]
    lines.append("}")
    with writing(path):
        path.write_text("\n".join(line for line in lines if line) + "\n")
    return path


def read_baseline(path: str | Path) -> dict[str, Any]:
    """A baseline written by :func:`write_baseline`; a missing or malformed file is refused."""
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"no baseline at {path}; write one with: mibench check --update-baseline --baseline {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path} is not a mibench baseline (not valid JSON: {exc}); "
                            "regenerate it with --update-baseline") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"{path} is not a mibench baseline (no \"format\": \"{FORMAT}\"); regenerate it with --update-baseline")
    if data.get("format_version") != FORMAT_VERSION:
        raise BaselineError(f"{path} has baseline format {data.get('format_version')!r}; this mibench reads "
                            f"{FORMAT_VERSION}: regenerate it with --update-baseline")
    try:
        for row in data["groups"]:
            missing = [f for f in GROUP_FIELDS if f not in row]
            if missing:
                raise KeyError(missing[0])
            if row["regime"] not in {r.value for r in Regime}:
                raise BaselineError(f"{path}: group {row['estimator']} {row['task_id']} N={row['n']} has regime "
                                    f"{row['regime']!r}; regimes are {', '.join(Regime)}: regenerate it with "
                                    "--update-baseline")
            for field in ("bias", "std"):  # NaN compares as "unchanged" with anything: a gate that always passes
                value = row[field]
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not math.isfinite(value)):
                    raise BaselineError(f"{path}: group {row['estimator']} {row['task_id']} N={row['n']} has {field} "
                                        f"{value!r}; a baseline holds finite numbers (null where a group has none): "
                                        "regenerate it with --update-baseline")
        for row in data["frontiers"]:
            missing = [f for f in FRONTIER_FIELDS if f not in row]
            if missing:
                raise KeyError(missing[0])
        str(data["suite"])
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"{path} is malformed (missing {exc}); regenerate it with --update-baseline") from None
    return data


@dataclass
class Comparison:
    """The gate's findings. Each finding is a dict: where (estimator, family, task, N,
    D, bins), ``what`` changed, ``before`` and ``after``."""

    regressed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    compared: int = 0  # groups found in both
    platform_note: str | None = None

    @property
    def passed(self) -> bool:
        """No regression, and something was compared (a gate that compared nothing proves nothing)."""
        return not self.regressed and self.compared > 0

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "compared": self.compared, "regressed": self.regressed, "changed": self.changed,
                "removed": self.removed, "added": self.added, "platform_note": self.platform_note}


def _group_key(row: dict) -> tuple:
    return row["estimator"], row["family"], row["task_id"], row["n"], row["bins"]


def _front_key(row: dict) -> tuple:
    return tuple(row[k] for k in FRONTIER_KEY)


def _where(row: dict) -> dict[str, Any]:
    return {k: row.get(k) for k in ("estimator", "family", "task_id", "n", "d", "bins")}


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > FLOAT_NOISE


def compare(baseline: dict[str, Any], current: dict[str, Any], gate: dict[str, float] | None = None) -> Comparison:
    """Compare a run's summary with a baseline (both from :func:`summarize`). Groups and
    frontiers of estimators or families the run did not cover are left out (a run of a
    part of the suite is compared with that part)."""
    if baseline["suite"] != current["suite"]:
        raise BaselineError(f"the baseline is of suite {baseline['suite']!r}, this run of suite {current['suite']!r}: "
                            f"give --suite {baseline['suite']} or another --baseline")
    gate = {**GATE, **(gate or {})}
    out = Comparison()
    if baseline["platform"] != current["platform"]:
        out.platform_note = (f"the baseline was written on {_platform_text(baseline['platform'])}, this run is on "
                             f"{_platform_text(current['platform'])}: differences within the gate's tolerances are "
                             "expected float-level platform differences, not regressions")
    covered = {(g["estimator"], g["family"]) for g in current["groups"]}
    old = {_group_key(g): g for g in baseline["groups"] if (g["estimator"], g["family"]) in covered}
    new = {_group_key(g): g for g in current["groups"]}
    out.removed = [_where(old[k]) for k in old if k not in new]
    out.added = [_where(new[k]) for k in new if k not in old]
    out.compared = sum(k in old for k in new)
    for key in (k for k in new if k in old):
        _compare_group(old[key], new[key], gate, out)
    old_f = {_front_key(f): f for f in baseline["frontiers"] if (f["estimator"], f["family"]) in covered}
    new_f = {_front_key(f): f for f in current["frontiers"]}
    for key in (k for k in new_f if k in old_f):
        before, after = old_f[key]["max"], new_f[key]["max"]
        if not _differs(before, after):
            continue
        where = {"estimator": key[0], "family": key[1], "task_id": None, "n": key[3], "d": None, "bins": key[2]}
        finding = {**where, "what": f"frontier ({new_f[key]['axis']})", "before": before, "after": after}
        lost = before is not None and (after is None or after < before - gate["frontier"])
        (out.regressed if lost else out.changed).append(finding)
    return out


def _compare_group(old: dict, new: dict, gate: dict[str, float], out: Comparison) -> None:
    where = _where(new)

    def note(what: str, before: Any, after: Any, regressed: bool) -> None:
        (out.regressed if regressed else out.changed).append({**where, "what": what, "before": before, "after": after})

    if new["failed"] > old["failed"]:
        note("failed seeds", old["failed"], new["failed"], True)
        if new["error"]:
            out.regressed[-1]["error"] = new["error"]
    if old["regime"] != new["regime"]:
        note("regime", old["regime"], new["regime"], Regime(new["regime"]).grade > Regime(old["regime"]).grade)
    if _differs(old["bias"], new["bias"]):
        worse = old["bias"] is not None and (new["bias"] is None or abs(new["bias"]) > abs(old["bias"]) + gate["bias"])
        note("bias", old["bias"], new["bias"], worse)
    if _differs(old["std"], new["std"]):
        worse = old["std"] is not None and (new["std"] is None or new["std"] > old["std"] + gate["std"])
        note("std", old["std"], new["std"], worse)


def _platform_text(p: dict[str, str]) -> str:
    return f"{p.get('system')} {p.get('machine')}, Python {p.get('python')}, numpy {p.get('numpy')}, torch {p.get('torch')}"


def _value(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:+.4f}" if isinstance(v, float) else str(v)


def _table(findings: list[dict[str, Any]], limit: int | None = None) -> list[str]:
    rows = findings if limit is None else findings[:limit]
    lines = [f"  {'estimator':<28} {'family':<12} {'task':<34} {'N':>6} {'D':>3} {'bins':>4}  {'what':<20} from -> to"]
    for f in rows:
        task = f.get("task_id") or "(frontier)"
        lines.append(f"  {f['estimator']:<28} {f['family']:<12} {task:<34} {f['n']:>6} {_value(f.get('d')):>3} "
                     f"{_value(f.get('bins')):>4}  {f['what']:<20} {_value(f['before'])} -> {_value(f['after'])}"
                     + (f"  [{f['error']}]" if f.get("error") else ""))
    if limit is not None and len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more (--format json lists them all)")
    return lines


def render(result: Comparison, baseline_path: str | Path, gate: dict[str, float] | None = None) -> str:
    """The comparison as text: regressions first, then what changed, was removed or added."""
    gate = {**GATE, **(gate or {})}
    lines = []
    if result.platform_note:
        lines.append(f"note: {result.platform_note}")
    if result.regressed:
        lines += [f"REGRESSED ({len(result.regressed)}): worse than {baseline_path} by more than the gate allows "
                  f"(|bias| +{gate['bias']:g} bit, std +{gate['std']:g} bit, frontier -{gate['frontier']:g} bit, "
                  "a worse regime, or seeds that now fail)"] + _table(result.regressed)
    if result.changed:
        lines += [f"changed ({len(result.changed)}), within the gate:"] + _table(result.changed, limit=40)
    for name, rows in (("removed", result.removed), ("added", result.added)):
        if rows:
            shown = ", ".join(f"{r['estimator']} {r['task_id']} N={r['n']}" for r in rows[:10])
            lines.append(f"{name} ({len(rows)} groups, not regressions): {shown}" + (" ..." if len(rows) > 10 else ""))
    if not result.compared:
        lines.append(f"nothing in common with {baseline_path}: no group of this run is in the baseline, so nothing was "
                     "checked; write a baseline for these estimators with --update-baseline")
    verdict = "PASS" if result.passed else "FAIL"
    lines.append(f"{verdict}: {len(result.regressed)} regressed, {len(result.changed)} changed, "
                 f"{len(result.removed)} removed, {len(result.added)} added")
    return "\n".join(lines)
