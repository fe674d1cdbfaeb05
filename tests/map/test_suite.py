"""Suites: loading, validation, expansion into groups."""
import numpy as np
import pytest

import mibench

from map_helpers import TINY, tiny, write_suite  # noqa: F401 (tiny is a fixture)

from mibench.cli import main
from mibench.map.cells import cell_count
from mibench.map.report import _own_grid
from mibench.map.suite import SuiteError, load_suite, resolve, select
from mibench.registry import REGISTRY, make_estimator
from mibench.tasks import TASKS


def test_tiny_suite_expands_to_batched_groups(tiny):
    # codebook: 2 estimators x 2 D x 2 N; quantized: 2 binned estimators x 1 bins x 2 D x 2 N
    assert len(tiny.groups) == 16 and cell_count(tiny.groups) == 48
    binned = [g for g in tiny.groups if g.family == "quantized_gaussian"]
    assert all(g.estimator.startswith("binned(") and "rule=fixed, bins=4" in g.estimator for g in binned)
    assert all(g.bins is None for g in tiny.groups if g.family == "codebook")

def test_estimator_limits_cap_the_grid(tmp_path):
    text = TINY.replace('spec = "plugin"', 'spec = "plugin"\nmax_n = 64\nmax_d = 2')
    suite = load_suite(write_suite(tmp_path, text))
    plugin = [g for g in suite.groups if g.estimator == "plugin"]
    assert {(g.n, g.d) for g in plugin} == {(64, 2)}

BENCHMARK_FAMILY = ('\n[[tasks]]\nname = "beyond_normal"\nd_label = "task number"\nparams = { task = "=D" }\n'
                    'n = [300]\nd = [1, 13, 19]\n')


def test_a_family_runs_on_its_own_grid_and_max_d_does_not_bound_it(tmp_path):
    text = TINY.replace('spec = "miller_madow"', 'spec = "miller_madow"\nmax_d = 2') + \
        '\n[[estimators]]\nspec = "ksg"\nmax_d = 2\nmax_n = 200\n\n[[estimators]]\nspec = "gcmi"\nmax_d = 2\n' + BENCHMARK_FAMILY
    suite = load_suite(write_suite(tmp_path, text))
    bench = [g for g in suite.groups if g.family == "beyond_normal"]
    # the benchmark's tasks 1, 13 and 19, by their ids (the number is only how the suite picks them)
    from mibench.tasks.beyond_normal import TASK_IDS
    assert {g.task_id for g in bench} == {TASKS["beyond_normal"](task=TASK_IDS[i - 1]).id for i in (1, 13, 19)}
    assert {g.n for g in bench} == {300}  # the family's own N, not the suite's 64 and 512
    gcmi = {g.d for g in bench if g.estimator == "gcmi"}
    assert gcmi == {1, 13, 19}  # max_d = 2 bounds the suite's D axis only
    assert not [g for g in bench if g.estimator == "ksg"]  # max_n = 200 still bounds the family's N
    assert {g.n for g in suite.groups if g.family == "codebook"} == {64, 512}
    assert _own_grid(suite.tasks[-1]) == "; beyond_normal on its own N = 300 and D = 1, 13, 19"


def test_an_estimator_limited_to_families_runs_only_there(tmp_path):
    text = TINY + '\n[[estimators]]\nspec = "gcmi"\nfamilies = ["beyond_normal"]\n' + \
        '\n[[tasks]]\nname = "gaussian"\nparams = { dim_x = "=D", dim_y = "=D" }\n' + BENCHMARK_FAMILY
    suite = load_suite(write_suite(tmp_path, text))
    assert {g.family for g in suite.groups if g.estimator == "gcmi"} == {"beyond_normal"}
    assert {g.family for g in suite.groups if g.estimator != "gcmi"} == {"codebook", "quantized_gaussian", "gaussian",
                                                                         "beyond_normal"}
    with pytest.raises(SuiteError, match="gcmi runs only on beyond_normal .* add --family beyond_normal"):
        select(suite, estimators=["gcmi"], families=["gaussian"])


def test_beyond_normal_tasks_by_number_are_the_tasks_by_id():
    from mibench.tasks.beyond_normal import TASK_IDS
    by_number = TASKS["beyond_normal"](task=19)
    assert by_number == TASKS["beyond_normal"](task=TASK_IDS[18]) and by_number.task == "multinormal-sparse-25-25-2-2.0"
    assert np.array_equal(by_number.sample(50, 3)[0], TASKS["beyond_normal"](task=TASK_IDS[18]).sample(50, 3)[0])
    for bad in (0, 41, -1):
        with pytest.raises(ValueError, match="task number must be 1 to 40"):
            TASKS["beyond_normal"](task=bad)


def test_continuous_estimators_score_only_the_families_they_target(tmp_path):
    text = TINY + '\n[[estimators]]\nspec = "gcmi"\n\n[[tasks]]\nname = "gaussian"\nparams = { dim_x = "=D", dim_y = "=D" }\n'
    text += '\n[[estimators]]\nspec = "kolchinsky_tracey"\n'
    suite = load_suite(write_suite(tmp_path, text))
    gcmi = {g.family for g in suite.groups if g.estimator == "gcmi"}
    assert gcmi == {"gaussian"}  # not the codebook (discrete) nor quantized_gaussian (binned truth)
    assert not [g for g in suite.groups if g.estimator.startswith("kolchinsky_tracey")]

def test_pairings_that_can_only_fail_are_left_out_with_the_reason(tmp_path):
    # a Gaussian fit of X and Y with 8 columns each needs a 16-dimensional covariance: more
    # than 17 rows; the estimator itself refuses 16 rows and takes 64 (checked by running it)
    text = TINY.replace("n = [", "n = [16, ") + ('\n[[estimators]]\nspec = "parametric_gaussian"\n\n[[tasks]]\n'
                                                 'name = "gaussian"\nparams = { dim_x = 8, dim_y = 8 }\n')
    suite = load_suite(write_suite(tmp_path, text))
    fitted = {g.n for g in suite.groups if g.estimator.startswith("parametric_gaussian")}
    assert 16 not in fitted and 64 in fitted
    assert any("N = 16" in note and "parametric_gaussian" in note and "18 rows" in note for note in suite.notes)
    x, y = TASKS["gaussian"](dim_x=8, dim_y=8).sample(64, 0)
    with pytest.raises(ValueError, match="covariance needs more than 17 samples"):
        mibench.mutual_information(x[:16], y[:16], "parametric_gaussian")
    assert np.isfinite(mibench.mutual_information(x, y, "parametric_gaussian"))


def test_grid_expressions():
    assert resolve("=2**D", 5, 0) == 32 and resolve("=min(D, B) * 2", 5, 3) == 6
    assert resolve([1, 2], 0, 0) == (1, 2) and resolve("codebook", 1, 1) == "codebook"
    with pytest.raises(ValueError, match="unsupported expression"):
        resolve("=__import__('os')", 1, 1)

BAD_SUITES = [
    ("n = [1, 2", "not valid TOML"),
    (TINY + "\ncolour = 'red'\n", "colour: unknown key; valid keys: name"),
    (TINY.replace('spec = "plugin"', 'spec = "plugn"'), "estimators[0].spec: unknown estimator 'plugn'; valid estimators"),
    (TINY.replace('name = "binary_codes"', 'name = "codes"'), "tasks[0].name: unknown task 'codes'; valid tasks"),
    (TINY.replace("n = [64, 512]", "n = []"), "n: must be a non-empty list"),
    (TINY.replace("n = [64, 512]", "n = [-64, 512]"), "n: every value must be an integer >= 2"),
    (TINY.replace("d = [2, 9]", "d = [2, 31]"), "tasks[0].params: at D=31, B=0: binary_codes: K must be an integer"),
    (TINY + "\n[tolerances]\nslack = 1\n", "tolerances.slack: unknown key"),
    (TINY.replace('family = "codebook"\n', 'family = "quantized_gaussian"\n'), "families must be distinct"),
    (TINY.replace('d_label = "log2 K"', 'd_label = "log2 K"\nweight = 2'), "tasks[0].weight: unknown key"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\nmax_n = 0'), "estimators[0].max_n: must be an integer >= 1"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\ncolour = 1'), "estimators[0]: each estimator is a table with spec"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\nfamilies = ["gaussian"]'),
     "estimators[0].families: no task family 'gaussian' in this suite; it has codebook, quantized_gaussian"),
    (TINY.replace('spec = "plugin"', 'spec = "plugin"\nfamilies = "codebook"'),
     "estimators[0].families: must be a non-empty list of task family names"),
    (TINY.replace('d_label = "log2 K"', 'd_label = "log2 K"\nn = [1]'), "tasks[0].n: every value must be an integer >= 2"),
    (TINY.replace('d_label = "log2 K"', 'd_label = "log2 K"\nd = []'), "tasks[0].d: must be a non-empty list"),
]

@pytest.mark.parametrize("text, message", BAD_SUITES)
def test_malformed_suites_fail_naming_file_and_key(tmp_path, text, message):
    path = write_suite(tmp_path, text, "bad.toml")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert path in str(info.value) and message in str(info.value)

def test_a_malformed_suite_does_no_work(tmp_path, capsys):
    path = write_suite(tmp_path, TINY.replace("n = [64, 512]", "n = [0]"), "bad.toml")
    out = tmp_path / "results"
    assert main(["map", path, "--out", str(out), "--no-progress"]) == 2
    assert "bad.toml" in capsys.readouterr().err
    assert not out.exists()

def test_builtin_suites_load_and_default_covers_the_registry():
    assert cell_count(load_suite("quick").groups) > 0 and load_suite("full").seeds == tuple(range(50))
    default = load_suite("default")
    assert min(default.n) <= 64 and max(default.n) >= 2**16
    assert min(default.d) == 1 and max(default.d) >= 32
    assert len(default.bins) >= 2 and len(default.seeds) >= 10
    names = {e.name for e in default.estimators}
    # binned forms are made for the continuous tasks; wu_yang needs each task's support
    # size K, which one spec cannot give
    assert names == set(REGISTRY) - {"binned", "wu_yang"}
    assert {g.estimator.split("(")[0] for g in default.groups} >= names
    # scale_mixture is mapped by the trust suite (shipped beside the default map), keeping the
    # main job's time; the full suite has every task. beyond_normal is a fixed list of 40
    # tasks: the full suite runs all of them at the benchmark's n, the leaderboard four
    assert {t.name for t in default.tasks} == set(TASKS) - {"scale_mixture", "beyond_normal"}
    assert "scale_mixture" in {t.name for t in load_suite("trust").tasks}
    full = load_suite("full")
    assert {e.name for e in full.estimators} == names and {t.name for t in full.tasks} == set(TASKS)
    from mibench.tasks.beyond_normal import TASK_IDS
    bench = [g for g in full.groups if g.family == "beyond_normal"]
    assert {g.task_id for g in bench} == {TASKS["beyond_normal"](task=t).id for t in TASK_IDS} and {g.n for g in bench} == {5000}
    board = load_suite("leaderboard")
    neural = [g for g in board.groups if g.estimator.split("(")[0] in ("infonce", "nwj", "mine")]
    # the board's neural rows: the benchmark's protocol, on its tasks only
    assert {g.family for g in neural} == {"beyond_normal"} and len(neural) == 3 * 4
    assert {g.estimator for g in neural} == {make_estimator(name).spec for name in ("infonce", "nwj", "mine")}
    assert any(g.estimator.startswith("binned(") for g in default.groups)


# -- store ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, message",
    [("abs_tol = 0", "tolerances.abs_tol: must be a number > 0; got 0"),
     ("abs_tol = -0.1", "tolerances.abs_tol: must be a number > 0"),
     ("delta = -0.1", "tolerances.delta: must be a number >= 0"),
     ("rel_tol = nan", "tolerances.rel_tol: must be a number >= 0; got nan"),
     ("std_tol = 0.05", "tolerances.std_tol: renamed to abs_tol")],
)
def test_bad_tolerances_are_refused(tmp_path, table, message):
    path = write_suite(tmp_path, TINY + f"\n[tolerances]\n{table}\n", "bad.toml")
    with pytest.raises(SuiteError, match=message.replace("(", r"\(")):
        load_suite(path)


def test_old_key_names_say_what_they_became(tmp_path):
    path = write_suite(tmp_path, TINY.replace('family = "codebook"', 'label = "codebook"'), "old.toml")
    with pytest.raises(SuiteError, match=r"tasks\[0\].label: renamed to family"):
        load_suite(path)


PAIRINGS = """
name = "pairings"
seeds = 2
n = [64]
d = [1, 2]
bins = [4, 8]

[[estimators]]
spec = "plugin"

[[estimators]]
spec = "renyi"

[[estimators]]
spec = "parametric_gaussian"

[[estimators]]
spec = "gcmi"

[[estimators]]
spec = "kolchinsky_tracey"

[[tasks]]
name = "gaussian"
params = { dim_x = "=D", dim_y = "=D", rho = 0.5 }

[[tasks]]
name = "gaussian"
family = "warped"
params = { dim_x = "=D", dim_y = "=D", rho = 0.5, transforms = ["asinh"] }

[[tasks]]
name = "student_t"
params = { dim_x = "=D", dim_y = "=D", rho = 0.5 }

[[tasks]]
name = "layer_codes"
params = { dim = "=D" }
"""


def test_pairings_that_cannot_mean_anything_are_not_made(tmp_path):
    suite = load_suite(write_suite(tmp_path, PAIRINGS))
    pairs = {(g.estimator.split("(")[0], g.family) for g in suite.groups}
    # a Renyi functional is scored only where the task's Renyi MI is known (Gaussian, uniform codes)
    assert ("renyi", "gaussian") in pairs and ("renyi", "layer_codes") in pairs
    assert ("renyi", "student_t") not in pairs and ("renyi", "warped") not in pairs
    # density fits have nothing to fit on +-1 codes and labels
    assert ("parametric_gaussian", "layer_codes") not in pairs and ("gcmi", "layer_codes") not in pairs
    assert ("parametric_gaussian", "gaussian") in pairs
    # Kolchinsky-Tracey only where I(T+Z;Y) is known
    assert {f for e, f in pairs if e == "kolchinsky_tracey"} == {"layer_codes"}
    # any binning of +-1 codes gives the same codes: one bin count, not two identical rows
    assert {g.bins for g in suite.groups if g.family == "layer_codes" and g.estimator.startswith("binned")} == {4}
    assert {g.bins for g in suite.groups if g.family == "gaussian" and g.estimator.startswith("binned")} == {4, 8}
