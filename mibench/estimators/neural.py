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

import torch

from mibench._validate import check_range
from mibench.estimators.continuous import ContinuousEstimator

_EMA = 0.01  # MINE's moving-average rate


def _critic(dim: int, hidden: int, generator: torch.Generator, device: torch.device) -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    ).to(device=device, dtype=torch.float32)
    with torch.no_grad():  # initialise from our generator, not the global RNG
        for layer in net:
            if isinstance(layer, torch.nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator, device=device) * 2 * bound - bound)
                layer.bias.copy_(torch.rand(layer.bias.shape, generator=generator, device=device) * 2 * bound - bound)
    return net


def _scores(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_ij = f(x_i, y_j) for a batch: (B, B)."""
    b = x.shape[0]
    pairs = torch.cat([x[:, None, :].expand(b, b, -1), y[None, :, :].expand(b, b, -1)], dim=2)
    return net(pairs.reshape(b * b, -1)).reshape(b, b)


def _mismatched(scores: torch.Tensor) -> torch.Tensor:
    """Scores of the B(B-1) pairs (x_i, y_j), i != j: samples of p(x)p(y)."""
    b = scores.shape[0]
    return scores[~torch.eye(b, dtype=torch.bool, device=scores.device)]


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
        """The bound (nats) on one batch of scores S_ij = f(x_i, y_j)."""
        raise NotImplementedError

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        return -self.bound(scores)

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        p = self._params
        device = x.device
        g = torch.Generator(device=device).manual_seed(p["seed"])
        # Standardised float32 copies: the critic trains in single precision.
        x = ((x - x.mean(0)) / x.std(0).clamp(min=1e-12)).float()
        y = ((y - y.mean(0)) / y.std(0).clamp(min=1e-12)).float()
        n, b = x.shape[0], p["batch_size"]
        with torch.enable_grad():
            net = _critic(x.shape[1] + y.shape[1], p["hidden"], g, device)
            opt = torch.optim.Adam(net.parameters(), lr=p["lr"])
            state: dict = {}
            for _ in range(p["steps"]):
                rows = torch.randperm(n, generator=g, device=device)[:b]
                loss = self._loss(_scores(net, x[rows], y[rows]), state)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            order = torch.randperm(n, generator=g, device=device)
            values = [self.bound(_scores(net, x[order[s : s + b]], y[order[s : s + b]])) for s in range(0, n - b + 1, b)]
        return torch.stack(values).mean().double()


class InfoNCE(_VariationalBound):
    name = "infonce"
    summary = "contrastive lower bound; can never exceed log2 of the batch size"
    reference = "van den Oord, Li & Vinyals (2018) arXiv:1807.03748; Poole et al. (2019) ICML"
    ceiling_is_bound = True

    def ceiling(self, n: int) -> float:
        return math.log2(self._params["batch_size"])

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(scores.shape[0])


class NWJ(_VariationalBound):
    name = "nwj"
    summary = "f-divergence (NWJ) lower bound; unbiased gradients, high variance"
    reference = "Nguyen, Wainwright & Jordan (2010) IEEE Trans. Inf. Theory 56:5847"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return scores.diagonal().mean() - torch.exp(_mismatched(scores) - 1).mean()


class MINE(_VariationalBound):
    name = "mine"
    summary = "Donsker-Varadhan bound with MINE's moving-average gradient correction"
    reference = "Belghazi et al. (2018) ICML; Donsker & Varadhan (1983)"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        product = _mismatched(scores)
        return scores.diagonal().mean() - (torch.logsumexp(product, dim=0) - math.log(product.numel()))

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        marginal = torch.exp(_mismatched(scores)).mean()
        state["ema"] = marginal.detach() if "ema" not in state else (1 - _EMA) * state["ema"] + _EMA * marginal.detach()
        # grad of log E[e^f] is E[grad e^f] / E[e^f]: divide by the moving average instead
        return -(scores.diagonal().mean() - marginal / state["ema"])
