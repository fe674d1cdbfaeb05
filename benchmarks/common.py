"""Cached data getters shared by the benchmarks (seeded, never the global RNG), and the
best-of-N timer of the side-by-side comparison scripts."""
from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# CI runs every benchmark once at its smallest sizes (MIBENCH_ASV_SMOKE=1), so that a broken
# benchmark fails there without the full grid's minutes; tracking runs use the full grid.
SMOKE = os.environ.get("MIBENCH_ASV_SMOKE") == "1"


def sizes(*values: Any) -> list[Any]:
    """The benchmark grid along one axis: all of ``values``, or the first in a smoke run."""
    return list(values[:1] if SMOKE else values)


@lru_cache(maxsize=8)
def activations(n: int, d: int, batch: int = 0, seed: int = 0) -> np.ndarray:
    """tanh activations in (-1, 1), float32, shape (n, d) or (batch, n, d)."""
    rng = np.random.default_rng(seed)
    shape = (batch, n, d) if batch else (n, d)
    out = np.empty(shape, dtype=np.float32).reshape(-1, d)
    for start in range(0, len(out), 1 << 16):  # in chunks, so the data's own peak stays small
        chunk = rng.standard_normal((min(1 << 16, len(out) - start), d), dtype=np.float32)
        out[start : start + len(chunk)] = np.tanh(0.5 * chunk)
    return out.reshape(shape)


@lru_cache(maxsize=8)
def labels(n: int, classes: int = 10, batch: int = 0, seed: int = 1) -> np.ndarray:
    """Integer class labels, shape (n,) or (batch, n, 1)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, (batch, n, 1) if batch else n)


@lru_cache(maxsize=8)
def codes(n: int, d: int, alphabet: int, device: str = "cpu", seed: int = 2) -> torch.Tensor:
    """Integer codes (1, n, d) as the counting core takes them."""
    g = torch.Generator().manual_seed(seed)
    dtype = torch.uint8 if alphabet <= 256 else torch.int64
    return torch.randint(0, alphabet, (1, n, d), generator=g).to(dtype).to(device)


@lru_cache(maxsize=16)
def gaussian_pair(n: int, d: int, device: str = "cpu", rho: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """A sparse-pairs Gaussian sample (d + d dims) as float64 tensors on ``device``."""
    import mibench

    x, y = mibench.get_task("gaussian", dim_x=d, dim_y=d, rho=rho).sample(n, seed=0)
    return torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """(fastest wall time in seconds over ``repeat`` calls, the last call's value)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value
