"""Recording a dump from any torch model inside the user's own training loop.

    rec = mibench.Recorder(model, layers=["fc1", "fc2"], inputs=x_eval, labels=y_eval)
    for epoch in range(epochs):
        train_one_epoch(model)
        rec.snapshot(epoch)          # eval mode, no gradients, in batches, on the model's device
    rec.save("run.npz")

Forward hooks on the named submodules catch their outputs; each snapshot keeps float32
copies on the host. Memory: n x (sum of the recorded widths) x 4 bytes per snapshot,
e.g. 4096 inputs x 31 units x 100 epochs = 51 MB. Pass ``stream_to=DIR`` to write one
file per epoch instead (``DIR/epoch_00000012.npz``, plus ``DIR/data.npz`` with labels and
inputs); the directory is itself a dump.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from mibench.dumps.format import DumpError, dump_arrays, memory_bytes, write_npz


class Recorder:
    """Records the outputs of named submodules of ``model`` on a fixed evaluation set."""

    def __init__(self, model: torch.nn.Module, layers: Sequence[str], inputs: Any, labels: Any, *,
                 input_ids: Any = None, meta: Mapping[str, Any] | None = None, batch_size: int = 4096,
                 stream_to: str | Path | None = None, keep_inputs: bool = True) -> None:
        modules = dict(model.named_modules())
        unknown = [name for name in layers if name not in modules or name == ""]
        if unknown:
            named = ", ".join(n for n in modules if n) or "none"
            raise ValueError(f"no submodule named {unknown[0]!r} in {type(model).__name__}; its submodules: {named}")
        if not layers:
            raise ValueError("give at least one layer name to record")
        self.model, self.layers, self.batch_size = model, list(layers), int(batch_size)
        self.inputs = torch.as_tensor(inputs)
        self.labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
        if self.labels.shape != (self.inputs.shape[0],):
            raise ValueError(f"labels have shape {self.labels.shape}; expected ({self.inputs.shape[0]},), one per input row")
        self.input_ids = None if input_ids is None else np.asarray(input_ids)
        self.meta = dict(meta or {})
        self.keep_inputs = keep_inputs
        self.stream_to = None if stream_to is None else Path(stream_to)
        self._modules = {name: modules[name] for name in self.layers}
        self.snapshots: dict[tuple[str, int], np.ndarray] = {}
        self._epochs: list[int] = []
        self.seconds = 0.0  # spent in snapshot(): the recording's overhead in the training loop
        if self.stream_to is not None:
            self.stream_to.mkdir(parents=True, exist_ok=True)
            write_npz(self.stream_to / "data.npz", self._common())

    def _common(self) -> dict[str, np.ndarray]:
        first = {(layer, 0): np.zeros((len(self.labels), 1), np.float32) for layer in self.layers[:1]}
        arrays = dump_arrays(self.labels, first, inputs=self._inputs_array(), input_ids=self.input_ids, meta=self.meta)
        return {k: v for k, v in arrays.items() if "@" not in k}

    def _inputs_array(self) -> np.ndarray | None:
        return self.inputs.detach().cpu().numpy() if self.keep_inputs else None

    def snapshot(self, epoch: int) -> dict[str, np.ndarray]:
        """Run the evaluation set through the model (eval mode, no gradients, in batches,
        on the model's device) and record every hooked layer's output for ``epoch``."""
        start = time.perf_counter()
        epoch = int(epoch)
        if epoch in self._epochs:
            raise ValueError(f"epoch {epoch} is recorded already")
        outputs: dict[str, list[torch.Tensor]] = {name: [] for name in self.layers}
        hooks = [module.register_forward_hook(self._catch(outputs[name])) for name, module in self._modules.items()]
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for row in range(0, self.inputs.shape[0], self.batch_size):
                    self.model(self.inputs[row : row + self.batch_size].to(device))
        finally:
            for hook in hooks:
                hook.remove()
            self.model.train(was_training)
        silent = [name for name, parts in outputs.items() if not parts]
        if silent:
            raise ValueError(f"layer {silent[0]!r} was never called in the model's forward pass; record layers the "
                             "forward pass uses")
        recorded = {name: torch.cat(parts).reshape(self.inputs.shape[0], -1).float().cpu().numpy()
                    for name, parts in outputs.items()}
        self._epochs.append(epoch)
        if self.stream_to is not None:
            arrays = {f"{name}@{epoch}": value for name, value in recorded.items()}
            write_npz(self.stream_to / f"epoch_{epoch:08d}.npz", arrays)
        else:
            self.snapshots.update({(name, epoch): value for name, value in recorded.items()})
        self.seconds += time.perf_counter() - start
        return recorded

    @staticmethod
    def _catch(store: list[torch.Tensor]) -> Any:
        def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, (tuple, list)):
                output = output[0]
            store.append(output.detach())
        return hook

    def memory_bytes(self, epochs: int) -> int:
        """Host memory (bytes) ``epochs`` snapshots of the recorded layers take."""
        widths = [self._width(name) for name in self.layers]
        return memory_bytes(self.inputs.shape[0], widths, epochs)

    def _width(self, name: str) -> int:
        return next((v.shape[1] for (layer, _), v in self.snapshots.items() if layer == name), 0)

    def save(self, path: str | Path) -> Path:
        """Write the dump: one ``.npz`` at ``path``, or, when streaming, the directory (the
        snapshots are there already)."""
        if self.stream_to is not None:
            write_npz(self.stream_to / "data.npz", self._common())  # the meta may have grown since the start
            return self.stream_to
        if not self.snapshots:
            raise DumpError("nothing recorded: call rec.snapshot(epoch) in the training loop first")
        arrays = dump_arrays(self.labels, self.snapshots, inputs=self._inputs_array(), input_ids=self.input_ids, meta=self.meta)
        if Path(path).suffix != ".npz":
            raise DumpError(f"{path}: a dump is written as .npz; name it so")
        return write_npz(path, arrays)
