"""Neural variational lower bounds on MI with a small MLP critic f(x, y).

- ``infonce`` (van den Oord et al. 2018): E[f(x_i, y_i) - log (1/B) sum_j exp f(x_i, y_j)];
  can never exceed log B (B the batch size) -- its declared ceiling.
- ``nwj`` (Nguyen, Wainwright & Jordan 2010): E_p[f] - E_{p(x)p(y)}[exp(f - 1)].
- ``mine`` (Donsker-Varadhan; Belghazi et al. 2018): E_p[f] - log E_{p(x)p(y)}[exp f],
  trained with MINE's moving-average correction of the biased gradient.

Training budget (stated, per estimate): ``steps`` Adam steps of ``batch_size`` pairs,
learning rate ``lr``, critic MLP with two hidden layers of ``hidden`` units.
Deterministic for ``seed``: weights and batches come from a private generator, never
the global RNG. The reported value is the bound evaluated on all n samples in
batches of ``batch_size`` (bits). Known failure: high variance (NWJ, MINE), the log B
ceiling (InfoNCE), and McAllester & Stratos (2020): any distribution-free
high-confidence lower bound is O(log N).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from mibench._validate import Prepared, check_range
from mibench.estimators.base import LN2, MUTUAL_INFORMATION, Terms
from mibench.estimators.continuous import ContinuousEstimator

_EMA = 0.01  # MINE's moving-average rate


def _critic(dim: int, hidden: int, copies: int, generator: torch.Generator, device: torch.device) -> list[torch.Tensor]:
    """Weights and biases of an MLP critic dim -> hidden -> hidden -> 1 (ReLU), PyTorch's
    default uniform initialisation drawn from ``generator``, stacked ``copies`` times: one
    independent critic per batch element, all starting from the same draw."""
    params = []
    for fan_in, fan_out in ((dim, hidden), (hidden, hidden), (hidden, 1)):
        bound = 1.0 / math.sqrt(fan_in)
        for shape in ((fan_out, fan_in), (fan_out,)):
            draw = torch.rand(shape, generator=generator, device=device) * 2 * bound - bound
            params.append(draw.expand(copies, *shape).clone().requires_grad_(True))
    return params


def _scores(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_kij = f_k(x_ki, y_kj) for a batch of each element k: ``(copies, B, B)``."""
    copies, b, _ = x.shape
    h = torch.cat([x[:, :, None, :].expand(-1, -1, b, -1), y[:, None, :, :].expand(-1, b, -1, -1)], dim=3)
    h = h.reshape(copies, b * b, -1)
    for layer in range(3):
        h = _Linears.apply(h, params[2 * layer], params[2 * layer + 1])
        if layer < 2:
            h = torch.relu(h)
    return h.reshape(copies, b, b)


class _Linears(torch.autograd.Function):
    """h_k W_k^T + b_k for each copy k, forward and backward with the very matrix products
    ``nn.Linear`` uses on one copy: a batched product rounds differently (a matrix-vector
    product in the last layer), and training amplifies a last-bit difference into a
    different critic -- each copy here trains bitwise as its critic would alone."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, weight)
        return torch.stack([torch.addmm(bias[k], h[k], weight[k].t()) for k in range(len(h))])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, weight = ctx.saved_tensors
        copies = range(len(h))
        grad_h = torch.stack([grad[k].mm(weight[k]) for k in copies])
        grad_weight = torch.stack([grad[k].t().mm(h[k]) for k in copies])
        return grad_h, grad_weight, grad.sum(dim=1)


def _mismatched(scores: torch.Tensor) -> torch.Tensor:
    """Scores of the B(B-1) pairs (x_i, y_j), i != j, of each element: samples of p(x)p(y)."""
    b = scores.shape[-1]
    return scores[:, ~torch.eye(b, dtype=torch.bool, device=scores.device)]


class _VariationalBound(ContinuousEstimator):
    params = {"steps": 300, "batch_size": 128, "lr": 1e-3, "hidden": 64, "seed": 0}
    rejects_constant_columns = False
    stochastic = True
    estimates_entropy = False

    def check_params(self, n_variables: int) -> None:
        for key in ("steps", "batch_size", "hidden"):
            check_range(key, self._params[key], 2 if key == "batch_size" else 1, integer=True, owner=self.name)
        check_range("lr", self._params["lr"], 0, open_lo=True, owner=self.name)
        check_range("seed", self._params["seed"], 0, integer=True, owner=self.name)

    def check_input(self, variables: list[torch.Tensor], names: list[str]) -> None:
        n, b = variables[0].shape[1], self._params["batch_size"]
        if n < b:
            raise ValueError(f"{self.name}: n={n} samples are fewer than the critic's batch_size={b}; lower batch_size or add samples")

    def ceiling(self, n: int) -> float:
        return math.inf

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        """The bound (nats) of each element k on its batch of scores S_kij = f_k(x_ki, y_kj)."""
        raise NotImplementedError

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        return -self.bound(scores)

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        if terms != MUTUAL_INFORMATION:
            return super()._estimate(prepared, names, terms)
        x, y = (t.to(torch.float64) for t in prepared.variables)
        self.check_input([x, y], names)
        return self._train_and_bound(x, y) / LN2

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._train_and_bound(x[None], y[None])[0]

    def _train_and_bound(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The bound (nats) of each batch element of ``x (k, n, dx)``, ``y (k, n, dy)``, each
        with its own critic, trained side by side: the same initial weights and the same
        rows in every step as one element alone gets (both come from ``seed``), and Adam
        acts elementwise, so an element's number is the one it gets alone."""
        p = self._params
        device = x.device
        g = torch.Generator(device=device).manual_seed(p["seed"])
        # Standardised float32 copies: the critic trains in single precision.
        x = ((x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True).clamp(min=1e-12)).float()
        y = ((y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True).clamp(min=1e-12)).float()
        copies, n, b = x.shape[0], x.shape[1], p["batch_size"]
        with torch.enable_grad():
            params = _critic(x.shape[2] + y.shape[2], p["hidden"], copies, g, device)
            opt = torch.optim.Adam(params, lr=p["lr"])
            state: dict = {}
            for _ in range(p["steps"]):
                rows = torch.randperm(n, generator=g, device=device)[:b]
                loss = self._loss(_scores(params, x[:, rows], y[:, rows]), state).sum()  # elements' gradients stay apart
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            order = torch.randperm(n, generator=g, device=device)
            values = [self.bound(_scores(params, x[:, order[s : s + b]], y[:, order[s : s + b]]))
                      for s in range(0, n - b + 1, b)]
        return torch.stack(values).mean(dim=0).double()


class InfoNCE(_VariationalBound):
    name = "infonce"
    summary = "contrastive lower bound; can never exceed log2 of the batch size"
    reference = "van den Oord, Li & Vinyals (2018) arXiv:1807.03748; Poole et al. (2019) ICML"
    ceiling_is_bound = True

    def ceiling(self, n: int) -> float:
        return math.log2(self._params["batch_size"])

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.diagonal(dim1=1, dim2=2) - torch.logsumexp(scores, dim=2)).mean(dim=1) + math.log(scores.shape[1])


class NWJ(_VariationalBound):
    name = "nwj"
    summary = "f-divergence (NWJ) lower bound; unbiased gradients, high variance"
    reference = "Nguyen, Wainwright & Jordan (2010) IEEE Trans. Inf. Theory 56:5847"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return scores.diagonal(dim1=1, dim2=2).mean(dim=1) - torch.exp(_mismatched(scores) - 1).mean(dim=1)


class MINE(_VariationalBound):
    name = "mine"
    summary = "Donsker-Varadhan bound with MINE's moving-average gradient correction"
    reference = "Belghazi et al. (2018) ICML; Donsker & Varadhan (1983)"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        product = _mismatched(scores)
        return scores.diagonal(dim1=1, dim2=2).mean(dim=1) - (torch.logsumexp(product, dim=1) - math.log(product.shape[1]))

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        marginal = torch.exp(_mismatched(scores)).mean(dim=1)
        state["ema"] = marginal.detach() if "ema" not in state else (1 - _EMA) * state["ema"] + _EMA * marginal.detach()
        # grad of log E[e^f] is E[grad e^f] / E[e^f]: divide by the moving average instead
        return -(scores.diagonal(dim1=1, dim2=2).mean(dim=1) - marginal / state["ema"])
