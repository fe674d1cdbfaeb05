"""The regime map a verdict consults: the shipped default map, or a user's own map
directory, and the search for the cells nearest to a new estimate.

Nearness (all in bits or octaves, never in raw N):

* **count-based estimators** (discrete estimators and ``binned(...)``) see data only
  through the counts of the codes, so a cell is comparable when it used the same
  discrete estimator (plug-in, Miller-Madow, ...; any bin grid, any family) at a
  similar N and a similar *margin* log2 N - H^(X,Y), where H^(X,Y) = H^(X) + H^(Y) -
  I^ is the estimator's own joint entropy on that sample (the map's cells record the
  same three numbers): the bias of these estimators is a function of how many samples
  each joint pattern gets.
* **every other estimator**: the same estimator spec, a similar N, the same D (or
  within a factor 2) and a similar estimated I.

A cell is near when |log2 N - log2 N_cell| <= 1 and the difficulty differs by at
most :data:`MAX_DIFFICULTY_GAP` bits (continuous: also 25 % of I). Where no cell is
near, the map's verdict is ``unknown`` with the reason: never an invented one.
"""
from __future__ import annotations

import gzip
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench._version import __version__
from mibench.arrays import plain
from mibench.judging import Regime
from mibench.map.regimes import GROUP_COLUMNS
from mibench.registry import parse_spec

ATLAS_FILE = "atlas.csv.gz"
PROVENANCE_FILE = "atlas.json"
#: The group columns (:data:`mibench.map.regimes.GROUP_COLUMNS`) a shipped map keeps.
COLUMNS = [c for c in GROUP_COLUMNS if c not in ("failed", "at_ceiling")]
MAX_OCTAVES = 1.0  # |log2 N - log2 N_cell| for a cell to count as near
MAX_DIFFICULTY_GAP = 0.5  # bits of margin (count-based) or of I (others)
NEAREST = 5  # cells shown and voted on
REGENERATE = "mibench map default --out maps && mibench atlas maps/default --into-package"


class AtlasError(ValueError):
    """A map directory that cannot be used; the message says what to change."""


@dataclass
class MapEvidence:
    """What the regime map says about an estimate: its verdict, the expected bias and the
    spread of one estimate's error about it, and the nearest cells (bits)."""

    regime: Regime
    reason: str
    expected_bias: float = math.nan
    spread: float = math.nan  # std of one estimate's error about expected_bias: the cells' biases and seeds
    cells: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimator_key(spec: str | Any) -> tuple[str, str]:
    """(kind, key): ("counts", inner discrete spec) for count-based estimators, else
    ("spec", canonical spec)."""
    est = parse_spec(spec) if isinstance(spec, str) else spec
    if est.discrete is not None:  # binned(...) too: the discrete estimator behind the bins
        return "counts", est.discrete.spec
    return "spec", est.spec


class Atlas:
    """Regime cells (one row per estimator x task x N group) and where they came from."""

    def __init__(self, cells: pd.DataFrame, provenance: dict[str, Any]) -> None:
        missing = sorted(set(COLUMNS) - set(cells.columns))
        if missing:
            raise AtlasError(f"the map lacks column(s) {', '.join(missing)}; regenerate it with: {REGENERATE}")
        self.provenance = provenance
        keys = {spec: estimator_key(spec) for spec in cells["estimator"].unique()}
        self.cells = cells.assign(kind=cells["estimator"].map(lambda s: keys[s][0]),
                                  key=cells["estimator"].map(lambda s: keys[s][1]),
                                  log2n=np.log2(cells["n"].astype(float)),
                                  joint_hat=cells["entropy_x"] + cells["entropy_y"] - cells["mean"])
        self.cells["margin"] = self.cells["log2n"] - self.cells["joint_hat"]

    # -- loading -------------------------------------------------------------------
    @classmethod
    def shipped(cls) -> "Atlas":
        """The default suite's map, shipped with the package."""
        folder = resources.files("mibench.verdicts") / "data"
        with (folder / ATLAS_FILE).open("rb") as raw, gzip.open(raw, "rt") as text:
            cells = pd.read_csv(text)
        return cls(cells, json.loads((folder / PROVENANCE_FILE).read_text()))

    @classmethod
    def from_dir(cls, path: str | Path) -> "Atlas":
        """A map directory written by ``mibench map`` (its regimes.csv), or one written by
        ``mibench atlas`` (atlas.csv.gz with atlas.json)."""
        path = Path(path)
        if (path / ATLAS_FILE).is_file():
            provenance = json.loads((path / PROVENANCE_FILE).read_text()) if (path / PROVENANCE_FILE).is_file() else {}
            _check_version(provenance.get("version"), path)
            return cls(pd.read_csv(path / ATLAS_FILE), provenance)
        regimes = path / "regimes.csv"
        if not regimes.is_file():
            raise AtlasError(f"{path} holds no map: expected regimes.csv (written by `mibench map --out DIR`, inside "
                             f"DIR/<suite>) or {ATLAS_FILE}; give the suite's own folder, e.g. maps/default")
        provenance = map_provenance(path)
        _check_version(provenance.get("version"), path)
        return cls(pd.read_csv(regimes), provenance)

    # -- the search ----------------------------------------------------------------
    def nearest(self, estimator: Any, n: int, d: int, estimate: float, entropies: tuple[float, float, float] | None = None
                ) -> MapEvidence:
        """The map's evidence for one estimate (see the module notes)."""
        kind, key = estimator_key(estimator)
        pool = self.cells[(self.cells["kind"] == kind) & (self.cells["key"] == key)]
        if kind == "counts":  # cells whose truth is the information of the codes (not of a density behind them)
            pool = pool[pool["joint_entropy"].notna()]
        if pool.empty:
            return MapEvidence(Regime.UNKNOWN, f"the map has no cells for {key}: it was never mapped "
                                          f"(map it with a suite of your own and pass maps=DIR)")
        octaves = (pool["log2n"] - math.log2(n)).abs()
        if not (octaves <= MAX_OCTAVES).any():
            lo, hi = int(pool["n"].min()), int(pool["n"].max())
            where = "below" if n < lo else "above"
            return MapEvidence(Regime.UNKNOWN, f"N = {n} lies {where} every map cell for {key} (the map spans N = {lo} to {hi})")
        if kind == "counts":
            if entropies is None:
                return MapEvidence(Regime.UNKNOWN, "the map scores I(X;Y); for H(X) alone it has no cells")
            if not all(math.isfinite(h) for h in entropies):
                return MapEvidence(Regime.UNKNOWN, "the estimator gave no finite entropies on this sample, so no map "
                                              "cell can be matched to it")
            h_x, h_y, h_xy = entropies
            gap = (pool["margin"] - (math.log2(n) - h_xy)).abs()
            allowed = MAX_DIFFICULTY_GAP
            # among cells of that margin, prefer those whose poorer side is as rich (labels vs codes)
            poorer = np.minimum(pool["entropy_x"], pool["entropy_y"])
            rank_extra = 0.25 * (poorer - min(h_x, h_y)).abs().clip(upper=4)
            what = f"margin log2 N - H^(X,Y) = {math.log2(n) - h_xy:.2f} bits"
        else:
            d_gap = (np.log2(pool["d"].astype(float).fillna(d)) - math.log2(max(d, 1))).abs()
            gap = (pool["mean"] - estimate).abs() + np.where(d_gap <= 1, 0.5 * d_gap, math.inf)
            allowed = max(MAX_DIFFICULTY_GAP, 0.25 * abs(estimate))
            what = f"D = {d}, I^ = {estimate:.2f} bits"
            rank_extra = 0.0
        near = pool.assign(distance=gap + 0.5 * octaves + rank_extra)[(octaves <= MAX_OCTAVES) & (gap <= allowed)]
        if near.empty:
            return MapEvidence(Regime.UNKNOWN, f"no map cell for {key} near N = {n} and {what}")
        near = near.nsmallest(NEAREST, "distance")
        return _vote(near, key)


def _vote(near: pd.DataFrame, key: str) -> MapEvidence:
    """The regime the near cells vote for (weights 1 / (0.1 + distance), a tie going to
    the worse regime), their weighted mean bias, and the std of one estimate's error about
    it (the cells' biases about it, and each cell's seed std)."""
    weights = 1.0 / (0.1 + near["distance"].to_numpy())
    votes: dict[str, float] = {}
    for regime, w in zip(near["regime"], weights):
        votes[regime] = votes.get(regime, 0.0) + float(w)
    regime = Regime(max(votes, key=lambda r: (round(votes[r], 9), Regime(r).severity)))
    finite = near["bias"].notna().to_numpy()  # undefined cells (failed seeds) have no bias to average
    bias = spread = math.nan
    if finite.any():
        b, s, w = near["bias"].to_numpy()[finite], near["std"].fillna(0.0).to_numpy()[finite], weights[finite]
        bias = float(np.average(b, weights=w))
        spread = math.sqrt(float(np.average((b - bias) ** 2, weights=w)) + float(np.average(s**2, weights=w)))
    shown = ["family", "task_id", "estimator", "n", "d", "bins", "truth", "mean", "bias", "std", "regime", "distance"]
    cells = [plain(row) for row in near[shown].to_dict("records")]
    share = votes[regime] / sum(votes.values())
    said = (f"their mean bias is {bias:+.3f} bits" if math.isfinite(bias)
            else "none has a bias: the estimator failed on some of their seeds")
    reason = (f"{len(near)} nearby map cell(s) of {key} ({', '.join(sorted(set(near['family'])))}) say {regime} "
              f"({share:.0%} of the weight); {said}")
    return MapEvidence(regime, reason, bias, spread, cells)


def _check_version(version: str | None, path: Path) -> None:
    if version is not None and version.split(".")[:2] != __version__.split(".")[:2]:
        raise AtlasError(f"the map in {path} was written by mibench {version}, this is {__version__}: its cells may "
                         f"not match today's estimators; regenerate it ({REGENERATE}) or pass another maps= directory")


def map_provenance(path: Path) -> dict[str, Any]:
    """Suite and version of a ``mibench map`` directory, read from its store."""
    import sqlite3
    from contextlib import closing

    store = path / "results.sqlite"
    if not store.is_file():
        return {"suite": path.name}
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        meta = dict(db.execute("select key, value from meta").fetchall()) if "meta" in tables else {}
        versions = [r[0] for r in db.execute("select distinct version from cells")] if "cells" in tables else []
    return {"suite": meta.get("suite", path.name), "version": versions[0] if len(versions) == 1 else None}


def package_data() -> Path:
    """Where the shipped map lives in the installed package (what ``--into-package`` replaces)."""
    return Path(__file__).resolve().parent / "data"


def build_atlas(map_dir: str | Path, out: str | Path) -> dict[str, Any]:
    """Write the compact map (``atlas.csv.gz``) and its provenance (``atlas.json``) from
    a ``mibench map`` directory; returns the provenance."""
    map_dir, out = Path(map_dir), Path(out)
    regimes = map_dir / "regimes.csv"
    if not regimes.is_file():
        raise AtlasError(f"{map_dir} holds no regimes.csv: run `mibench map default --out maps` and pass "
                         "maps/default")
    cells = pd.read_csv(regimes)[COLUMNS]
    provenance = {**map_provenance(map_dir), "groups": len(cells), "date": date.today().isoformat(),
                  "command": REGENERATE, "columns": COLUMNS}
    if provenance.get("version") is None:
        provenance["version"] = __version__
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / ATLAS_FILE, "wt", compresslevel=9) as f:
        cells.to_csv(f, index=False, float_format="%.10g")
    (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=1) + "\n")
    return provenance
