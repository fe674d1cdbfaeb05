"""Shared machinery of all estimators: parameters, canonical spec strings, and
entropy combinations (MI, conditional entropy, conditional MI).

An estimator only has to say how to estimate the joint entropy of a subset of its
variables; every information quantity is a signed sum of such joint entropies, so a
bias correction is applied consistently to each term.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar, Sequence

import torch

from mibench._validate import Prepared, check_scale, prepare
from mibench.core.threads import fitting_threads, values_in
from mibench.spec import format_call

# A quantity is a signed sum of joint entropies of subsets of the variables.
Terms = Sequence[tuple[int, tuple[int, ...]]]
ENTROPY: Terms = ((1, (0,)),)
MUTUAL_INFORMATION: Terms = ((1, (0,)), (1, (1,)), (-1, (0, 1)))
CONDITIONAL_ENTROPY: Terms = ((1, (0, 1)), (-1, (1,)))
CONDITIONAL_MUTUAL_INFORMATION: Terms = ((1, (0, 2)), (1, (1, 2)), (-1, (0, 1, 2)), (-1, (2,)))

LN2 = math.log(2.0)


class BaseEstimator:
    """Shared implementation of the estimator contract (:class:`mibench.interface.Estimator`).
    Subclasses set ``name``, ``params`` (name -> default, in the order they appear in
    the spec), ``summary`` and ``reference``, and implement :meth:`_estimate`.

    The constructor only stores parameters; values are checked when estimating.
    """

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}
    summary: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    #: True when the estimate squares differences of raw values (distances, kernels,
    #: networks): data near the float limits then overflow or underflow.
    uses_distances: ClassVar[bool] = True
    #: True when :meth:`ceiling` is a proven upper bound of every estimate.
    ceiling_is_bound: ClassVar[bool] = False
    #: True when the second variable of I(X;Y) must be integer class labels.
    needs_label_y: ClassVar[bool] = False
    #: True when the estimator fits a density to real values (a covariance): it has
    #: nothing to fit on variables that take a few values only (codes, labels).
    needs_continuous_values: ClassVar[bool] = False
    #: What it takes: ``"codes"`` (integer codes only; floats are refused) or
    #: ``"continuous"`` (real values; a binned estimator also passes integer codes through).
    inputs: ClassVar[str] = "continuous"
    #: True when its estimates are functions of the counts of integer codes (the discrete
    #: estimators, and binning in front of them): :meth:`codes` gives the codes counted.
    count_based: ClassVar[bool] = False
    #: True when its cost grows with pairs of rows (neighbour searches, kernel sums, Gram
    #: matrices): the work that sets its thread count is then rows x values, not values.
    pairwise: ClassVar[bool] = False
    #: True when it trains a model on minibatches (neural critics): seeded, so repeatable,
    #: but the row order changes its estimate.
    stochastic: ClassVar[bool] = False
    #: estimates from k-nearest-neighbour distances (the kind of the truth-free checks' reference)
    nearest_neighbours: ClassVar[bool] = False
    #: True when it estimates H(X) as well as I(X;Y).
    estimates_entropy: ClassVar[bool] = True
    #: Conformance checks (:data:`mibench.gates.conform.CHECKS`) it is known to fail, with why:
    #: reported, not held against it; a fix shows up as a pass.
    known_failures: ClassVar[dict[str, str]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise TypeError(f"{self.name} has no parameter(s) {', '.join(unknown)}; valid parameters: {valid}")
        self._params = {**self.params, **params}

    # -- parameters and identity -------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return dict(self._params)

    def _spec_items(self) -> tuple[list[Any], list[tuple[str, Any]]]:
        """Positional values and keyword items of the canonical spec (defaults left out)."""
        return [], [(k, v) for k, v in self._params.items() if v != self.params[k]]

    @property
    def spec(self) -> str:
        """Canonical string of this configured estimator, e.g. ``nsb(K=1024)``."""
        own = type(self).__module__.split(".")[0] == "mibench"
        name = self.name if own else f"{type(self).__module__}:{type(self).__qualname__}"  # importable from outside
        return format_call(name, *self._spec_items())

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec == other.spec  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"<estimator {self.spec}>"

    # -- public estimates (bits) -------------------------------------------------
    def entropy(self, x: Any) -> Any:
        """H(X) in bits. ``x``: ``(n,)``, ``(n, d)`` or batched ``(b, n, d)``."""
        return self._run((x,), ("x",), ENTROPY)

    def mutual_information(self, x: Any, y: Any) -> Any:
        """I(X;Y) = H(X) + H(Y) - H(X,Y) in bits, each entropy by this estimator."""
        return self._run((x, y), ("x", "y"), MUTUAL_INFORMATION)

    def conditional_entropy(self, x: Any, y: Any) -> Any:
        """H(X|Y) = H(X,Y) - H(Y) in bits."""
        return self._run((x, y), ("x", "y"), CONDITIONAL_ENTROPY)

    def conditional_mutual_information(self, x: Any, y: Any, z: Any) -> Any:
        """I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z) in bits."""
        return self._run((x, y, z), ("x", "y", "z"), CONDITIONAL_MUTUAL_INFORMATION)

    def mutual_information_parts(self, x: Any, y: Any) -> tuple[Any, Any, Any]:
        """I(X;Y) in bits, with this estimator's own H(X) and H(Y) on the same sample where
        they bound what the I(X;Y) estimate can reach (None where they do not): the
        regime map judges saturation by them."""
        return self.mutual_information(x, y), None, None

    def ceiling(self, n: int) -> float:
        """Value (bits) at which estimates on n samples saturate."""
        raise NotImplementedError

    def min_rows(self, columns: int) -> int:
        """The fewest rows on which I(X;Y) is defined at all, for X and Y of ``columns``
        columns together: a suite leaves out the N below it, saying why, rather than run
        cells that can only fail."""
        return 2

    # -- what it is (tags: callers ask these, never the class) -------------------
    @classmethod
    def missing(cls) -> str | None:
        """Why this estimator cannot run here (another library absent), or None."""
        return None

    @property
    def discrete(self) -> Any:
        """The discrete estimator whose counts these estimates are: itself for a discrete
        estimator, the one behind the bins of ``binned(...)``; None for the others."""
        return None

    @property
    def bin_count(self) -> int | None:
        """The number of bins per unit where it bins by count (``binned`` with rule
        fixed, uniform or quantile), else None."""
        return None

    def counted_by(self, discrete: Any) -> Any:
        """A count-based estimator with another discrete estimator counting the same codes
        (its binning kept: ``binned(nsb, ...)`` -> ``binned(plugin, ...)``); None for the others."""
        return None

    def codes(self, x: Any, name: str = "x") -> Any:
        """The integer codes ``(b, n, d)`` (a torch tensor) a count-based estimator counts
        for the variable ``x``, after any binning; None for the others."""
        return None

    def layer_information(self, t: Any) -> Any:
        """I(X;T) of a deterministic layer's activations ``t`` computed from ``t`` alone
        where the estimator defines it so without X (Kolchinsky-Tracey: H(T+Z) - H(Z)),
        else None. Count-based estimators read I(X;T) = H(T) off their own counting (see
        :func:`mibench.measures.plane_coordinates`)."""
        return None

    def target(self, task: Any) -> float | None:
        """The exact value (bits) this estimator's I(X;Y) is scored against on ``task``:
        the task's I(X;Y), unless the estimator targets another quantity; None when
        the task does not know it (the map then does not pair them)."""
        return task.mutual_information

    def _run(self, arrays: Sequence[Any], names: Sequence[str], terms: Terms) -> Any:
        with fitting_threads(self.work(arrays)):  # one thread when small or when the cores are busy
            prepared = prepare(arrays, names)
            self.check_params(len(arrays))
            if self.uses_distances:
                for t, name in zip(prepared.variables, names):
                    check_scale(t, name, self.name)
            values = self._estimate(prepared, list(names), terms)
            return prepared.finish(values)

    def work(self, arrays: Sequence[Any]) -> int:
        """The size of the work on these inputs, in input values (times rows where the cost
        grows with pairs of rows: 10^4 rows of 13 columns are a second of neighbour search,
        not a small job)."""
        values = sum(values_in(a) for a in arrays)
        if not self.pairwise:
            return values
        shape = getattr(arrays[0], "shape", ())
        return values * (int(shape[-2]) if len(shape) >= 2 else int(shape[0]) if len(shape) == 1 else 1)

    def check_params(self, n_variables: int) -> None:
        """Raise ValueError for invalid parameter values (called before estimating)."""

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        """Return the ``(b,)`` float64 estimate in bits."""
        raise NotImplementedError
