"""Max-norm nearest neighbours for the kNN estimators.

Two paths, the same answers: on CPU KD-trees, on any other device a brute-force
chunked ``torch.cdist`` whose memory is O(n x chunk). Distances are Chebyshev
(max-norm), as in Kraskov et al. (2004).

On CPU the k-th neighbour search uses scipy's ``cKDTree`` (torch's thread count), and the
radius counts use scikit-learn's ``KDTree`` with ``count_only``, which adds whole
tree nodes that lie inside a ball without visiting their points -- several times
faster for the large marginal neighbourhoods of KSG -- run in as many threads
(it releases the GIL).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from scipy.spatial import cKDTree
from sklearn.neighbors import KDTree

_CHUNK_ELEMENTS = 1 << 24  # distance entries per chunk on the brute-force path


def _threads() -> int:
    """Threads for a tree search: torch's setting, which a sweep's worker processes lower
    to 1 (processes, not threads, then share the cores)."""
    return max(1, torch.get_num_threads())


def _row_blocks(n: int) -> list[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(n, 1))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def _use_trees(points: torch.Tensor, method: str) -> bool:
    if method not in ("auto", "tree", "brute"):
        raise ValueError(f"method must be auto, tree or brute; got {method!r}")
    return method == "tree" or (method == "auto" and points.device.type == "cpu")


def kth_neighbours(points: torch.Tensor, k: int, method: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to and indices of the k nearest other points of each point.

    ``points (n, d)`` -> ``distances (n, k)`` sorted ascending and ``indices (n, k)``.
    ``method``: ``tree`` (CPU), ``brute`` (any device) or ``auto`` (trees on CPU).
    """
    n = points.shape[0]
    if _use_trees(points, method):
        arr = points.detach().cpu().numpy()  # method="tree" on an accelerator runs on the host
        dist, idx = cKDTree(arr).query(arr, k=k + 1, p=np.inf, workers=_threads())
        # Column 0 is normally the point itself; with duplicates it may be a twin.
        own = idx == np.arange(n)[:, None]
        keep = ~own
        keep[own.sum(axis=1) == 0, -1] = False  # no self found: drop the farthest instead
        dist = dist[keep].reshape(n, k)
        idx = idx[keep].reshape(n, k)
        return torch.from_numpy(dist).to(points.device), torch.from_numpy(idx).to(points.device)
    dists, idxs = [], []
    for rows in _row_blocks(n):
        block = torch.cdist(points[rows], points, p=float("inf"))
        local = torch.arange(block.shape[0], device=points.device)
        block[local, local + rows.start] = float("inf")  # not its own neighbour
        d, i = torch.topk(block, k, dim=1, largest=False)
        dists.append(d)
        idxs.append(i)
    return torch.cat(dists), torch.cat(idxs)


def count_within(points: torch.Tensor, radius: torch.Tensor, *, strict: bool, method: str = "auto") -> torch.Tensor:
    """Number of other points within ``radius[i]`` of point i (max-norm):
    distance < radius if ``strict``, else <= radius. Returns ``(n,)`` int64."""
    n = points.shape[0]
    if _use_trees(points, method):
        arr = np.ascontiguousarray(points.detach().cpu().numpy())
        given = radius.detach().cpu().numpy()
        r = np.nextafter(given, 0) if strict else given  # the tree counts distances <= r
        parts = np.array_split(np.arange(n), _threads())

        def count(rows: np.ndarray) -> np.ndarray:
            # One tree per thread: threads sharing a tree do not speed up.
            return KDTree(arr, metric="chebyshev").query_radius(arr[rows], r[rows], count_only=True)

        with ThreadPoolExecutor(len(parts)) as pool:
            counts = pool.map(count, parts)
        counts = np.concatenate(list(counts)).astype(np.int64) - 1  # minus the point itself
        if strict:
            counts[given == 0] = 0  # nothing is strictly closer than distance 0
        return torch.from_numpy(counts).to(points.device)
    out = []
    for rows in _row_blocks(n):
        block = torch.cdist(points[rows], points, p=float("inf"))
        r = radius[rows, None]
        inside = block < r if strict else block <= r
        out.append(inside.sum(dim=1) - 1)
    return torch.cat(out)
