"""Stable ids and canonical spec strings: parse(spec(e)) == e."""
import pytest

import mibench
from mibench.registry import REGISTRY, make_estimator, parse_spec

CONFIGURED = [
    "plugin",
    "miller_madow",
    "jackknife",
    "grassberger",
    "chao_shen",
    "james_stein",
    "james_stein(K=100)",
    "nsb",
    "nsb(K=(16, 4))",
    "binned(plugin, rule=uniform, bins=30)",
    "binned(miller_madow, rule=quantile, bins=8)",
    "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))",
    "binned(nsb(K=900), rule=width, width=0.07)",
]


@pytest.mark.parametrize("spec", CONFIGURED)
def test_canonical_specs_round_trip(spec):
    e = parse_spec(spec)
    assert e.spec == spec
    assert parse_spec(e.spec) == e
    assert hash(parse_spec(e.spec)) == hash(e)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_id_builds_with_defaults(name):
    e = make_estimator(name)
    assert e.name == name and parse_spec(e.spec) == e


def test_spec_normalises_equivalent_spellings():
    assert parse_spec("binned( plugin ,bins=30, rule=uniform)").spec == "binned(plugin, rule=uniform, bins=30)"
    assert parse_spec("binned(plugin, rule=fixed, range=(-1, 1))").spec == "binned(plugin, rule=fixed, bins=30, range=(-1.0, 1.0))"
    assert parse_spec("binned(rule=width, width=1)") == parse_spec("binned(plugin, rule=width, width=1.0)")
    assert parse_spec("nsb(K=None)") == parse_spec("nsb")


def test_distinct_configurations_have_distinct_specs():
    specs = {parse_spec(s).spec for s in CONFIGURED}
    assert len(specs) == len(CONFIGURED)
    assert parse_spec("binned(plugin, bins=10)") != parse_spec("binned(plugin, bins=11)")


def test_keyword_parameters_override_the_spec():
    e = make_estimator("binned(plugin, rule=uniform, bins=30)", bins=10, discrete="jackknife")
    assert e.spec == "binned(jackknife, rule=uniform, bins=10)"


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("binned(plugin", ValueError, "cannot parse"),
        ("plugn", ValueError, "valid estimators"),
        ("nsb(Q=3)", TypeError, "valid parameters: K"),
        ("plugin(1)", ValueError, "at most 0 positional"),
        ("nsb(K=3, K=4)", ValueError, "cannot parse"),
        ("nsb(K=[x for x in y])", ValueError, "unsupported value"),
        ("__import__('os')", ValueError, "valid estimators"),
    ],
)
def test_bad_specs_fail_clearly(spec, error, message):
    with pytest.raises(error, match=message):
        parse_spec(spec)


def test_estimator_argument_must_be_a_name_or_an_estimator():
    with pytest.raises(TypeError, match="spec string"):
        mibench.entropy([0, 1], estimator=3)


def test_list_estimators_is_the_registry():
    assert mibench.list_estimators() == list(REGISTRY)
    assert {"plugin", "miller_madow", "jackknife", "grassberger", "chao_shen", "james_stein", "nsb", "binned"} <= set(
        mibench.list_estimators()
    )


def test_constructors_only_store_parameters():
    # A bad value is accepted at construction and reported when estimating.
    e = make_estimator("binned", bins=-3)
    assert e.get_params()["bins"] == -3
    with pytest.raises(ValueError, match="bins"):
        e.entropy([0.1, 0.2, 0.3])


def test_support_sizes_must_match_the_variables():
    with pytest.raises(ValueError, match="one support size per variable"):
        mibench.mutual_information([0, 1, 1], [1, 0, 1], "nsb", K=(2, 2, 2))
    with pytest.raises(ValueError, match="support size K must be an integer >= 1"):
        mibench.entropy([0, 1, 1], "james_stein", K=0)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_estimator_satisfies_the_protocol(name):
    from mibench import interface

    e = make_estimator(name)
    assert isinstance(e, interface.Estimator)
    assert e.summary and e.reference  # documented with its paper
