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
