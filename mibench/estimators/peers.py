"""Other libraries' estimators as mibench estimators (``pip install 'mibench[peers]'``).

Each adapter is registered as ``library:method`` (``infomeasure:ksg(k=4)``,
``pyitlib:james_stein``, ``sklearn:ksg``, ``frites:gcmi``) and runs in sweeps,
``estimate``, ``trust`` and the leaderboard on exactly the samples mibench's own
estimators see. Every value is converted to **bits**. An adapter says what it accepts
(``inputs``: integer ``codes`` or ``continuous`` values), what the library returns
(``units``) and which quantities it estimates; a library that is not installed makes
its adapters refuse with the install line (``missing()`` says why), and suites skip them
with a one-line note.

Rows of several code columns are one symbol: they are turned into row ids before a
discrete library sees them (the entropy of the rows is that of their ids). Arrays go to
the library on the CPU as NumPy; the result follows the inputs' device.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import math
import warnings
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
import torch

from mibench._validate import Prepared, check_codes, check_range
from mibench.estimators.base import ENTROPY, LN2, MUTUAL_INFORMATION, BaseEstimator, Terms

INSTALL = "pip install 'mibench[peers]'"


class PeerEstimator(BaseEstimator):
    """An estimator computed by another library, called once per batch element."""

    library: ClassVar[str] = ""  # the module imported
    method: ClassVar[str] = ""  # the name after the prefix
    units: ClassVar[str] = "bits"  # what the library returns before conversion
    max_dims: ClassVar[int | None] = None  # columns per variable the method handles

    @classmethod
    def missing(cls) -> str | None:
        """Why this adapter cannot run here (its library does not import), or None."""
        try:
            importlib.import_module(cls.library)
        except Exception as exc:  # an absent or broken package is skipped, never fatal
            return f"{cls.library} is not available ({type(exc).__name__}: {exc}); {INSTALL}"
        return None

    @classmethod
    def installed(cls) -> bool:
        """Whether the library's package is on the path, found without importing it (a listing
        needs no more; :meth:`missing` imports, and also catches a broken install)."""
        return importlib.util.find_spec(cls.library.split(".")[0]) is not None

    @property
    def uses_distances(self) -> bool:  # type: ignore[override]
        return self.inputs == "continuous"

    def ceiling(self, n: int) -> float:
        if self.inputs == "codes":
            return math.log2(n)  # the library's plug-in-like estimates of all-distinct rows
        return math.inf

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        reason = self.missing()
        if reason:
            raise ValueError(f"{self.spec}: {reason}")
        if terms is ENTROPY and self.estimates_entropy:
            call: Callable[..., float] = self._entropy
        elif terms is MUTUAL_INFORMATION:
            call = self._mutual_information
        else:
            what = "H(X) and I(X;Y)" if self.estimates_entropy else "I(X;Y)"
            raise ValueError(f"{self.spec} estimates {what} only; use a mibench estimator for other quantities")
        arrays = [self._numpy(v, name) for v, name in zip(prepared.variables, names)]
        scale = 1.0 / LN2 if self.units == "nats" else 1.0
        with _quiet():
            values = [float(call(*(a[i] for a in arrays))) * scale for i in range(prepared.variables[0].shape[0])]
        return torch.tensor(values, dtype=torch.float64)

    def _numpy(self, v: torch.Tensor, name: str) -> np.ndarray:
        if self.max_dims is not None and v.shape[-1] > self.max_dims:
            raise ValueError(f"{self.spec} takes {self.max_dims} column(s) per variable; {name} has {v.shape[-1]} "
                             f"(the library scores each column separately, which is not I(X;Y) of the rows)")
        if self.inputs == "codes":
            if v.is_floating_point():
                raise TypeError(f"{self.spec} takes integer codes but {name} has float dtype {v.dtype}; cast whole "
                                "numbers with .astype(int), or bin continuous data first (mibench's own "
                                "binned(plugin, rule=uniform, bins=30) does both)")
            check_codes(v, name, self.spec)
            return np.stack([np.unique(b, axis=0, return_inverse=True)[1].reshape(-1) for b in v.cpu().numpy()])
        return v.to(dtype=torch.float64, device="cpu").numpy()

    def _entropy(self, x: np.ndarray) -> float:
        raise NotImplementedError

    def _mutual_information(self, x: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The peers' own warnings (log lines per call) would drown a sweep's progress."""
    logger = logging.getLogger("infomeasure")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


# -- infomeasure ---------------------------------------------------------------------
class _Infomeasure(PeerEstimator):
    library = "infomeasure"
    approach: ClassVar[str] = ""

    def _kwargs(self) -> dict[str, Any]:
        return {**self._params, "base": 2}

    def _entropy(self, x: np.ndarray) -> float:
        return importlib.import_module("infomeasure").entropy(x, approach=self.approach, **self._kwargs())

    def _mutual_information(self, x: np.ndarray, y: np.ndarray) -> float:
        return importlib.import_module("infomeasure").mutual_information(x, y, approach=self.approach, **self._kwargs())


def _infomeasure_discrete(method: str, approach: str, summary: str) -> type[PeerEstimator]:
    attrs = {"name": f"infomeasure:{method}", "method": method, "approach": approach, "inputs": "codes",
             "summary": f"infomeasure's {summary}", "reference": "infomeasure (Carl & Butler 2025)"}
    return type(f"Infomeasure_{method}", (_Infomeasure,), attrs)


class InfomeasureKSG(_Infomeasure):
    name = "infomeasure:ksg"
    nearest_neighbours = True
    method = "ksg"
    approach = "ksg"
    params = {"k": 4}
    summary = "infomeasure's KSG (Kraskov et al. 2004, algorithm 1); H by Kozachenko-Leonenko"
    reference = "infomeasure (Carl & Butler 2025)"

    def check_params(self, n_variables: int) -> None:
        check_range("k", self._params["k"], 1, integer=True, owner=self.spec)

    def _entropy(self, x: np.ndarray) -> float:
        return importlib.import_module("infomeasure").entropy(x, approach="metric", k=self._params["k"], base=2)


class InfomeasureKernel(_Infomeasure):
    name = "infomeasure:kernel"
    method = "kernel"
    approach = "kernel"
    params = {"bandwidth": 0.5, "kernel": "gaussian"}
    summary = "infomeasure's kernel density estimate with a fixed bandwidth (box or gaussian)"
    reference = "infomeasure (Carl & Butler 2025)"

    def check_params(self, n_variables: int) -> None:
        check_range("bandwidth", self._params["bandwidth"], 0, open_lo=True, owner=self.spec)


# -- pyitlib ---------------------------------------------------------------------------
class _Pyitlib(PeerEstimator):
    library = "pyitlib"
    inputs = "codes"
    reference = "pyitlib (Foster 2016)"
    estimator: ClassVar[str] = ""

    def _drv(self) -> Any:
        return importlib.import_module("pyitlib.discrete_random_variable")

    def _entropy(self, x: np.ndarray) -> float:
        return self._drv().entropy(x, estimator=self.estimator, base=2)

    def _mutual_information(self, x: np.ndarray, y: np.ndarray) -> float:
        return self._drv().information_mutual(x, y, estimator=self.estimator, base=2)


def _pyitlib(method: str, estimator: str, summary: str) -> type[PeerEstimator]:
    attrs = {"name": f"pyitlib:{method}", "method": method, "estimator": estimator, "summary": f"pyitlib's {summary}"}
    return type(f"Pyitlib_{method}", (_Pyitlib,), attrs)


# -- scikit-learn and frites -------------------------------------------------------------
class SklearnKSG(PeerEstimator):
    """scikit-learn's ``mutual_info_regression``: KSG (k = n_neighbors) after adding noise
    of 1e-10 x each column's mean |value|, in nats (converted here), clipped at 0 — so its
    bias on independent data is never negative. One column per side."""

    name = "sklearn:ksg"
    nearest_neighbours = True
    method = "ksg"
    library = "sklearn.feature_selection"
    params = {"n_neighbors": 3}
    units = "nats"
    estimates_entropy = False
    max_dims = 1
    summary = "scikit-learn's mutual_info_regression (KSG on 1 + 1 columns, jittered, clipped at 0)"
    reference = "scikit-learn; Kraskov et al. (2004); Ross (2014)"

    def check_params(self, n_variables: int) -> None:
        check_range("n_neighbors", self._params["n_neighbors"], 1, integer=True, owner=self.spec)

    def _mutual_information(self, x: np.ndarray, y: np.ndarray) -> float:
        select = importlib.import_module(self.library)
        return select.mutual_info_regression(x, y[:, 0], n_neighbors=self._params["n_neighbors"], random_state=0)[0]


class FritesGCMI(PeerEstimator):
    """frites' Gaussian-copula MI (``copnorm_nd`` then ``mi_nd_gg``, bias-corrected), bits."""

    name = "frites:gcmi"
    method = "gcmi"
    library = "frites.core"
    estimates_entropy = False
    summary = "frites' Gaussian-copula MI (Ince et al. 2017)"
    reference = "frites (Combrisson et al. 2022); Ince et al. (2017) Hum. Brain Mapp. 38:1541"

    @property
    def uses_distances(self) -> bool:  # type: ignore[override]
        return False  # ranks, like mibench's gcmi

    def _mutual_information(self, x: np.ndarray, y: np.ndarray) -> float:
        core = importlib.import_module(self.library)
        cx, cy = core.copnorm_nd(x.T, axis=-1), core.copnorm_nd(y.T, axis=-1)
        return float(core.mi_nd_gg(cx, cy, mvaxis=-2, traxis=-1))


PEERS: dict[str, type[PeerEstimator]] = {
    cls.name: cls
    for cls in (
        _infomeasure_discrete("plugin", "discrete", "plug-in (maximum likelihood)"),
        _infomeasure_discrete("miller_madow", "miller_madow", "Miller-Madow correction"),
        _infomeasure_discrete("grassberger", "grassberger", "Grassberger (2003) correction"),
        _infomeasure_discrete("chao_shen", "chao_shen", "Chao-Shen coverage estimator"),
        _infomeasure_discrete("shrink", "shrink", "James-Stein shrinkage"),
        _infomeasure_discrete("zhang", "zhang", "Zhang (2012) estimator"),
        _infomeasure_discrete("bonachela", "bonachela", "Bonachela et al. (2008) estimator"),
        _infomeasure_discrete("chao_wang_jost", "chao_wang_jost", "Chao-Wang-Jost (2013) estimator"),
        InfomeasureKSG,
        InfomeasureKernel,
        _pyitlib("ml", "ML", "maximum likelihood (plug-in)"),
        _pyitlib("james_stein", "JAMES-STEIN", "James-Stein shrinkage"),
        _pyitlib("good_turing", "GOOD-TURING", "Good-Turing frequencies"),
        _pyitlib("minimax", "MINIMAX", "minimax pseudo-count (Trybula 1958)"),
        SklearnKSG,
        FritesGCMI,
    )
}


def peer_status() -> dict[str, str | None]:
    """Each peer's spec name -> why it cannot run here (None when it can)."""
    return {name: cls.missing() for name, cls in PEERS.items()}
