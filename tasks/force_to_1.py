"""force_to_1: the Generalized IB paper's synthetic synergy experiment (appendix E.1).

X ~ Bernoulli(1/2)^dim. A noise variable N is "none" with probability 1 - p and
otherwise one coordinate j chosen uniformly (probability q = p / dim each); X~ is X
with coordinate N set to 1. The observed output is Y = f(X~) for
f in {x1, xor (x1 xor x2), parity (of all bits)}.

Truths (bits), each by a closed form derived below and by exact enumeration of the
2**dim x (dim + 1) joint outcomes (``enumerate_truths``, feasible to dim ~ 20); the
tests check the two against each other.

With z(x) the number of zero bits of x:
- parity (dim >= 2): forcing a zero bit flips the parity, so Y = parity(x) xor 1
  w.p. q z(x), and Y is uniform whatever N is: I(X;Y) = 1 - E_z h(q z), I(N;Y) = 0.
  (With dim = 1 the parity is x1.)
- xor: the parity of (x1, x2): I(X;Y) = 1 - h(2q)/4 - h(q)/2, I(N;Y) = 0.
- x1: P(Y=1) = 1/2 + q/2, H(Y|X) = h(q)/2, H(Y|N) = 1 - q.
- I(X, N; Y) = H(Y), as Y is a function of (X, N).
- I(X; X~): P(x~) = 2**-dim (1 - p + 2 q o) with o the ones of x~, and
  H(X~|X=x) is the entropy of {1 - q z, q (z times)}.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from mibench._validate import check_choice, check_range
from mibench.tasks.base import UniformBitsToLabel, binary_entropy, shannon_entropy

FUNCTIONS = ("x1", "xor", "parity")


def _xlog2x(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return np.where(v > 0, v * np.log2(np.where(v > 0, v, 1.0)), 0.0)


def closed_form_truths(dim: int, p: float, f: str) -> dict[str, float]:
    """The four truths in bits by closed forms (see the module docstring)."""
    q = p / dim
    z = np.arange(dim + 1)
    pz = stats.binom.pmf(z, dim, 0.5)
    if f == "x1" or dim == 1:  # the parity of one bit is x1
        h_y = binary_entropy(0.5 + q / 2)
        i_x = h_y - binary_entropy(q) / 2
        i_n = h_y - (1 - q)
    else:
        h_y = 1.0
        i_n = 0.0
        if f == "xor":
            i_x = 1 - binary_entropy(2 * q) / 4 - binary_entropy(q) / 2
        else:
            i_x = 1 - float(np.sum(pz * np.array([binary_entropy(q * k) for k in z])))
    ones = np.arange(dim + 1)  # of x~; comb(dim, o) outcomes share each probability
    h_tilde = -float(np.sum(special.comb(dim, ones) * _xlog2x((1 - p + 2 * q * ones) * 2.0**-dim)))
    h_tilde_given_x = -float(np.sum(pz * (_xlog2x(1 - q * z) + z * _xlog2x(q))))
    return {"I(X;Y)": i_x, "I(N;Y)": i_n, "I(X,N;Y)": h_y, "I(X;X~)": h_tilde - h_tilde_given_x}


def enumerate_truths(dim: int, p: float, f: str) -> dict[str, float]:
    """The same truths by exact enumeration of every (x, N) outcome (dim <= 20)."""
    if dim > 20:
        raise ValueError(f"enumeration is feasible for dim <= 20; got dim={dim}")
    xs = np.arange(2**dim, dtype=np.int64)
    noise = np.arange(dim + 1)  # 0 = none, j = coordinate j - 1 forced
    p_noise = np.concatenate([[1 - p], np.full(dim, p / dim)])
    x_tilde = np.where(noise[None, :] == 0, xs[:, None], xs[:, None] | (1 << np.maximum(noise - 1, 0))[None, :])
    weight = 2.0**-dim * p_noise[None, :] * np.ones_like(x_tilde, dtype=float)
    bit = lambda v, j: (v >> j) & 1  # noqa: E731
    if f == "x1":
        y = bit(x_tilde, 0)
    elif f == "xor":
        y = bit(x_tilde, 0) ^ bit(x_tilde, 1)
    else:
        y = np.zeros_like(x_tilde)
        for j in range(dim):
            y ^= bit(x_tilde, j)

    def h(*keys: np.ndarray) -> float:
        joint = np.zeros(x_tilde.shape, dtype=np.int64)
        for k, size in keys:
            joint = joint * size + np.broadcast_to(k, x_tilde.shape)
        _, inverse = np.unique(joint.reshape(-1), return_inverse=True)
        return shannon_entropy(np.bincount(inverse, weights=weight.reshape(-1)))

    xk, nk, yk, tk = (xs[:, None], 2**dim), (noise[None, :], dim + 1), (y, 2), (x_tilde, 2**dim)
    return {
        "I(X;Y)": h(xk) + h(yk) - h(xk, yk),
        "I(N;Y)": h(nk) + h(yk) - h(nk, yk),
        "I(X,N;Y)": h(xk, nk) + h(yk) - h(xk, nk, yk),
        "I(X;X~)": h(xk) + h(tk) - h(xk, tk),
    }


class ForceToOne(UniformBitsToLabel):
    name = "force_to_1"
    params = {"dim": 3, "p": 0.5, "f": "parity"}
    summary = "GIB synergy experiment: one random bit forced to 1 w.p. p, Y = f(X~)"

    def _validate(self) -> None:
        check_range("dim", self.dim, 1, math.inf, integer=True)
        check_range("p", self.p, 0.0, 1.0)
        check_choice("f", self.f, FUNCTIONS)
        if self.f == "xor" and self.dim < 2:
            raise ValueError("f=xor needs dim >= 2 (it reads x1 and x2)")

    def truths(self) -> dict[str, float]:
        return {**closed_form_truths(self.dim, self.p, self.f), "H(X)": float(self.dim)}

    @property
    def mutual_information(self) -> float:
        return self.truths()["I(X;Y)"]

    @property
    def entropy_y(self) -> float:
        return self.truths()["I(X,N;Y)"]

    def sample_all(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """X (n, dim), the noise N (n, 1; 0 = none, j = bit j-1 forced), X~ and Y (n, 1)."""
        return self._draw(n, self._rng(n, seed))

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        drawn = self._draw(n, rng)
        return drawn["x"], drawn["y"]

    def _draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        x = rng.integers(0, 2, (n, self.dim), dtype=np.int64)
        forced = rng.random(n) < self.p
        which = rng.integers(0, self.dim, n)
        x_tilde = x.copy()
        x_tilde[np.nonzero(forced)[0], which[forced]] = 1
        if self.f == "x1":
            y = x_tilde[:, 0]
        elif self.f == "xor":
            y = x_tilde[:, 0] ^ x_tilde[:, 1]
        else:
            y = x_tilde.sum(axis=1) % 2
        noise = np.where(forced, which + 1, 0)
        return {"x": x, "noise": noise[:, None], "x_tilde": x_tilde, "y": y[:, None]}
