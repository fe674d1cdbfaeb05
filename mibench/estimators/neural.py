"""Neural variational lower bounds on MI with a small MLP critic f(x, y).

- ``infonce`` (van den Oord et al. 2018): E[f(x_i, y_i) - log (1/B) sum_j exp f(x_i, y_j)];
  can never exceed log B (B the batch size) -- its declared ceiling.
- ``nwj`` (Nguyen, Wainwright & Jordan 2010): E_p[f] - E_{p(x)p(y)}[exp(f - 1)].
- ``mine`` (Donsker-Varadhan; Belghazi et al. 2018): E_p[f] - log E_{p(x)p(y)}[exp f],
  trained with MINE's moving-average correction of the biased gradient.

Training budget (part of the spec, so it keys stored results; the canonical spec always
states it): ``steps`` Adam steps at most, of ``batch_size`` pairs, learning rate ``lr``,
a critic MLP on the concatenated (x, y) with hidden ReLU layers of widths ``hidden`` (a
tuple; an int h means two layers of h); the columns standardised first. ``split``: the
share of the rows the critic trains on -- the bound is estimated on the *other* rows
(held out), or on all rows when None. ``eval_every``: the bound is evaluated on the
estimation rows every so many steps and after the last; the estimate is the best of
those evaluations, and training stops once ``patience`` evaluations in a row have not
improved on it (0: never early). ``eval_batch``: the evaluation takes the estimation rows
in batches of that many (their bounds averaged), or all of them as one batch when 0.
``out_bias``: a trainable offset added to the critic's output, starting at this value
(None: none), as bmi's critic has.
The defaults are the protocol of the public continuous benchmark (Czyz et al., NeurIPS
2023, package ``benchmark-mi``): batch 256, Adam lr 0.1, MLP (16, 8), standardised,
half the rows to train and half to estimate, evaluated on the whole held-out half every
250 steps, the best held-out value, stopping after 2 evaluations without improvement,
at most 10,000 steps (the package's own default is 2,000). The default map pins a small
budget (150 steps, batch 32, two layers of 16, lr 0.005, no split, one evaluation in
batches of 32, no output offset); its name says so.
Deterministic for ``seed``: weights, the split and batches come from a private
generator, never the global RNG. Reported in bits. Known failure: high variance (NWJ, MINE), the log B
ceiling (InfoNCE), and McAllester & Stratos (2020): any distribution-free
high-confidence lower bound is O(log N). A critic whose hidden layer dies (every ReLU
inactive: NWJ's 8-unit layer at lr 0.1 on the benchmark's 25- and 50-dimensional tasks)
outputs a constant and bounds I by 0; it is said with a :class:`CollapsedCriticWarning`.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from mibench._validate import Prepared, check_range, prepare
from mibench.core.threads import fitting_threads
from mibench.estimators.base import LN2, MUTUAL_INFORMATION, Terms
from mibench.estimators.continuous import ContinuousEstimator
from mibench.interface import CollapsedCriticWarning

_EMA = 0.01  # MINE's moving-average rate


def _widths(hidden: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """The hidden layers' widths: an int h is two layers of h."""
    return (hidden, hidden) if isinstance(hidden, int) else tuple(hidden)


def _critic(dim: int, hidden: tuple[int, ...], copies: int, generator: torch.Generator, device: torch.device,
            out_bias: float | None = None) -> list[torch.Tensor]:
    """Weights and biases of an MLP critic dim -> hidden[0] -> ... -> 1 (ReLU), PyTorch's
    default uniform initialisation drawn from ``generator``, stacked ``copies`` times: one
    independent critic per batch element, all starting from the same draw; then, unless
    ``out_bias`` is None, one more trainable offset of the output starting at ``out_bias``
    (bmi's critic starts it at 1: NWJ's bound is then 0 at the start instead of -e^-1; at
    lr 0.1 without it NWJ's critic collapsed to a constant, a bound of exactly 0, on all
    seven 25- and 50-dimensional tasks of the benchmark, with it on four of them)."""
    params = []
    sizes = (dim, *hidden, 1)
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        for shape in ((fan_out, fan_in), (fan_out,)):
            draw = torch.rand(shape, generator=generator, device=device) * 2 * bound - bound
            params.append(draw.expand(copies, *shape).clone().requires_grad_(True))
    if out_bias is not None:  # a constant start: no draw from the generator
        params.append(torch.full((copies, 1), float(out_bias), device=device).requires_grad_(True))
    return params


def _scores(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_kij = f_k(x_ki, y_kj) for rows x ``(copies, c, dx)`` against y ``(copies, B, dy)``
    of each element k: ``(copies, c, B)``."""
    copies, c, _ = x.shape
    b = y.shape[1]
    h = torch.cat([x[:, :, None, :].expand(-1, -1, b, -1), y[:, None, :, :].expand(-1, c, -1, -1)], dim=3)
    h = h.reshape(copies, c * b, -1)
    layers = len(params) // 2  # weight and bias per layer, and the output offset last where there is one
    for layer in range(layers):
        h = _Linears.apply(h, params[2 * layer], params[2 * layer + 1])
        if layer < layers - 1:
            h = torch.relu(h)
    if len(params) % 2:
        h = h + params[-1][:, None, :]
    return h.reshape(copies, c, b)


_PAIRS_PER_CHUNK = 1 << 18  # critic inputs per chunk when a whole set is one evaluation batch


def _whole_set_stats(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the bounds need from the scores of ALL B x B pairs of one evaluation set, in
    chunks of rows (the matrix itself may not fit): the mean of the diagonal, the mean of
    each row's log-sum-exp, and the log-sum-exp of the off-diagonal pairs; each ``(copies,)``."""
    copies, b, _ = x.shape
    step = max(1, _PAIRS_PER_CHUNK // b)
    diag = torch.zeros(copies, dtype=torch.float64, device=x.device)
    rows_lse = torch.zeros_like(diag)
    off_lse = torch.full_like(diag, -math.inf)
    for start in range(0, b, step):
        scores = _scores(params, x[:, start : start + step], y)  # (copies, c, B)
        c = scores.shape[1]
        local = torch.arange(c, device=x.device)
        own = scores[:, local, local + start]
        diag += own.double().sum(dim=1)
        rows_lse += torch.logsumexp(scores, dim=2).double().sum(dim=1)
        off = scores.clone()
        off[:, local, local + start] = -math.inf
        off_lse = torch.logaddexp(off_lse, torch.logsumexp(off.reshape(copies, -1), dim=1).double())
    return {"diag": diag / b, "rows_lse": rows_lse / b, "off_lse": off_lse, "size": torch.tensor(float(b))}


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


_ALIVE_ROWS = 1024  # estimation rows whose pairs are checked for a collapsed critic


def _dead_layers(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """For each copy, whether some hidden layer has no unit active on any of these pairs,
    joint (x_i, y_i) and mismatched (x_i, y_i+1): its output is then one constant on every
    input, and no gradient reaches the layers below it, so training cannot revive it."""
    with torch.no_grad():
        pairs = torch.cat([torch.cat([x, y], dim=2), torch.cat([x, y.roll(1, dims=1)], dim=2)], dim=1)
        dead = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        h = pairs
        for layer in range(len(params) // 2 - 1):
            h = torch.relu(torch.baddbmm(params[2 * layer + 1][:, None, :], h, params[2 * layer].transpose(1, 2)))
            dead |= ~(h > 0).any(dim=1).any(dim=1)
    return dead


def _mismatched(scores: torch.Tensor) -> torch.Tensor:
    """Scores of the B(B-1) pairs (x_i, y_j), i != j, of each element: samples of p(x)p(y)."""
    b = scores.shape[-1]
    return scores[:, ~torch.eye(b, dtype=torch.bool, device=scores.device)]


class _VariationalBound(ContinuousEstimator):
    params = {"steps": 10_000, "batch_size": 256, "lr": 0.1, "hidden": (16, 8), "split": 0.5, "eval_every": 250,
              "patience": 2, "eval_batch": 0, "out_bias": 1.0, "seed": 0}
    BUDGET = ("steps", "batch_size", "lr", "hidden", "split", "eval_every", "patience", "eval_batch")
    rejects_constant_columns = False
    stochastic = True
    estimates_entropy = False

    def work(self, arrays: Any) -> int:
        """0: a trained critic always runs on one thread. Matrix products split over threads
        round differently and training amplifies it (0.798 against 0.788 bits after 500 steps
        on the 5 x 5 dense Gaussian at n = 5,000), while the thread count follows the cores
        free at the moment: the same call would give another number on a busier machine."""
        return 0

    def _spec_items(self) -> tuple[list[Any], list[tuple[str, Any]]]:
        """The budget always, whatever the defaults (a result is a statement about its
        budget); the seed where it is not the default."""
        return [], [(k, v) for k, v in self._params.items() if k in self.BUDGET or v != self.params[k]]

    def check_params(self, n_variables: int) -> None:
        p, own = self._params, self.name
        check_range("steps", p["steps"], 1, integer=True, owner=own)
        check_range("batch_size", p["batch_size"], 2, integer=True, owner=own)
        check_range("lr", p["lr"], 0, open_lo=True, owner=own)
        hidden = p["hidden"]
        if isinstance(hidden, bool) or not (isinstance(hidden, int) or (isinstance(hidden, (tuple, list)) and hidden)):
            raise ValueError(f"{own}: hidden must be a width (an int: two layers of it) or a tuple of widths such as "
                             f"(16, 8); got {hidden!r}")
        for width in _widths(hidden):
            check_range("hidden widths", width, 1, integer=True, owner=own)
        if p["split"] is not None:
            check_range("split", p["split"], 0, 1, open_lo=True, open_hi=True, owner=own)
        check_range("eval_every", p["eval_every"], 0, integer=True, owner=own)
        check_range("patience", p["patience"], 0, integer=True, owner=own)
        if p["patience"] and not p["eval_every"]:
            raise ValueError(f"{own}: patience={p['patience']} stops early on evaluations, and eval_every=0 makes none; "
                             "set eval_every (e.g. 250) or patience=0")
        if p["eval_batch"] != 0:
            check_range("eval_batch", p["eval_batch"], 2, integer=True, owner=own)
        bias = p["out_bias"]
        if bias is not None and (isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias)):
            raise ValueError(f"{own}: out_bias (the critic's output offset at the start) must be a finite number or "
                             f"None; got {bias!r}")
        check_range("seed", p["seed"], 0, integer=True, owner=own)

    def _rows(self, n: int) -> tuple[int, int]:
        """Rows the critic trains on and rows the bound is estimated on, of n."""
        split = self._params["split"]
        if split is None:
            return n, n
        train = math.floor(split * n)  # as scikit-learn's train_test_split, which bmi uses
        return train, n - train

    def critic_pairs(self, n: int) -> float:
        """About how many (x, y) pairs the critic scores on n rows, training and evaluating:
        what a run costs (the sweep's cost model). An early stop is taken to come after
        patience + 3 evaluations, as it did on the benchmark's tasks (750 to 1,250 steps)."""
        p = self._params
        steps = p["steps"]
        if p["patience"] and p["eval_every"]:
            steps = min(steps, p["eval_every"] * (p["patience"] + 3))
        held = self._rows(n)[1]
        evaluations = (steps // p["eval_every"] if p["eval_every"] else 0) + 1
        return steps * p["batch_size"] ** 2 + evaluations * held * (p["eval_batch"] or held)

    def min_rows(self, columns: int) -> int:
        """The fewest rows that fill a training batch and an evaluation batch (2 pairs at least)."""
        self.check_params(2)
        n = 2
        while not self._fits(n):
            n += 1
        return n

    def _fits(self, n: int) -> bool:
        train, held = self._rows(n)
        return train >= self._params["batch_size"] and held >= max(2, self._params["eval_batch"])

    def check_input(self, variables: list[torch.Tensor], names: list[str]) -> None:
        n, p = variables[0].shape[1], self._params
        if self._fits(n):
            return
        train, held = self._rows(n)
        if train < p["batch_size"]:
            raise ValueError(f"{self.name}: the critic trains on {train} of n={n} rows (split={p['split']}), fewer than "
                             f"its batch_size={p['batch_size']}; lower batch_size, raise split or add samples "
                             f"(at least {self.min_rows(0)} rows)")
        raise ValueError(f"{self.name}: split={p['split']} leaves {held} of n={n} rows to estimate the bound on, fewer "
                         f"than {max(2, p['eval_batch'])}; lower split or eval_batch, or add samples")

    def ceiling(self, n: int) -> float:
        return math.inf

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        """The bound (nats) of each element k on its batch of scores S_kij = f_k(x_ki, y_kj)."""
        raise NotImplementedError

    def bound_from(self, stats: dict[str, torch.Tensor]) -> torch.Tensor:
        """The same bound from :func:`_whole_set_stats` of a whole evaluation set."""
        raise NotImplementedError

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        return -self.bound(scores)

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        if terms != MUTUAL_INFORMATION:  # refused before the data are checked against the budget
            raise TypeError(f"{self.name} estimates mutual information only, not entropy")
        x, y = (t.to(torch.float64) for t in prepared.variables)
        self.check_input([x, y], names)
        return self._train_and_bound(x, y) / LN2

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._train_and_bound(x[None], y[None])[0]

    def _evaluate(self, params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, rows: torch.Tensor
                  ) -> torch.Tensor:
        """The bound (nats, ``(copies,)``) on the estimation ``rows``: in batches of
        eval_batch (complete batches, their bounds averaged), or all rows as one batch."""
        b = self._params["eval_batch"]
        with torch.no_grad():
            if b == 0:
                return self.bound_from(_whole_set_stats(params, x[:, rows], y[:, rows])).double()
            values = [self.bound(_scores(params, x[:, rows[s : s + b]], y[:, rows[s : s + b]]))
                      for s in range(0, len(rows) - b + 1, b)]
        return torch.stack(values).mean(dim=0).double()

    def training_curve(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """The bound (bits) at every evaluation of one training run, as it went: ``steps
        (e,)`` and ``values (e, b)`` for b batch elements (inputs as for
        :meth:`mutual_information`). The estimate is the best of them up to the early stop;
        with ``patience=0`` the run goes the full ``steps``, which shows where more
        training stops helping."""
        prepared = prepare([x, y], ["x", "y"])
        self.check_params(2)
        xs, ys = (t.to(torch.float64) for t in prepared.variables)
        self.check_input([xs, ys], ["x", "y"])
        history: list[tuple[int, torch.Tensor]] = []
        with fitting_threads(self.work([xs, ys])):
            self._train_and_bound(xs, ys, history)
        steps = np.array([step for step, _ in history], dtype=np.int64)
        values = np.stack([v.cpu().numpy() for _, v in history]) / LN2 if history else np.empty((0, xs.shape[0]))
        return steps, values

    def _train_and_bound(self, x: torch.Tensor, y: torch.Tensor,
                         history: list[tuple[int, torch.Tensor]] | None = None) -> torch.Tensor:
        """The bound (nats) of each batch element of ``x (k, n, dx)``, ``y (k, n, dy)``, each
        with its own critic, trained side by side: the same initial weights, split and
        rows in every step as one element alone gets (all come from ``seed``), Adam acts
        elementwise, and an element that stops early keeps the best value it had then, so
        an element's number is the one it gets alone."""
        p = self._params
        device = x.device
        g = torch.Generator(device=device).manual_seed(p["seed"])
        # Standardised float32 copies: the critic trains in single precision.
        x = ((x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True).clamp(min=1e-12)).float()
        y = ((y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True).clamp(min=1e-12)).float()
        copies, n, b = x.shape[0], x.shape[1], p["batch_size"]
        with torch.enable_grad():
            params = _critic(x.shape[2] + y.shape[2], _widths(p["hidden"]), copies, g, device, p["out_bias"])
        train = held = None
        if p["split"] is not None:
            order = torch.randperm(n, generator=g, device=device)
            n_train = self._rows(n)[0]
            train, held = order[:n_train], order[n_train:]

        def estimation_rows() -> torch.Tensor:  # without a split, all rows in a fresh order each time
            return torch.randperm(n, generator=g, device=device) if held is None else held

        best = torch.full((copies,), math.nan, dtype=torch.float64, device=device)  # NaN: no evaluation yet
        stale = torch.zeros(copies, dtype=torch.int64, device=device)
        active = torch.ones(copies, dtype=torch.bool, device=device)
        evaluated = False
        with torch.enable_grad():
            opt = torch.optim.Adam(params, lr=p["lr"])
            state: dict = {}
            for step in range(1, p["steps"] + 1):
                draw = torch.randperm(n if train is None else len(train), generator=g, device=device)[:b]
                rows = draw if train is None else train[draw]
                loss = self._loss(_scores(params, x[:, rows], y[:, rows]), state).sum()  # elements' gradients stay apart
                opt.zero_grad()
                loss.backward()
                opt.step()
                evaluated = bool(p["eval_every"]) and step % p["eval_every"] == 0
                if evaluated:
                    value = self._evaluate(params, x, y, estimation_rows())
                    if history is not None:
                        history.append((step, value))
                    better = active & (best.isnan() | (value > best))
                    best = torch.where(better, value, best)
                    stale = torch.where(better, torch.zeros_like(stale), stale + active.long())
                    if p["patience"]:
                        active &= stale < p["patience"]
                        if not bool(active.any()):
                            break
        if not evaluated:  # the last steps were not evaluated yet (or nothing was)
            value = self._evaluate(params, x, y, estimation_rows())
            if history is not None:
                history.append((p["steps"], value))
            best = torch.where(active & (best.isnan() | (value > best)), value, best)
        rows = estimation_rows()[:_ALIVE_ROWS]
        # a critic that died after a live evaluation keeps that evaluation's value: only a best
        # no better than a constant critic's (<= 0 nats, float32 rounding aside) says nothing
        dead = _dead_layers(params, x[:, rows], y[:, rows]) & (best <= 1e-6)
        if bool(dead.any()):
            which = ", ".join(str(int(k)) for k in torch.nonzero(dead).flatten())
            warnings.warn(f"{self.name}: the critic of batch element(s) {which} collapsed: every unit of one of its "
                          f"hidden layers is inactive on the estimation rows, so it outputs one constant whatever the "
                          f"input and its bound (0 at best) says nothing about I(X;Y); a smaller lr (here {p['lr']}) "
                          "or wider hidden layers usually keep it alive", CollapsedCriticWarning, stacklevel=2)
        return best


class InfoNCE(_VariationalBound):
    name = "infonce"
    summary = "contrastive lower bound; can never exceed log2 of the batch size"
    reference = "van den Oord, Li & Vinyals (2018) arXiv:1807.03748; Poole et al. (2019) ICML"
    ceiling_is_bound = True

    def ceiling(self, n: int) -> float:
        """log2 of the evaluation batch: eval_batch, or every estimation row when it is 0."""
        b = self._params["eval_batch"] or self._rows(n)[1]
        return math.log2(max(b, 1))

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.diagonal(dim1=1, dim2=2) - torch.logsumexp(scores, dim=2)).mean(dim=1) + math.log(scores.shape[1])

    def bound_from(self, stats: dict[str, torch.Tensor]) -> torch.Tensor:
        return stats["diag"] - stats["rows_lse"] + math.log(float(stats["size"]))


class NWJ(_VariationalBound):
    name = "nwj"
    summary = "f-divergence (NWJ) lower bound; unbiased gradients, high variance"
    reference = "Nguyen, Wainwright & Jordan (2010) IEEE Trans. Inf. Theory 56:5847"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        return scores.diagonal(dim1=1, dim2=2).mean(dim=1) - torch.exp(_mismatched(scores) - 1).mean(dim=1)

    def bound_from(self, stats: dict[str, torch.Tensor]) -> torch.Tensor:
        b = float(stats["size"])
        return stats["diag"] - torch.exp(stats["off_lse"] - 1 - math.log(b * (b - 1)))


class MINE(_VariationalBound):
    name = "mine"
    summary = "Donsker-Varadhan bound with MINE's moving-average gradient correction"
    reference = "Belghazi et al. (2018) ICML; Donsker & Varadhan (1983)"

    def bound(self, scores: torch.Tensor) -> torch.Tensor:
        product = _mismatched(scores)
        return scores.diagonal(dim1=1, dim2=2).mean(dim=1) - (torch.logsumexp(product, dim=1) - math.log(product.shape[1]))

    def bound_from(self, stats: dict[str, torch.Tensor]) -> torch.Tensor:
        b = float(stats["size"])
        return stats["diag"] - (stats["off_lse"] - math.log(b * (b - 1)))

    def _loss(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        marginal = torch.exp(_mismatched(scores)).mean(dim=1)
        state["ema"] = marginal.detach() if "ema" not in state else (1 - _EMA) * state["ema"] + _EMA * marginal.detach()
        # grad of log E[e^f] is E[grad e^f] / E[e^f]: divide by the moving average instead
        return -(scores.diagonal(dim1=1, dim2=2).mean(dim=1) - marginal / state["ema"])
