"""The estimator contract, in one place that imports nothing from mibench.

Every estimator in the registry satisfies :class:`Estimator`. All values are in
**bits**. Inputs are numpy arrays or torch tensors of shape ``(n,)``, ``(n, d)`` or,
batched, ``(b, n, d)``; a batched call returns ``b`` estimates.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class UndefinedEstimateWarning(RuntimeWarning):
    """An estimator returned NaN because its formula is undefined for these counts
    (e.g. NSB without coincidences). The message says why."""


class CollapsedCriticWarning(RuntimeWarning):
    """A neural bound's trained critic whose hidden layer died (no unit active on any
    estimation pair): its bound is a constant critic's (0 at best), whatever the data.
    The message names the batch elements."""


class AmbiguousInputWarning(UserWarning):
    """Input that could be read two ways was read one way (whole-number floats as codes,
    values outside a fixed binning range put in the end bins); the message gives the
    size of the effect and how to be explicit."""


@runtime_checkable
class Estimator(Protocol):
    """An entropy / mutual-information estimator (values in bits).

    ``spec`` is the canonical string that identifies the configured estimator
    (it keys the results store); ``parse_spec(e.spec) == e``.
    """

    name: str
    ceiling_is_bound: bool
    #: Tags: what callers ask instead of the class (see mibench.BaseEstimator).
    inputs: str  # "codes" (integer codes only) or "continuous" (real values)
    count_based: bool  # estimates are functions of the counts of integer codes
    needs_label_y: bool  # Y of I(X;Y) must be integer class labels
    stochastic: bool  # trains on minibatches: the row order changes the estimate
    nearest_neighbours: bool  # estimates from k-nearest-neighbour distances
    estimates_entropy: bool  # H(X) as well as I(X;Y)

    @property
    def spec(self) -> str: ...

    def get_params(self) -> dict[str, Any]: ...

    def ceiling(self, n: int) -> float:
        """Largest value (bits) the estimator reaches on n samples: the value it
        saturates at when every sample is distinct. A hard upper bound when
        ``ceiling_is_bound`` is true."""

    def entropy(self, x: Any) -> Any: ...

    def mutual_information(self, x: Any, y: Any) -> Any: ...

    def conditional_entropy(self, x: Any, y: Any) -> Any: ...

    def conditional_mutual_information(self, x: Any, y: Any, z: Any) -> Any: ...
