"""parity: X uniform on {0,1}^dim, Y = parity(X) flipped with probability ``noise``.

I(X;Y) = 1 - h(noise), while every proper subset of X carries 0 bits about Y: all
the information is synergistic (dim = 2 is XOR). Truths of subsets, the
co-information and the Generalized-IB feature-wise synergy are exposed so synergy
measures can be checked.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from mibench._validate import check_range
from mibench.tasks.base import UniformBitsToLabel, binary_entropy


class Parity(UniformBitsToLabel):
    name = "parity"
    params = {"dim": 2, "noise": 0.0}
    summary = "Y = parity of dim uniform bits, flipped w.p. noise: pure synergy"

    def _validate(self) -> None:
        check_range("dim", self.dim, 1, 512, integer=True)  # 2.0**dim of the exact laws overflows past 1023
        check_range("noise", self.noise, 0.0, 0.5)

    @property
    def mutual_information(self) -> float:
        return 1.0 - binary_entropy(self.noise)

    @property
    def entropy_y(self) -> float:
        return 1.0

    def exact_laws(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """X uniform on 2**dim words, Y uniform on {0, 1}; each (x, y) has probability
        2**-dim (1 - noise) or 2**-dim noise."""
        k = 2.0**self.dim
        x = (np.array([1 / k]), np.array([k]))
        y = (np.array([0.5]), np.array([2.0]))
        if self.noise == 0:
            return {"x": x, "y": y, "xy": x}
        probs = np.array([self.noise, 1 - self.noise]) / k
        if self.noise == 0.5:
            return {"x": x, "y": y, "xy": (probs[:1], np.array([2 * k]))}
        return {"x": x, "y": y, "xy": (probs, np.array([k, k]))}

    def subset_mutual_information(self, subset: Iterable[int]) -> float:
        """I(X_S; Y) in bits for a set S of feature indices: 0 unless S is all of X."""
        s = set(subset)
        if not s <= set(range(self.dim)):
            raise ValueError(f"subset indices must lie in 0..{self.dim - 1}; got {sorted(s)}")
        return self.mutual_information if len(s) == self.dim else 0.0

    @property
    def interaction_information(self) -> float:
        """Co-information of (X_1, ..., X_dim, Y) in bits, McGill's sign convention
        I(V_1;...;V_m) = -sum_{S nonempty} (-1)^|S| H(V_S), so I(X;Y;Z) = I(X;Y) - I(X;Y|Z)
        and synergy is negative. Every joint entropy is |S| except the full set,
        which is 1 - h(noise) lower, giving (-1)^(dim+1) (1 - h(noise))."""
        return (-1) ** (self.dim + 1) * self.mutual_information

    @property
    def synergy(self) -> float:
        """Generalized-IB feature-wise synergy (1/n) sum_i [I(X;Y) - I(X_i;Y) - I(X_-i;Y)]."""
        whole = self.mutual_information
        return float(np.mean([whole - self.subset_mutual_information([i]) - self.subset_mutual_information(set(range(self.dim)) - {i}) for i in range(self.dim)]))

    def truths(self) -> dict[str, float]:
        return {**super().truths(), "co-information": self.interaction_information, "synergy": self.synergy}

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.integers(0, 2, (n, self.dim), dtype=np.int64)
        flip = (rng.random(n) < self.noise).astype(np.int64)
        return x, ((x.sum(axis=1) + flip) % 2)[:, None]
