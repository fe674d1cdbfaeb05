"""binary_codes: D-bit codes T with Y a noisy copy or a class label.

Sources of T:
- ``bernoulli``: iid Bernoulli(p) bits, H(T) = D h(p).
- ``codebook``: uniform over K distinct random codewords (K up to 2**40, D <= 64),
  H(T) = log2 K. The family that shows plug-in saturation at log2 N. Codeword i is
  a fixed bijection of the D-bit integer i (odd multiplies and xor-shifts modulo
  2**D, chosen by ``codebook_seed``), so codewords are distinct without storing them.

Outputs Y:
- ``copy``: Y = T, so I(T;Y) = H(T) -- the information-plane convention I(X;T) = H(T)
  for a deterministic layer, and the cleanest view of saturation at log2 N.
- ``bsc`` (Bernoulli source only): T through a binary symmetric channel with flip
  probability eps, I = D [h(p * eps) - h(eps)] with p * eps = p(1-eps) + (1-p) eps;
  for p = 1/2, I = D (1 - h(eps)).
- ``label``: a deterministic class, I(T;Y) = H(Y). Bernoulli codes: Y = (number of
  ones) mod C, P(Y=c) = sum_{j = c mod C} Binom(j; D, p). Codebook: Y = (codeword
  index) mod C, P(Y=c) = |{i < K : i = c mod C}| / K.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from mibench._validate import check_choice, check_range
from mibench.tasks.base import Task, binary_entropy, shannon_entropy


def _codeword_ints(index: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """Bijection of D-bit integers (uint64 arithmetic wraps mod 2**64, masked to D bits)."""
    rng = np.random.default_rng(seed)
    mask = np.uint64((1 << dim) - 1)
    x = index.astype(np.uint64) & mask
    with np.errstate(over="ignore"):
        for _ in range(3):
            mult = np.uint64(int(rng.integers(0, 2**63)) * 2 + 1)  # odd: invertible mod 2**D
            x = (x * mult) & mask
            shift = np.uint64(max(1, dim // 2))
            x ^= x >> shift  # invertible xor-shift within D bits
    return x


def _merge(probabilities: np.ndarray, multiplicities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct positive probabilities with their summed multiplicities."""
    keep = probabilities > 0
    values, inverse = np.unique(probabilities[keep], return_inverse=True)
    return values, np.bincount(inverse, weights=multiplicities[keep])


def _bits(values: np.ndarray, dim: int) -> np.ndarray:
    return ((values[:, None] >> np.arange(dim, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)


class BinaryCodes(Task):
    name = "binary_codes"
    params = {"dim": 8, "source": "bernoulli", "p": 0.5, "K": None, "output": "bsc", "eps": 0.1, "classes": 2, "codebook_seed": 0}
    summary = "D-bit codes (iid bits or a K-word codebook) with Y a BSC copy or a class label"

    def relevant_params(self) -> list[str]:
        names = ["dim", "source"]
        names += ["p"] if self.source == "bernoulli" else ["K", "codebook_seed"]
        names += ["output"] + {"bsc": ["eps"], "label": ["classes"], "copy": []}[self.output]
        return names

    def _validate(self) -> None:
        check_range("dim", self.dim, 1, math.inf, integer=True)
        check_choice("source", self.source, ("bernoulli", "codebook"))
        check_choice("output", self.output, ("copy", "bsc", "label"))
        if self.source == "bernoulli":
            check_range("p", self.p, 0.0, 1.0)
        else:
            check_range("dim", self.dim, 1, 64, integer=True)
            if self.K is None:
                raise ValueError("source=codebook needs K, the number of codewords, in [1, 2**dim]")
            check_range("K", self.K, 1, min(2**self.dim, 2**62), integer=True)
            check_range("codebook_seed", self.codebook_seed, 0, math.inf, integer=True)
            if self.output == "bsc":
                raise ValueError(
                    "output=bsc is offered for source=bernoulli only (a codebook through a BSC has no closed form); "
                    "use output=copy or output=label"
                )
        if self.output == "bsc":
            check_range("eps", self.eps, 0.0, 0.5)
        else:
            check_range("classes", self.classes, 1, math.inf, integer=True)

    @property
    def dim_x(self) -> int:
        return self.dim

    @property
    def dim_y(self) -> int:
        return 1 if self.output == "label" else self.dim

    def label_distribution(self) -> np.ndarray:
        """P(Y = c) for c = 0..classes-1 (label output)."""
        c = self.classes
        if self.source == "bernoulli":
            pmf = stats.binom.pmf(np.arange(self.dim + 1), self.dim, self.p)
            return np.bincount(np.arange(self.dim + 1) % c, weights=pmf, minlength=c)
        k = self.K
        return np.array([k // c + (r < k % c) for r in range(c)], dtype=float) / k

    @property
    def entropy_x(self) -> float:
        if self.source == "bernoulli":
            return self.dim * binary_entropy(self.p)
        return math.log2(self.K)

    @property
    def entropy_y(self) -> float:
        if self.output == "copy":
            return self.entropy_x
        if self.output == "label":
            return shannon_entropy(self.label_distribution())
        flipped = self.p * (1 - self.eps) + (1 - self.p) * self.eps
        return self.dim * binary_entropy(flipped)

    @property
    def mutual_information(self) -> float:
        if self.output in ("copy", "label"):
            return self.entropy_y  # Y is a function of T
        return self.entropy_y - self.dim * binary_entropy(self.eps)

    def _bit_law(self, p: float) -> tuple[np.ndarray, np.ndarray]:
        """Law of D iid Bernoulli(p) bits: p^a (1-p)^(D-a) for C(D, a) words each."""
        a = np.arange(self.dim + 1)
        return _merge(p**a * (1 - p) ** (self.dim - a), special.comb(self.dim, a))

    def exact_laws(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self.source == "codebook":
            x = (np.array([1.0 / self.K]), np.array([float(self.K)]))
        else:
            x = self._bit_law(self.p)
        if self.output == "copy":
            return {"x": x, "y": x, "xy": x}
        if self.output == "label":  # Y is a function of X: (X, Y) has the law of X
            y = self.label_distribution()
            return {"x": x, "y": _merge(y[y > 0], np.ones(int((y > 0).sum()))), "xy": x}
        # bsc: a word with a ones, flipped in f places: p^a (1-p)^(D-a) eps^f (1-eps)^(D-f),
        # for C(D, a) C(D, f) pairs
        d, p, eps = self.dim, self.p, self.eps
        a, f = np.meshgrid(np.arange(d + 1), np.arange(d + 1), indexing="ij")
        xy = _merge((p**a * (1 - p) ** (d - a) * eps**f * (1 - eps) ** (d - f)).ravel(),
                    (special.comb(d, a) * special.comb(d, f)).ravel())
        return {"x": x, "y": self._bit_law(p * (1 - eps) + (1 - p) * eps), "xy": xy}

    def with_joint_entropy(self, bits: float) -> "BinaryCodes | None":
        """Codebook: round(2**bits) words. Bernoulli source: the same D with p in (0, 1/2]
        solving D h(p) (+ D h(eps) for bsc) = bits."""
        params = self.get_params()
        if self.source == "codebook":
            top = min(2**self.dim, 2**62)
            params["K"] = int(min(max(round(2.0**bits), 1), top))
            return BinaryCodes(**params)
        per_bit = bits / self.dim - (binary_entropy(self.eps) if self.output == "bsc" else 0.0)
        if not 0.0 < per_bit <= 1.0:
            return None
        params["p"] = 0.5 if per_bit >= 1.0 else float(optimize.brentq(lambda q: binary_entropy(q) - per_bit, 1e-300, 0.5))
        return BinaryCodes(**params)

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self.source == "bernoulli":
            t = (rng.random((n, self.dim)) < self.p).astype(np.int64)
            if self.output == "copy":
                return t, t.copy()
            if self.output == "bsc":
                return t, t ^ (rng.random((n, self.dim)) < self.eps).astype(np.int64)
            return t, (t.sum(axis=1) % self.classes)[:, None]
        index = rng.integers(0, self.K, n, dtype=np.int64)
        t = _bits(_codeword_ints(index, self.dim, self.codebook_seed), self.dim)
        if self.output == "copy":
            return t, t.copy()
        return t, (index % self.classes)[:, None]
