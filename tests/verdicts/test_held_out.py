"""Intervals calibrated by held-out family (split conformal), checked against the
coverage theory of exchangeable scores and against order statistics computed directly."""
import math

import numpy as np
import pandas as pd
import pytest

import mibench
from mibench.tasks import parse_task
from mibench.verdicts import verdict as verdicts
from mibench.verdicts.calibration import (conformal_scale, family_scales, held_out_table, interval_scores, rescaled,
                                          unscaled_intervals)
from mibench.verdicts.families import FAMILIES


def test_the_factor_is_the_order_statistic_of_split_conformal_prediction():
    rng = np.random.default_rng(0)
    for n in (9, 10, 57, 200):
        scores = rng.exponential(size=n)
        k = math.ceil((n + 1) * 0.9)  # the k-th smallest of n scores (Vovk; Lei et al. 2018)
        assert conformal_scale(scores) == np.sort(scores)[k - 1]
    assert conformal_scale(rng.exponential(size=8)) == math.inf  # fewer than 9 scores cannot promise 90 %
    assert conformal_scale([np.nan, 1.0] * 10) == conformal_scale([1.0] * 10)  # NaN: not judged, left out


def test_a_fresh_exchangeable_case_is_covered_at_the_promised_rate():
    # for i.i.d. continuous scores the coverage of a fresh one is exactly ceil((n+1) 0.9) / (n+1)
    rng = np.random.default_rng(1)
    n, trials = 30, 4000
    covered = [rng.standard_cauchy() ** 2 <= conformal_scale(rng.standard_cauchy(n) ** 2) for _ in range(trials)]
    promised = math.ceil((n + 1) * 0.9) / (n + 1)
    assert abs(np.mean(covered) - promised) < 3 * math.sqrt(promised * (1 - promised) / trials)


def test_each_family_weighs_the_same_whatever_its_size():
    # 1,000 cases scoring 0.5 and 20 scoring 5: by case the 90 % point is 0.5, by family
    # half the weight is on the 5s, so the factor must reach them
    scores = [0.5] * 1000 + [5.0] * 20
    assert conformal_scale(scores) == 0.5
    assert conformal_scale(scores, [1 / 1000] * 1000 + [1 / 20] * 20) == 5.0


def _rows(family, truths, lo, hi, count_based=True):
    return pd.DataFrame({"family": family, "truth": truths, "interval_lo": lo, "interval_hi": hi,
                         "measured": "reliable", "interval_from": "map", "count_based": count_based,
                         "quantity": "I(X;Y)", "verdict": "reliable", "agree": True, "gross_error": False})


def test_a_family_never_sets_its_own_factor():
    # families a and b: truths within 0.8 half-widths of the centre; c: 10 half-widths off.
    # c's factor comes from a and b alone, so c's intervals miss, as they would for a user
    # whose data are unlike every family: the table must show it, not hide it
    a = _rows("a", np.linspace(1.2, 1.8, 20), 1.0, 2.0)
    b = _rows("b", np.linspace(3.2, 3.6, 20), 3.0, 4.0)
    c = _rows("c", [10.0] * 20, 4.0, 6.0)
    rows = pd.concat([a, b, c], ignore_index=True)
    table, factors = held_out_table(rows)
    assert conformal_scale(interval_scores(rows)[:40], [1 / 20] * 40) < 1  # a and b alone would narrow ...
    assert factors.loc["c", "counts"] == 1  # ... but an interval is never narrowed
    assert table.loc["c", "interval_coverage"] == 0
    assert table.loc["a", "interval_coverage"] == 1  # a's factor is c's 10 half-widths: a is covered
    assert family_scales(rows)["continuous"] == math.inf  # no continuous cases, no promise


def test_a_widened_interval_stays_within_what_the_truth_can_be():
    rows = _rows("a", [0.05], 0.0, 0.2)
    out = rescaled(rows, {"counts": 3.0, "continuous": 1.0})
    assert out["interval_lo"].iat[0] == 0.0 and out["interval_hi"].iat[0] == pytest.approx(0.4)
    exact = rows.assign(interval_from="exact", interval_lo=0.0, interval_hi=0.0)
    assert rescaled(exact, {"counts": 3.0, "continuous": 1.0})["interval_hi"].iat[0] == 0.0  # an exact I = 0 stays


def test_trust_widens_its_interval_by_the_shipped_factor(monkeypatch):
    task = parse_task("binary_codes(dim=6, output=bsc, eps=0.1)")
    x, y = task.sample(2048, 0)
    with unscaled_intervals():
        raw = mibench.trust(x, y, "plugin").interval
    monkeypatch.setattr(verdicts, "INTERVAL_SCALE", {"counts": 2.0, "continuous": 1.0})
    wide = mibench.trust(x, y, "plugin").interval
    assert raw[0] > 0.5  # far from 0: nothing is clipped
    assert wide[1] - wide[0] == pytest.approx(2 * (raw[1] - raw[0]))
    assert (wide[0] + wide[1]) / 2 == pytest.approx((raw[0] + raw[1]) / 2)


def test_an_interval_down_to_0_for_unseen_mass_is_never_widened_nor_fitted_on():
    # 12-bit codes through a BSC (eps = 0.2; exact I = 3.34 bits) by NSB at N = 4096: the
    # sample has seen ~1 % of the joint mass, every count estimator errs high (NSB +1.9), and
    # the interval's lower end goes to 0, which holds the truth; its upper end is the sources'
    # own. The held-out fit neither scores it nor widens it (as trust does not).
    task = parse_task("binary_codes(dim=12, source=bernoulli, p=0.5, output=bsc, eps=0.2)")
    x, y = task.sample(4096, 0)
    v = mibench.trust(x, y, "nsb")
    assert v.data.coverage < verdicts.BLIND_COVERAGE and v.regime != "reliable"
    assert v.interval[0] == 0.0 and v.interval[0] <= task.mutual_information <= v.interval[1]
    assert v.interval_from.endswith(" and unseen mass") and "probability mass (Good-Turing)" in str(v)
    with unscaled_intervals():
        assert mibench.trust(x, y, "nsb").interval == v.interval  # the shipped factors do not touch it
    rows = _rows("a", [5.0], 0.0, 2.0).assign(interval_from="subsampling and unseen mass")
    assert interval_scores(rows).isna().all()
    assert rescaled(rows, {"counts": 3.0, "continuous": 1.0})["interval_hi"].iat[0] == 2.0


def test_an_interval_below_a_ceiling_is_stated_and_never_widened(monkeypatch):
    # 24 fair bits, every row distinct, and a label independent of them (I = 0 exactly): the
    # plug-in sits at its own H(Y), a ceiling, and the truth may be anywhere from 0 to H(Y)
    # (with the tolerance as slack). That is stated, not estimated: a factor fitted on
    # estimates' errors widened it past what I(X;Y) <= H(Y) allows (1.100 -> 1.104 bits).
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 2, (2048, 24)), rng.integers(0, 2, 2048)
    v = mibench.trust(x, y, "plugin")
    assert v.regime == "saturated" and v.interval_from == "ceiling" and v.interval[0] <= 0.0
    assert v.interval[1] == pytest.approx(v.ceiling + 0.1) and v.ceiling <= 1.0
    monkeypatch.setattr(verdicts, "INTERVAL_SCALE", {"counts": 3.0, "continuous": 1.0})
    assert mibench.trust(x, y, "plugin").interval == v.interval
    rows = _rows("a", [0.0], 0.0, 1.1).assign(interval_from="ceiling")
    assert interval_scores(rows).isna().all()
    assert rescaled(rows, {"counts": 3.0, "continuous": 1.0})["interval_hi"].iat[0] == 1.1


def test_the_families_are_at_least_ten_and_span_discrete_continuous_and_networks():
    names = [f.name for f in FAMILIES]
    assert len(set(names)) == len(names) >= 10
    assert sum(n.startswith("network: ") for n in names) >= 5 and {"parity", "student_t", "gaussian"} <= set(names)


def test_a_binary_label_is_not_judged_by_cells_of_copied_codes(atlas):
    # force_to_1 held out of the map: at this margin the near cells were parity's (binary Y,
    # errs high, +0.47) and codebooks' (a code copied, at log2 N, errs low, -6.0); their
    # mean bias, -0.09, read as "only a small bias", and a 0.7-bit error was `reliable`
    from mibench.verdicts.calibration import held_out_atlas

    task = parse_task("force_to_1(dim=12, p=0.5, f=parity)")
    x, y = task.sample(1024, 0)
    v = mibench.trust(x, y, "plugin", maps=held_out_atlas(atlas, ["force_to_1"]))
    assert v.estimate - task.mutual_information > 0.6  # exact truth 0.21 bits
    assert v.regime == "biased" and v.expected_bias > 0.3, v
    assert all(c["family"] != "codebook" for c in v.map.cells)



def test_a_source_gets_its_own_factor_only_with_enough_cases_from_two_families():
    # "map" intervals (two families, 40 cases) miss by 3 half-widths, "subsampling" ones (one
    # family) by 0.5: the first gets its own factor, the second falls back to the kind's
    a = _rows("a", [4.0] * 20, 0.0, 2.0)  # centre 1, half 1: score 3
    b = _rows("b", [4.0] * 20, 0.0, 2.0)
    c = _rows("c", [1.5] * 20, 0.0, 2.0).assign(interval_from="subsampling")  # score 0.5
    rows = pd.concat([a, b, c], ignore_index=True)
    scales = family_scales(rows)
    assert scales["counts: map"] == 3.0 and "counts: subsampling" not in scales
    out = rescaled(rows, scales)
    assert out["interval_hi"].iat[0] == pytest.approx(4.0) and out["covered"].iat[0]
    assert out["interval_hi"].iat[40] == pytest.approx(1 + scales["counts"])


def test_checks_that_see_the_estimate_low_bound_the_truth_from_below_only():
    # 4+4-dim Gaussian, rho = 0.99: I = 11.30 bits (closed form). Kozachenko-Leonenko is bits
    # low; the checks see it low (on shuffled pairs it gives -0.14 bit; the copula KSG
    # reference sees more, yet is itself far below the truth: kNN needs samples exponential in
    # I): a band about either missed the truth above it, so the interval says "at least" and
    # has no upper end. Its lower end is the estimate's own band: a bias seen at I = 0 need not
    # hold at the sample's I
    task = parse_task("gaussian(dim_x=4, dim_y=4, rho=0.99)")
    x, y = task.sample(2048, 0)
    v = mibench.trust(x, y, "kozachenko_leonenko")
    assert task.mutual_information - v.estimate > 1.0
    assert v.regime == "biased" and v.interval_from == "truth-free checks" and v.checks.alarm == "null"
    assert v.interval[0] == pytest.approx(v.estimate - 1.645 * v.data.spread)
    assert v.interval[0] <= task.mutual_information and v.interval[1] == math.inf
    assert "no upper end" in str(v) and v.to_dict()["interval"][1] is None  # JSON has no infinity


def test_the_tail_index_matches_its_closed_form():
    from scipy import stats

    from mibench.verdicts.atlas import tail_index

    rng = np.random.default_rng(3)
    for law, draw in ((stats.norm, rng.standard_normal), (stats.t(3), lambda s: rng.standard_t(3, s)),
                      (stats.cauchy, rng.standard_cauchy), (stats.uniform, rng.random)):
        q1, q25, q75, q99 = law.ppf([0.01, 0.25, 0.75, 0.99])
        exact = math.log2((q99 - q1) / (q75 - q25))
        assert tail_index(draw((200_000, 2)), draw((200_000, 1))) == pytest.approx(exact, abs=0.03)
    assert math.isnan(tail_index(np.zeros((100, 3))))  # no column with spread


def test_heavy_tails_are_not_judged_by_gaussian_cells(atlas):
    # Student-t held out of the map: KSG on 2+2-dim Student-t with 1 dof (rho 0.5) at N = 512
    # is ~0.35 bit below the exact 1.04 bits; Gaussian cells, whose KSG is unbiased, called it
    # reliable. The map's Gaussian copulas with Cauchy marginals have its tails but not its
    # shared scale (their KSG is near unbiased too): no cell is like it, so the map must not vouch
    from mibench.verdicts.atlas import scale_dependence, tail_index
    from mibench.verdicts.calibration import held_out_atlas

    task = parse_task("student_t(dim_x=2, dim_y=2, rho=0.5, dof=1)")
    x, y = task.sample(512, 0)
    held_out = held_out_atlas(atlas, ["student_t"])
    v = mibench.trust(x, y, "ksg", maps=held_out)
    assert task.mutual_information - v.estimate > 0.2
    assert v.regime != "reliable" and v.map.regime == "unknown" and "kind of dependence" in v.map.reason, v
    shapes = held_out.cells.join(held_out._cell_shapes())
    cauchy_like = shapes[(shapes["estimator"] == "ksg") & ((shapes["tails"] - tail_index(x, y)).abs() < 0.6)]
    assert len(cauchy_like) >= 10 and (cauchy_like["scale"].abs() < 0.05).all() and scale_dependence(x, y) > 0.3


def test_the_scale_dependence_is_zero_for_gaussian_copulas_and_matches_student_t():
    # a Gaussian copula's squared normal scores correlate by exactly rho^2 (Isserlis), whatever
    # the marginals; Student-t's shared scale adds to it. Another route for Student-t with no
    # correlation: Monte Carlo of the same statistic on the scale mixture drawn directly
    from mibench.verdicts.atlas import scale_dependence

    for spec in ("gaussian(rho=0.3)", "gaussian(dim_x=3, dim_y=2, rho=0.95, transforms=(cauchy,))"):
        assert abs(scale_dependence(*parse_task(spec).sample(100_000, 0))) < 0.01, spec
    rng = np.random.default_rng(2)
    w = np.sqrt(3 / rng.chisquare(3, 100_000))[:, None]  # dof 3: one scale shared by X and Y
    direct = scale_dependence(w * rng.standard_normal((100_000, 1)), w * rng.standard_normal((100_000, 1)))
    task = scale_dependence(*parse_task("student_t(rho=0.0, dof=3)").sample(100_000, 1))
    assert 0.3 < direct < 0.42 and task == pytest.approx(direct, abs=0.02)
    assert math.isnan(scale_dependence(np.zeros((50, 2)), rng.standard_normal((50, 1))))  # no column pair with spread


def test_a_left_out_kind_takes_its_named_variants_with_it(atlas):
    from mibench.verdicts.calibration import held_out_atlas

    fake = atlas.cells.head(4).assign(family=["student_t", "student_t_dof1_r50", "student_tx", "copula_t2_r90"])
    from mibench.verdicts.atlas import COLUMNS, Atlas

    kept = held_out_atlas(Atlas(fake[COLUMNS], {}), ["student_t"]).cells["family"].tolist()
    assert kept == ["student_tx", "copula_t2_r90"]  # a suffix after "_" is a variant; another name is not
    assert len(held_out_atlas(Atlas(fake[COLUMNS], {}), []).cells) == 4


def test_a_shared_scale_is_judged_by_cells_that_share_one(atlas):
    # Student-t held out: KSG on 2+2-dim Student-t with 2 dof and no correlation misses part of
    # the shared scale's information (exact 0.279 bit; ten seeds average 0.2 bit low, a spread
    # of 0.04), on a flat curve with no alarm of the checks. Gaussian scale mixtures, another
    # law with the same kind of dependence, show that bias: the verdict is `biased`, not the
    # `reliable` of clean-looking data nor the `unknown` of a map without such cells
    from mibench.judging import regime
    from mibench.registry import make_estimator
    from mibench.verdicts.calibration import held_out_atlas

    task = parse_task("student_t(dim_x=2, dim_y=2, rho=0.0, dof=2)")
    truth = task.mutual_information
    errors = [float(make_estimator("ksg").mutual_information(*task.sample(512, s))) - truth for s in range(10)]
    assert regime(0, truth + np.mean(errors), np.mean(errors), np.std(errors, ddof=1), 10, truth, False) == "biased"
    assert np.mean(errors) < -0.15
    v = mibench.trust(*task.sample(512, 0), "ksg", maps=held_out_atlas(atlas, ["student_t"]))
    assert v.regime == "biased" and v.expected_bias < -0.1, v
    assert {c["family"].rsplit("_", 1)[0] for c in v.map.cells} <= {"scale_mixture_s3", "scale_mixture_s5",
                                                                    "scale_mixture_s20"}
    assert v.interval[0] <= truth <= v.interval[1]
    without = mibench.trust(*task.sample(512, 0), "ksg", maps=held_out_atlas(atlas, ["student_t", "scale_mixture"]))
    assert without.regime == "unknown"  # no cell shares the scale: said so, not vouched for


def test_a_second_measurement_uses_other_seeds_and_tells_how_often_the_class_agrees_with_itself(atlas):
    # the replicated class is measured on seeds 10-19; its mean is recomputed here seed by seed
    from mibench.registry import parse_spec
    from mibench.verdicts.calibration import evaluate, measured_class, same_class, task_cases

    case = task_cases(["parity(dim=4, noise=0.1)"], ["plugin"], [256], "parity")[0]
    est = parse_spec("plugin")
    by_hand = [float(est.mutual_information(*case.sample(256, s))) for s in range(10, 20)]
    again = measured_class(case, first_seed=10)
    assert again["mean"] == pytest.approx(np.mean(by_hand), abs=1e-9)
    assert again["mean"] != pytest.approx(measured_class(case)["mean"], abs=1e-6)  # other samples
    row = evaluate([case], atlas, replicate=True).iloc[0]
    assert row["measured_again"] == again["measured"] and row["self_agree"] == (row["measured"] == again["measured"])
    # a class read at the ceiling counts as the other's, as a verdict's `saturated` does; otherwise classes must match
    assert same_class({"measured": "saturated", "at_ceiling": True}, {"measured": "reliable", "at_ceiling": True})
    assert not same_class({"measured": "biased", "at_ceiling": False}, {"measured": "unstable", "at_ceiling": False})
