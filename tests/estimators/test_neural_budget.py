"""The neural bounds' training budget: part of the spec, the published protocol by default
(held-out estimate, evaluations, early stopping), budgets that cannot train refused."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mibench
from mibench.estimators import neural
from mibench.registry import make_estimator, parse_spec
from mibench.tasks import get_task

BOUNDS = ["infonce", "nwj", "mine"]
PUBLISHED = "steps=10000, batch_size=256, lr=0.1, hidden=(16, 8), split=0.5, eval_every=250, patience=2, eval_batch=0"


@pytest.mark.parametrize("name", BOUNDS)
def test_the_spec_always_states_the_budget_and_reads_back(name):
    est = make_estimator(name)
    assert est.spec == f"{name}({PUBLISHED})"
    assert parse_spec(est.spec).spec == est.spec
    assert make_estimator(f"{name}(seed=3)").spec == f"{name}({PUBLISHED}, seed=3)"
    assert est.min_rows(2) == 512  # half the rows train, in batches of 256
    assert make_estimator(name, hidden=[16, 8]).spec == est.spec  # a list from Python is the same widths


@pytest.mark.parametrize("name", BOUNDS)
def test_a_whole_evaluation_set_in_chunks_gives_the_bound_of_its_full_score_matrix(name, monkeypatch):
    """The held-out estimate takes every pair of the estimation rows in row chunks (the
    matrix may not fit); the same bound computed on the whole matrix at once must agree."""
    monkeypatch.setattr(neural, "_PAIRS_PER_CHUNK", 7 * 50)  # 7 rows per chunk, the last one short
    g = torch.Generator().manual_seed(0)
    params = neural._critic(3, (5, 4), 2, g, torch.device("cpu"))
    x, y = torch.randn(2, 50, 2, generator=g), torch.randn(2, 50, 1, generator=g)
    est = make_estimator(name)
    with torch.no_grad():
        whole = est.bound(neural._scores(params, x, y)).double()
        chunked = est.bound_from(neural._whole_set_stats(params, x, y))
    assert torch.allclose(chunked, whole, rtol=0, atol=1e-5), (chunked, whole)


def test_infonce_on_a_whole_held_out_set_never_exceeds_log2_of_its_rows():
    task = get_task("gaussian", dim_x=4, dim_y=4, rho=0.99)  # about 26 bits
    x, y = task.sample(64, seed=1)
    spec = "infonce(steps=60, batch_size=16, lr=0.01, split=0.5, eval_every=20)"
    est = make_estimator(spec)
    value = mibench.mutual_information(x, y, spec)
    assert est.ceiling(64) == 5.0  # 32 held-out rows
    assert value <= 5.0 + 1e-9 < task.mutual_information


def test_the_critic_trains_on_its_rows_and_the_bound_is_read_on_the_others(monkeypatch):
    """Each row carries its own index as X, so the rows every scores call sees can be read back."""
    n = 40
    x = np.arange(n, dtype=float)[:, None]
    y = np.random.default_rng(0).standard_normal((n, 1))
    seen = {"train": set(), "estimate": set()}
    real = neural._scores

    def spy(params, xr, yr):
        ids = {int(round(v)) for v in (xr[0, :, 0] * x.std(ddof=1) + x.mean()).tolist()}
        seen["train" if torch.is_grad_enabled() else "estimate"].update(ids)
        return real(params, xr, yr)

    monkeypatch.setattr(neural, "_scores", spy)
    mibench.mutual_information(x, y, "nwj(steps=30, batch_size=8, split=0.75, eval_every=10, patience=0)")
    assert len(seen["estimate"]) == 10 and seen["train"] <= set(range(n))
    assert seen["train"].isdisjoint(seen["estimate"]) and len(seen["train"]) > 20


def _scripted(monkeypatch, sequences):
    """Make each evaluation return the next value of each element's script (nats), counting calls."""
    calls = []

    def evaluate(self, params, x, y, rows):
        calls.append(len(calls))
        return torch.tensor([s[min(len(calls) - 1, len(s) - 1)] for s in sequences], dtype=torch.float64)

    monkeypatch.setattr(neural._VariationalBound, "_evaluate", evaluate)
    return calls


def test_the_estimate_is_the_best_evaluation_and_training_stops_after_patience_without_gain(monkeypatch):
    calls = _scripted(monkeypatch, [[0.1, 0.3, 0.2, 0.25, 0.9, 1.0]])
    x = np.random.default_rng(1).standard_normal((64, 1))
    value = mibench.mutual_information(x, x, "nwj(steps=100, batch_size=8, eval_every=5, patience=2)")
    assert len(calls) == 4  # 0.2 and 0.25 do not beat 0.3: two in a row, so no fifth evaluation
    assert value == pytest.approx(0.3 / math.log(2))


def test_an_element_that_stops_early_keeps_what_it_would_get_alone(monkeypatch):
    """A batch trains its elements side by side; one that runs out of patience keeps its
    best, while the other trains on, exactly as each would alone."""
    scripts = [[0.5, 0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4, 0.5]]
    calls = _scripted(monkeypatch, scripts)
    xs = np.random.default_rng(2).standard_normal((2, 64, 1))
    spec = "mine(steps=25, batch_size=8, eval_every=5, patience=2)"
    both = mibench.mutual_information(xs, xs, spec)
    assert len(calls) == 5  # the second element never stalls: all five evaluations
    assert both == pytest.approx([0.5 / math.log(2), 0.5 / math.log(2)])


def test_without_evaluations_during_training_the_last_critic_is_read_once(monkeypatch):
    calls = _scripted(monkeypatch, [[0.7, 0.1]])
    x = np.random.default_rng(3).standard_normal((64, 1))
    value = mibench.mutual_information(x, x, "infonce(steps=7, batch_size=8, eval_every=5, patience=0)")
    assert len(calls) == 2 and value == pytest.approx(0.7 / math.log(2))  # after step 5, and after the last (7)


@pytest.mark.parametrize("params, why", [
    ("steps=0", "steps"),
    ("batch_size=1", "batch_size"),
    ("lr=0", "lr"),
    ("hidden=()", "hidden must be a width"),
    ("hidden=(16, 0)", "hidden widths"),
    ("hidden=True", "hidden must be a width"),
    ("split=0", "split"),
    ("split=1", "split"),
    ("split=1.5", "split"),
    ("eval_every=-1", "eval_every"),
    ("patience=-1", "patience"),
    ("eval_every=0, patience=2", "eval_every=0 makes none; set eval_every"),
    ("eval_batch=1", "eval_batch"),
    ("out_bias=inf", "out_bias .* must be a finite number or None"),
    ("out_bias=True", "out_bias .* must be a finite number or None"),
])
@pytest.mark.parametrize("name", BOUNDS)
def test_a_budget_that_cannot_train_is_refused_with_what_to_change(name, params, why, rng):
    x = rng.standard_normal((600, 1))
    with pytest.raises(ValueError, match=why):
        mibench.mutual_information(x, x, f"{name}({params})")


def test_a_split_that_leaves_too_few_rows_to_estimate_on_is_refused(rng):
    x = rng.standard_normal((300, 1))
    with pytest.raises(ValueError, match=r"split=0.999 leaves 1 of n=300 rows to estimate the bound on, fewer than 2; "
                                         "lower split"):
        mibench.mutual_information(x, x, "infonce(batch_size=16, split=0.999)")
    with pytest.raises(ValueError, match="fewer than 64; lower split or eval_batch"):
        mibench.mutual_information(x, x, "infonce(batch_size=16, eval_batch=64, split=0.9)")


def test_the_published_protocol_recovers_a_moderate_truth():
    """bmi's protocol (batch 256, lr 0.1, MLP (16, 8), held-out half, best evaluation, early
    stopping) on its 1 x 1 normal task with correlation 0.75 at n = 2,000."""
    task = get_task("gaussian", rho=0.75)
    x, y = task.sample(2000, seed=4)
    assert mibench.mutual_information(x, y, "nwj") == pytest.approx(task.mutual_information, abs=0.1)


def test_the_training_curve_is_the_run_the_estimate_comes_from():
    x, y = get_task("gaussian", rho=0.8).sample(200, seed=5)
    spec = "nwj(steps=60, batch_size=16, lr=0.01, eval_every=20, patience=0)"
    steps, values = make_estimator(spec).training_curve(x, y)
    assert steps.tolist() == [20, 40, 60] and values.shape == (3, 1)
    assert mibench.mutual_information(x, y, spec) == values.max()  # the best evaluation, bit for bit
    with pytest.raises(ValueError, match="fewer than its batch_size=256"):
        make_estimator("nwj").training_curve(x, y)


def test_a_trained_critic_gives_the_same_number_whatever_the_cores_free(monkeypatch):
    """Threads round matrix products differently and training amplifies it; the thread
    count follows the load of the moment, so a critic must not take threads from it."""
    from mibench.core import threads

    monkeypatch.setattr(threads, "SMALL_WORK", 1)  # every input counts as large work
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 0)
    x, y = get_task("gaussian", dim_x=5, dim_y=5, rho=0.5).sample(2000, seed=6)
    spec = "infonce(steps=200, patience=0, eval_every=100)"
    before = torch.get_num_threads()
    try:
        values = []
        for n_threads in (1, 2):
            torch.set_num_threads(n_threads)
            values.append(mibench.mutual_information(x, y, spec))
    finally:
        torch.set_num_threads(before)
    assert values[0] == values[1]


def test_the_output_offset_starts_the_critic_that_much_higher_and_costs_no_draw():
    """bmi's critic adds a trainable offset starting at 1 to its output (without it NWJ's
    critic collapsed to a constant, a bound of exactly 0, on all seven of the benchmark's
    25- and 50-dimensional tasks; with it on four). The offset takes no draw from the generator, so the weights, the
    split and the batches are those of the critic without it."""
    g0, g1 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    plain = neural._critic(3, (5, 4), 2, g0, torch.device("cpu"))
    offset = neural._critic(3, (5, 4), 2, g1, torch.device("cpu"), 1.0)
    assert len(offset) == len(plain) + 1 and all(torch.equal(a, b) for a, b in zip(plain, offset))
    assert torch.equal(torch.rand(3, generator=g0), torch.rand(3, generator=g1))
    x, y = torch.randn(2, 6, 2), torch.randn(2, 6, 1)
    with torch.no_grad():
        assert torch.allclose(neural._scores(offset, x, y) - neural._scores(plain, x, y), torch.ones(2, 6, 6), atol=1e-6)


def test_infonce_cannot_see_the_output_offset():
    """InfoNCE's bound is unchanged by a constant added to every score, so the offset gets
    no gradient and the trained critic is the same up to rounding (which long training at
    lr 0.1 amplifies into sample-to-sample-sized differences: 0.556 and 0.571 bits on one
    1 x 1 Gaussian sample of the benchmark, without and with it)."""
    x, y = get_task("gaussian", rho=0.8).sample(600, seed=7)
    spec = "infonce(steps=100, batch_size=32, lr=0.01, eval_every=50)"
    with_offset = mibench.mutual_information(x, y, spec)
    without = mibench.mutual_information(x, y, spec.replace(")", ", out_bias=None)"))
    assert with_offset == pytest.approx(without, abs=1e-4)
    assert make_estimator(spec.replace(")", ", out_bias=None)")).spec.endswith("eval_batch=0, out_bias=None)")


def test_a_dead_hidden_layer_is_found_and_leaves_the_critic_constant():
    # copy 1's second hidden layer is killed by hand (weights 0, biases -1): its scores must
    # be one constant on every pair (checked on the scores, not by the detector's own rule)
    g = torch.Generator().manual_seed(0)
    params = neural._critic(4, (16, 8), 2, g, torch.device("cpu"), out_bias=1.0)
    with torch.no_grad():
        params[2][1].zero_()
        params[3][1].fill_(-1.0)
    x = torch.randn(2, 300, 2, generator=g)
    y = torch.randn(2, 300, 2, generator=g)
    assert neural._dead_layers(params, x, y).tolist() == [False, True]
    with torch.no_grad():
        scores = neural._scores(params, x, y)
    assert float(scores[1].max()) == float(scores[1].min()) and float(scores[0].std()) > 0.01


def test_a_collapsed_critic_is_said_and_a_live_one_is_not():
    # NWJ's critic dies within its first 250 steps at the protocol's lr on the benchmark's
    # 25 x 25 sparse Gaussian (task 19; I = 1.47 bits): a constant critic c bounds I by
    # c - e^(c-1) <= 0, whatever the data
    x, y = get_task("beyond_normal", task=19).sample(600, 0)
    with pytest.warns(mibench.CollapsedCriticWarning, match=r"nwj: the critic of batch element\(s\) 0 collapsed"):
        value = mibench.mutual_information(x, y, "nwj(steps=250, patience=0)")
    assert value <= 0.0
    # independent data: the best critic is a constant, but a live one (units active) is not a collapse
    x, y = get_task("gaussian", dim_x=2, dim_y=2, rho=0.0).sample(600, 1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", mibench.CollapsedCriticWarning)
        mibench.mutual_information(x, y, "infonce(steps=250, patience=0, lr=0.01)")


def test_a_critic_that_dies_after_a_live_evaluation_keeps_that_value_unreported(monkeypatch):
    # every layer reported dead at the end: the estimate is the best live evaluation (about
    # the 1 bit of this Gaussian, not a constant critic's <= 0), so nothing is said
    import warnings
    monkeypatch.setattr(neural, "_dead_layers", lambda params, x, y: torch.ones(len(x), dtype=torch.bool))
    x, y = get_task("gaussian", dim_x=1, dim_y=1, rho=0.8).sample(600, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mibench.CollapsedCriticWarning)
        value = mibench.mutual_information(x, y, "infonce(steps=250, patience=0, lr=0.01)")
    assert value > 0.3
