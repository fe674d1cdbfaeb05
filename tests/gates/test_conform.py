"""mibench conform, outside estimators (module:Class, entry points, commands)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import mibench
from mibench.cli import main
from mibench.gates.conform import CHECKS, conform
from mibench.registry import parse_spec

ROOT = Path(__file__).resolve().parents[2]


def failing(spec):
    return {r.name for r in conform(spec) if not (r.passed or r.skipped or r.known)}


@pytest.mark.parametrize("spec", ["plugin", "jvhw", "ksg", "gcmi", "binned(plugin, rule=uniform, bins=8)"])
def test_built_in_estimators_pass_every_check(spec):
    assert failing(spec) == set()


def test_the_example_third_party_estimator_passes(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    assert main(["conform", "examples.correlation_estimator:CorrelationMI"]) == 0
    out = capsys.readouterr().out
    ran = len(CHECKS) - out.count("  SKIP  ")
    assert f"{ran} of {ran} checks passed" in out and "FAIL" not in out
    # and it is exact on Gaussian data, as its docstring claims
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200_000, 1))
    y = 0.6 * x + 0.8 * rng.standard_normal((200_000, 1))
    assert mibench.mutual_information(x, y, "examples.correlation_estimator:CorrelationMI") == \
        pytest.approx(-0.5 * np.log2(1 - 0.36), abs=0.01)


@pytest.mark.parametrize("cls, expected", [
    ("NatsPlugIn", {"units in bits"}),
    ("BatchMeanPlugIn", {"batched == looped"}),
    ("Sloppy", {"units in bits", "independence -> 0", "bad input refused", "numpy / torch agree"}),
])
def test_broken_estimators_fail_with_the_checks_named(cls, expected, capsys):
    spec = f"broken_estimators:{cls}"
    assert expected <= failing(spec)
    assert main(["conform", spec]) == 1
    out = capsys.readouterr().out
    assert "failing: " in out and all(name in out.splitlines()[-1] for name in expected)


def test_nats_are_recognised_as_nats():
    detail = next(r.detail for r in conform("broken_estimators:NatsPlugIn") if r.name == "units in bits")
    assert "in nats" in detail


def test_a_spec_that_does_not_import_is_a_clear_error(capsys):
    assert main(["conform", "no_such_pkg_xyz:Thing"]) == 2
    assert "cannot import 'no_such_pkg_xyz'" in capsys.readouterr().err


def test_entry_point_estimators_are_found_by_name(monkeypatch):
    import importlib.metadata

    ep = importlib.metadata.EntryPoint("halfplug", "broken_estimators:NatsPlugIn", "mibench.estimators")
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [ep] if group == "mibench.estimators" else real(group=group))
    est = parse_spec("halfplug")
    assert type(est).__name__ == "NatsPlugIn"
    assert parse_spec(est.spec) == est  # its spec is the importable module:Class
    assert mibench.entropy(np.arange(8) % 2, "halfplug") == pytest.approx(np.log(2))


SCRIPT = ROOT / "examples" / "plugin_command.py"


def test_a_command_estimator_agrees_with_ours():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, (300, 2))
    y = (x[:, :1] + rng.integers(0, 2, (300, 1))) % 4
    spec = f'command(cmd="{sys.executable} {SCRIPT} {{x}} {{y}}")'
    assert mibench.mutual_information(x, y, spec) == pytest.approx(mibench.mutual_information(x, y, "plugin"), abs=1e-12)
    nats = f'command(cmd="{sys.executable} {SCRIPT} --nats {{x}} {{y}}", units=nats)'
    assert mibench.mutual_information(x, y, nats) == pytest.approx(mibench.mutual_information(x, y, "plugin"), abs=1e-12)
    assert mibench.entropy(x, f'command(cmd="{sys.executable} {SCRIPT} {{x}}")') == \
        pytest.approx(mibench.entropy(x, "plugin"), abs=1e-12)


@pytest.mark.parametrize("cmd, expected", [
    (f"{sys.executable} -c 'import sys; sys.exit(3)' {{x}} {{y}}", "failed \\(exit 3\\)"),
    (f"{sys.executable} -c 'print(\"hello\")' {{x}} {{y}}", "must print one number"),
    (f"{sys.executable} -c 'import time; time.sleep(5)' {{x}} {{y}}", "timeout of 0.5 s"),
    ("no-such-program-xyz {x} {y}", "not found"),
    (f"{sys.executable} -c 'print(1)' {{x}}", "has no \\{y\\}"),
    ("echo 1", "needs cmd="),
])
def test_command_failures_are_clear_errors(cmd, expected):
    spec = parse_spec("command").__class__(cmd=cmd, timeout=0.5)
    with pytest.raises(ValueError, match=expected):
        mibench.mutual_information(np.arange(10), np.arange(10), spec)
