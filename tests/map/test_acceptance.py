"""Acceptance: the maps reproduce what exact finite-sample theory predicts.

On uniform random codebooks (H = log2 K = D bits) the plug-in estimator must come
out saturated where D is several bits above log2 N, reliable where it is several
below, with the boundary where the exact expectation puts it; the bias-corrected
estimators must move the boundary by the amount their exact expectations predict.
Nothing here is hard-coded: predictions come from mibench.theory.
"""
import math
import textwrap

import pytest

from mibench.map.report import run_map
from mibench.map.regimes import frontiers
from mibench.map.suite import load_suite
from mibench.theory import expected_entropy

ESTIMATORS = ["plugin", "miller_madow", "jackknife", "grassberger"]
NS = [256, 1024, 4096]
DS = list(range(1, 17))
# std_tol is opened up so the reliable region is set by bias alone, which is what the
# exact expectation predicts; the seed spread is checked against the mean separately.
SUITE = f"""
name = "acceptance"
seeds = 10
n = {NS}
d = {DS}
tolerances = {{ abs_tol = 0.1, std_tol = 1.0 }}
{''.join(f'[[estimators]]{chr(10)}spec = "{e}"{chr(10)}' for e in ESTIMATORS)}
[[tasks]]
name = "binary_codes"
family = "codebook"
params = {{ dim = 24, source = "codebook", K = "=2**D", output = "copy" }}
"""
ABS_TOL, REL_TOL = 0.1, 0.05  # the regime defaults


@pytest.fixture(scope="module")
def regimes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acceptance")
    path = folder / "suite.toml"
    path.write_text(textwrap.dedent(SUITE))
    return run_map(load_suite(str(path)), folder / "out", progress=False)["regimes"]


def predicted_bias(estimator, n, d):
    return expected_entropy(estimator, n, support=2**d) - d


def predicted_h_max(estimator, n):
    """Largest D with every D' <= D inside the bias tolerance, by exact expectation."""
    h = math.nan
    for d in DS:
        bias = abs(predicted_bias(estimator, n, d))
        if bias > ABS_TOL and bias > REL_TOL * d:
            break
        h = d
    return h


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_mean_estimate_matches_its_exact_expectation(regimes, estimator):
    rows = regimes[regimes["estimator"] == estimator]
    for row in rows.itertuples():
        expected = expected_entropy(estimator, int(row.n), support=2 ** int(row.d))
        assert abs(row.mean - expected) <= 4 * row.std / math.sqrt(row.seeds) + 2e-3, (row.n, row.d, row.mean, expected)


def regime_of(regimes, estimator, n, d):
    row = regimes[(regimes["estimator"] == estimator) & (regimes["n"] == n) & (regimes["d"] == d)]
    return row["regime"].item()


@pytest.mark.parametrize("n", NS)
def test_plugin_saturates_above_log2_n_and_is_reliable_below(regimes, n):
    log2n = math.log2(n)
    for d in DS:
        expected = expected_entropy("plugin", n, support=2**d)
        if d >= log2n + 4:
            assert abs(expected - log2n) < 0.1  # theory: pinned at the ceiling
            assert regime_of(regimes, "plugin", n, d) == "saturated", d
        if d <= log2n - 4:
            assert regime_of(regimes, "plugin", n, d) == "reliable", d


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("n", NS)
def test_reliable_region_ends_where_exact_expectation_says(regimes, estimator, n):
    points, _ = frontiers(regimes)
    measured = points[(points["estimator"] == estimator) & (points["n"] == n)]["max"].item()
    assert abs(measured - predicted_h_max(estimator, n)) <= 1, (measured, predicted_h_max(estimator, n))


@pytest.mark.parametrize("estimator", ESTIMATORS[1:])
def test_corrections_extend_the_reliable_region_by_the_predicted_amount(regimes, estimator):
    points, _ = frontiers(regimes)
    for n in NS:
        h = lambda e: points[(points["estimator"] == e) & (points["n"] == n)]["max"].item()  # noqa: E731
        measured_gain = h(estimator) - h("plugin")
        predicted_gain = predicted_h_max(estimator, n) - predicted_h_max("plugin", n)
        assert predicted_gain >= 0
        assert abs(measured_gain - predicted_gain) <= 1, (n, measured_gain, predicted_gain)
