"""Reference networks that produce real dumps in minutes on a CPU.

The 12-bit task (in the style of Shwartz-Ziv & Tishby 2017): the 12 inputs are the 12
vertices u_i of a regular icosahedron, 12 evenly spread points on the sphere; a pattern
x in {0, 1}^12 selects some of them, and its label is 1 when the selected points are
lopsided: ||sum_i x_i u_i||^2 > theta, with theta the median over all 4096 patterns
(2036 patterns of label 1, 2060 of label 0). The rule is invariant under the
icosahedron's rotations, as theirs is under O(3) rotations; mibench generates it, no
download. The networks see the inputs as +-1, train on a fixed 85 % of the patterns
(full batch, Adam) and are recorded on all 4096: the dump is a population
(``"population": true``), so the binned I(X;T) and I(T;Y) of its snapshots are exact.

Nets (``mibench dump --net NAME``): widths 12-10-7-5-4-3-2, hidden layers ``layer1`` to
``layer5`` and the softmax ``output``, recorded at log-spaced epochs:

- ``tishby-tanh``: tanh hidden units;
- ``tishby-relu``: ReLU hidden units (Saxe et al. 2018's counterexample);
- ``bnn``: sign units, +-1, trained with straight-through gradients (clipped to |a| <= 1):
  every hidden layer is an exact binary code;
- ``tishby-quantized``: tanh units quantized to ``bits`` (8 by default; 4 also offered as
  ``tishby-quantized-4``) levels in training and recording, as in Lorenzen, Igel &
  Nielsen (ICLR 2022): every snapshot is a discrete code, exact without any binning;
- ``digits-mlp``: a 64-32-16-10 tanh MLP on scikit-learn's bundled 8x8 digits (1797
  images; real data, a sample: ``"population": false``).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from mibench.dumps.format import DumpError
from mibench.dumps.recorder import Recorder

WIDTHS = (12, 10, 7, 5, 4, 3, 2)
TRAIN_SHARE = 0.85


def icosahedron() -> np.ndarray:
    """The 12 vertices of a regular icosahedron as unit vectors, ``(12, 3)``."""
    phi = (1 + math.sqrt(5)) / 2
    points = [p for a in (-1, 1) for b in (-1, 1) for p in ((0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a))]
    u = np.array(points, dtype=float)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def twelve_bit_task() -> tuple[np.ndarray, np.ndarray]:
    """All 4096 patterns ``(4096, 12)`` in {0, 1} and their labels ``(4096,)`` (see the module notes)."""
    x = ((np.arange(4096)[:, None] >> np.arange(12)) & 1).astype(np.int64)
    lopsided = np.sum((x @ icosahedron()) ** 2, axis=1)
    return x, (lopsided > np.median(lopsided) + 1e-9).astype(np.int64)


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return torch.where(a >= 0, torch.ones_like(a), -torch.ones_like(a))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (a,) = ctx.saved_tensors
        return grad * (a.abs() <= 1).to(grad.dtype)


class Sign(torch.nn.Module):
    """+-1 units with the straight-through gradient of a hard tanh."""

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return _SignSTE.apply(a)


class QuantizedTanh(torch.nn.Module):
    """tanh rounded to 2**bits evenly spaced levels in [-1, 1]; gradients pass the rounding."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.levels = 2**bits - 1

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        t = torch.tanh(a)
        q = torch.round((t + 1) / 2 * self.levels) / self.levels * 2 - 1
        return t + (q - t).detach()


class Block(torch.nn.Module):
    """A dense layer and its activation: the unit a dump records."""

    def __init__(self, n_in: int, n_out: int, activation: torch.nn.Module) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))


class MLP(torch.nn.Module):
    """Hidden blocks ``layer1``..``layerK`` and a softmax ``output`` (logits are returned)."""

    def __init__(self, widths: tuple[int, ...], activation: Callable[[], torch.nn.Module]) -> None:
        super().__init__()
        self.hidden = [f"layer{i + 1}" for i in range(len(widths) - 2)]
        for i, name in enumerate(self.hidden):
            self.add_module(name, Block(widths[i], widths[i + 1], activation()))
        self.logits = torch.nn.Linear(widths[-2], widths[-1])
        self.output = torch.nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.hidden:
            x = getattr(self, name)(x)
        logits = self.logits(x)
        self.output(logits)  # recorded: the class probabilities
        return logits

    def layer_names(self) -> list[str]:
        return [*self.hidden, "output"]


ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "tishby-tanh": torch.nn.Tanh,
    "tishby-relu": torch.nn.ReLU,
    "bnn": Sign,
    "tishby-quantized": lambda: QuantizedTanh(8),
    "tishby-quantized-4": lambda: QuantizedTanh(4),
}
NETS = (*ACTIVATIONS, "digits-mlp")
LEARNING_RATE = {"tishby-tanh": 0.01, "tishby-relu": 0.01, "bnn": 0.01, "tishby-quantized": 0.01,
                 "tishby-quantized-4": 0.01, "digits-mlp": 0.005}


def log_epochs(epochs: int, count: int) -> list[int]:
    """``count`` distinct epochs from 0 to ``epochs`` (all of them if there are fewer),
    spaced evenly in log(epoch + 1) where rounding allows."""
    count = min(count, epochs + 1)
    points = count
    while True:
        grid = set((np.unique(np.round(np.logspace(0, math.log10(epochs + 1), points)).astype(int)) - 1).tolist()) | {0, epochs}
        if len(grid) >= count or points > 50 * count:
            return sorted(grid)
        points += 1


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny networks train fastest on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _data(net: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any], tuple[int, ...]]:
    """(network inputs, labels, meta, widths) of a reference net."""
    if net == "digits-mlp":
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
            raise DumpError("digits-mlp needs scikit-learn (pip install scikit-learn)") from exc
        digits = load_digits()
        meta = {"dataset": "scikit-learn digits (8x8)", "activation": "tanh", "population": False}
        return digits.data / 16.0, digits.target.astype(np.int64), meta, (64, 32, 16, 10)
    x, y = twelve_bit_task()
    activation = {"tishby-tanh": "tanh", "tishby-relu": "relu", "bnn": "sign",
                  "tishby-quantized": "tanh quantized to 8 bits", "tishby-quantized-4": "tanh quantized to 4 bits"}[net]
    meta = {"dataset": "12-bit icosahedron task (mibench.dumps.nets)", "activation": activation, "population": True}
    return 2.0 * x - 1.0, y, meta, WIDTHS


def train_reference(net: str, *, epochs: int = 3000, snapshots: int = 100, seed: int = 0,
                    out: str | Path | None = None, stream: bool = False) -> Recorder:
    """Train a reference net, recording its layers at log-spaced epochs; with ``out``,
    write the dump there (a directory, one file per epoch, with ``stream``)."""
    if net not in NETS:
        raise ValueError(f"unknown reference net {net!r}; valid nets: {', '.join(NETS)}")
    if epochs < 1 or snapshots < 2:
        raise ValueError(f"need epochs >= 1 and snapshots >= 2; got {epochs}, {snapshots}")
    net_inputs, labels, meta, widths = _data(net)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=generator).numpy()
    train = order[: int(round(TRAIN_SHARE * len(labels)))]
    with _one_thread():
        with torch.random.fork_rng(devices=[]):  # initialise from the seed; the caller's global RNG is untouched
            torch.manual_seed(seed)
            model = MLP(widths, ACTIVATIONS.get(net, torch.nn.Tanh))
        x = torch.tensor(net_inputs, dtype=torch.float32)
        y = torch.tensor(labels)
        meta = {**meta, "net": net, "seed": seed, "epochs": epochs, "train_rows": int(len(train)),
                "widths": list(widths)}
        stream_to = Path(out) if (out is not None and stream) else None
        ids = np.arange(len(labels)) if meta["population"] else None
        recorder = Recorder(model, model.layer_names(), x, labels, input_ids=ids, meta=meta, stream_to=stream_to)
        record_at = set(log_epochs(epochs, snapshots))
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE[net])
        xt, yt = x[train], y[train]
        for epoch in range(epochs + 1):
            if epoch in record_at:
                recorder.snapshot(epoch)
            if epoch == epochs:
                break
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xt), yt).backward()
            optimizer.step()
        with torch.no_grad():
            recorder.meta["accuracy"] = float((model(x).argmax(1) == y).float().mean())
            recorder.meta["train_accuracy"] = float((model(xt).argmax(1) == yt).float().mean())
    if out is not None:
        recorder.save(out)
    return recorder
