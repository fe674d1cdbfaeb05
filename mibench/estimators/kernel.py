"""Kernel estimators: Gaussian KDE entropy, and the Kolchinsky-Tracey bounds.

- ``kde``: Gaussian product kernel with Scott's rule bandwidth h_j = s_j n^(-1/(d+4))
  per column (s_j the column's std); H = -<log p_-i(x_i)> with the leave-one-out
  density (``leave_one_out=False``: resubstitution, which includes the point itself
  and is biased low). MI = H(X) + H(Y) - H(X,Y), each with its own bandwidth (the
  Generalized IB paper's alternative estimator). Known failure: in high dimension
  the kernel sum is dominated by the point itself or by nothing.
- ``kolchinsky_tracey``: bounds on the entropy of T + Z, Z ~ N(0, sigma2 I), T the
  n sample points (Kolchinsky & Tracey 2017; used by Saxe et al. 2019):
  H(T+Z) ~ d/2 log(2 pi e sigma2) - <log (1/n) sum_j exp(-|t_i - t_j|^2 / (c sigma2))>
  with c = 2 (KL divergence: an upper bound) or c = 8 (Bhattacharyya: a lower bound).
  ``entropy`` gives H(T+Z); ``mutual_information(t, labels)`` gives
  I(T+Z; Y) = H(T+Z) - sum_y p(y) H(T+Z | y) for integer labels y; for a deterministic
  layer on distinct inputs, I(X; T+Z) = H(T+Z) - H(Z) (see mibench.measures).
All in bits. O(n^2) pairwise distances, chunked.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from mibench._validate import Prepared, check_bool, check_choice, check_range
from mibench.estimators.base import LN2, MUTUAL_INFORMATION, Terms
from mibench.estimators.continuous import ContinuousEstimator
from mibench.estimators.discrete import PlugIn

_CHUNK_ELEMENTS = 1 << 22
_FLOAT32_NORM = 2.0**10  # |p/scale|^2 / 2 up to this: float32 kernel sums (see below)


def _log_mean_kernel(points: torch.Tensor, scale: torch.Tensor, exclude_self: bool,
                     groups: torch.Tensor | None = None) -> torch.Tensor:
    """log (1/m) sum_j exp(-|(p_i - p_j) / scale|^2 / 2) for each i, m the number of
    terms (n - 1 without the point itself). ``scale`` broadcasts over columns. With
    ``groups`` (one integer label per point; not with ``exclude_self``), the sum runs
    over the points of i's own group only: every group's kernel means in one pass.

    -|a - b|^2 / 2 = a.b - |b|^2/2 - |a|^2/2: one matrix product per chunk of rows (the
    points centred first, which keeps the norms small). In float32 when every half squared
    norm is at most 2**10 -- each exponent is then off by at most ~1e-4 and a mean over
    points by ~1e-7 (measured against float64), several times faster (the exponentials
    are the cost) -- else in float64."""
    n = points.shape[0]
    scaled = (points - points.mean(dim=0)) / scale
    half = 0.5 * (scaled * scaled).sum(dim=1)
    if float(half.max()) <= _FLOAT32_NORM:
        scaled = scaled.to(torch.float32)
    half_kernel = half.to(scaled.dtype)
    step = max(1, _CHUNK_ELEMENTS // n)
    out = []
    for start in range(0, n, step):
        block = scaled[start : start + step]
        exponent = torch.addmm(half_kernel[None, :], block, scaled.T, beta=-1.0)  # a.b - |b|^2/2
        if exclude_self:
            rows = torch.arange(block.shape[0], device=points.device)
            exponent[rows, rows + start] = -math.inf
        if groups is not None:
            exponent.masked_fill_(groups[start : start + step, None] != groups[None, :], -math.inf)
        top = exponent.amax(dim=1, keepdim=True)
        # terms below e^-80 of a row's largest change its sum by < 1e-30 of it; clamped, they
        # never reach float32's denormals, which are many times slower to exponentiate
        total = exponent.sub_(top).clamp_(min=-80.0).exp_().sum(dim=1)
        out.append((total.log() + top[:, 0]).to(half.dtype))
    if groups is None:
        return torch.cat(out) - half - math.log(n - 1 if exclude_self else n)
    _, group, size = torch.unique(groups, return_inverse=True, return_counts=True)
    return torch.cat(out) - half - torch.log(size[group].to(half.dtype))


class KDE(ContinuousEstimator):
    """Gaussian KDE entropy (bits) with Scott's rule; MI from three entropies."""

    name = "kde"
    pairwise = True
    params = {"leave_one_out": True}
    summary = "Gaussian kernel density, Scott's rule bandwidth, leave-one-out resubstitution"
    reference = "Scott (1992) Multivariate Density Estimation; GIB paper's KDE check"
    known_failures = {"units in bits": "Scott's-rule bandwidth smooths a strong dependence away: 1.40 of 1.68 bits at "
                                       "N = 2000 (in bits all the same; the map shows where it is biased)"}

    def check_params(self, n_variables: int) -> None:
        check_bool("leave_one_out", self._params["leave_one_out"], owner=self.name)

    def ceiling(self, n: int) -> float:
        return math.inf

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        n, d = x.shape
        h = x.std(dim=0, keepdim=True) * n ** (-1.0 / (d + 4))
        log_density = _log_mean_kernel(x, h, self._params["leave_one_out"])
        log_density = log_density - torch.log(h).sum() - 0.5 * d * math.log(2 * math.pi)
        return -log_density.mean()


class KolchinskyTracey(ContinuousEstimator):
    """Pairwise-distance bounds on H(T + Z), Z ~ N(0, sigma2 I), and on I(T+Z; Y)
    for integer labels Y (bits)."""

    name = "kolchinsky_tracey"
    pairwise = True
    params = {"sigma2": 0.1, "bound": "upper"}
    summary = "KL (upper) / Bhattacharyya (lower) pairwise bounds for T plus Gaussian noise (Saxe et al.)"
    reference = "Kolchinsky & Tracey (2017) Entropy 19:361; Saxe et al. (2019) J. Stat. Mech. 124020"
    ceiling_is_bound = True
    needs_label_y = True
    rejects_constant_columns = False  # the added noise makes every column non-degenerate

    def check_params(self, n_variables: int) -> None:
        check_range("sigma2", self._params["sigma2"], 0, open_lo=True, owner=self.name)
        check_choice("bound", self._params["bound"], ("upper", "lower"), owner=self.name)

    def ceiling(self, n: int) -> float:
        """log2 n: H(T+Z) - H(Z) and I(T+Z; Y) never exceed it (the j = i term)."""
        return math.log2(n)

    def target(self, task: Any) -> float | None:
        """I(T + Z; Y) with this estimator's noise variance: what the bounds bound."""
        return task.noisy_mutual_information(self._params["sigma2"])

    def mutual_information_parts(self, x: Any, y: Any) -> tuple[Any, Any, Any]:
        """I(T+Z; Y) and the plug-in entropy of the labels Y, which the bounds cannot
        exceed (bits); no H(T) side is returned (T + Z is continuous)."""
        return self.mutual_information(x, y), None, PlugIn().entropy(y)

    def layer_information(self, t: Any) -> Any:
        """I(X; T+Z) = H(T+Z) - H(Z) of a deterministic layer T = f(X) (bits)."""
        return self.entropy(t) - self.noise_entropy_bits(t.shape[-1] if t.ndim > 1 else 1)

    def noise_entropy_bits(self, d: int) -> float:
        """H(Z) = d/2 log2(2 pi e sigma2)."""
        return 0.5 * d * math.log2(2 * math.pi * math.e * self._params["sigma2"])

    def _entropy(self, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """H(T+Z) in nats; with ``labels``, H(T+Z | Y) = sum_y p(y) H(T+Z | y), every
        class's bound from the pairs within it (one pass, however many classes)."""
        c = 2.0 if self._params["bound"] == "upper" else 8.0
        scale = torch.tensor(math.sqrt(c * self._params["sigma2"] / 2), dtype=t.dtype, device=t.device)
        log_mean = _log_mean_kernel(t, scale, exclude_self=False, groups=labels)
        return self.noise_entropy_bits(t.shape[1]) * LN2 - log_mean.mean()

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        if terms != MUTUAL_INFORMATION:
            if len(prepared.variables) > 1:
                raise TypeError(f"{self.name} estimates H(T+Z) and I(T+Z; Y) for labels Y only")
            return super()._estimate(prepared, names, terms)
        t, y = prepared.variables
        if y.is_floating_point() or y.shape[2] != 1:
            raise TypeError(
                f"{self.name}: I(T+Z; Y) needs integer class labels y of shape (n,) or (n, 1); "
                "for I(X; T) of a deterministic layer use mibench.measures.information_plane"
            )
        t = t.to(torch.float64)
        out = []
        for b in range(t.shape[0]):
            out.append(self._entropy(t[b]) - self._entropy(t[b], labels=y[b, :, 0]))
        return torch.stack(out) / LN2
