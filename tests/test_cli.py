"""The command line: thin calls into the library, safe loading, clear errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import mibench
from mibench.cli import main


@pytest.fixture
def data(tmp_path, rng):
    acts = np.tanh(rng.standard_normal((300, 4)))
    labels = rng.integers(0, 3, 300)
    path = tmp_path / "dump.npz"
    np.savez(path, acts=acts, labels=labels)
    return path, acts, labels


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_list_names_every_estimator_and_task(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in mibench.list_estimators() + mibench.list_tasks():
        assert name in out
    assert "parity(dim=2, noise=0.0): I = 1.0000 bits" in out


def test_list_says_which_other_libraries_are_not_installed_without_importing_them(capsys, monkeypatch):
    # the listing finds each peer's package on the path; one that is not there is marked,
    # and a package found is not imported for the listing (importing them cost 1.5 s)
    import sys

    from mibench.estimators.peers import PEERS

    name, cls = next(iter(PEERS.items()))
    monkeypatch.setattr(cls, "library", "no_such_library_here.core")
    others = {c.library.split(".")[0] for c in PEERS.values() if c is not cls}
    for module in [m for m in list(sys.modules) if m.split(".")[0] in others]:
        monkeypatch.delitem(sys.modules, module)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "[not available: no_such_library_here.core]" in out and out.count("[not available") == 1
    assert not any(m.split(".")[0] in others for m in sys.modules)


def test_estimate_mi_from_npz_matches_the_library(capsys, data):
    path, acts, labels = data
    spec = "binned(plugin, rule=uniform, bins=10)"
    result = run_json(capsys, "estimate", "--x", f"{path}:acts", "--y", f"{path}:labels", "-e", spec, "--json")
    assert result["quantity"] == "mutual_information"
    assert result["bits"] == pytest.approx(mibench.mutual_information(acts, labels, spec))


def test_estimate_entropy_from_npy_csv_and_pt(capsys, tmp_path, rng):
    labels = rng.integers(0, 5, 200)
    np.save(tmp_path / "l.npy", labels)
    np.savetxt(tmp_path / "l.csv", labels[:, None], delimiter=",", fmt="%d")
    torch.save({"labels": torch.from_numpy(labels)}, tmp_path / "l.pt")
    expected = mibench.entropy(labels)
    assert run_json(capsys, "estimate", "--x", str(tmp_path / "l.npy"), "--json")["bits"] == pytest.approx(expected)
    csv = run_json(capsys, "estimate", "--x", str(tmp_path / "l.csv"), "-e", "binned(plugin, rule=width, width=1)", "--json")
    assert csv["bits"] == pytest.approx(expected)
    assert run_json(capsys, "estimate", "--x", f"{tmp_path / 'l.pt'}:labels", "--json")["bits"] == pytest.approx(expected)


def test_pickled_arrays_are_refused(capsys, tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))  # np.save pickles object arrays
    assert main(["estimate", "--x", str(tmp_path / "obj.npy")]) == 2
    assert "not pickled" in capsys.readouterr().err


def test_truncated_file_is_a_clear_error(capsys, data, tmp_path):
    path, _, _ = data
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[:200])
    assert main(["estimate", "--x", f"{cut}:acts"]) == 2
    assert "is the file complete" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["estimate", "--x", "missing.npy"], "no such file"),
        (["estimate", "--x", "{path}:nope"], "holds acts, labels"),
        (["estimate", "--x", "{path}"], "pick an array"),
        (["estimate", "--x", "{path}:acts"], "binned("),
        (["estimate", "--x", "{path}:labels", "-e", "plugn"], "valid estimators"),
        (["estimate", "-e", "plugin"], "give --x (a data file) or --task"),
        (["estimate", "--task", "parity", "--x", "{path}:labels"], "not both"),
        (["estimate", "--task", "parity(dim=3"], "cannot parse task spec"),
        (["estimate", "--task", "parity(dims=3)"], "valid parameters: dim, noise"),
        (["estimate", "--task", "parity(dim=0)"], "dim"),
        (["estimate", "--task", "parity", "-n", "1"], "-n >= 2"),
    ],
)
def test_errors_exit_2_with_a_message(capsys, data, argv, message):
    path, _, _ = data
    assert main([a.format(path=path) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_estimate_on_a_task_reports_truth_bias_and_regime(capsys):
    # plug-in on a 16-bit codebook at N = 1024 is pinned at log2 N = 10: saturated
    spec = "binary_codes(dim=30, source=codebook, K=65536, output=copy)"
    assert main(["estimate", "--task", spec, "-n", "1024", "--seeds", "4", "-e", "plugin", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    task = mibench.get_task("binary_codes", dim=30, source="codebook", K=65536, output="copy")
    expected = [mibench.mutual_information(*task.sample(1024, seed), "plugin") for seed in range(4)]
    assert out["bits"] == pytest.approx(expected, abs=1e-12) and out["truth"] == 16.0
    assert out["bias"] == pytest.approx(np.mean(expected) - 16.0) and out["regime"] == "saturated"
    assert main(["estimate", "--task", "parity(dim=3, noise=0.1)", "-e", "miller_madow"]) == 0
    text = capsys.readouterr().out
    assert "truth 0.5310 bits (closed form)" in text and "regime: reliable" in text


def test_estimate_states_the_ceiling_of_the_quantity_it_estimated(capsys, tmp_path, rng):
    # 12 binned units are distinct on every row, so plug-in I(T;Y) for 1-bit labels is its
    # own H(Y): the ceiling that applies is about 1 bit, not log2 N
    acts, labels = np.tanh(rng.standard_normal((500, 12))), rng.integers(0, 2, 500)
    np.savez(tmp_path / "d.npz", acts=acts, labels=labels)
    spec = "binned(plugin, rule=fixed, bins=30)"
    out = run_json(capsys, "estimate", "--x", f"{tmp_path / 'd.npz'}:acts", "--y", f"{tmp_path / 'd.npz'}:labels", "-e", spec, "--json")
    h_y = mibench.entropy(labels)
    assert out["ceiling_of"] == "H(Y)" and out["ceiling"] == pytest.approx(h_y) and out["bits"] == pytest.approx(h_y)
    out = run_json(capsys, "estimate", "--x", f"{tmp_path / 'd.npz'}:acts", "-e", spec, "--json")
    assert out["ceiling"] == pytest.approx(np.log2(500)) and out["ceiling_of"] == "N"
    assert main(["estimate", "--task", "parity(dim=24, noise=0.1)", "-n", "256", "--seeds", "3"]) == 0
    text = capsys.readouterr().out
    assert "regime: saturated" in text and "own H(Y) on this sample" in text


def test_console_script_and_module_entry_points_run():
    out = subprocess.run([sys.executable, "-m", "mibench", "list"], capture_output=True, text=True, check=True)
    assert "plugin" in out.stdout


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error():
    proc = subprocess.Popen([sys.executable, "-m", "mibench", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `mibench list | head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_estimator_warnings_come_out_as_one_plain_line(capsys):
    # 100 draws from 2**40 codewords are all distinct: NSB without K is undefined
    spec = "binary_codes(dim=40, source=codebook, K=1099511627776, output=copy)"
    assert main(["estimate", "--task", spec, "-n", "100", "--seeds", "3", "-e", "nsb"]) == 0
    captured = capsys.readouterr()
    assert "regime: undefined" in captured.out
    lines = [line for line in captured.err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("mibench: warning: nsb without K is undefined")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["map", "--help"]])
def test_version_and_help_answer_without_importing_torch(argv):
    # a fresh interpreter: torch's import alone takes seconds, which --version and --help never need
    code = ("import sys\nfrom mibench.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "mibench" in done.stdout
