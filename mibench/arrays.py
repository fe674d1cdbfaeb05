"""Loading arrays from files, safely: ``.npy``, ``.npz`` (one member), ``.csv`` and ``.pt``,
never unpickling (``allow_pickle=False``, ``weights_only=True``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def load_array(source: str) -> Any:
    """Load ``PATH`` or ``PATH:KEY`` from .npy, .npz, .csv or .pt, safely (no pickles)."""
    path, key = Path(source), ""
    if not path.exists() and ":" in source:
        head, _, key = source.rpartition(":")
        path = Path(head)
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in _LOADERS:
        raise ValueError(f"unsupported file type {suffix!r} for {path}; use .npy, .npz, .csv or .pt")
    try:
        data = _LOADERS[suffix](path)
    except Exception as exc:  # a truncated or foreign file can fail in many ways
        raise ValueError(f"cannot read {path} ({type(exc).__name__}: {exc}); is the file complete and not pickled?") from exc
    if isinstance(data, dict):
        return _pick(data, key, path)
    return data


def _load_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _load_pt(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


_LOADERS = {
    ".npy": lambda path: np.load(path, allow_pickle=False),
    ".npz": _load_npz,
    ".csv": lambda path: np.loadtxt(path, delimiter=",", ndmin=2),
    ".pt": _load_pt,
}


def _pick(arrays: dict, key: str, path: Path) -> Any:
    if not key:
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise ValueError(f"pick an array of {path} with {path}:KEY; it holds {', '.join(sorted(arrays))}")
    if key not in arrays:
        raise ValueError(f"no array {key!r} in {path}; it holds {', '.join(sorted(arrays))}")
    return arrays[key]
