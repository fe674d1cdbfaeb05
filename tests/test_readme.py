"""The README's Python examples run as written, and its stated results hold."""
import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files (a dump)
    namespace = {}  # one session, read top to bottom
    for i, block in enumerate(BLOCKS):
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)


def test_readme_collapse_example_gives_h_of_y():
    # "-> 3.32 bits = H(Y), though acts and labels are independent"
    namespace = {}
    exec(BLOCKS[0], namespace)
    import mibench

    acts, labels = namespace["acts"], namespace["labels"]
    value = mibench.mutual_information(acts, labels, "binned(plugin, rule=fixed, bins=30)")
    assert value == pytest.approx(mibench.entropy(labels, "plugin"), abs=1e-9)
    assert f"-> {value:.2f} bits = H(Y)" in BLOCKS[0]


def test_readme_printed_lines_are_what_the_code_prints(capsys):
    # a block that prints shows its output as comment lines below the print; each must be a
    # line of the real output (a line ending in "..." its start), so the README cannot drift
    shown = 0
    for i, block in enumerate(BLOCKS):
        lines = block.splitlines()
        prints = [k for k, line in enumerate(lines) if line.startswith("print(")]
        if not prints:
            continue
        exec(compile(block, f"README.md python block {i}", "exec"), {})
        output = capsys.readouterr().out.splitlines()
        for line in lines[prints[-1] + 1:]:
            if not line.startswith("# "):
                break
            claim = line[2:]
            if claim.endswith("..."):
                assert any(out.startswith(claim[:-3].rstrip()) for out in output), claim
            else:
                assert claim in output, claim
            shown += 1
    assert shown >= 5


def test_readme_command_line_estimate_example_says_what_the_command_prints():
    # "(→ estimate 0.996 bits against a truth of 0.53: `saturated` ...)" after the command
    import shlex
    import subprocess
    import sys

    claim = re.search(r"`mibench estimate (--task [^`]+)`\s*\(→ estimate ([\d.]+) bits against a truth of ([\d.]+): "
                      r"`(\w+)`", README)
    assert claim, "the README's estimate example moved: update this test with it"
    args, estimate, truth, regime = claim.groups()
    done = subprocess.run([sys.executable, "-m", "mibench", "estimate", *shlex.split(args)],
                          capture_output=True, text=True, check=True)
    printed = re.search(r"estimate ([\d.]+) bits .*; truth ([\d.]+) bits", done.stdout)
    assert printed and f"regime: {regime}" in done.stdout, done.stdout
    assert float(printed.group(1)) == pytest.approx(float(estimate), abs=0.0005)
    assert float(printed.group(2)) == pytest.approx(float(truth), abs=0.005)
