"""The dump format: activations recorded from a network, per layer and epoch.

A dump is a ``.npz`` file (or a ``.pt`` file holding a dict with the same keys, or a
directory of such files merged by key, e.g. one file per epoch) with:

- ``labels``: ``(n,)`` non-negative integer class labels (required);
- ``inputs``: ``(n, d_x)`` the inputs, and/or ``input_ids``: ``(n,)`` integer ids of the
  distinct inputs (optional);
- one array per recorded snapshot, named ``"<layer>@<epoch>"``: ``(n, d_layer)``
  activations, float or integer (``(n,)`` is read as one unit);
- ``meta``: a JSON string (optional): ``activation``, ``dataset``, ... and
  ``"population": true`` when the rows enumerate the whole input distribution, each
  row with equal weight (the 4096 patterns of the 12-bit task).

Loading never unpickles (``np.load(..., allow_pickle=False)``,
``torch.load(..., weights_only=True)``) and reads a snapshot only when it is asked for.
Every problem is a :class:`DumpError` naming the file and the key.
"""
from __future__ import annotations

import json
import math
import os
import re
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

from mibench.arrays import declared_size_problem, npy_header

RESERVED = ("labels", "inputs", "input_ids", "meta")
SNAPSHOT = re.compile(r"^(?P<layer>[^@]+)@(?P<epoch>\d+)$")
SUFFIXES = (".npz", ".pt")


class DumpError(ValueError):
    """A dump that cannot be read or written as it is; the message names the file and key."""


def snapshot_key(layer: str, epoch: int) -> str:
    return f"{layer}@{int(epoch)}"


def parse_key(key: str, where: str) -> tuple[str, int]:
    match = SNAPSHOT.match(key)
    if match is None:
        raise DumpError(f"{where}: array {key!r} is neither one of {', '.join(RESERVED)} nor a snapshot named "
                        "'<layer>@<epoch>' (e.g. 'fc1@100'); rename it")
    return match["layer"], int(match["epoch"])


# -- reading ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Member:
    """Where one array of an .npz lies: its shape and dtype, and, for a stored (not
    compressed) member, the file offsets of its .npy header and data and its CRC."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    header_at: int  # file offset of the .npy bytes (-1: compressed, read through zipfile)
    data_at: int  # offset of the array data within the .npy bytes
    crc: int


def _npz_members(path: Path) -> dict[str, _Member]:
    """Every member of an .npz, read from the headers only."""
    members = {}
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as fh:
                    shape, fortran, dtype, data_at = npy_header(fh)
                if dtype.hasobject:
                    raise DumpError(f"{path}: {info.filename[:-4]!r} holds Python objects (a pickle); "
                                    "mibench reads numeric arrays only and never unpickles")
                problem = declared_size_problem(shape, dtype, info, data_at, path.stat().st_size)
                if problem:
                    raise DumpError(f"{path}: {info.filename[:-4]!r} {problem}; is the file complete and written by "
                                    "numpy?")
                header_at = -1
                if info.compress_type == zipfile.ZIP_STORED:
                    raw.seek(info.header_offset)
                    local = raw.read(30)
                    name_len, extra_len = struct.unpack("<HH", local[26:30])
                    header_at = info.header_offset + 30 + name_len + extra_len
                if info.filename[:-4] in members:  # a zip may repeat a name; the later entry would hide the first
                    raise DumpError(f"{path}: two members named {info.filename!r}; a dump holds each array once")
                members[info.filename[:-4]] = _Member(tuple(shape), dtype, bool(fortran), header_at, data_at, info.CRC)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, struct.error) as exc:
        if isinstance(exc, DumpError):
            raise
        raise DumpError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc}); is the file complete?") from None
    return members


class _Archive:
    """One .npz, read member by member straight into arrays: stored members from their
    offsets (their CRC checked), compressed ones through zipfile."""

    def __init__(self, path: Path, members: dict[str, _Member]) -> None:
        self.path, self.members, self._raw, self._zip = path, members, None, None

    def read(self, key: str) -> np.ndarray:
        m = self.members[key]
        out = np.empty(m.shape, dtype=m.dtype, order="F" if m.fortran else "C")
        view = memoryview(out.reshape(-1, order="A").view(np.uint8)) if out.size else memoryview(bytearray())
        try:
            if m.header_at < 0:
                if self._zip is None:
                    self._zip = zipfile.ZipFile(self.path)
                with self._zip.open(key + ".npy") as fh:
                    fh.read(m.data_at)
                    got = fh.readinto(view)
            else:
                if self._raw is None:
                    self._raw = open(self.path, "rb")
                self._raw.seek(m.header_at)
                crc = zlib.crc32(self._raw.read(m.data_at))
                got = self._raw.readinto(view)
                if zlib.crc32(view, crc) != m.crc:
                    raise ValueError("its bytes do not match the archive's checksum")
            if got != out.nbytes:
                raise EOFError("the member ends early")
        except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as exc:
            raise DumpError(f"{self.path}: cannot read {key!r} ({type(exc).__name__}: {exc}); is the file complete?") from None
        return out

    def close(self) -> None:
        for handle in (self._raw, self._zip):
            if handle is not None:
                handle.close()
        self._raw = self._zip = None


def _npz_loader(archive: _Archive, key: str) -> Callable[[], np.ndarray]:
    return lambda: archive.read(key)


def _pt_arrays(path: Path) -> dict[str, Any]:
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, pickled objects refused by weights_only, not a torch file
        raise DumpError(f"{path}: not a readable .pt dump ({type(exc).__name__}: {exc}); mibench loads tensors and "
                        "plain containers only (weights_only=True), never pickled objects") from None
    if not isinstance(data, dict):
        raise DumpError(f"{path}: a .pt dump must hold a dict of arrays, got {type(data).__name__}")
    return data


def _as_array(value: Any, where: str, key: str) -> np.ndarray:
    if key == "meta" and isinstance(value, (str, dict)):
        return np.asarray(value if isinstance(value, str) else json.dumps(value))
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise DumpError(f"{where}: {key!r} is a {value.layout} tensor; save a dense one (t.to_dense())")
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in (torch.float32, torch.float64):
            value = value.float()  # float16, bfloat16, float8: read as float32
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype.hasobject or array.dtype.kind not in "fiubU":
        raise DumpError(f"{where}: {key!r} has dtype {array.dtype}; give numeric arrays")
    return array


class Dump:
    """A dump opened for reading (a path to .npz / .pt / a directory of them, or a
    mapping of key -> array). Snapshots are read on demand."""

    def __init__(self, source: str | Path | Mapping[str, Any]) -> None:
        self.path = None if isinstance(source, Mapping) else Path(source)
        self._archives: list[_Archive] = []
        self._fetch: dict[str, Callable[[], np.ndarray]] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._origin: dict[str, str] = {}
        if isinstance(source, Mapping):
            self._add_mapping(source, "dump")
        elif self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.suffix in SUFFIXES)
            if not files:
                raise DumpError(f"{self.path}: a dump directory needs .npz or .pt files; found none")
            for file in files:
                self._add_file(file)
        elif self.path.is_file():
            if self.path.suffix not in SUFFIXES:
                raise DumpError(f"{self.path}: unsupported dump file type {self.path.suffix!r}; use .npz, .pt or a directory")
            self._add_file(self.path)
        else:
            raise DumpError(f"{self.path}: no such file or directory")
        self._check()

    # -- loading ----------------------------------------------------------------------------
    def _add(self, key: str, where: str, shape: tuple[int, ...], fetch: Callable[[], np.ndarray]) -> None:
        if key in self._fetch and key not in RESERVED:
            raise DumpError(f"{where}: snapshot {key!r} is also in {self._origin[key]}; a snapshot must be in one file")
        if key in RESERVED and key in self._fetch:
            first = self._fetch[key]
            fetch = self._same_everywhere(key, where, first, fetch)
        self._fetch[key], self._shapes[key], self._origin[key] = fetch, shape, where

    def _same_everywhere(self, key: str, where: str, first: Callable, second: Callable) -> Callable[[], np.ndarray]:
        a, b = first(), second()
        if a.shape != b.shape or not np.array_equal(a, b):
            raise DumpError(f"{where}: {key!r} differs from the one in {self._origin[key]}; merged files must agree on it")
        return lambda: a

    def _add_file(self, file: Path) -> None:
        if file.suffix == ".npz":
            members = _npz_members(file)
            archive = _Archive(file, members)
            self._archives.append(archive)
            for key, member in members.items():
                self._add(key, str(file), member.shape, _npz_loader(archive, key))
        else:
            self._add_mapping(_pt_arrays(file), str(file))

    def _add_mapping(self, arrays: Mapping[str, Any], where: str) -> None:
        for key, value in arrays.items():
            if not isinstance(key, str):
                raise DumpError(f"{where}: keys must be strings, got {key!r}")
            array = _as_array(value, where, key)
            self._add(key, where, array.shape, lambda a=array: a)

    def _check(self) -> None:
        where = str(self.path) if self.path is not None else "dump"
        if "labels" not in self._fetch:
            raise DumpError(f"{where}: no 'labels' array; a dump needs the (n,) integer class labels")
        labels_shape = self._shapes["labels"]
        if len(labels_shape) != 1:
            raise DumpError(f"{where}: 'labels' has shape {labels_shape}; expected (n,)")
        n = labels_shape[0]
        if n < 2:
            raise DumpError(f"{where}: {n} row(s); a dump needs at least 2")
        self.n = n
        self._snapshots: dict[tuple[str, int], str] = {}
        for key, shape in self._shapes.items():
            here = self._origin[key]
            if key not in RESERVED:
                snapshot = parse_key(key, here)
                if snapshot in self._snapshots:  # fc1@10 and fc1@0010 name one snapshot: keeping one drops the other
                    raise DumpError(f"{here}: {self._snapshots[snapshot]!r} and {key!r} both name layer "
                                    f"{snapshot[0]!r} at epoch {snapshot[1]}; keep one of them")
                self._snapshots[snapshot] = key
            if key == "meta":
                continue
            if not shape or shape[0] != n:
                raise DumpError(f"{here}: {key!r} has shape {shape} but 'labels' has {n} rows; every array needs n = {n} rows")
            if len(shape) > 2 or (key in ("labels", "input_ids") and len(shape) != 1):
                raise DumpError(f"{here}: {key!r} has shape {shape}; expected (n,) for labels and ids, (n, d) otherwise")
        if not self._snapshots:
            raise DumpError(f"{where}: no snapshots; name each array '<layer>@<epoch>'")
        self.meta: dict[str, Any] = self._read_meta(where)
        self.labels = self._labels(where)

    def _read_meta(self, where: str) -> dict[str, Any]:
        if "meta" not in self._fetch:
            return {}
        raw = self._fetch["meta"]()
        try:
            meta = json.loads(str(raw.item() if raw.shape == () else raw))
        except (ValueError, TypeError) as exc:
            raise DumpError(f"{self._origin['meta']}: 'meta' is not a JSON string ({exc})") from None
        if not isinstance(meta, dict):
            raise DumpError(f"{self._origin['meta']}: 'meta' must be a JSON object, got {type(meta).__name__}")
        return meta

    def _labels(self, where: str) -> np.ndarray:
        labels = self._fetch["labels"]()
        origin = self._origin["labels"]
        if labels.dtype.kind == "f":
            if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
                raise DumpError(f"{origin}: 'labels' are not whole numbers; give integer class labels")
        elif labels.dtype.kind not in "iub":
            raise DumpError(f"{origin}: 'labels' has dtype {labels.dtype}; give integer class labels")
        labels = labels.astype(np.int64)
        if labels.min() < 0:
            raise DumpError(f"{origin}: 'labels' has negative values (min {labels.min()}); relabel with "
                            "np.unique(labels, return_inverse=True)[1]")
        return labels

    def close(self) -> None:
        """Close the files a dump keeps open for reading (reopened if read again)."""
        for archive in self._archives:
            archive.close()

    def __enter__(self) -> "Dump":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------
    @property
    def layers(self) -> list[str]:
        """Layer names, in the order of their first snapshot's key."""
        return list(dict.fromkeys(layer for layer, _ in self._snapshots))

    @property
    def epochs(self) -> list[int]:
        return sorted({epoch for _, epoch in self._snapshots})

    def snapshots(self, layer: str | None = None) -> list[tuple[str, int]]:
        """(layer, epoch) of every snapshot (of one layer), by layer then epoch."""
        order = {name: i for i, name in enumerate(self.layers)}
        keys = [k for k in self._snapshots if layer is None or k[0] == layer]
        return sorted(keys, key=lambda k: (order[k[0]], k[1]))

    def width(self, layer: str) -> int:
        key = self._snapshots[self.snapshots(layer)[0]]
        shape = self._shapes[key]
        return 1 if len(shape) == 1 else shape[1]

    @property
    def inputs(self) -> np.ndarray | None:
        return self._fetch["inputs"]() if "inputs" in self._fetch else None

    @property
    def input_ids(self) -> np.ndarray | None:
        return self._fetch["input_ids"]().astype(np.int64) if "input_ids" in self._fetch else None

    @property
    def population(self) -> bool:
        return bool(self.meta.get("population", False))

    def snapshot(self, layer: str, epoch: int) -> np.ndarray:
        """Activations of ``layer`` at ``epoch``: ``(n, d)``, float or integer, checked finite."""
        key = self._snapshots.get((layer, int(epoch)))
        if key is None:
            known = ", ".join(self.layers)
            raise DumpError(f"{self.path or 'dump'}: no snapshot {snapshot_key(layer, epoch)!r}; layers: {known}; "
                            f"epochs: {self.epochs[0]}..{self.epochs[-1]}")
        array = self._fetch[key]()
        if array.ndim == 1:
            array = array[:, None]
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            bad = int((~np.isfinite(array)).sum())
            raise DumpError(f"{self._origin[key]}: snapshot {key!r} has {bad} NaN/Inf value(s); the network diverged "
                            "or the recording is damaged")
        if array.dtype.kind not in "fiub":
            raise DumpError(f"{self._origin[key]}: snapshot {key!r} has dtype {array.dtype}; give numbers")
        return array

    def stacked(self, layer: str, epochs: Iterable[int] | None = None) -> np.ndarray:
        """The layer's snapshots at ``epochs`` (all by default) stacked: ``(b, n, d)``."""
        chosen = self.epochs_of(layer) if epochs is None else list(epochs)
        first = self.snapshot(layer, chosen[0])
        out = np.empty((len(chosen), *first.shape), dtype=first.dtype)
        out[0] = first
        for i, epoch in enumerate(chosen[1:], start=1):
            out[i] = self.snapshot(layer, epoch)
        return out

    def epochs_of(self, layer: str) -> list[int]:
        return [e for _, e in self.snapshots(layer)]

    def exact_information(self, layer: str, epoch: int, **binning: Any) -> dict[str, float]:
        """Exact H(T), I(X;T), H(Y), I(T;Y) of a population dump's binned snapshot (bits);
        see :func:`exact_information`."""
        return exact_information(self, layer, epoch, **binning)

    def validate(self) -> None:
        """Read every array once, raising on the first problem (used by ``dump info``)."""
        for layer, epoch in self.snapshots():
            self.snapshot(layer, epoch)
        for key in ("inputs", "input_ids"):
            if key in self._fetch:
                self._fetch[key]()


# -- writing ------------------------------------------------------------------------------
def dump_arrays(labels: Any, snapshots: Mapping[tuple[str, int], Any], *, inputs: Any = None, input_ids: Any = None,
                meta: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The key -> array mapping of a dump (checked by opening it)."""
    arrays: dict[str, Any] = {"labels": np.asarray(labels)}
    if inputs is not None:
        arrays["inputs"] = np.asarray(inputs)
    if input_ids is not None:
        arrays["input_ids"] = np.asarray(input_ids)
    if meta:
        arrays["meta"] = np.asarray(json.dumps(dict(meta)))
    for (layer, epoch), value in snapshots.items():
        if "@" in layer:
            raise DumpError(f"layer name {layer!r} contains '@', which separates layer and epoch in a snapshot name")
        arrays[snapshot_key(layer, epoch)] = np.asarray(value)
    Dump(arrays)  # the same checks as reading
    return arrays


def _umask() -> int:
    """The process's file-creation mask (read by setting it, then restored)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays to ``path`` atomically: a crash leaves no partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent, prefix=f".{path.stem}.")
    os.close(handle)
    try:
        np.savez(tmp, **arrays)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make a dump unreadable to the user's group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_dump(path: str | Path, labels: Any, snapshots: Mapping[tuple[str, int], Any], *, inputs: Any = None,
              input_ids: Any = None, meta: Mapping[str, Any] | None = None) -> Path:
    """Write a dump to one ``.npz`` (atomically) and return its path."""
    if Path(path).suffix != ".npz":
        raise DumpError(f"{path}: a dump is written as .npz; name it so")
    return write_npz(path, dump_arrays(labels, snapshots, inputs=inputs, input_ids=input_ids, meta=meta))


def memory_bytes(n: int, widths: Iterable[int], snapshots_per_layer: int) -> int:
    """Bytes a recording of float32 activations takes: n x sum(widths) x snapshots x 4."""
    return int(n * sum(widths) * snapshots_per_layer * 4)


def describe(dump: Dump) -> dict[str, Any]:
    """A summary for ``mibench dump info``: n, layers (width, value range, distinct rows
    per snapshot), epochs, labels and meta."""
    from mibench.core.counting import pattern_ids

    layers = []
    for layer in dump.layers:
        lo, hi, distinct = math.inf, -math.inf, []
        for epoch in dump.epochs_of(layer):
            a = dump.snapshot(layer, epoch)
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
            bits = a.astype(np.float32).view(np.int32) if a.dtype.kind == "f" else a.astype(np.int64)
            codes = torch.from_numpy(bits.astype(np.int64) - bits.min())
            distinct.append(int(pattern_ids(codes[None])[1][0]))
        layers.append({"layer": layer, "width": dump.width(layer), "snapshots": len(distinct), "min": lo, "max": hi,
                       "distinct_min": min(distinct), "distinct_max": max(distinct)})
    return {"n": dump.n, "classes": int(len(np.unique(dump.labels))), "epochs": dump.epochs, "layers": layers,
            "inputs": None if dump.inputs is None else list(dump.inputs.shape), "population": dump.population, "meta": dump.meta}


# -- exact truth of population dumps ----------------------------------------------------------
def _binned_spec(bins: int, rule: str, value_range: tuple[float, float] | None, width: float | None) -> str:
    from mibench.estimators.binning import Binned

    params: dict[str, Any] = {"rule": rule}
    if rule in ("fixed", "uniform", "quantile"):
        params["bins"] = bins
    if rule == "fixed":
        params["range"] = tuple(value_range or (-1.0, 1.0))
    if rule == "width":
        params["width"] = width
    return Binned(**params).spec


def exact_information(dump: Dump, layer: str, epoch: int, *, bins: int = 30, rule: str = "fixed",
                      value_range: tuple[float, float] | None = None, width: float | None = None) -> dict[str, float]:
    """The exact H(T), I(X;T) = H(T), H(Y) and I(T;Y) (bits) of a population dump's
    snapshot, binned by ``rule``: each row is one input with equal weight, the layer is
    a function of the input, so the plug-in values over all rows are the population's
    values. They are the truth of the *binned* variables, not of the continuous network.
    Integer (or whole-number) activations are codes already; ``bins`` then does not apply.
    With data-dependent rules (uniform, quantile) a subsample is binned by its own edges,
    so compare subsample estimates with this truth under ``rule="fixed"``."""
    if not dump.population:
        raise DumpError(f"{dump.path or 'dump'} is not a population dump (meta 'population': true): its rows are a sample, "
                        "so their plug-in values are estimates, not exact properties")
    from mibench.registry import make_estimator

    estimator = make_estimator(_binned_spec(bins, rule, value_range, width))
    t = dump.snapshot(layer, epoch)
    h_t, h_y = float(estimator.entropy(t)), float(make_estimator("plugin").entropy(dump.labels))
    i_ty = float(estimator.mutual_information(t, dump.labels))
    return {"H(T)": h_t, "I(X;T)": h_t, "H(Y)": h_y, "I(T;Y)": i_ty}

