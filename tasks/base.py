"""Tasks: named samplers with an exact ground truth, in bits.

A task is built from its parameters (checked at once: an out-of-range value raises
``ValueError`` naming the parameter and its valid range), has an ``id`` derived from
the parameters that matter, and samples ``(x, y)`` deterministically for a seed.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from mibench.spec import format_value


def binary_entropy(p: float) -> float:
    """h(p) = -p log2 p - (1-p) log2 (1-p), in bits."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def shannon_entropy(probabilities: Any) -> float:
    """Entropy in bits of a probability vector (zeros allowed)."""
    p = np.asarray(probabilities, dtype=float).reshape(-1)
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


class Task:
    """Base class. Subclasses set ``name``, ``params`` (name -> default, in id order)
    and ``summary``, and implement ``_validate``, ``_sample`` and the truths."""

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}
    summary: ClassVar[str] = ""
    #: True when samples are real-valued (discrete estimators then need binning).
    continuous: ClassVar[bool] = False
    #: True when Y is a class label even though X is continuous.
    label_y: ClassVar[bool] = False
    #: True when the truth is about binned values, so only binning estimators target it.
    binned_truth: ClassVar[bool] = False
    #: True when :meth:`noisy_mutual_information` is known (for noise-analytic estimators).
    noisy_truth: ClassVar[bool] = False
    #: True when the real-valued samples take a few values only (+-1 codes, labels): any
    #: binning gives the same codes, and density fits have nothing to fit.
    discrete_values: ClassVar[bool] = False
    #: True when the task stands for a network layer's units or codes (listed first in maps).
    network_like: ClassVar[bool] = False
    #: How the truth is known: "closed form", "exact enumeration", "quadrature", ...
    truth_method: str = "closed form"
    #: Bound on the truth's numerical error, in bits.
    truth_error: float = 0.0

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise TypeError(
                f"task {self.name} has no parameter(s) {', '.join(unknown)}; valid parameters: {', '.join(self.params)}"
            )
        self._params = {**self.params, **params}
        try:
            self._validate()
        except ValueError as exc:  # name the task: "range must be ..." alone does not say whose
            if str(exc).startswith(f"{self.name}:"):
                raise
            raise ValueError(f"{self.name}: {exc}") from None

    def _validate(self) -> None:
        """Raise ValueError for out-of-range parameters."""

    def relevant_params(self) -> list[str]:
        """The parameters that shape this task (the id shows only these)."""
        return list(self.params)

    def get_params(self) -> dict[str, Any]:
        return dict(self._params)

    def __getattr__(self, key: str) -> Any:
        params = self.__dict__.get("_params", {})
        if key in params:
            return params[key]
        raise AttributeError(key)

    @property
    def id(self) -> str:
        """Identity of the task, e.g. ``parity(dim=3, noise=0.1)``."""
        items = ", ".join(f"{k}={format_value(self._params[k])}" for k in self.relevant_params())
        return f"{self.name}({items})"

    def __repr__(self) -> str:
        return f"<task {self.id}: I = {self.mutual_information:.6g} bits>"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.id == other.id  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(self.id)

    # -- what every task provides ------------------------------------------------
    dim_x: int
    dim_y: int

    @property
    def mutual_information(self) -> float:
        """Exact I(X;Y) in bits."""
        raise NotImplementedError

    @property
    def entropy_x(self) -> float | None:
        """Exact H(X) in bits, or None where X is continuous (Shannon entropy infinite)."""
        return None

    @property
    def entropy_y(self) -> float | None:
        """Exact H(Y) in bits, or None where Y is continuous."""
        return None

    def renyi_mutual_information(self) -> float | None:
        """H_a(X) + H_a(Y) - H_a(X,Y) in bits where it is the same for every order a (and so
        equals I(X;Y)), else None: what matrix-based Renyi estimators are scored against."""
        return None

    def noisy_mutual_information(self, sigma2: float) -> float | None:
        """Exact I(X + Z; Y) in bits with Z ~ N(0, sigma2 I) added to X -- the quantity
        noise-analytic estimators (Kolchinsky-Tracey) target -- or None where unknown."""
        return None

    @property
    def joint_entropy(self) -> float | None:
        """Exact H(X,Y) = H(X) + H(Y) - I(X;Y) in bits where both entropies are finite:
        the entropy of the codes a count-based estimator must resolve, so what drives
        its saturation at log2 N."""
        if self.entropy_x is None or self.entropy_y is None:
            return None
        return self.entropy_x + self.entropy_y - self.mutual_information

    def exact_laws(self) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """The laws of X, Y and (X, Y) as (distinct probabilities, multiplicities), keys
        ``x``, ``y``, ``xy``, where they are known in closed form and compact: exact
        finite-sample expectations of count-based estimators follow from them
        (:mod:`mibench.theory`). None elsewhere."""
        return None

    def with_joint_entropy(self, bits: float) -> "Task | None":
        """The task of this family nearest to H(X,Y) = ``bits`` that keeps its other
        parameters (e.g. a codebook of round(2**bits) words), used to locate where an
        estimator's reliable region ends between grid points; None where the family has
        no such continuous difficulty or ``bits`` is out of its reach."""
        return None

    def truths(self) -> dict[str, float]:
        """Every exact quantity this task knows, in bits (name -> value)."""
        out = {"I(X;Y)": self.mutual_information}
        if self.entropy_x is not None:
            out["H(X)"] = self.entropy_x
        if self.entropy_y is not None:
            out["H(Y)"] = self.entropy_y
        joint = self.joint_entropy
        if joint is not None:
            out["H(X,Y)"] = joint
        return out

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw n paired samples: ``x (n, dim_x)``, ``y (n, dim_y)``; same seed, same sample."""
        return self._sample(int(n), self._rng(n, seed))

    def sample_seeds(self, n: int, seeds: Any) -> tuple[np.ndarray, np.ndarray]:
        """One sample per seed, stacked for a batched estimator call:
        ``x (b, n, dim_x)``, ``y (b, n, dim_y)``."""
        samples = [self.sample(n, seed) for seed in seeds]
        return np.stack([x for x, _ in samples]), np.stack([y for _, y in samples])

    @staticmethod
    def _rng(n: int, seed: int) -> np.random.Generator:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        return np.random.default_rng(int(seed))

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class UniformBitsToLabel(Task):
    """Base of tasks whose X is ``dim`` uniform bits (or one code unit per bit) and
    whose Y is one label column: H(X) = dim bits."""

    dim_y = 1

    @property
    def dim_x(self) -> int:
        return self.dim

    @property
    def entropy_x(self) -> float:
        return float(self.dim)
