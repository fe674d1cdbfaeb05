"""The beyond_normal family (the public continuous benchmark's 40 tasks): every truth
checked by a route other than the one the task computes it by, and every map inverted."""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from mibench.tasks import get_task, transforms
from mibench.tasks.beyond_normal import (BIMODAL_X, BIMODAL_Y, RECIPES, TASK_IDS, mixture_cdf, mixture_quantile,
                                         swissroll, wiggly_x, wiggly_y)

LOG2 = math.log(2)


def test_forty_tasks_named_by_the_benchmark_ids_with_its_dimensions():
    assert len(TASK_IDS) == len(set(TASK_IDS)) == 40
    dims = {t: (get_task("beyond_normal", task=t).dim_x, get_task("beyond_normal", task=t).dim_y) for t in TASK_IDS}
    assert dims["swissroll_x-normal_cdf-1v1-normal-0.75"] == (2, 1)  # the roll embeds one X coordinate in two
    assert dims["multinormal-dense-50-50-0.5"] == (50, 50) and dims["asinh-student-identity-5-5-2"] == (5, 5)
    assert sum(d == (1, 1) for d in dims.values()) == 9


def test_a_task_draws_the_same_sample_for_the_same_seed_and_maps_its_base_sample():
    task = get_task("beyond_normal", task="spiral-normal_cdf-multinormal-sparse-5-5-2-2.0")
    x, y = task.sample(200, seed=3)
    assert np.array_equal(x, task.sample(200, seed=3)[0]) and not np.array_equal(x, task.sample(200, seed=4)[0])
    assert all(np.array_equal(a, b) for a, b in zip((x, y), task.apply_maps(*task.base_sample(200, seed=3))))


def test_unknown_task_ids_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="task must be one of 1v1-normal-0.75"):
        get_task("beyond_normal", task="1v1-normal-0.8")


def _canonical_correlation_bits(cov: np.ndarray, dx: int) -> float:
    """-1/2 sum log2(1 - r_i^2) over the canonical correlations r_i: no determinant of the joint."""
    sxx, syy, sxy = cov[:dx, :dx], cov[dx:, dx:], cov[:dx, dx:]
    r2 = np.linalg.eigvals(np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T)).real
    return float(-0.5 * np.sum(np.log2(1 - r2)))


@pytest.mark.parametrize("name", [t for t in TASK_IDS if RECIPES[t][0][0] == "normal"])
def test_gaussian_truths_equal_the_canonical_correlation_form(name):
    task = get_task("beyond_normal", task=name)
    assert task.mutual_information == pytest.approx(_canonical_correlation_bits(task._base_task.cov, task.dim_x
                                                                                - ("swissroll_x" in name)), abs=1e-12)
    if "sparse" in name:  # two pairs correlated by 4/5 (bmi's latent strength 2), whatever the dimension
        assert task.mutual_information == pytest.approx(-math.log2(1 - 0.8**2), abs=1e-12)
    if "dense" in name:  # every correlation 0.5, within and across
        cov = task._base_task.cov
        assert np.allclose(cov[~np.eye(len(cov), dtype=bool)], 0.5)


def _log_density_ratio_bits(name: str, n: int) -> np.ndarray:
    """log2 p(x, y) - log2 p(x) - log2 p(y) on the base sample, from scipy's densities."""
    task = get_task("beyond_normal", task=name)
    x, y = task.base_sample(n, seed=11)
    dx, dy = x.shape[1], y.shape[1]
    base = task._base_task
    if RECIPES[name][0][0] == "student":
        law = lambda d: stats.multivariate_t(np.zeros(d), np.eye(d), df=base.dof)  # noqa: E731
        joint, fx, fy = law(dx + dy), law(dx), law(dy)
    else:
        cov = base.cov
        joint = stats.multivariate_normal(np.zeros(dx + dy), cov)
        fx, fy = stats.multivariate_normal(np.zeros(dx), cov[:dx, :dx]), stats.multivariate_normal(np.zeros(dy), cov[dx:, dx:])
    return (joint.logpdf(np.hstack([x, y])) - fx.logpdf(x) - fy.logpdf(y)) / LOG2


@pytest.mark.parametrize("name", ["student-identity-1-1-1", "student-identity-2-2-1", "student-identity-5-5-3",
                                  "multinormal-dense-3-3-0.5", "multinormal-sparse-5-5-2-2.0"])
def test_truths_agree_with_monte_carlo_of_the_log_density_ratio(name):
    values = _log_density_ratio_bits(name, 100_000)
    error = values.std() / math.sqrt(len(values))
    assert abs(values.mean() - get_task("beyond_normal", task=name).mutual_information) < 4 * error


def _additive_noise_by_quadrature_bits(eps: float) -> float:
    """h(Y) - log(2 eps) with the density of Y = X + U(-eps, eps), X ~ U(0, 1), integrated numerically."""
    density = lambda v: (min(v + eps, 1.0) - max(v - eps, 0.0)) / (2 * eps)  # noqa: E731
    kinks = sorted({-eps, eps, 1 - eps, 1 + eps, 0.0, 1.0})
    h = sum(integrate.quad(lambda v: -density(v) * math.log(density(v)) if density(v) > 0 else 0.0, a, b,
                           epsabs=1e-13, epsrel=1e-13)[0] for a, b in zip(kinks, kinks[1:]) if b > a)
    return (h - math.log(2 * eps)) / LOG2


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_noise_truth_equals_quadrature_and_its_sample_has_that_law(eps):
    task = get_task("beyond_normal", task=f"1v1-additive-{eps}")
    assert task.mutual_information == pytest.approx(_additive_noise_by_quadrature_bits(eps), abs=1e-9)
    x, y = task.sample(50_000, seed=0)
    noise = y - x
    assert x.min() >= 0 and x.max() <= 1 and np.abs(noise).max() <= eps
    assert stats.kstest(noise[:, 0], stats.uniform(-eps, 2 * eps).cdf).pvalue > 1e-3


@pytest.mark.parametrize("eps", [0.3, 0.5, 2.0])
def test_the_additive_noise_closed_form_holds_on_both_sides_of_one_half(eps):
    from mibench.tasks.beyond_normal import additive_noise_bits

    assert additive_noise_bits(eps) == pytest.approx(_additive_noise_by_quadrature_bits(eps), abs=1e-9)


@pytest.mark.parametrize("f", [special.ndtr, transforms.PER_COORDINATE["half_cube"], np.arcsinh, wiggly_x, wiggly_y])
def test_per_coordinate_maps_are_strictly_increasing(f):
    grid = np.linspace(-6, 6, 200_001)
    assert np.all(np.diff(f(grid)) > 0)


@pytest.mark.parametrize("mixture", [BIMODAL_X, BIMODAL_Y])
def test_the_bimodal_map_is_the_mixture_quantile(mixture):
    u = np.linspace(1e-9, 1 - 1e-9, 10_001)
    q = mixture_quantile(u, mixture)
    assert np.all(np.diff(q) > 0)
    assert np.allclose(mixture_cdf(q, mixture), u, rtol=0, atol=1e-13)


def test_the_spiral_turns_the_way_the_released_package_does():
    # exp(t A) with A[i, j] = -1, A[j, i] = 1: (1, 0) at ||v||^2 = 1 and speed 1 goes to
    # (cos 1, sin 1). The released benchmark-mi's samples are this map of its Gaussian draws
    # (to 2e-7, float32); a turn the other way gives the same estimates and other samples.
    assert np.allclose(transforms.spiral(np.array([[1.0, 0.0, 0.0]]), 0, 1, 1.0), [[math.cos(1), math.sin(1), 0.0]])
    assert np.allclose(transforms.spiral(np.array([[0.0, 0.0, 1.0]]), 1, 2, 0.5), [[0.0, -math.sin(0.5), math.cos(0.5)]])


def test_the_spiral_is_undone_by_turning_back_and_the_roll_by_its_radius():
    v = np.random.default_rng(0).standard_normal((1000, 5))
    turned = transforms.spiral(v, 1, 2, 0.2)
    assert np.allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(v, axis=1), rtol=1e-13)
    assert np.allclose(transforms.spiral(turned, 1, 2, -0.2), v, atol=1e-12)
    u = np.random.default_rng(1).random((1000, 1))
    rolled = swissroll(u)
    assert np.allclose((21 * np.linalg.norm(rolled, axis=1) / (1.5 * np.pi) - 1) / 2, u[:, 0], atol=1e-12)


def test_a_composed_task_is_inverted_back_to_its_gaussian_sample():
    task = get_task("beyond_normal", task="spiral-normal_cdf-multinormal-sparse-3-3-2-2.0")
    (bx, by), (x, y) = task.base_sample(500, seed=2), task.sample(500, seed=2)
    x = special.ndtri(transforms.spiral(x, 0, 1, -1 / 3))  # X turns in its (1, 2) plane, Y in (2, 3), speed 1/dim
    y = special.ndtri(transforms.spiral(y, 1, 2, -1 / 3))
    assert np.allclose(x, bx, atol=1e-8) and np.allclose(y, by, atol=1e-8)


def test_the_reproduction_script_tables_mibench_side_alone(tmp_path):
    # without the package the table has the truths and mibench's columns; the estimators are
    # the ones the benchmark names (KSG on 1 + 1 dims: Euclidean and max-norm agree exactly)
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "beyond_normal.py"
    spec = importlib.util.spec_from_file_location("beyond_normal_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, rows = tmp_path / "table.md", tmp_path / "rows.csv"
    assert module.main(["--n", "400", "--seeds", "2", "--tasks", "1v1-additive-0.75", "--out", str(out),
                        "--csv", str(rows)]) == 0
    line = next(l for l in out.read_text().splitlines() if l.startswith("| `1v1-additive-0.75`"))
    assert f"| {get_task('beyond_normal', task='1v1-additive-0.75').mutual_information:.3f} |" in line
    import csv

    import mibench
    with open(rows) as fh:
        first = next(csv.DictReader(fh))
    x, y = get_task("beyond_normal", task="1v1-additive-0.75").sample(400, 0)
    assert float(first["ksg"]) == pytest.approx(mibench.mutual_information(x, y, "ksg", k=10, standardize=True), abs=1e-12)
    assert module.base_id("spiral-normal_cdf-multinormal-sparse-3-3-2-2.0") == "multinormal-sparse-3-3-2-2.0"
