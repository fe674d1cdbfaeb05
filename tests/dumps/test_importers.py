"""Importing ibsgd, IDNNs and .npy-folder dumps; pickles read safely."""
import pickle
from pathlib import Path

import numpy as np
import pytest

from mibench.cli import main
from mibench.dumps.format import Dump, DumpError
from mibench.dumps.importers import SafeUnpickler, import_dump


@pytest.fixture
def layers(rng):
    return {epoch: [rng.standard_normal((30, 4)), rng.standard_normal((30, 2))] for epoch in (0, 3, 9)}


def test_ibsgd(tmp_path, layers, rng):
    src = tmp_path / "ibsgd"
    src.mkdir()
    for epoch, acts in layers.items():
        record = {"ACTIVATION": "tanh", "epoch": epoch, "loss": {"trn": 0.1, "tst": 0.2},
                  "data": {"weights_norm": [1.0, 2.0], "gradmean": [0.1, 0.1], "gradstd": [0.2, 0.2], "activity_tst": acts}}
        (src / f"epoch{epoch:08d}").write_bytes(pickle.dumps(record, protocol=2))
    labels = rng.integers(0, 2, 30)
    np.save(tmp_path / "labels.npy", labels)
    dump = Dump(import_dump("ibsgd", src, tmp_path / "out.npz", labels=str(tmp_path / "labels.npy")))
    assert dump.layers == ["layer1", "layer2"] and dump.epochs == [0, 3, 9] and dump.meta["activation"] == "tanh"
    np.testing.assert_array_equal(dump.snapshot("layer2", 9), layers[9][1])
    np.testing.assert_array_equal(dump.labels, labels)


def test_idnns(tmp_path, layers, rng):
    record = {"ws": [[[[layers[e] for e in (0, 3, 9)]]]], "params": {"epochsInds": np.array([0, 3, 9])}, "information": []}
    (tmp_path / "data.pickle").write_bytes(pickle.dumps(record, protocol=2))
    dump = Dump(import_dump("idnns", tmp_path, tmp_path / "out.npz", labels=rng.integers(0, 2, 30)))
    assert dump.epochs == [0, 3, 9]
    np.testing.assert_array_equal(dump.snapshot("layer1", 3), layers[3][0])


def test_npy_folders_through_the_cli(tmp_path, layers, rng, capsys):
    src = tmp_path / "npy"
    for epoch, acts in layers.items():
        for i, a in enumerate(acts):
            (src / f"fc{i}").mkdir(parents=True, exist_ok=True)
            np.save(src / f"fc{i}" / f"epoch_{epoch:04d}.npy", a)
    np.save(src / "labels.npy", rng.integers(0, 2, 30))
    assert main(["dump", "import", "--from", "npy", str(src), "--out", str(tmp_path / "d.npz")]) == 0
    assert Dump(tmp_path / "d.npz").snapshots() == [(f"fc{i}", e) for i in range(2) for e in (0, 3, 9)]
    assert main(["dump", "info", str(tmp_path / "d.npz")]) == 0
    assert "n = 30 rows" in capsys.readouterr().out


def test_a_malicious_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    src = tmp_path / "ibsgd"
    src.mkdir()
    (src / "epoch00000001").write_bytes(pickle.dumps({"epoch": 1, "data": {"activity_tst": [Payload()]}}))
    with pytest.raises(DumpError, match="refused to unpickle pathlib"):
        import_dump("ibsgd", src, tmp_path / "out.npz", labels=np.zeros(3, int))
    (tmp_path / "data.pickle").write_bytes(pickle.dumps(__import__("os").system))
    with pytest.raises(DumpError, match="refused to unpickle"):
        import_dump("idnns", tmp_path, tmp_path / "out.npz", labels=np.zeros(3, int))
    assert not marker.exists() and not (tmp_path / "out.npz").exists()


def test_missing_labels_and_unknown_sources_are_clear(tmp_path, layers):
    (tmp_path / "data.pickle").write_bytes(pickle.dumps({"ws": [[[list(layers.values())]]], "params": {"epochsInds": [0, 3, 9]}}))
    with pytest.raises(DumpError, match="carries no labels"):
        import_dump("idnns", tmp_path, tmp_path / "out.npz")
    with pytest.raises(DumpError, match="valid sources: ibsgd, idnns, npy"):
        import_dump("keras", tmp_path, tmp_path / "out.npz")


def test_numpy_arrays_unpickle():
    import io

    a = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(SafeUnpickler(io.BytesIO(pickle.dumps({"a": [a, (1, "x")]}))).load()["a"][0], a)
