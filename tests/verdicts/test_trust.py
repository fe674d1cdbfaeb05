"""Trust verdicts, checked against exact truth computed another way: task truths, the
population values of reference dumps, and the map's own stored groups re-run."""
import json
import math
import warnings

import numpy as np
import pandas as pd
import torch
import pytest

import mibench
from mibench.dumps.nets import train_reference
from mibench.map.cells import Group
from mibench.map.sweep import run_group
from mibench.tasks import parse_task
from mibench.verdicts.atlas import Atlas, AtlasError, build_atlas
from mibench.verdicts.calibration import agreement_table, dump_cases, evaluate, held_out_atlas, task_cases
from mibench.verdicts.evidence import _remaining_bias
from mibench.verdicts.score import COLUMNS, score_dump


def test_a_well_sampled_code_is_reliable_and_its_interval_holds_the_truth():
    task = parse_task("binary_codes(dim=3, output=bsc, eps=0.1)")
    x, y = task.sample(16384, 0)
    v = mibench.trust(x, y, "miller_madow")
    assert v.regime == "reliable", v
    assert abs(v.estimate - task.mutual_information) < 0.05
    assert v.interval[0] <= task.mutual_information <= v.interval[1]
    assert v.map.regime == "reliable" and v.map.cells


def test_all_distinct_rows_with_labels_sit_at_h_of_y_and_are_saturated():
    task = parse_task("force_to_1(dim=24, p=0.5, f=parity)")
    x, y = task.sample(2048, 0)
    v = mibench.trust(x, y, "plugin")
    assert v.regime == "saturated" and v.ceiling_of == "H(Y)"
    assert v.estimate == pytest.approx(v.ceiling) and v.estimate - task.mutual_information > 0.3
    assert "H(Y)" in v.reason


def test_a_label_that_repeated_rows_show_to_be_a_function_of_x_is_reliable_at_h_of_y():
    # An injective layer: 4,096 distinct 12-bit codes, the label a function of the code, so
    # I(T;Y) = H(Y) = 1 bit exactly. Drawn with replacement, N = 2048 rows repeat ~450
    # times and every repeat carries its label: the estimate at H(Y) is the truth, not a
    # sample-size ceiling. The same rows with a label drawn afresh for each row (10 %
    # flipped: I = 1 - h(0.1) = 0.53 bit) sit near H(Y) too, and must not be called reliable.
    rng = np.random.default_rng(4)
    codes = (np.arange(4096)[:, None] >> np.arange(12)) & 1
    rows = rng.integers(0, 4096, 2048)
    x, y = codes[rows], codes[rows].sum(1) % 2
    v = mibench.trust(x, y, "plugin")
    assert v.entropy_of == "Y" and v.d == 12  # judged as H(Y), which the repeats show I(X;Y) to be
    assert v.regime == "reliable" and abs(v.estimate - 1.0) < 0.01, v
    assert v.interval[0] <= 1.0 <= v.interval[1]
    # Y a copy of X (4,096 values, under 1 row each on average): I(X;Y) = H(Y) = 12 bits, but
    # H(Y) itself is badly estimated, and judged as such
    copy = mibench.trust(x, rows[:, None], "plugin")
    assert copy.entropy_of == "Y" and copy.estimate < 11.5 and copy.regime != "reliable"
    assert copy.interval[0] <= 12.0 <= copy.interval[1], copy
    noisy = y ^ (rng.random(2048) < 0.1)
    w = mibench.trust(x, noisy, "plugin")
    assert w.data.y_function_of_x is False and w.estimate - 0.531 > 0.3
    assert w.regime != "reliable", w


def test_a_nearly_injective_layer_is_reliable_at_h_of_y_despite_a_few_mixed_patterns():
    # 4,096 inputs with balanced parity labels; 16 pairs of inputs of opposite labels share
    # one code (a layer that merges a few inputs), so by exact enumeration over the population
    # I(T;Y) = H(Y) - H(Y|T) = 1 - 32/4096 = 0.992 bit: within the tolerance of H(Y), and the
    # estimate there is the truth. Repeats of the merged codes carry both labels, which the
    # old all-or-nothing rule read as "not a function" and left the map's saturated cells to
    # call it biased.
    rng = np.random.default_rng(5)
    codes = (np.arange(4096)[:, None] >> np.arange(12)) & 1
    labels = codes.sum(1) % 2
    merged = codes.copy()
    for i in range(16):  # input 2i+1 takes input 2i's code; their parities differ
        merged[2 * i + 1] = merged[2 * i]
    _, ids = np.unique(merged, axis=0, return_inverse=True)
    joint = np.zeros((ids.max() + 1, 2))
    np.add.at(joint, (ids.reshape(-1), labels), 1 / 4096)
    p_t = joint.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = 1.0 - float(-np.nansum(joint * np.log2(joint / p_t)))
    assert exact == pytest.approx(1 - 32 / 4096, abs=1e-9)
    rows = rng.integers(0, 4096, 4096)
    v = mibench.trust(merged[rows], labels[rows], "plugin")
    assert v.data.y_function_of_x, v
    assert v.regime == "reliable" and abs(v.estimate - exact) < 0.1, v
    assert v.interval[0] <= exact <= v.interval[1]


def test_the_remaining_bias_is_read_off_a_power_law_curve():
    # A curve I(n) = 1 + 5 n^-a has bias 5 N^-a at N, for any decay a in the range the
    # curve's own shape is trusted for; outside it the bias is overstated, never understated.
    for a in (0.5, 0.8, 1.0, 1.5, 2.0):
        curve = [{"n": n, "mean": 1 + 5 * n**-a, "std": 0.0} for n in (1024, 512, 256, 128)]
        assert _remaining_bias(curve, 0.0) == pytest.approx(5 * 1024**-a, rel=1e-9)
    curve = [{"n": n, "mean": 1 + 5 * n**-3.0, "std": 0.0} for n in (1024, 512, 256, 128)]
    assert _remaining_bias(curve, 0.0) > 5 * 1024**-3.0
    # steps lost in the noise say nothing about the decay: a = 1, the bias is the last step
    noisy = [{"n": 1024, "mean": 1.0, "std": 0.0}, {"n": 512, "mean": 1.02, "std": 0.3}, {"n": 256, "mean": 1.03, "std": 0.3}]
    assert _remaining_bias(noisy, 0.05) == pytest.approx(0.02)


def error_and_verdict(task_id: str, n: int, estimator: str, atlas: Atlas):
    """(estimate - exact truth, verdict) on seed 0's sample of a task."""
    task = parse_task(task_id)
    x, y = task.sample(n, 0)
    v = mibench.trust(x, y, estimator, maps=atlas)
    return v.estimate - task.mutual_information, v


@pytest.fixture(scope="module")
def held_atlas(atlas):
    return held_out_atlas(atlas, ["parity", "force_to_1", "student_t"])


def test_a_curve_still_coming_off_its_ceiling_is_biased(held_atlas):
    # force_to_1 at D = 12 by Grassberger, N = 2048: the estimate is ~0.39 bit above the
    # exact truth, the map (without this family) expects a small negative bias, and a line
    # in 1/N through the subsampling curve lands near the estimate (through N/8 ... N it
    # extrapolated *above* it: the curve bends as it leaves its ceiling), so nothing rests on
    # the line. The last doubling still moves it down: biased, bias > 0.
    error, v = error_and_verdict("force_to_1(dim=12, p=0.3, f=parity)", 2048, "grassberger", held_atlas)
    assert error > 0.3
    assert v.data.extrapolated > v.estimate - error / 4  # the line sees a fraction of the error at most
    assert v.data.regime == "biased" and v.data.remaining_bias > 0.1 and v.regime == "biased", v
    assert v.expected_bias == v.data.remaining_bias and "bias remain" in v.reason
    assert v.interval[0] <= v.estimate - error <= v.interval[1]


def test_a_sample_that_has_seen_the_mass_outweighs_a_map_expecting_bias(held_atlas):
    # 64 patterns, N = 2048: the Good-Turing coverage is ~1, the curve is flat and the
    # estimate within 0.02 bit of the exact truth; the held-out map's nearest cells expect
    # +0.2 bit. The data win, and say why.
    error, v = error_and_verdict("parity(dim=6, noise=0.2)", 2048, "miller_madow", held_atlas)
    assert abs(error) < 0.05
    assert v.map.regime == "biased" and v.map.expected_bias > 0.1 and v.data.coverage > 0.99
    assert v.regime == "reliable" and "probability mass" in v.reason, v


def test_map_cells_at_their_ceiling_say_biased_for_a_sample_below_its_own(atlas):
    # 12-bit codes through a BSC, N = 2048, Grassberger: 1,609 distinct rows, not at the
    # ceiling; the map's nearest cells sit at theirs. The estimate is ~4 bits above the
    # exact truth: biased (not saturated, which the sample is not; not reliable, which the
    # flat curve alone would suggest).
    error, v = error_and_verdict("binary_codes(dim=12, source=bernoulli, p=0.5, output=bsc, eps=0.1)", 2048,
                                 "grassberger", atlas)
    assert error > 3.0
    assert v.map.regime == "saturated" and not v.data.at_ceiling and v.data.regime == "reliable"
    assert v.regime == "biased" and "not at its own" in v.reason, v


def test_a_large_spread_gives_way_to_a_larger_expected_bias(atlas):
    # NSB on 8-bit BSC codes at N = 512: the subsampled spread (0.35 bit) is over the
    # tolerance, but the map's cells expect a larger bias (0.5 bit), and the truth is ~1 bit
    # below the estimate: the error is bias, as the map's own rules would call it.
    error, v = error_and_verdict("binary_codes(dim=8, source=bernoulli, p=0.5, output=bsc, eps=0.1)", 512, "nsb", atlas)
    assert error > 0.5
    assert v.data.regime == "unstable" and v.map.expected_bias > v.data.spread
    assert v.regime == "biased", v


def test_an_estimate_standing_apart_from_the_count_estimators_is_biased_not_unstable(atlas):
    # NSB on 12-bit codes through a BSC (eps = 0.2), N = 4096, with the BSC cells left out of
    # the map: ten fresh samples put NSB ~1.9 bits above the exact truth with a seed std of
    # ~0.25 bit -- biased by the map's own rules. One sample's subsampling curve sees a spread
    # over the tolerance and no bias ("unstable"). The panel's median and most of its other
    # members lie far from it, beyond twice that spread: the verdict says biased, high, and
    # shows the panel.
    task = parse_task("binary_codes(dim=12, source=bernoulli, p=0.5, output=bsc, eps=0.2)")
    samples = [task.sample(4096, seed) for seed in range(10)]
    seeds = np.array([mibench.mutual_information(x, y, "nsb") for x, y in samples])
    assert seeds.mean() - task.mutual_information > 1.5 and seeds.std(ddof=1) < 0.4
    v = mibench.trust(*samples[0], "nsb", maps=held_out_atlas(atlas, ["bsc_codes"]))
    assert v.data.regime == "unstable" and v.map.regime == "unknown"
    assert v.regime == "biased" and "count estimators" in v.reason, v
    # the panel sits *above* NSB here, though NSB is itself too high: the gap says a bias is
    # there, not which way, so no expected bias is invented and the interval spans the panel
    assert v.panel.own == "nsb" and abs(v.panel.gap) > 2 * v.data.spread and math.isnan(v.expected_bias)
    assert set(v.panel.values) == {"plugin", "miller_madow", "grassberger", "nsb", "chao_shen", "jvhw"}
    assert v.interval[0] <= min(v.panel.values.values()) and v.interval[1] >= max(v.panel.values.values())
    assert "panel" in json.dumps(v.to_dict()) and "panel:" in str(v)


def test_a_panel_split_in_halves_says_nothing(atlas):
    # 30-bin codes of 4 independent normal columns against a parity label, N = 10^4: I = 0
    # exactly. Nearly every row is distinct, so plug-in, Miller-Madow and Grassberger say
    # 0.7-0.9 bit while NSB, Chao-Shen and JVHW say 0-0.1: the panel splits in halves, NSB's
    # median gap is large, but half the panel agrees with it. It must not be called biased
    # for that: its error is 0.02 bit.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10_000, 4)), rng.integers(0, 2, (10_000, 1))
    v = mibench.trust(x, y, "binned(nsb, rule=uniform, bins=30)", maps=atlas)
    assert abs(v.estimate) < 0.05 and abs(v.panel.gap) > 0.3
    assert sorted(v.panel.values.values())[3] - sorted(v.panel.values.values())[2] > 0.5  # two halves
    assert v.regime != "biased", v


def test_a_panel_verdict_where_nothing_else_gives_an_interval_spans_the_panel():
    # H(X) of 10 fair bits (exactly 10 bits) by JVHW on 256 rows: the blocks sit at their
    # own ceiling (no curve) and the map has no cell, so only the panel speaks; the verdict
    # still needs an interval, and the truth lies within what the panel spans
    x = np.random.default_rng(15).integers(0, 2, (256, 10))
    v = mibench.trust(x, None, "jvhw")
    assert v.regime == "biased" and v.interval_from == "panel", v  # it spans the plug-in already: no floor to add
    lo, hi = v.interval
    assert lo <= min(v.panel.values.values()) and hi >= max(v.panel.values.values()) and lo <= 10.0 <= hi
    assert "every value the count estimators gave" in str(v)


def test_the_panel_repeats_no_warning_the_users_estimator_gave(monkeypatch):
    # values outside a fixed range warn once per estimate of the user's estimator; its five
    # panel members see the same codes and must not say it five more times
    from mibench.verdicts import verdict

    rng = np.random.default_rng(0)
    x = 2 * rng.normal(size=(2000, 2))
    y = (x[:, 0] > 0).astype(int)
    spec = "binned(plugin, rule=fixed, bins=4, range=(-1.0, 1.0))"

    def warned() -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mibench.trust(x, y, spec)
        return len(caught)

    with_panel = warned()
    monkeypatch.setattr(verdict, "panel_evidence", lambda *args: None)
    assert with_panel == warned() > 0


def test_map_cells_that_failed_give_no_invented_bias():
    # Near cells whose seeds failed have no bias: the map's bias comes from the others, and
    # when none has one the verdict says the estimator fails here, never "reliable".
    import pandas as pd

    from mibench.verdicts.atlas import _vote
    from mibench.verdicts.evidence import DataEvidence
    from mibench.verdicts.verdict import combine

    near = pd.DataFrame({"family": "codebook", "task_id": "t", "estimator": "nsb", "n": 64, "d": 8, "bins": None,
                         "truth": 3.0, "mean": [np.nan, 3.2], "bias": [np.nan, 0.2], "std": [np.nan, 0.1],
                         "regime": ["undefined", "biased"], "distance": [0.1, 0.3]})
    some = _vote(near, "nsb")
    assert some.expected_bias == pytest.approx(0.2) and some.spread == pytest.approx(0.1)
    none = _vote(near.iloc[:1], "nsb")
    assert none.regime == "undefined" and np.isnan(none.expected_bias) and "failed" in none.reason
    clean = DataEvidence(regime="reliable", reason="flat", n=64, coverage=0.5)
    assert combine(none, clean)[0] == "undefined"


def test_an_estimator_the_map_never_saw_is_unknown_with_the_reason_and_data_diagnostics():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, (4096, 2))
    y = (x[:, 0] + rng.integers(0, 2, 4096)) % 4
    v = mibench.trust(x, y, "nsb(K=64)")
    assert v.map.regime == "unknown" and "never mapped" in v.map.reason
    assert v.data.distinct == 16 and v.data.coverage == pytest.approx(1.0)
    assert v.regime in ("unknown", "biased", "unstable")  # never reliable without a map


def test_jvhw_is_judged_on_map_cells_of_its_own_from_other_families(atlas):
    # JVHW is in the default suite, so the shipped map holds its cells. With the codebook
    # family left out, a 9-bit codebook copied to Y (I = 9 bits exactly) is judged from
    # the other families' JVHW cells: right at N = 4096 (the estimate within 0.01 bit), 0.6
    # bit high at N = 256, where a verdict must not say reliable
    held = held_out_atlas(atlas, ["codebook"])
    task = parse_task("binary_codes(dim=40, source=codebook, K=512, codebook_seed=0, output=copy)")
    for n, off in ((256, True), (4096, False)):
        x, y = task.sample(n, 0)
        v = mibench.trust(x, y, "jvhw", maps=held)
        error = v.estimate - task.mutual_information
        assert (abs(error) > 0.3) == off, error  # both branches below are exercised
        assert v.map.regime != "unknown" and v.map.cells, v
        assert all(c["family"] != "codebook" for c in v.map.cells)
        if abs(error) > 0.3:
            assert v.regime != "reliable", v
        else:
            assert v.regime == "reliable" and v.interval[0] <= task.mutual_information <= v.interval[1], v


def test_n_below_every_map_cell_is_unknown_not_invented():
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 2, (20, 2)), rng.integers(0, 2, 20)
    v = mibench.trust(x, y, "plugin")
    assert v.map.regime == "unknown" and "below every map cell" in v.map.reason
    assert v.regime != "reliable"


def test_one_class_or_a_dead_layer_gives_zero_on_the_sample_and_says_what_unseen_values_may_hold():
    # I(X;Y) <= H(constant side), and a value never seen in 512 rows has probability below
    # 3/512 (rule of three), worth at most h(3/512) = 0.052 bit: the interval, not the point 0
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 2, (512, 4)), rng.integers(0, 2, 512)
    p = 3 / 512
    h = -p * math.log2(p) - (1 - p) * math.log2(1 - p)
    for xs, ys, side in ((x, np.zeros(512, int), "Y"), (np.zeros((512, 4), int), y, "X")):
        v = mibench.trust(xs, ys, "plugin")
        assert v.estimate == 0.0 and v.regime == "reliable" and f"{side} takes a single value" in v.reason
        assert v.interval == pytest.approx((0.0, h)) and v.interval_from == "rule of three" and v.expected_bias == 0.0


def test_a_side_constant_on_few_rows_is_not_vouched_for():
    # 40 draws of a Bernoulli(0.05) X are all 0 in 13 % of samples; with Y = X the truth is
    # h(0.05) = 0.286 bit, and the verdict was `reliable` with the interval (0, 0)
    x = np.zeros(40, dtype=int)
    truth = -0.05 * math.log2(0.05) - 0.95 * math.log2(0.95)
    for v in (mibench.trust(x, x.copy(), "plugin"), mibench.trust(x, None, "plugin")):
        assert v.estimate == 0.0 and v.regime == "unknown" and "cannot vouch" in v.reason, v
        assert v.interval[0] <= truth <= v.interval[1], v
    # a bound below h(3/N) caps the interval, and an estimate within the tolerance of all of it is reliable
    v = mibench.trust(np.arange(40), np.zeros(40, dtype=int), "plugin", bound=0.05)
    assert v.regime == "reliable" and v.interval == (0.0, 0.05) and v.interval_from == "bound", v
    # rows recorded again are no new draws: 232 rows of 116 inputs vouch as 116 draws do
    p = 3 / 116
    v = mibench.trust(np.zeros(232, dtype=int), None, "plugin", input_ids=np.arange(232) // 2)
    assert v.regime == "unknown" and v.interval == pytest.approx((0.0, -p * math.log2(p) - (1 - p) * math.log2(1 - p)))


def test_an_estimate_inside_what_a_constant_side_allows_is_not_called_biased():
    # NSB with K = 16 on a constant Y gives +0.012 bit; the truth lies in [0, h(3/100)] = [0, 0.194]:
    # with a tolerance of 0.01 the estimate is neither within it of every such truth nor outside
    v = mibench.trust(np.arange(100) % 4, np.zeros(100, dtype=int), "nsb(K=16)", tolerances={"abs_tol": 0.01})
    assert 0.0 < v.estimate < v.interval[1] and v.regime == "unknown", v


def test_a_constant_side_with_no_finite_estimate_is_undefined_not_biased():
    from mibench.interface import UndefinedEstimateWarning

    with pytest.warns(UndefinedEstimateWarning, match="all 100 samples are distinct"):  # NSB without K: NaN here
        v = mibench.trust(np.arange(100), np.zeros(100, dtype=int), "nsb")
    assert math.isnan(v.estimate) and v.regime == "undefined" and "no finite value" in v.reason, v


def test_a_judged_verdict_always_has_an_interval():
    # too few rows for a curve or a map cell: the bound alone (biased), or the label's ceiling
    # (reliable: Y = X mod 2 of 8 equally likely values, I = H(Y) = 1 bit exactly)
    c = np.random.default_rng(1).integers(0, 8, 20)
    v = mibench.trust(c, c.copy(), "plugin", bound=0.5)
    assert v.regime == "biased" and v.interval == (0.0, 0.5) and v.interval_from == "bound", v
    x = np.random.default_rng([59, 8]).integers(0, 8, 59)
    v = mibench.trust(x, x % 2, "nsb(K=8)")
    assert v.regime == "reliable" and v.interval[0] <= 1.0 <= v.interval[1] < 1.5, v


def test_ids_may_be_names_and_tensors_may_be_bfloat16():
    c = np.random.default_rng(0).integers(0, 4, 200)
    numbers = mibench.trust(c, c % 2, "plugin", input_ids=np.arange(200) // 2)
    names = mibench.trust(c, c % 2, "plugin", input_ids=pd.Series([f"img{i // 2}.png" for i in range(200)]))
    assert (names.regime, names.interval, names.data.coincidences) == (numbers.regime, numbers.interval,
                                                                        numbers.data.coincidences)
    g = torch.randn(300, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    h = (g.float() + torch.randn(300, generator=torch.Generator().manual_seed(1))).to(torch.bfloat16)
    assert mibench.trust(g, h, "ksg").estimate == mibench.trust(g.float(), h.float(), "ksg").estimate


def test_ids_missing_are_inputs_of_their_own_and_a_reference_needs_enough_inputs():
    c = np.random.default_rng(0).integers(0, 4, 200)
    ids = np.arange(200.0)
    ids[:150] = np.nan  # unnamed inputs: not one input recorded 150 times
    assert mibench.trust(c, c % 2, "plugin", input_ids=ids).data.coincidences == \
        mibench.trust(c, c % 2, "plugin").data.coincidences
    # 8 inputs each recorded 40 times with noise: 8 rows cannot give a kNN reference (its
    # standard error from two halves of 4 rows came out 0 and raised a false alarm)
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(8), 40)
    x = rng.normal(size=8)[ids] + 0.3 * rng.normal(size=320)
    v = mibench.trust(x, 0.6 * x + rng.normal(size=320), "gcmi", input_ids=ids)
    assert math.isnan(v.checks.reference) and "8 distinct inputs are too few" in " ".join(v.checks.notes)
    assert v.checks.alarm is None


def test_the_reference_reads_each_input_once():
    # a Gaussian sample recorded twice, with ids: the copula kNN reference on every row sat
    # at 1.33 bits (each row's twin at distance 0) and called a right Gaussian-copula
    # estimate biased, interval [1.30, inf); the truth is -0.5 log2(1 - 0.25) = 0.208 bit
    rng = np.random.default_rng(0)
    g = rng.normal(size=500)
    h = 0.5 * g + math.sqrt(0.75) * rng.normal(size=500)
    once = mibench.trust(g, h, "gcmi")
    v = mibench.trust(np.r_[g, g], np.r_[h, h], "gcmi", input_ids=np.r_[np.arange(500), np.arange(500)])
    assert v.checks.reference == pytest.approx(once.checks.reference)
    assert v.regime != "biased" and abs(v.estimate - 0.208) < 0.1, v


def test_another_kind_agreeing_does_not_vouch_where_knn_errs_low():
    # tanh-squashed 4 + 4 Gaussians (rho 0.8 per pair): I = -2 log2(1 - 0.64) = 2.95 bits
    # exactly; a Gaussian fit gives 2.14-2.28 and KSG on normal scores agrees (2.2-2.3, low as
    # kNN is at this I and D): no map cell near, and that agreement had made 3 of these 5
    # samples `reliable` (2 of 5 while KSG cells of D = 2, reliable at 2.3 bits, still spoke)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        g = rng.normal(size=(1024, 4))
        h = 0.8 * g + 0.6 * rng.normal(size=(1024, 4))
        v = mibench.trust(np.tanh(2 * g), np.tanh(2 * h), "parametric_gaussian")
        assert 2.948 - v.estimate > 0.5 and v.regime != "reliable", v


def test_a_curve_riding_the_blocks_ceiling_gives_no_bias_and_the_map_speaks():
    # 8-bit codes through a BSC at N = 64: 59 distinct rows; each block of 32 rows sits
    # just under log2 32, so the curve rises with N and a bias read from it would have the
    # wrong sign (-2 bits, for an estimate 1.4 bits *above* the exact truth).
    error, v = error_and_verdict("binary_codes(dim=8, output=bsc, eps=0.1)", 64, "plugin", Atlas.shipped())
    assert error > 1.0
    assert v.data.blocks_at_ceiling and v.data.regime == "unknown" and np.isnan(v.data.remaining_bias)
    # the map made the interval; 5 of 64 rows repeat, so its lower end goes to 0 (unseen mass)
    assert v.regime == "biased" and v.expected_bias > 0 and v.interval_from == "map and unseen mass"
    assert v.interval[0] == 0.0 <= v.estimate - error <= v.interval[1]


def test_a_small_expected_bias_without_a_curve_is_not_called_biased():
    # N = 63 is too few rows to subsample; the nearest cells vote untrusted (unstable) but
    # expect a bias within the tolerance: the verdict says it cannot tell.
    error, v = error_and_verdict("binary_codes(dim=2, output=bsc, eps=0.3)", 63, "plugin", Atlas.shipped())
    assert v.data.regime == "unknown" and v.map.regime in ("biased", "unstable") and abs(v.map.expected_bias) <= 0.1
    assert v.interval[0] <= v.estimate - error <= v.interval[1]
    assert v.regime == "unknown", v


def test_bad_tolerances_and_undefined_estimates_are_said_plainly():
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 2, (256, 3)), rng.integers(0, 2, 256)
    with pytest.raises(ValueError, match=r"abs_tol.*> 0; got nan.*'tol'.*unknown key"):
        mibench.trust(x, y, tolerances={"abs_tol": float("nan"), "tol": 0.5})
    with pytest.raises(ValueError, match="rel_tol.*not used"):
        mibench.trust(x, y, tolerances={"rel_tol": 0.05})
    with pytest.warns(mibench.UndefinedEstimateWarning):  # every row distinct: NSB without K has no value
        v = mibench.trust(rng.integers(0, 2**30, (256, 1)), rng.integers(0, 2**30, (256, 1)), "nsb")
    assert v.regime == "undefined" and "no finite value" in str(v) and "nan" not in str(v).lower()
    assert "no finite entropies" in v.map.reason


def test_the_verdict_reads_like_a_note_and_serializes_to_strict_json():
    rng = np.random.default_rng(4)
    v = mibench.trust(rng.integers(0, 2, (1000, 3)), rng.integers(0, 2, 1000))
    text = str(v)
    assert text.startswith("I(X;Y) by plugin") and "Verdict:" in text and "map  [" in text and "data [" in text
    json.dumps(v.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="equal length"):
        mibench.trust(np.zeros((10, 1)), np.zeros(9))
    with pytest.raises(ValueError, match="one sample"):
        mibench.trust(np.zeros((2, 10, 1)), np.zeros((2, 10, 1)))


def test_the_shipped_map_states_where_it_came_from(atlas):
    p = atlas.provenance
    assert p["suites"] == ["default", "trust"] and p["version"] and p["date"] and "mibench atlas" in p["command"]
    assert len(atlas.cells) == p["groups"] > 1000


def test_random_groups_of_the_shipped_map_reproduce(atlas):
    cells = atlas.cells
    cheap = cells[(cells["kind"] == "counts") & cells["d"].notna() & (cells["n"] <= 4096)
                  & cells["family"].isin(["codebook", "bsc_codes", "parity", "force_to_1"])]
    for _, row in cheap.sample(4, random_state=np.random.RandomState(7)).iterrows():
        task = parse_task(row["task_id"])
        group = Group(row["estimator"], row["family"], task.name, tuple(task.get_params().items()), row["task_id"],
                      int(row["n"]), int(row["d"]), None, tuple(range(int(row["seeds"]))))
        estimates = [c.estimate for c in run_group(group)]
        assert np.mean(estimates) == pytest.approx(row["mean"], rel=1e-8, abs=1e-9), row["task_id"]


def test_a_map_dir_from_another_version_or_without_a_map_is_refused(atlas, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    with pytest.raises(AtlasError, match="holds no map"):
        Atlas.from_dir(folder)
    atlas.cells.head(50).to_csv(folder / "regimes.csv", index=False)
    build_atlas(folder, tmp_path / "a")
    assert len(Atlas.from_dir(tmp_path / "a").cells) == 50
    text = (tmp_path / "a" / "atlas.json").read_text().replace(f'"version": "{mibench.__version__}"', '"version": "0.0.1"')
    (tmp_path / "a" / "atlas.json").write_text(text)
    with pytest.raises(AtlasError, match="0.0.1"):
        Atlas.from_dir(tmp_path / "a")


def test_population_snapshots_with_all_distinct_patterns_are_saturated(tanh_dump):
    scores = score_dump(tanh_dump, ["binned(plugin, rule=fixed, bins=30, range=(-1.0, 1.0))"])
    assert list(scores.columns) == COLUMNS
    xt = scores[scores["quantity"] == "I(X;T)"]
    exact_h = [tanh_dump.exact_information(l, e, bins=30)["H(T)"] for l, e in zip(xt["layer"], xt["epoch"])]
    assert np.allclose(xt["estimate"], exact_h)  # a population's plug-in value is its exact value
    distinct = xt["distinct"] == tanh_dump.n
    assert distinct.any() and (xt.loc[distinct, "regime"] == "saturated").all()
    assert (xt.loc[xt["estimate"] < 11, "regime"] == "reliable").all()


def test_a_narrow_bnn_layer_is_reliable(tmp_path):
    path = tmp_path / "bnn.npz"
    train_reference("bnn", epochs=300, snapshots=4, seed=0, out=path)
    with mibench.Dump(path) as dump:
        scores = score_dump(dump)
    narrow = scores[scores["d"] <= 8]
    assert len(narrow) and (narrow["regime"] == "reliable").all(), narrow[["snapshot", "quantity", "regime", "reason"]]


def test_an_entropy_the_sample_cannot_place_reaches_down_to_the_plugin(tanh_dump):
    # H(T) of the untrained tanh net's first layer (30 bins; exact over the 4,096 inputs) by
    # JVHW on 256 rows drawn from the population: the sample sees ~5 % of the mass; the map's
    # nearest H cells expect JVHW 1 bit low, so the interval sat above the truth. The plug-in
    # falls below the truth on average for any distribution, and the interval now reaches down
    # to its value, which holds the exact H.
    layer, epoch = tanh_dump.snapshots()[0]
    t = tanh_dump.snapshot(layer, epoch)
    exact = tanh_dump.exact_information(layer, epoch, bins=30)["H(T)"]
    rows = np.random.default_rng(0).integers(0, len(t), 256)
    v = mibench.trust(t[rows], None, "binned(jvhw, rule=fixed, bins=30, range=(-1.0, 1.0))")
    assert v.regime != "reliable" and v.data.coverage < 0.25
    assert v.interval[0] <= v.panel.values["plugin"] < exact <= v.interval[1], v
    assert v.interval_from.endswith(" and unseen mass") and "plug-in's value" in str(v)


def test_verdicts_on_held_out_cases_never_call_a_gross_error_reliable(atlas, tanh_dump):
    # Held out: subsampled population dumps (no network is a map family) and parity with
    # a noise level the map never used. Agreement is reported in the README; this test
    # holds floors below what was measured when the rules were written, and the hard guarantee.
    cases = dump_cases(tanh_dump, "binned(plugin, rule=fixed, bins=30, range=(-1.0, 1.0))", [256, 1024],
                       tanh_dump.snapshots()[::4])
    cases += task_cases([f"parity(dim={d}, noise=0.05)" for d in (3, 10)], ["plugin", "grassberger"], [256, 2048],
                        "parity")
    results = evaluate(cases, atlas, seeds=8)
    table = agreement_table(results)
    assert table.loc["all", "reliable_on_gross_error"] == 0
    assert table.loc["all", "agreement"] >= 0.85, table  # 0.96 when written (0.84 before the curve's bias)
    # the 90 % interval: 0.96 here when written
    assert table.loc["all", "interval_coverage"] >= 0.8, table


@pytest.mark.parametrize("spec", ["gcmi", "parametric_gaussian"])
def test_an_estimator_that_fails_on_small_blocks_gets_a_verdict_that_says_so(spec):
    # 20 + 1 dimensions on 64 rows: the estimate exists, but blocks of 16 rows have a
    # singular covariance; trust must judge what it can and say why the curve is short
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 20))
    y = x[:, :1] + rng.standard_normal((64, 1))
    assert np.isfinite(mibench.mutual_information(x, y, spec))
    verdict = mibench.trust(x, y, spec)
    assert verdict.regime in ("unknown", "unstable", "biased", "saturated")  # never reliable on such evidence
    assert "fails on blocks of 16 rows" in verdict.data.reason and verdict.data.notes
    assert json.dumps(verdict.to_dict())


@pytest.mark.filterwarnings("ignore::mibench.interface.UndefinedEstimateWarning")
def test_blocks_without_a_finite_estimate_are_counted_not_dropped_silently():
    # NSB without K has no value on rows that are all distinct: 256 distinct rows but for one
    # repeated pair give the whole sample a value, while every block without the pair has none
    x = np.arange(256)[:, None]
    x[1] = x[0]
    y = np.random.default_rng(5).integers(0, 2, 256)
    assert np.isfinite(mibench.mutual_information(x, y, "nsb"))
    verdict = mibench.trust(x, y, "nsb")
    assert any("gave no finite estimate and were left out" in note for note in verdict.data.notes), verdict.data.notes
    assert "left out" in verdict.data.reason


def test_an_estimate_at_its_ceiling_gets_an_interval_holding_every_truth_it_cannot_tell_apart():
    # 24 binary units, every row distinct at N = 2048: plug-in I(X;Y) sits at H(Y) = 1 bit
    # whether Y is independent of X (truth 0) or a function of it (parity of the units: truth
    # 1 bit, the task's exact value); the sample cannot tell them apart, so the interval must
    # hold both (it used to be 0.171-1.001 bits about a map's guess, missing the truth 0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, (2048, 24))
    independent = rng.integers(0, 2, 2048)
    parity = x.sum(axis=1) % 2
    assert mibench.get_task("parity", dim=24, noise=0.0).mutual_information == pytest.approx(1.0)
    for y, truth in ((independent, 0.0), (parity, 1.0)):
        verdict = mibench.trust(x, y, "plugin")
        assert verdict.regime == "saturated" and verdict.estimate == pytest.approx(1.0, abs=0.01)
        lo, hi = verdict.interval
        assert lo <= truth <= hi and hi <= 1.0 + 0.2  # about H(Y), with the tolerance as slack, calibrated
        assert verdict.bias_range[0] <= verdict.estimate - truth <= verdict.bias_range[1]


def test_a_label_that_is_a_function_of_merged_bins_is_reliable_at_h_of_y_at_small_n():
    # A layer of 8 binned units (codes 0..29) on 4,096 inputs: two units carry the input's
    # class, c0 and c1 (the label is which half of the range each is in: 4 classes), six
    # more copy them with their lowest bit jittered per input. Over the population the
    # label is a function of the codes, so I(T;Y) = H(Y) exactly (checked by enumeration).
    # At N = 256 the rows are nearly all distinct (few repeats: too few to see Y a function
    # of T), yet with neighbouring codes merged (codes >> 1, the jitter gone) they repeat
    # ~100 times, each repeat with one label: Y is a function of the merged codes, so of T.
    rng = np.random.default_rng(8)
    c = rng.integers(0, 30, (4096, 2))
    jitter = rng.integers(0, 2, (4096, 6))
    codes = np.column_stack([c, (c[:, np.arange(6) % 2] & ~1) | jitter])
    labels = (c[:, 0] >= 16) + 2 * (c[:, 1] >= 16)
    _, t_ids = np.unique(codes, axis=0, return_inverse=True)
    joint = np.zeros((t_ids.max() + 1, 4))
    np.add.at(joint, (t_ids.reshape(-1), labels), 1 / 4096)
    p_y, p_t = joint.sum(0), joint.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        truth = float(np.nansum(joint * np.log2(joint / p_t / p_y)))
    assert truth == pytest.approx(float(-np.sum(p_y * np.log2(p_y))), abs=1e-9)  # = H(Y)
    rows = rng.integers(0, 4096, 256)
    v = mibench.trust(codes[rows], labels[rows], "plugin")
    assert v.data.coincidences < 20 and v.data.y_function_of_x, v
    assert abs(v.estimate - truth) < 0.1 and v.regime == "reliable", v
    assert v.interval[0] <= truth <= v.interval[1]
    # The same rows with a label drawn afresh for each row: I(T;Y) = 0, the estimate still
    # near H(Y); merged codes repeat with mixed labels, which says nothing either way.
    noise = rng.integers(0, 4, 256)
    w = mibench.trust(codes[rows], noise, "plugin")
    assert w.data.y_function_of_x is None and w.estimate > 1.0
    assert w.regime != "reliable", w



@pytest.mark.parametrize("spec", ["jvhw", "chao_shen"])
def test_a_bias_corrected_estimate_on_little_coverage_can_be_right_on_average(spec):
    # 64 draws from 256 equally likely values (H = 8 bits exactly): the sample has seen under a
    # fifth of the mass, yet JVHW and Chao-Shen are right on average and merely noisy (30 fresh
    # samples: unstable by the map's rules). A rule "under a quarter of the mass seen, unstable
    # means biased" called both biased; a review helper found it, and it was not kept
    from mibench.judging import judge_seeds
    from mibench.registry import make_estimator

    draws = [np.random.default_rng(s).integers(0, 256, 64) for s in range(30)]
    seeds = [float(make_estimator(spec).entropy(x)) for x in draws]
    assert judge_seeds(seeds, 8.0).regime == "unstable"
    v = mibench.trust(draws[0], None, spec)
    assert v.data.coverage < 0.25 and v.regime == "unstable", v
    assert v.interval[0] <= 8.0 <= v.interval[1]


def test_knn_on_columns_of_very_different_spreads_says_so():
    # ranks 0-1023 against tanh values (I = 0.208 bit, kept by the monotone maps): KSG's
    # max-norm reads the ranks alone and gives 0.000; standardized it sees the dependence
    rng = np.random.default_rng(0)
    g = rng.normal(size=1024)
    h = 0.5 * g + math.sqrt(0.75) * rng.normal(size=1024)
    ranks, squashed = np.argsort(np.argsort(g)).astype(float), np.tanh(3 * h)
    raw = mibench.trust(ranks, squashed, "ksg")
    assert abs(raw.estimate) < 0.02 and "spreads differ" in raw.data.reason, raw
    fair = mibench.trust(ranks, squashed, "ksg", standardize=True)
    assert fair.estimate > 0.1 and "spreads differ" not in fair.data.reason, fair  # 0.149: it sees the dependence
    assert "spreads differ" not in mibench.trust(g, h, "ksg").data.reason
