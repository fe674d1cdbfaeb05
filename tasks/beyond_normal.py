"""beyond_normal: the 40 tasks of the public continuous MI benchmark (Czyz et al. 2023,
'Beyond normal', package ``benchmark-mi``), named by that package's task ids.

Each task is a Gaussian, a multivariate Student-t or additive uniform noise, then
invertible maps applied to X and Y separately, which keep I(X;Y). Truths (bits):
- Gaussian: 1/2 log2(det S_x det S_y / det S) (:mod:`mibench.tasks.gaussian`);
  ``dense`` has every correlation 0.5; ``sparse`` (bmi's 2-pair latent model with
  strength 2) has X_1-Y_1 and X_2-Y_2 correlated by 4/5 and the rest independent,
  so I = -log2(1 - 0.64) bits whatever the dimension.
- Student-t with identity dispersion: the dof term of :mod:`mibench.tasks.gaussian`.
- additive noise, X ~ U(0, 1), Y = X + U(-e, e): h(Y) - log(2e) with the trapezoid
  density of Y, I = e - ln(2e) nats for e <= 1/2 and 1 / (4e) nats above.
Maps (bmi's definitions): ``normal_cdf`` Phi; ``half_cube`` a |a|^(1/2); ``asinh``;
``wiggly`` (a different strictly increasing sum of sines on each side); ``bimodal``
(Phi of the Gaussian, then the inverse CDF of a two-component normal mixture on each
side); ``swissroll_x`` (X in [0, 1] to (t cos t, t sin t) / 21, t = 1.5 pi (1 + 2x):
one-to-one because |image| = t / 21 grows with x); ``spiral`` (X turned in its
(1, 2) plane, Y in its (2, 3) plane, by the angle ||v||^2 / dim).
Checked by other routes in the tests: Monte Carlo of log p(x,y) - log p(x) - log p(y)
on the base laws' exact densities, quadrature of h(Y) for the additive noise, canonical
correlations for the Gaussians, and each map inverted on samples.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import special

from mibench._validate import check_choice
from mibench.tasks import transforms
from mibench.tasks.base import Task
from mibench.tasks.gaussian import Gaussian, StudentT

Side = Callable[[np.ndarray], np.ndarray]


def additive_noise_bits(epsilon: float) -> float:
    """I(X; X + N) in bits for X ~ U(0, 1), N ~ U(-epsilon, epsilon) (module docstring)."""
    nats = epsilon - math.log(2 * epsilon) if epsilon <= 0.5 else 1 / (4 * epsilon)
    return nats / math.log(2)


def wiggly_x(a: np.ndarray) -> np.ndarray:
    """bmi's X-side wiggly map; slope >= 1 - 0.4 - 0.34 - 0.099 > 0."""
    return a + 0.4 * np.sin(a) + 0.2 * np.sin(1.7 * a + 1) + 0.03 * np.sin(3.3 * a - 2.5)


def wiggly_y(a: np.ndarray) -> np.ndarray:
    """bmi's Y-side wiggly map; slope >= 1 - 0.16 - 0.221 - 0.086 > 0."""
    return a - 0.4 * np.sin(0.4 * a) + 0.17 * np.sin(1.3 * a + 3.5) + 0.02 * np.sin(4.3 * a - 2.5)


# Two-component normal mixtures (weights, means; unit variances) whose inverse CDF maps
# the uniform X and Y of the bimodal task.
BIMODAL_X = ((0.3, 0.7), (0.0, 5.0))
BIMODAL_Y = ((0.5, 0.5), (-1.0, 3.0))


def mixture_cdf(a: np.ndarray, mixture: tuple[tuple[float, ...], tuple[float, ...]]) -> np.ndarray:
    weights, means = mixture
    return sum(w * special.ndtr(a - m) for w, m in zip(weights, means))


def mixture_quantile(u: np.ndarray, mixture: tuple[tuple[float, ...], tuple[float, ...]]) -> np.ndarray:
    """Inverse of :func:`mixture_cdf` by bisection (60 halvings of a bracket that holds
    every u in (0, 1) the float grid can give: error < 1e-15 of its width)."""
    weights, means = mixture
    lo = np.full_like(u, min(means) - 40.0)
    hi = np.full_like(u, max(means) + 40.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = mixture_cdf(mid, mixture) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def swissroll(v: np.ndarray) -> np.ndarray:
    """(n, 1) in [0, 1] to (n, 2) on a Swiss roll (module docstring)."""
    t = 1.5 * np.pi * (1 + 2 * v[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def _spiral_sides(dim_x: int, dim_y: int) -> tuple[Side, Side]:
    return (lambda v: transforms.spiral(v, 0, 1, 1.0 / dim_x),
            lambda v: transforms.spiral(v, 1, 2, 1.0 / dim_y))


def _same(f: Side) -> Callable[[int, int], tuple[Side, Side]]:
    return lambda dx, dy: (f, f)


MAPS: dict[str, Callable[[int, int], tuple[Side, Side]]] = {
    "normal_cdf": _same(special.ndtr),
    "half_cube": _same(transforms.PER_COORDINATE["half_cube"]),
    "asinh": _same(np.arcsinh),
    "wiggly": lambda dx, dy: (wiggly_x, wiggly_y),
    "bimodal": lambda dx, dy: (lambda v: mixture_quantile(v, BIMODAL_X), lambda v: mixture_quantile(v, BIMODAL_Y)),
    "swissroll_x": lambda dx, dy: (swissroll, lambda v: v),
    "spiral": _spiral_sides,
}


def _recipes() -> dict[str, tuple[tuple, tuple[str, ...]]]:
    """Task id -> (base, maps applied in order). Base: ("normal", dx, dy, structure),
    ("student", dx, dy, dof) or ("additive", epsilon)."""
    normal_1 = ("normal", 1, 1, "pair")
    student_1 = ("student", 1, 1, 1)
    out: dict[str, tuple[tuple, tuple[str, ...]]] = {
        "1v1-normal-0.75": (normal_1, ()),
        "normal_cdf-1v1-normal-0.75": (normal_1, ("normal_cdf",)),
        "1v1-additive-0.1": (("additive", 0.1), ()),
        "1v1-additive-0.75": (("additive", 0.75), ()),
        "1v1-bimodal-0.75": (normal_1, ("normal_cdf", "bimodal")),
        "wiggly-1v1-normal-0.75": (normal_1, ("wiggly",)),
        "half_cube-1v1-normal-0.75": (normal_1, ("half_cube",)),
        "student-identity-1-1-1": (student_1, ()),
        "asinh-student-identity-1-1-1": (student_1, ("asinh",)),
        "swissroll_x-normal_cdf-1v1-normal-0.75": (normal_1, ("normal_cdf", "swissroll_x")),
    }
    for d in (2, 3, 5, 25, 50):
        out[f"multinormal-dense-{d}-{d}-0.5"] = (("normal", d, d, "dense"), ())
    for d in (2, 3, 5, 25):
        out[f"multinormal-sparse-{d}-{d}-2-2.0"] = (("normal", d, d, "sparse"), ())
    for d, dof in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3)):
        out[f"student-identity-{d}-{d}-{dof}"] = (("student", d, d, dof), ())
    for maps in (("normal_cdf",), ("half_cube",), ("spiral",), ("normal_cdf", "spiral")):
        for d in (3, 5, 25):
            prefix = "-".join(reversed(maps))
            out[f"{prefix}-multinormal-sparse-{d}-{d}-2-2.0"] = (("normal", d, d, "sparse"), maps)
    for d, dof in ((2, 1), (3, 2), (5, 2)):
        out[f"asinh-student-identity-{d}-{d}-{dof}"] = (("student", d, d, dof), ("asinh",))
    return out


RECIPES = _recipes()
TASK_IDS = tuple(RECIPES)


def _base_task(base: tuple) -> Task | None:
    """The mibench task drawing the base law (None for additive noise)."""
    kind = base[0]
    if kind == "normal":
        _, d, _, structure = base
        if structure == "pair":
            return Gaussian(dim_x=1, dim_y=1, rho=0.75)
        if structure == "dense":
            return Gaussian(dim_x=d, dim_y=d, rho=0.5, structure="dense", within=0.5)
        return Gaussian(dim_x=d, dim_y=d, rho=0.8, pairs=2)
    if kind == "student":
        _, d, _, dof = base
        return StudentT(dim_x=d, dim_y=d, rho=0.0, dof=float(dof))
    return None


class BeyondNormal(Task):
    name = "beyond_normal"
    continuous = True
    params = {"task": "1v1-normal-0.75"}
    summary = "the 40 tasks of the public continuous benchmark (Czyz et al. 2023), by its task ids (or number 1-40)"

    def _validate(self) -> None:
        number = self.task
        if isinstance(number, int) and not isinstance(number, bool):  # a suite's D axis: the task's number
            if not 1 <= number <= len(TASK_IDS):
                raise ValueError(f"task number must be 1 to {len(TASK_IDS)} (the position in TASK_IDS, the "
                                 f"package's order); got {number}")
            self._params["task"] = TASK_IDS[number - 1]  # the id names the task, whichever way it was given
        check_choice("task", self.task, TASK_IDS)
        self._base, self._maps = RECIPES[self.task]
        self._base_task = _base_task(self._base)

    @property
    def dim_x(self) -> int:
        d = 1 if self._base_task is None else self._base_task.dim_x
        return d + ("swissroll_x" in self._maps)

    @property
    def dim_y(self) -> int:
        return 1 if self._base_task is None else self._base_task.dim_y

    @property
    def mutual_information(self) -> float:
        if self._base_task is None:
            return additive_noise_bits(self._base[1])
        return self._base_task.mutual_information

    def _base_draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self._base_task is None:
            x = rng.random((n, 1))
            return x, x + rng.uniform(-self._base[1], self._base[1], (n, 1))
        return self._base_task._sample(n, rng)

    def base_sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The sample before the maps (same seed, same draw as :meth:`sample`)."""
        return self._base_draw(int(n), self._rng(n, seed))

    def apply_maps(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The task's maps, in order, on a base sample."""
        for name in self._maps:
            fx, fy = MAPS[name](x.shape[1], y.shape[1])
            x, y = fx(x), fy(y)
        return x, y

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return self.apply_maps(*self._base_draw(n, rng))
