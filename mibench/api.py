"""The public functions: entropy and information quantities in bits.

Each takes numpy arrays or torch tensors of shape ``(n,)``, ``(n, d)`` or batched
``(b, n, d)`` and an estimator given as an id, a spec string or an instance, plus
that estimator's parameters. Unbatched numpy input gives a float; batched numpy
input gives a ``(b,)`` array; torch input gives a tensor on the input's device.
"""
from __future__ import annotations

from typing import Any

from mibench.interface import Estimator
from mibench.registry import make_estimator


def entropy(x: Any, estimator: str | Estimator = "plugin", **params: Any) -> Any:
    """Entropy H(X) in bits.

    >>> entropy([0, 1, 0, 1])
    1.0
    """
    return make_estimator(estimator, **params).entropy(x)


def mutual_information(x: Any, y: Any, estimator: str | Estimator = "plugin", **params: Any) -> Any:
    """Mutual information I(X;Y) = H(X) + H(Y) - H(X,Y) in bits (never clipped at 0).

    >>> mutual_information([0, 1, 0, 1], [1, 0, 1, 0])
    1.0
    """
    return make_estimator(estimator, **params).mutual_information(x, y)


def conditional_entropy(x: Any, y: Any, estimator: str | Estimator = "plugin", **params: Any) -> Any:
    """Conditional entropy H(X|Y) = H(X,Y) - H(Y) in bits."""
    return make_estimator(estimator, **params).conditional_entropy(x, y)


def conditional_mutual_information(x: Any, y: Any, z: Any, estimator: str | Estimator = "plugin", **params: Any) -> Any:
    """Conditional mutual information I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z) in bits."""
    return make_estimator(estimator, **params).conditional_mutual_information(x, y, z)
