"""Arrays in and out: loading them from files, safely (``.npy``, ``.npz`` (one member),
``.csv`` and ``.pt``, never unpickling: ``allow_pickle=False``, ``weights_only=True``),
and turning estimates into plain numbers (:func:`floats`, :func:`plain`)."""
from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


def floats(values: Any, count: int = 1) -> np.ndarray:
    """The per-element values of an estimate (a float, a sequence with None for a failed
    element, a numpy array or a torch tensor on any device) as a flat float64 array, None
    as NaN; None itself (a quantity an estimator does not report) gives ``count`` NaNs."""
    if values is None:
        return np.full(count, math.nan)
    return np.asarray(values.cpu() if hasattr(values, "cpu") else values, dtype=float).reshape(-1)


def plain(value: Any) -> Any:
    """``value`` with plain Python types only, ready for JSON: dicts and sequences item by
    item, numpy scalars as Python numbers, NaN and Inf as None (JSON has neither)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def load_array(source: str) -> Any:
    """Load ``PATH`` or ``PATH:KEY`` from .npy, .npz, .csv or .pt, safely (no pickles)."""
    path, key = Path(source), ""
    if not path.exists() and ":" in source:
        head, _, key = source.rpartition(":")
        path = Path(head)
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in (*_LOADERS, ".npz"):
        raise ValueError(f"unsupported file type {suffix!r} for {path}; use .npy, .npz, .csv or .pt")
    try:
        if suffix == ".npz":  # only the member asked for is read (the others may be large)
            with np.load(path, allow_pickle=False) as archive:
                name = _pick(archive.files, key, path)
                _check_declared_size(path, archive.zip.getinfo(f"{name}.npy"), archive.zip)
                return archive[name]
        if suffix == ".npy":
            _check_declared_size(path)
        data = _LOADERS[suffix](path)
    except ValueError as exc:
        if str(exc).startswith(("pick an array", "no array", "cannot read")):
            raise
        raise ValueError(f"cannot read {path} (ValueError: {exc}); is the file complete and not pickled?") from exc
    except Exception as exc:  # a truncated or foreign file can fail in many ways
        raise ValueError(f"cannot read {path} ({type(exc).__name__}: {exc}); is the file complete and not pickled?") from exc
    if isinstance(data, dict):
        return data[_pick(list(data), key, path)]
    return data


def _load_csv(path: Path) -> np.ndarray:
    """Numbers from a CSV; columns of whole numbers only (class labels, codes) come back
    as int64, so discrete estimators take them as codes."""
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    if data.size and np.all(np.isfinite(data)) and np.all(data == np.round(data)) and np.abs(data).max() < 2**53:
        return data.astype(np.int64)
    return data


def _load_pt(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


_LOADERS = {
    ".npy": lambda path: np.load(path, allow_pickle=False),  # .npz: read member by member in load_array
    ".csv": _load_csv,
    ".pt": _load_pt,
}


def npy_header(fh: Any) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, offset of the data) from an open .npy stream: the
    header only, never the data."""
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(fh)
    return tuple(shape), bool(fortran), dtype, fh.tell()


DEFLATE_RATIO = 1032  # the most a deflated stream can expand (zlib's limit): a bound on a member's true size


def declared_size_problem(shape: tuple[int, ...], dtype: np.dtype, info: zipfile.ZipInfo, data_at: int,
                          on_disk: int | None = None) -> str | None:
    """Why an .npz member's header cannot be believed before its array is allocated, or None:
    the shape it declares needs more bytes than the member holds (a stored member's bytes are
    in the file; a deflated one expands at most DEFLATE_RATIO times). The zip's own sizes may
    lie as well, so ``on_disk`` (the archive's bytes) bounds them where given."""
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    stored = min(info.compress_size, on_disk if on_disk is not None else info.compress_size)
    expands = 1 if info.compress_type == zipfile.ZIP_STORED else DEFLATE_RATIO
    holds = min(info.file_size, expands * stored) - data_at
    if need > max(holds, 0):
        return f"declares shape {tuple(shape)} ({need:,} bytes), but the member holds at most {max(holds, 0):,}"
    return None


def _check_declared_size(path: Path, info: Any = None, archive: Any = None) -> None:
    """Refuse an .npy (or an .npz member, ``info`` of ``archive``) whose header declares more
    bytes than it holds, before numpy allocates them (a 100-byte file may declare 8 TiB)."""
    opened = archive.open(info) if info is not None else open(path, "rb")
    with opened as fh:
        shape, _, dtype, data_at = npy_header(fh)
    if info is None:  # a plain file: its bytes on disk are all it holds
        info = zipfile.ZipInfo(path.name)
        info.file_size = info.compress_size = path.stat().st_size
        info.compress_type = zipfile.ZIP_STORED
    problem = declared_size_problem(shape, dtype, info, data_at, path.stat().st_size)
    if problem:
        raise ValueError(f"cannot read {path}: it {problem}; is the file complete?")


def _pick(names: list[str], key: str, path: Path) -> str:
    """The member to read: ``key``, or the only one there is."""
    if not key:
        if len(names) == 1:
            return names[0]
        raise ValueError(f"pick an array of {path} with {path}:KEY; it holds {', '.join(sorted(names))}")
    if key not in names:
        raise ValueError(f"no array {key!r} in {path}; it holds {', '.join(sorted(names))}")
    return key
