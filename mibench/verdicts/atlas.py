"""The regime map a verdict consults: the shipped default map, or a user's own map
directory, and the search for the cells nearest to a new estimate.

Nearness (all in bits or octaves, never in raw N):

* **count-based estimators** (discrete estimators and ``binned(...)``) see data only
  through the counts of the codes, so a cell is comparable when it used the same
  discrete estimator (plug-in, Miller-Madow, ...; any bin grid, any family) at a
  similar N and a similar *margin* log2 N - H^(X,Y), where H^(X,Y) = H^(X) + H^(Y) -
  I^ is the estimator's own joint entropy on that sample (the map's cells record the
  same three numbers): the bias of these estimators is a function of how many samples
  each joint pattern gets. Cells whose poorer side (min of H^(X), H^(Y)) carries about as
  many bits (:data:`POORER_GAP`) speak first: at one margin a label's I errs high, a copied
  code's low; where none of them is near, the others do, and the reason says so.
* **every other estimator**: the same estimator spec, a similar N, the same D (or
  within a factor 2), a similar estimated I, marginals with tails as heavy
  (:func:`tail_index` within :data:`TAIL_GAP`): Student-t cells expecting -0.39 bit and
  Gaussian cells expecting +0.01 must not average into "reliable"; and the same kind of
  dependence (:func:`scale_dependence` within :data:`SCALE_GAP`): a Gaussian copula with
  Cauchy marginals has a Student-t's tails but not its shared scale, which every estimator
  here misses (0.1-0.2 bit low at 2-3 dof).

A cell is near when |log2 N - log2 N_cell| <= 1 and the difficulty differs by at
most :data:`MAX_DIFFICULTY_GAP` bits (continuous: also 25 % of I). A count-based sample
with a wider margin than every cell within that octave is read by the easiest cells
(these estimators' bias shrinks as the margin grows). Where no cell is near, the map's
verdict is ``unknown`` with the reason: never an invented one.

An entropy H(X) of a count-based estimator is matched against **entropy cells**: each
group's H^(X) + H^(Y) - I^ is the estimator's H^(X,Y) of the joint codes, beside their
exact H(X,Y) (:meth:`Atlas.nearest_entropy`).
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
from mibench.judging import TOLERANCES, Regime, declared_ceiling
from mibench.judging import regime as judged_regime
from mibench.map.regimes import GROUP_COLUMNS
from mibench.registry import parse_spec

ATLAS_FILE = "atlas.csv.gz"
PROVENANCE_FILE = "atlas.json"
#: The group columns (:data:`mibench.map.regimes.GROUP_COLUMNS`) a shipped map keeps.
COLUMNS = [c for c in GROUP_COLUMNS if c not in ("failed", "at_ceiling")]
MAX_OCTAVES = 1.0  # |log2 N - log2 N_cell| for a cell to count as near
MAX_DIFFICULTY_GAP = 0.5  # bits of margin (count-based) or of I (others)
TAIL_GAP = 0.6  # tail-index units (see tail_index): how far a continuous cell's marginal tails may lie from the sample's
SCALE_GAP = 0.15  # how far a continuous cell's scale_dependence may lie from the sample's (Gaussian copula 0, SE ~0.04 at N = 512; Student-t 0.08-0.7)
TAIL_ROWS = 4096  # rows drawn from a cell's task to read its tail index and scale dependence
POORER_GAP = 1.0  # bits (or a quarter of it): how far a count-based cell's poorer side's entropy may lie from the sample's
NEAREST = 5  # cells shown and voted on
REGENERATE = ("mibench map default --out maps && mibench map trust --out maps && "
              "mibench atlas maps/default maps/trust --into-package")


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
        self._entropy: pd.DataFrame | None = None  # the entropy cells, built when first asked for
        self._shapes: pd.DataFrame | None = None  # each continuous cell's tail index and scale dependence, when first asked for

    # -- loading -------------------------------------------------------------------
    @classmethod
    def shipped(cls) -> "Atlas":
        """The default suite's map, shipped with the package."""
        folder = resources.files("mibench.verdicts") / "data"
        with (folder / ATLAS_FILE).open("rb") as raw:
            cells = read_atlas(raw, "the shipped map")
        return cls(cells, json.loads((folder / PROVENANCE_FILE).read_text()))

    @classmethod
    def from_dir(cls, path: str | Path) -> "Atlas":
        """A map directory written by ``mibench map`` (its regimes.csv), or one written by
        ``mibench atlas`` (atlas.csv.gz with atlas.json)."""
        path = Path(path)
        if (path / ATLAS_FILE).is_file():
            provenance = json.loads((path / PROVENANCE_FILE).read_text()) if (path / PROVENANCE_FILE).is_file() else {}
            _check_version(provenance.get("version"), path)
            with (path / ATLAS_FILE).open("rb") as raw:
                return cls(read_atlas(raw, path / ATLAS_FILE), provenance)
        regimes = path / "regimes.csv"
        if not regimes.is_file():
            raise AtlasError(f"{path} holds no map: expected regimes.csv (written by `mibench map --out DIR`, inside "
                             f"DIR/<suite>) or {ATLAS_FILE}; give the suite's own folder, e.g. maps/default")
        provenance = map_provenance(path)
        _check_version(provenance.get("version"), path)
        return cls(pd.read_csv(regimes), provenance)

    # -- the search ----------------------------------------------------------------
    def _pool(self, estimator: Any, n: int) -> tuple[pd.DataFrame, str, str] | MapEvidence:
        """The cells of this estimator (count-based: of its discrete estimator, on families
        whose truth is that of the codes) and their distance in octaves of N, or the
        reason there are none near."""
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
        return pool.assign(octaves=octaves), kind, key

    def nearest(self, estimator: Any, n: int, d: int, estimate: float, entropies: tuple[float, float, float] | None = None,
                tails: float | None = None, scale: float | None = None, same_d: bool = False) -> MapEvidence:
        """The map's evidence for one I(X;Y) estimate (see the module notes); ``tails`` and
        ``scale``: the sample's :func:`tail_index` and :func:`scale_dependence`, for
        estimators of continuous values; ``same_d``: only cells of this very D (not within a
        factor 2), where the estimator's bias moves fast with D."""
        found = self._pool(estimator, n)
        if isinstance(found, MapEvidence):
            return found
        pool, kind, key = found
        if kind == "counts":
            if entropies is None:
                return MapEvidence(Regime.UNKNOWN, "the map scores I(X;Y); for H(X) alone it has no cells")
            if not all(math.isfinite(h) for h in entropies):
                return MapEvidence(Regime.UNKNOWN, "the estimator gave no finite entropies on this sample, so no map "
                                              "cell can be matched to it")
            h_x, h_y, h_xy = entropies
            margin = math.log2(n) - h_xy
            gap = (pool["margin"] - margin).abs()
            where = f"N = {n} and margin log2 N - H^(X,Y) = {margin:.2f} bits"
            # cells whose poorer side is about as rich speak first (labels vs codes): at one margin
            # a binary label's I sits under H(Y) and errs high, a code copied to a code's under
            # log2 N and errs low; averaged, their biases cancelled into a false "only -0.09 bits"
            poorer_gap = (np.minimum(pool["entropy_x"], pool["entropy_y"]) - min(h_x, h_y)).abs()
            alike = poorer_gap <= max(POORER_GAP, 0.25 * min(h_x, h_y))
            rank = gap + 0.25 * poorer_gap.clip(upper=4)
            found = _nearest(pool[alike], rank[alike], (gap <= MAX_DIFFICULTY_GAP)[alike], key, where, margin=margin) \
                if alike.any() else MapEvidence(Regime.UNKNOWN, "")
            if found.regime != Regime.UNKNOWN:
                return found
            found = _nearest(pool, rank, gap <= MAX_DIFFICULTY_GAP, key, where, margin=margin)
            if found.regime != Regime.UNKNOWN:  # said, so that a reader weighs it
                found.reason += (f"; none of them has a poorer side as rich as this sample's ({min(h_x, h_y):.2f} bits), "
                                 "so they are matched by margin alone")
            return found
        for feature, value, gap, what in (
                ("tails", tails, TAIL_GAP, "marginal tails like this sample's (tail index {:.2f}; a normal's is "
                                           "1.79, a Cauchy's 5.0)"),
                ("scale", scale, SCALE_GAP, "its kind of dependence (scale dependence {:.2f}: 0 for a Gaussian "
                                            "copula, 0.25-0.7 for Student-t with 3 to 1 dof)")):
            if value is None or not math.isfinite(value):
                continue
            # heavy tails and a shared scale bias these estimators as Gaussian cells cannot show
            alike = ~(self._cell_shapes().loc[pool.index, feature] - value).abs().gt(gap)  # a cell without one stays
            if not alike.any():
                return MapEvidence(Regime.UNKNOWN, f"no map cell for {key} near N = {n} has " + what.format(value))
            pool = pool[alike]
        d_gap = (np.log2(pool["d"].astype(float).fillna(d)) - math.log2(max(d, 1))).abs()
        gap = (pool["mean"] - estimate).abs() + np.where(d_gap <= (0 if same_d else 1), 0.5 * d_gap, math.inf)
        allowed = max(MAX_DIFFICULTY_GAP, 0.25 * abs(estimate))
        return _nearest(pool, gap, gap <= allowed, key, f"N = {n}, D = {d} and I^ = {estimate:.2f} bits")

    def nearest_entropy(self, estimator: Any, n: int, estimate: float) -> MapEvidence:
        """The map's evidence for an entropy estimate H^(X) (bits) of a count-based
        estimator. The map's groups score I(X;Y), but for a count-based estimator each
        group's H^(X) + H^(Y) - I^ is the same discrete estimator's H^(X,Y) of the joint
        codes, beside their exact H(X,Y) (``joint_entropy``): an entropy cell, matched by
        the margin log2 N - H^ as the I(X;Y) cells are. Its seed std is not stored; the
        group's I^ std stands in for it (the same counts, one entropy of three)."""
        if estimator_key(estimator)[0] != "counts":
            return MapEvidence(Regime.UNKNOWN, "the map holds entropy cells for count-based estimators only")
        found = self._pool(estimator, n)
        if isinstance(found, MapEvidence):
            return found
        pool, _, key = found
        if not math.isfinite(estimate):
            return MapEvidence(Regime.UNKNOWN, "the estimator gave no finite entropy on this sample, so no map cell "
                                          "can be matched to it")
        pool = self._entropy_cells().loc[pool.index].assign(octaves=pool["octaves"])
        gap = (pool["margin"] - (math.log2(n) - estimate)).abs()
        what = f"N = {n} and margin log2 N - H^ = {math.log2(n) - estimate:.2f} bits"
        return _nearest(pool, gap, gap <= MAX_DIFFICULTY_GAP, key, what, quantity="H(X,Y)",
                        margin=math.log2(n) - estimate)

    def _cell_shapes(self) -> pd.DataFrame:
        """Each continuous cell's :func:`tail_index` ("tails") and :func:`scale_dependence`
        ("scale"), read from TAIL_ROWS rows of its task (NaN for count-based cells and for
        tasks this install cannot build)."""
        if self._shapes is None:
            from mibench.tasks import parse_task

            tails, scale = {}, {}
            for task_id in self.cells.loc[self.cells["kind"] == "spec", "task_id"].unique():
                try:
                    x, y = parse_task(task_id).sample(TAIL_ROWS, 0)
                    tails[task_id], scale[task_id] = tail_index(x, y), scale_dependence(x, y)
                except (ValueError, TypeError, KeyError):  # a map of tasks from elsewhere: nothing to compare
                    continue
            ids = self.cells["task_id"]
            self._shapes = pd.DataFrame({"tails": ids.map(tails), "scale": ids.map(scale)}, dtype=float)
        return self._shapes

    def _entropy_cells(self) -> pd.DataFrame:
        """The count-based cells read as entropy cells of their joint codes (see
        :meth:`nearest_entropy`), judged by the map's rules against their exact H(X,Y)."""
        if self._entropy is None:
            cells = self.cells[(self.cells["kind"] == "counts") & self.cells["joint_entropy"].notna()]
            declared = {(key, n): declared_ceiling(parse_spec(key), int(n))
                        for key, n in set(zip(cells["key"], cells["n"]))}
            ceiling = np.array([declared[k] for k in zip(cells["key"], cells["n"])], dtype=float)
            bias = cells["joint_hat"] - cells["joint_entropy"]
            at_ceiling = np.abs(cells["joint_hat"].to_numpy() - ceiling) <= TOLERANCES.delta
            regimes = [judged_regime(0 if math.isfinite(m) else 1, m, b, s if math.isfinite(s) else 0.0, int(k), t, bool(c))
                       for m, b, s, k, t, c in zip(cells["joint_hat"], bias, cells["std"], cells["seeds"],
                                                   cells["joint_entropy"], at_ceiling)]
            self._entropy = cells.assign(mean=cells["joint_hat"], truth=cells["joint_entropy"], bias=bias,
                                         regime=regimes)
        return self._entropy


MAX_ATLAS_BYTES = 64 << 20  # an atlas.csv.gz inflates to at most this (the shipped one: about 1.4 MB)


def read_atlas(raw: Any, where: Any) -> pd.DataFrame:
    """The cells of a compact map from its gzip bytes, inflated only up to MAX_ATLAS_BYTES
    (a small file may inflate without bound); anything else is an AtlasError naming it."""
    import io
    import zlib

    try:
        with gzip.open(raw, "rb") as inflating:
            text = inflating.read(MAX_ATLAS_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise AtlasError(f"{where} is not a gzip-compressed map ({type(exc).__name__}: {exc}); write it with "
                         f"`mibench atlas` ({REGENERATE})") from None
    if len(text) > MAX_ATLAS_BYTES:
        raise AtlasError(f"{where} inflates to more than {MAX_ATLAS_BYTES >> 20} MiB, far beyond any map; "
                         "is it the file `mibench atlas` wrote?")
    try:
        return pd.read_csv(io.BytesIO(text))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AtlasError(f"{where} is not a map's CSV ({type(exc).__name__}: {exc})") from None


def tail_index(*sides: Any) -> float:
    """How heavy the marginals' tails are: the median over the columns of X and Y of
    log2((q99 - q1) / (q75 - q25)). A normal's is 1.79, Student-t's 2.57 with 3 dof, 3.09
    with 2 and 4.99 with 1, a uniform's 0.97 (closed forms); NaN when no column has spread
    (codes)."""
    cols = np.concatenate([np.asarray(s, dtype=float).reshape(len(s), -1) for s in sides if s is not None], axis=1)
    q1, q25, q75, q99 = np.percentile(cols, [1, 25, 75, 99], axis=0)
    spread = q75 > q25
    if not spread.any():
        return math.nan
    return float(np.median(np.log2((q99[spread] - q1[spread]) / (q75[spread] - q25[spread]))))


MAX_SHAPE_COLUMNS = 64  # columns per side read for scale_dependence (its mean settles long before)


def scale_dependence(x: Any, y: Any) -> float:
    """How much X's and Y's magnitudes move together beyond their correlation: the mean over
    column pairs of corr(zx^2, zy^2) - corr(zx, zy)^2, z the normal scores of each column's
    ranks. 0 for any Gaussian copula (the squares of a bivariate normal with correlation r
    correlate by r^2, whatever the marginals); a shared random scale (Student-t: 0.36 at 3
    dof and 0.7 at 1 dof with no correlation) makes it positive. NaN without a column pair
    with spread."""
    from scipy import special, stats

    sides = []
    for side in (x, y):
        a = np.asarray(side, dtype=float).reshape(len(side), -1)[:, :MAX_SHAPE_COLUMNS]
        sides.append(special.ndtri(stats.rankdata(a, axis=0) / (len(a) + 1)))
    zx, zy = sides
    with np.errstate(divide="ignore", invalid="ignore"):
        both = np.corrcoef(np.hstack([zx, zy]).T)[: zx.shape[1], zx.shape[1]:]
        squares = np.corrcoef(np.hstack([zx**2, zy**2]).T)[: zx.shape[1], zx.shape[1]:]
    excess = np.atleast_2d(squares - both**2)
    return float(np.nanmean(excess)) if np.isfinite(excess).any() else math.nan


def _nearest(pool: pd.DataFrame, gap: pd.Series, near: pd.Series, key: str, what: str, quantity: str = "I(X;Y)",
             margin: float | None = None) -> MapEvidence:
    """The vote of the NEAREST cells within one octave of N and the allowed gap. A
    count-based sample with a larger ``margin`` (more rows per joint pattern) than every
    cell within that octave is easier than all of them: the easiest cells (within the gap of
    the largest margin) speak for it, since these estimators' bias shrinks as the margin grows."""
    in_reach = pool["octaves"] <= MAX_OCTAVES
    close = pool.assign(distance=gap + 0.5 * pool["octaves"])[in_reach & near]
    widest = pool.loc[in_reach, "margin"].max()
    if close.empty and margin is not None and margin > widest:
        easiest = pool[in_reach & (pool["margin"] >= widest - MAX_DIFFICULTY_GAP)]
        found = _vote(easiest.assign(distance=0.5 * easiest["octaves"]).nsmallest(NEAREST, "distance"), key, quantity)
        found.reason = (f"the sample's margin ({margin:.2f} bits) is wider than every map cell's near this N (up to "
                        f"{widest:.2f}), so the easiest cells speak for it: {found.reason}")
        return found
    if close.empty:
        return MapEvidence(Regime.UNKNOWN, f"no map cell for {key} near {what}")
    return _vote(close.nsmallest(NEAREST, "distance"), key, quantity)


def _vote(near: pd.DataFrame, key: str, quantity: str = "I(X;Y)") -> MapEvidence:
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
    cells_of = "" if quantity == "I(X;Y)" else f" (their {quantity}, as an entropy)"
    reason = (f"{len(near)} nearby map cell(s) of {key}{cells_of} ({', '.join(sorted(set(near['family'])))}) say {regime} "
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


def build_atlas(map_dirs: str | Path | list[str | Path], out: str | Path) -> dict[str, Any]:
    """Write the compact map (``atlas.csv.gz``) and its provenance (``atlas.json``) from
    one or more ``mibench map`` directories (the shipped map joins the default suite's
    with the trust suite's continuous neighbours); returns the provenance."""
    dirs = [Path(p) for p in (map_dirs if isinstance(map_dirs, (list, tuple)) else [map_dirs])]
    out = Path(out)
    parts, suites, versions = [], [], set()
    for map_dir in dirs:
        regimes = map_dir / "regimes.csv"
        if not regimes.is_file():
            raise AtlasError(f"{map_dir} holds no regimes.csv: run `mibench map default --out maps` and pass "
                             "maps/default")
        parts.append(pd.read_csv(regimes)[COLUMNS])
        found = map_provenance(map_dir)
        suites.append(found["suite"])
        versions.add(found.get("version"))
    if len(set(suites)) < len(suites):
        raise AtlasError(f"the same suite given twice ({', '.join(suites)}): give each suite's directory once")
    cells = pd.concat(parts, ignore_index=True)
    version = versions.pop() if len(versions) == 1 else None
    provenance = {"suite": "+".join(suites), "suites": suites, "version": version, "groups": len(cells),
                  "date": date.today().isoformat(), "command": REGENERATE, "columns": COLUMNS}
    if provenance["version"] is None:
        provenance["version"] = __version__
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / ATLAS_FILE, "wt", compresslevel=9) as f:
        cells.to_csv(f, index=False, float_format="%.10g")
    (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=1) + "\n")
    return provenance
