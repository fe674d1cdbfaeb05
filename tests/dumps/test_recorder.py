"""The recorder, on a model with named submodules, on every device there is."""
import numpy as np
import pytest
import torch

from conftest import DEVICES
from mibench.dumps.format import Dump
from mibench.dumps.recorder import Recorder


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh())
        self.head = torch.nn.Linear(4, 3)
        self.unused = torch.nn.Linear(3, 3)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.head(self.dropout(self.encoder(x)))


@pytest.mark.parametrize("device", DEVICES)
def test_snapshots_in_eval_mode_without_gradients_on_the_models_device(device, tmp_path, rng):
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Net().to(device)
    x = torch.as_tensor(rng.standard_normal((50, 5)), dtype=torch.float32)
    labels = rng.integers(0, 3, 50)
    rec = Recorder(model, ["encoder", "head"], x, labels, batch_size=16, meta={"dataset": "random"})
    model.train()
    first = rec.snapshot(0)
    assert model.training  # restored
    with torch.no_grad():
        expected = model.eval().encoder(x.to(device)).cpu().numpy()
    np.testing.assert_allclose(first["encoder"], expected, rtol=1e-6)  # eval mode: dropout off, whole set in batches
    rec.snapshot(7)
    dump = Dump(rec.snapshots and {**{f"{k[0]}@{k[1]}": v for k, v in rec.snapshots.items()}, "labels": labels})
    assert dump.layers == ["encoder", "head"] and dump.epochs == [0, 7]
    saved = Dump(rec.save(tmp_path / "run.npz"))
    assert saved.meta == {"dataset": "random"} and saved.snapshot("head", 7).dtype == np.float32
    assert rec.memory_bytes(100) == 50 * (4 + 3) * 100 * 4
    del gen


def test_streaming_writes_one_file_per_epoch_and_the_directory_is_a_dump(tmp_path, rng):
    model = Net()
    x, labels = torch.randn(20, 5, generator=torch.Generator().manual_seed(1)), rng.integers(0, 3, 20)
    rec = Recorder(model, ["encoder"], x, labels, stream_to=tmp_path / "run")
    for epoch in (0, 1, 5):
        rec.snapshot(epoch)
    assert rec.snapshots == {}  # nothing held in memory
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "data.npz", "epoch_00000000.npz", "epoch_00000001.npz", "epoch_00000005.npz"]
    assert Dump(rec.save(None)).epochs == [0, 1, 5]


def test_bad_layers_are_named(rng):
    model, x, labels = Net(), torch.zeros(4, 5), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="no submodule named 'fc9' in Net; its submodules: encoder, encoder.0"):
        Recorder(model, ["fc9"], x, labels)
    rec = Recorder(model, ["unused"], x, labels)
    with pytest.raises(ValueError, match="'unused' was never called"):
        rec.snapshot(0)
    with pytest.raises(ValueError, match="one per input row"):
        Recorder(model, ["head"], x, np.zeros(3))
