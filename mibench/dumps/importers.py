"""Importing the dumps researchers already have into mibench's format.

- ``ibsgd`` (Saxe et al.'s code): a directory of per-epoch files ``epochNNNNNNNN``, each a
  pickle of ``{"ACTIVATION": str, "epoch": int, "data": {"activity_tst": [one (n, width)
  array per layer], ...}, "loss": {...}}``; layers become ``layer1``, ``layer2``, ...
- ``idnns`` (Shwartz-Ziv & Tishby's code): a ``data.pickle`` whose ``ws[0][0][0]`` holds,
  per recorded epoch, a list of per-layer activations, and ``params["epochsInds"]`` the
  epochs.
- ``npy``: a folder with ``labels.npy``, optionally ``inputs.npy`` / ``input_ids.npy``,
  and one sub-folder per layer holding one ``.npy`` per epoch, named by the epoch
  (``layer1/0010.npy`` or ``layer1/epoch_10.npy``).

Neither pickle format carries the labels; give them with ``labels=`` (an array, or a
``.npy`` / ``.npz:KEY`` / ``.csv`` path). Pickles are read by :class:`SafeUnpickler`,
which admits NumPy arrays and dtypes, dicts, lists, tuples, numbers and strings only,
and refuses anything else (no code in a pickle runs).
"""
from __future__ import annotations

import io
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mibench.arrays import load_array
from mibench.dumps.format import DumpError, dump_arrays, write_npz

SOURCES = ("ibsgd", "idnns", "npy")
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"), ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
    ("_codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain containers only; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == "numpy" and name in np.sctypeDict:  # numpy scalar types (np.float64, ...)
            return super().find_class(module, name)
        raise DumpError(f"refused to unpickle {module}.{name}: mibench reads pickles of NumPy arrays, dicts, lists, "
                        "tuples, numbers and strings only, and runs no code from them")


def safe_unpickle(path: Path) -> Any:
    data = Path(path).read_bytes()
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="latin1").load()  # latin1: Python 2 pickles of arrays
    except DumpError as exc:
        raise DumpError(f"{path}: {exc}") from None
    except Exception as exc:  # truncated or not a pickle at all
        raise DumpError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); is the file complete?") from None


def _read_labels(labels: Any) -> np.ndarray:
    if labels is None:
        raise DumpError("the source carries no labels: give them (labels=ARRAY or --labels PATH[:KEY])")
    if isinstance(labels, (str, Path)):
        labels = load_array(str(labels))
    array = np.asarray(labels)
    return array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array


def _ibsgd(src: Path) -> tuple[dict[tuple[str, int], np.ndarray], dict[str, Any]]:
    files = sorted(p for p in src.iterdir() if re.fullmatch(r"epoch\d+", p.name))
    if not files:
        raise DumpError(f"{src}: no ibsgd files named epochNNNNNNNN in this directory")
    snapshots, meta = {}, {"imported_from": "ibsgd"}
    for file in files:
        record = safe_unpickle(file)
        try:
            epoch, layers = int(record["epoch"]), record["data"]["activity_tst"]
            meta.setdefault("activation", record.get("ACTIVATION"))
        except (KeyError, TypeError) as exc:
            raise DumpError(f"{file}: not an ibsgd record (missing {exc}); expected data.activity_tst and epoch") from None
        for i, activity in enumerate(layers):
            snapshots[(f"layer{i + 1}", epoch)] = np.asarray(activity)
    return snapshots, meta


def _idnns(src: Path) -> tuple[dict[tuple[str, int], np.ndarray], dict[str, Any]]:
    file = src / "data.pickle" if src.is_dir() else src
    record = safe_unpickle(file)
    try:
        per_epoch = record["ws"][0][0][0]
        epochs = [int(e) for e in record["params"]["epochsInds"]]
    except (KeyError, IndexError, TypeError) as exc:
        raise DumpError(f"{file}: not an IDNNs data.pickle (missing {exc}); expected ws[0][0][0] and params.epochsInds") from None
    if len(per_epoch) != len(epochs):
        raise DumpError(f"{file}: {len(per_epoch)} recorded epochs but {len(epochs)} epoch indices")
    snapshots = {(f"layer{i + 1}", epoch): np.asarray(a) for epoch, layers in zip(epochs, per_epoch) for i, a in enumerate(layers)}
    return snapshots, {"imported_from": "idnns"}


def _npy(src: Path) -> tuple[dict[tuple[str, int], np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    extra = {}
    for key in ("labels", "inputs", "input_ids"):
        if (src / f"{key}.npy").exists():
            extra[key] = _load_npy(src / f"{key}.npy")
    snapshots, seen = {}, {}
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        for file in sorted(folder.glob("*.npy")):
            found = re.findall(r"\d+", file.stem)
            if not found:
                raise DumpError(f"{file}: the file name carries no epoch number (name it e.g. 0010.npy)")
            key = (folder.name, int(found[-1]))
            if key in seen:  # 10.npy and epoch_0010.npy: one epoch twice, and one of them would be dropped
                raise DumpError(f"{file} and {seen[key]} are both epoch {key[1]} of layer {key[0]!r}; keep one")
            seen[key] = file
            snapshots[key] = _load_npy(file)
    if not snapshots:
        raise DumpError(f"{src}: no layer folders of .npy files")
    return snapshots, {"imported_from": "npy"}, extra


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DumpError(f"{path}: not a readable .npy of numbers ({type(exc).__name__}: {exc}); mibench never unpickles") from None


def import_dump(source: str, src: str | Path, out: str | Path, *, labels: Any = None, inputs: Any = None,
                meta: Mapping[str, Any] | None = None) -> Path:
    """Convert another tool's dump at ``src`` into a mibench ``.npz`` at ``out``."""
    src = Path(src)
    if source not in SOURCES:
        raise DumpError(f"unknown source {source!r}; valid sources: {', '.join(SOURCES)}")
    if not src.exists():
        raise DumpError(f"{src}: no such file or directory")
    extra: dict[str, np.ndarray] = {}
    if source == "ibsgd":
        snapshots, found_meta = _ibsgd(src)
    elif source == "idnns":
        snapshots, found_meta = _idnns(src)
    else:
        snapshots, found_meta, extra = _npy(src)
    chosen_labels = _read_labels(labels if labels is not None else extra.get("labels"))
    arrays = dump_arrays(chosen_labels, snapshots, inputs=inputs if inputs is not None else extra.get("inputs"),
                         input_ids=extra.get("input_ids"), meta={**found_meta, **(meta or {})})
    if Path(out).suffix != ".npz":
        raise DumpError(f"{out}: a dump is written as .npz; name it so")
    return write_npz(out, arrays)
