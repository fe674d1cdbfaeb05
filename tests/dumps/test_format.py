"""The dump format: round trips, exact population truth, and bad input."""
import json
import pickle
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import mibench
from mibench.dumps.format import Dump, DumpError, describe, save_dump, write_npz


@pytest.fixture
def arrays(rng):
    n = 64
    return {
        "labels": rng.integers(0, 3, n),
        "inputs": rng.integers(0, 2, (n, 6)),
        "input_ids": np.arange(n),
        "fc1@0": np.tanh(rng.standard_normal((n, 4))).astype(np.float32),
        "fc1@10": np.tanh(rng.standard_normal((n, 4))).astype(np.float32),
        "fc2@0": np.tanh(rng.standard_normal((n, 2))).astype(np.float32),
        "fc2@10": rng.integers(0, 2, (n, 2)),
        "meta": json.dumps({"activation": "tanh", "population": True}),
    }


def same(a: Dump, b: Dump) -> None:
    assert a.layers == b.layers and a.epochs == b.epochs and a.meta == b.meta
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    for layer, epoch in a.snapshots():
        np.testing.assert_array_equal(a.snapshot(layer, epoch), b.snapshot(layer, epoch))


def test_npz_directory_and_pt_round_trip(arrays, tmp_path):
    reference = Dump(arrays)
    assert reference.layers == ["fc1", "fc2"] and reference.epochs == [0, 10] and reference.population
    np.savez(tmp_path / "d.npz", **arrays)
    same(reference, Dump(tmp_path / "d.npz"))
    folder = tmp_path / "per-epoch"
    folder.mkdir()
    common = {k: v for k, v in arrays.items() if "@" not in k}
    np.savez(folder / "data.npz", **common)
    for epoch in (0, 10):
        np.savez(folder / f"epoch_{epoch}.npz", **{k: v for k, v in arrays.items() if k.endswith(f"@{epoch}")})
    same(reference, Dump(folder))
    torch.save({k: (v if k == "meta" else torch.as_tensor(v)) for k, v in arrays.items()}, tmp_path / "d.pt")
    same(reference, Dump(tmp_path / "d.pt"))


def test_save_dump_writes_what_it_reads(arrays, tmp_path):
    snapshots = {("fc1", 0): arrays["fc1@0"], ("fc1", 10): arrays["fc1@10"]}
    path = save_dump(tmp_path / "s.npz", arrays["labels"], snapshots, inputs=arrays["inputs"], meta={"population": True})
    dump = Dump(path)
    assert dump.snapshots() == [("fc1", 0), ("fc1", 10)] and dump.population
    assert dump.stacked("fc1").shape == (2, 64, 4)


def test_a_snapshot_is_read_only_when_asked_for(arrays, tmp_path, monkeypatch):
    from mibench.dumps import format as fmt

    np.savez(tmp_path / "d.npz", **arrays)
    reads = Counter()
    real = fmt._Archive.read

    def counting(self, key):
        reads[key] += 1
        return real(self, key)

    monkeypatch.setattr(fmt._Archive, "read", counting)
    dump = Dump(tmp_path / "d.npz")  # the headers, then the labels and meta
    assert set(reads) == {"labels", "meta"}
    dump.snapshot("fc1", 10)
    assert reads == Counter({"labels": 1, "meta": 1, "fc1@10": 1})


def test_a_flipped_byte_is_caught_by_the_checksum(arrays, tmp_path):
    np.savez(tmp_path / "d.npz", **arrays)
    data = bytearray((tmp_path / "d.npz").read_bytes())
    at = data.index(arrays["fc2@0"].tobytes()[:16])
    data[at + 5] ^= 0xFF
    (tmp_path / "d.npz").write_bytes(bytes(data))
    with pytest.raises(DumpError, match="CRC-32 for file .fc2@0|fc2@0.*checksum"):  # small members are checked when the headers are read
        Dump(tmp_path / "d.npz").snapshot("fc2", 0)
    big = np.tanh(np.random.default_rng(0).standard_normal((20000, 8))).astype(np.float32)
    np.savez(tmp_path / "big.npz", labels=np.zeros(20000, int), **{"wide@0": big})
    data = bytearray((tmp_path / "big.npz").read_bytes())
    data[data.index(big.tobytes()[:16]) + 40000] ^= 0xFF
    (tmp_path / "big.npz").write_bytes(bytes(data))
    dump = Dump(tmp_path / "big.npz")
    with pytest.raises(DumpError, match="wide@0.*checksum"):
        dump.snapshot("wide", 0)


def test_describe_counts_distinct_rows(arrays):
    summary = describe(Dump(arrays))
    fc2 = next(row for row in summary["layers"] if row["layer"] == "fc2")
    assert fc2["width"] == 2 and fc2["distinct_max"] == 64 and fc2["distinct_min"] <= 4  # the 0/1 codes at epoch 10
    assert summary["n"] == 64 and summary["classes"] == 3 and summary["epochs"] == [0, 10]


def test_exact_population_truth_matches_brute_force_enumeration():
    # a tiny network on all 8 patterns of 3 bits, binned by hand
    x = ((np.arange(8)[:, None] >> np.arange(3)) & 1).astype(float)
    w = np.array([[0.9, -0.4], [0.3, 0.8], [-0.7, 0.5]])
    t = np.tanh((2 * x - 1) @ w)
    y = (x.sum(axis=1) >= 2).astype(int)
    dump = Dump({"labels": y, "inputs": x, "layer@5": t, "meta": json.dumps({"population": True})})
    got = dump.exact_information("layer", 5, bins=4, rule="fixed", value_range=(-1.0, 1.0))
    edges = np.linspace(-1, 1, 5)
    cells = [tuple(np.clip(np.searchsorted(edges, row, side="right") - 1, 0, 3)) for row in t]

    def h(items):
        p = np.array(list(Counter(items).values())) / len(items)
        return float(-np.sum(p * np.log2(p)))

    assert got["H(T)"] == pytest.approx(h(cells)) and got["I(X;T)"] == got["H(T)"]
    assert got["I(T;Y)"] == pytest.approx(h(cells) + h(list(y)) - h(list(zip(cells, y))))


def test_exact_truth_needs_a_population(arrays):
    sample = {**arrays, "meta": json.dumps({"population": False})}
    with pytest.raises(DumpError, match="not a population dump"):
        Dump(sample).exact_information("fc1", 0)


BAD = [
    (lambda a: a.pop("labels"), "no 'labels' array"),
    (lambda a: a.update(labels=a["labels"] + 0.5), "not whole numbers"),
    (lambda a: a.update(**{"fc1@0": a["fc1@0"][:10]}), "has shape \\(10, 4\\) but 'labels' has 64 rows"),
    (lambda a: a.update(fc3=a["fc1@0"]), "neither one of labels.*nor a snapshot named"),
    (lambda a: a.update(meta="{not json"), "'meta' is not a JSON string"),
    (lambda a: a.update(labels=-a["labels"] - 1), "negative values"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_dumps_are_refused_naming_the_key(arrays, tmp_path, change, message):
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DumpError, match=message):
        Dump(tmp_path / "bad.npz")


def test_nan_activations_are_refused_when_read(arrays):
    arrays["fc1@10"][3, 1] = np.nan
    dump = Dump(arrays)
    with pytest.raises(DumpError, match="fc1@10.*1 NaN/Inf"):
        dump.snapshot("fc1", 10)
    with pytest.raises(DumpError, match="NaN/Inf"):
        dump.validate()


def test_truncated_and_disguised_files_are_refused_and_run_no_code(arrays, tmp_path):
    np.savez(tmp_path / "d.npz", **arrays)
    data = (tmp_path / "d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DumpError, match="cut.npz"):
        Dump(tmp_path / "cut.npz")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "evil.npz").write_bytes(pickle.dumps({"labels": Payload()}))
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"labels": Payload()}))
    # An object-dtype .npy, written by hand: its data are a pickle stream the loader must refuse.
    with open(tmp_path / "obj.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        f.write(pickle.dumps([Payload()]))
    with zipfile.ZipFile(tmp_path / "objects.npz", "w") as z:
        z.write(tmp_path / "obj.npy", "labels.npy")
    for name in ("evil.npz", "evil.pt", "objects.npz"):
        with pytest.raises(DumpError, match=name):
            Dump(tmp_path / name)
    assert not marker.exists()


def test_writing_is_atomic(tmp_path, monkeypatch):
    def broken(path, **arrays):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        write_npz(tmp_path / "d.npz", {"labels": np.arange(3)})
    assert list(tmp_path.iterdir()) == []


def test_public_names():
    assert mibench.Dump is Dump and mibench.Recorder.__name__ == "Recorder"


def test_a_dump_is_written_with_the_users_umask_and_read_without_leaving_files_open(tmp_path, capsys):
    import gc
    import os
    import warnings

    from mibench.cli import main

    old = os.umask(0o022)
    try:
        path = save_dump(tmp_path / "d.npz", np.arange(8) % 2, {("fc1", 0): np.zeros((8, 2))})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: a dump is shared like any file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["dump", "info", str(path)]) == 0
        assert main(["plane", str(path), "--out", str(tmp_path / "p.png")]) == 0
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]
