"""Locating frontiers between grid points by bisection on a family's difficulty.

Where the grid brackets an estimator's frontier (reliable at H(X,Y) = a, not at b) more
widely than :data:`~mibench.map.regimes.RESOLUTION`, and the family can make a task at
any joint entropy in between (``Task.with_joint_entropy``: a codebook of round(2**h)
words, Bernoulli codes with another p), the map runs that task at the midpoint, with
the same estimator, N and seeds: ordinary cells in the store, placed off the grid
(``d`` absent). The regimes then narrow the bracket; each round halves it. Families
without a continuous difficulty keep their grid bracket, reported as such.
"""
from __future__ import annotations

import math

import pandas as pd

from mibench import theory
from mibench.map.regimes import RESOLUTION, frontiers
from mibench.map.cells import Group
from mibench.map.suite import Suite
from mibench.tasks import get_task, parse_task

MAX_ROUNDS = 8  # a 32-bit bracket needs 7 halvings to reach 0.25 bit


def probe_groups(suite: Suite, regimes: pd.DataFrame, known: list[Group]) -> list[Group]:
    """Groups at the midpoints of the brackets still wider than the resolution, and of
    reliable stretches wider than :data:`GAP_CHECK` below a frontier (reliability that
    comes and goes between grid points would otherwise go unseen)."""
    if regimes.empty:
        return []
    points, _ = frontiers(regimes)
    templates = {g.task_id: g for g in known}
    out: dict[tuple, Group] = {}
    for p in points[points["axis"] == "H(X,Y)"].itertuples():
        rows = regimes[(regimes["estimator"] == p.estimator) & (regimes["family"] == p.family) & (regimes["n"] == p.n)
                       & ((regimes["bins"] == p.bins) if pd.notna(p.bins) else regimes["bins"].isna())]
        spans = []
        if p.status == "bracketed":
            spans.append((p.max, p.upper))
        if p.status in ("bracketed", "located", "beyond grid"):
            below = sorted(set(rows.loc[rows["joint_entropy"] <= p.max + 1e-9, "joint_entropy"].astype(float)))
            spans += [(lo, hi) for lo, hi in zip(below, below[1:]) if hi - lo > GAP_CHECK]
        for lo, hi in spans:
            template = templates[rows.loc[rows["joint_entropy"] == hi, "task_id"].iloc[0]]
            group = _probe(template, p.estimator, int(p.n), lo, hi)
            if group is not None:
                out[(group.estimator, group.task_id, group.n)] = group
    return list(out.values())


GAP_CHECK = 2.0  # bits: reliable stretches wider than this get a look in the middle


def _probe(template: Group, estimator: str, n: int, lo: float, hi: float) -> Group | None:
    """The template's family at H(X,Y) = (lo + hi) / 2, or None when it cannot make a task
    strictly inside (lo, hi)."""
    base = get_task(template.task_name, **dict(template.task_params))
    task = base.with_joint_entropy((lo + hi) / 2)
    if task is None or not lo + 1e-9 < task.joint_entropy < hi - 1e-9:
        return None
    return Group(estimator, template.family, task.name, tuple(sorted(task.get_params().items())), task.id, n, None,
                 template.bins, template.seeds)


def resolution_note(points: pd.DataFrame) -> str:
    """One sentence on how finely the frontiers are known."""
    if points.empty:
        return ""
    counts = points["status"].value_counts()
    gaps = (points["upper"] - points["max"])[points["status"] == "bracketed"]
    text = f"{counts.get('located', 0)} of {len(points)} frontier points located to within {RESOLUTION} bit"
    if len(gaps):
        text += f"; {len(gaps)} only bracketed by the grid (median gap {float(gaps.median()):.2f} bits)"
    beyond, below = counts.get("beyond grid", 0), counts.get("below grid", 0)
    if beyond or below:
        text += f"; {beyond} beyond the grid (reliable everywhere), {below} below it (reliable nowhere)"
    return text + "."


THEORY_MAX_TERMS = 64  # distinct probabilities in a law: beyond this, exact expectations cost too much here


def theory_frontiers(suite: Suite, points: pd.DataFrame) -> pd.Series:
    """Where exact finite-sample theory puts each frontier point (H(X,Y), bits; NaN where
    theory is not available): for the estimators whose exact mean and spread are known
    (:data:`mibench.theory.SPREAD`) on families whose tasks have compact exact laws and a
    continuous difficulty (codebooks)."""
    out = pd.Series(math.nan, index=points.index, dtype=float)
    if points.empty or suite.tolerances.rel_tol:
        return out  # theory.frontier applies an absolute tolerance
    bases = {}
    for g in suite.groups:
        if g.d is not None and (g.family not in bases or g.d > bases[g.family].d):
            bases[g.family] = g
    for i, p in points.iterrows():
        base_group = bases.get(p["family"])
        if p["estimator"] not in theory.SPREAD or base_group is None or p["axis"] != "H(X,Y)":
            continue
        base = get_task(base_group.task_name, **dict(base_group.task_params))
        laws = base.exact_laws()
        if laws is None or base.with_joint_entropy(1.0) is None or sum(len(v[0]) for v in laws.values()) > THEORY_MAX_TERMS:
            continue
        top = float(base.joint_entropy) if base.joint_entropy is not None else 0.0
        out[i] = theory.frontier(p["estimator"], int(p["n"]), base.with_joint_entropy, (0.0, top), suite.tolerances.abs_tol)
    return out


def theory_biases(regimes: pd.DataFrame) -> pd.Series:
    """Exact expected bias (bits) of each group where theory knows it (NaN elsewhere):
    the estimators of :mod:`mibench.theory` on tasks with compact exact laws."""
    out = pd.Series(math.nan, index=regimes.index, dtype=float)
    cache: dict[tuple, float] = {}
    for i, row in regimes[regimes["estimator"].isin(theory.EXACT)].iterrows():
        key = (row["estimator"], row["task_id"], int(row["n"]))
        if key not in cache:
            task = parse_task(row["task_id"])
            laws = task.exact_laws()
            small = laws is not None and sum(len(v[0]) for v in laws.values()) <= THEORY_MAX_TERMS
            cache[key] = (theory.expected_mutual_information(row["estimator"], key[2], laws) - row["truth"]) if small else math.nan
        out[i] = cache[key]
    return out
