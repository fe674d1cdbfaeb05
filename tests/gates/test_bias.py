"""The regression gate (`mibench check`): passes on main against the committed
baseline, fails on an injected bias naming the estimator and its cells, round-trips
--update-baseline, and refuses bad baselines with a clear message."""
import json
import math
import textwrap
from pathlib import Path

import pytest

from mibench.cli import main
from mibench.estimators.discrete import PlugIn
from mibench.gates.bias import BaselineError, compare, read_baseline, run_check, write_baseline
from mibench.map.suite import load_suite, select
from mibench.registry import parse_spec
from mibench.gates.speed import WORKLOADS, SpeedResult, render

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "baselines" / "quick.json"
ARGS = ["check", "--family", "codebook", "-e", "plugin", "--no-progress", "--baseline", str(BASELINE)]


@pytest.fixture(scope="module")
def plugin_codebook():
    """The plug-in estimator's part of the quick suite, run once: (suite, summary)."""
    suite = select(load_suite("quick"), estimators=["plugin"], families=["codebook"])
    return suite, run_check(suite)[0]


def test_gate_passes_against_the_committed_baseline(plugin_codebook):
    suite, summary = plugin_codebook
    result = compare(read_baseline(BASELINE), summary)
    assert result.passed and result.compared == len(summary["groups"]) > 20
    assert not result.removed and not result.added
    # an honest baseline: it holds every regime the map shows here, not only reliable groups
    assert {"reliable", "saturated"} <= {g["regime"] for g in summary["groups"]}


def test_injected_bias_fails_and_names_the_estimator_and_cells(monkeypatch, capsys):
    original = PlugIn.mutual_information_parts

    def biased(self, x, y):
        value, h_x, h_y = original(self, x, y)
        return value + 0.2, h_x, h_y  # +0.2 bit on every estimate

    monkeypatch.setattr(PlugIn, "mutual_information_parts", biased)
    assert main(ARGS) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "FAIL" in out
    regressed = [line for line in out.splitlines() if line.strip().startswith("plugin ")]
    assert regressed, out
    # the cells are named: task, N and what got worse, from what to what
    assert any("binary_codes(" in line and " bias " in line and "->" in line for line in regressed)
    assert any("regime" in line and "reliable -> biased" in line for line in regressed)
    monkeypatch.undo()
    assert main(ARGS) == 0  # and the unbiased estimator passes again


def test_an_estimator_that_now_errors_is_a_named_regression(monkeypatch, plugin_codebook):
    def broken(self, x, y):
        raise RuntimeError("deliberately broken")

    monkeypatch.setattr(PlugIn, "mutual_information_parts", broken)
    suite, _ = plugin_codebook
    result = compare(read_baseline(BASELINE), run_check(suite)[0])
    failures = [f for f in result.regressed if f["what"] == "failed seeds"]
    assert not result.passed and len(failures) == result.compared
    assert all(f["estimator"] == "plugin" and "deliberately broken" in f["error"] for f in failures)


def test_update_baseline_round_trips(tmp_path, plugin_codebook, capsys):
    suite, summary = plugin_codebook
    path = write_baseline(summary, tmp_path / "b.json")
    again = read_baseline(path)
    assert again["groups"] == summary["groups"] and again["frontiers"] == summary["frontiers"]
    assert compare(again, summary).changed == []
    # the file is reviewable: one group per line
    assert sum('"task_id"' in line for line in path.read_text().splitlines()) == len(summary["groups"])
    # --update-baseline over an edited baseline rewrites it and prints what changed
    edited = json.loads(path.read_text())
    edited["groups"][0]["bias"] += 0.5
    path.write_text(json.dumps(edited))
    assert main([*ARGS[:-1], str(path), "--update-baseline"]) == 0
    out = capsys.readouterr().out
    assert "changes against the old" in out and edited["groups"][0]["task_id"] in out
    assert read_baseline(path)["groups"] == summary["groups"]


def test_removed_groups_are_reported_not_regressions(plugin_codebook):
    suite, summary = plugin_codebook
    baseline = json.loads(json.dumps(summary))
    ghost = dict(baseline["groups"][0], task_id="binary_codes(gone=1)")
    baseline["groups"].append(ghost)
    result = compare(baseline, summary)
    assert result.passed and [r["task_id"] for r in result.removed] == ["binary_codes(gone=1)"]


def test_platform_difference_is_reported_as_such(plugin_codebook):
    suite, summary = plugin_codebook
    baseline = json.loads(json.dumps(summary))
    baseline["platform"]["machine"] = "riscv64"
    baseline["groups"][0]["bias"] += 1e-6  # float-level
    result = compare(baseline, summary)
    assert result.passed and len(result.changed) == 1 and "riscv64" in result.platform_note


@pytest.mark.parametrize("content, expected", [
    (None, "no baseline at"),
    ("{not json", "not valid JSON"),
    ('{"groups": []}', "not a mibench baseline"),
    ('{"format": "mibench-baseline", "format_version": 1, "suite": "quick", "groups": [{"estimator": "plugin"}], '
     '"frontiers": []}', "malformed"),
    ('{"format": "mibench-baseline", "format_version": 1, "suite": "quick", "frontiers": [], "groups": [{"estimator": '
     '"plugin", "family": "f", "task_id": "t", "n": 64, "d": 1, "bins": null, "bias": 0.0, "std": 0.0, "regime": "great", '
     '"failed": 0, "error": null}]}', "regimes are reliable, biased"),
])
def test_bad_baselines_are_refused_before_any_work(tmp_path, capsys, content, expected):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    assert main(["check", "--baseline", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "--update-baseline" in err


def test_baseline_of_another_suite_is_refused_before_any_work(capsys, monkeypatch):
    import mibench.gates.bias as bias

    monkeypatch.setattr(bias, "run_check", lambda *a, **k: pytest.fail("the suite ran before the baseline was read"))
    assert main(["check", "--suite", "default", "--baseline", str(BASELINE), "--no-progress"]) == 2
    assert "baseline of suite 'quick', not 'default'" in capsys.readouterr().err


def test_baseline_of_another_suite_is_refused(plugin_codebook):
    suite, summary = plugin_codebook
    other = dict(summary, suite="default")
    with pytest.raises(BaselineError, match="suite 'default'.*--suite default"):
        compare(other, summary)


def test_nothing_in_common_fails(plugin_codebook):
    suite, summary = plugin_codebook
    empty = dict(summary, groups=[], frontiers=[])
    result = compare(empty, summary)
    assert not result.passed and result.compared == 0 and len(result.added) == len(summary["groups"])


EXTERNAL = textwrap.dedent('''
    from mibench.estimators.discrete import PlugIn

    class HalfPlugIn(PlugIn):
        """Plug-in halved: a deliberately biased estimator from outside mibench."""

        def mutual_information_parts(self, x, y):
            value, h_x, h_y = super().mutual_information_parts(x, y)
            return value / 2, h_x, h_y
''')


def test_estimator_from_outside_mibench(tmp_path, monkeypatch, capsys):
    (tmp_path / "outside_pkg.py").write_text(EXTERNAL)
    monkeypatch.syspath_prepend(str(tmp_path))
    estimator = parse_spec("outside_pkg:HalfPlugIn")
    assert estimator.spec == "outside_pkg:HalfPlugIn" and parse_spec(estimator.spec) == estimator
    baseline = tmp_path / "mine.json"
    args = ["check", "-e", "outside_pkg:HalfPlugIn", "--family", "codebook", "--no-progress", "--baseline", str(baseline)]
    assert main([*args, "--update-baseline"]) == 0
    assert main(args) == 0
    capsys.readouterr()
    data = read_baseline(baseline)
    assert {g["estimator"] for g in data["groups"]} == {"outside_pkg:HalfPlugIn"}
    # halving is a real bias the map sees: where the grid's task has I >= 2 bits and N is large, it is biased
    plugin = {(g["task_id"], g["n"]): g for g in read_baseline(BASELINE)["groups"] if g["estimator"] == "plugin"}
    halved = [g for g in data["groups"] if plugin[(g["task_id"], g["n"])]["regime"] == "reliable"
              and g["d"] is not None and g["d"] >= 6]
    assert halved and all(g["regime"] == "biased" and g["bias"] < -1 for g in halved)


@pytest.mark.parametrize("spec, expected", [
    ("os:getcwd", "not an estimator"),
    ("no_such_module_xyz:Thing", "cannot import"),
    ("mibench:NoSuchClass", "has no 'NoSuchClass'"),
])
def test_bad_external_specs_are_refused(spec, expected):
    with pytest.raises(ValueError, match=expected):
        parse_spec(spec)


def test_speed_gate_reports_every_ratio_and_fails_below_a_floor():
    results = [SpeedResult(w, w.n, 1.0, w.floor * 2) for w in WORKLOADS]
    text = render(results)
    assert text.count("ok") == len(WORKLOADS) and "PASS" in text
    slow = [SpeedResult(WORKLOADS[0], 10, 1.0, WORKLOADS[0].floor / 2), *results[1:]]
    text = render(slow)
    assert "BELOW FLOOR" in text and text.splitlines()[-1].startswith("FAIL") and WORKLOADS[0].name in text.splitlines()[-1]
    # a loaded result is held to the loaded floor: between the two floors it passes loaded, fails idle
    between = (WORKLOADS[0].floor + WORKLOADS[0].loaded_floor) / 2
    assert SpeedResult(WORKLOADS[0], 10, 1.0, between, busy=2).passed
    assert not SpeedResult(WORKLOADS[0], 10, 1.0, between).passed
    assert "2 busy" in render([SpeedResult(WORKLOADS[0], 10, 1.0, between, busy=2)])


def test_busy_processes_run_beside_the_measurement_and_are_gone_after():
    import os

    from mibench.gates.speed import busy_processes

    with busy_processes(2):
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0]) if os.path.exists("/proc/loadavg") else 3
        assert running >= 3  # this process and the two spinners


def test_speed_gate_measures_the_same_numbers_as_its_reference():
    from mibench.gates.speed import measure

    results = measure(repeat=1, scale=0.005)
    assert len(results) == len(WORKLOADS)
    assert all(r.mibench_s > 0 and r.reference_s > 0 and math.isfinite(r.ratio) for r in results)
    for w in WORKLOADS:  # each workload computes what its reference computes
        ours, theirs = w.make(5000)
        a, b = ours(), theirs()
        assert float(a) == pytest.approx(b, abs=1e-9)
