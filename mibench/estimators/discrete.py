"""Classic discrete entropy estimators on counts, and the shared counting step.

Each estimator turns the counts of the distinct patterns seen (``Counts``) into an
entropy in bits; mutual information and the conditional forms are signed sums of
joint entropies, each estimated with the same correction. Inputs are non-negative
integer codes of shape ``(n,)``, ``(n, d)`` or ``(b, n, d)``; a row of d codes is one
symbol.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar, Sequence

import torch

from mibench._validate import Prepared, check_codes, check_range, prepare
from mibench.core.counting import Counts, codes_to_counts, joint_counts, pattern_ids, segment_sum
from mibench.core.memo import once
from mibench.estimators.base import LN2, MUTUAL_INFORMATION, BaseEstimator, Terms

Subset = tuple[int, ...]


def _xlogx(c: torch.Tensor) -> torch.Tensor:
    """c * ln c with 0 ln 0 = 0 (and 1 ln 1 = 0: only larger counts take a logarithm, so the
    common case of rows seen once costs no logarithms at all)."""
    out = torch.zeros_like(c)
    big = c > 1
    if bool(big.any()):
        out[big] = c[big] * torch.log(c[big])
    return out


class CountBased(BaseEstimator):
    """An estimator whose quantities are signed sums of joint entropies of integer codes
    (the discrete estimators, and binning in front of them)."""

    uses_distances = False  # codes are counted, never subtracted
    count_based = True

    def codes(self, x: Any, name: str = "x") -> torch.Tensor:
        """The integer codes ``(b, n, d)`` this estimator counts for ``x`` (bits follow
        from their pattern counts): see :meth:`_codes`."""
        return self._codes(prepare((x,), (name,)).variables[0], name)

    def _codes(self, t: torch.Tensor, name: str) -> torch.Tensor:
        return t

    def _subset_entropies(self, prepared: Prepared, names: list[str], subsets: Sequence[Subset]) -> dict[Subset, torch.Tensor]:
        """Joint entropy (bits, ``(b,)``) of each subset of the variables."""
        raise NotImplementedError

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        entropies = self._subset_entropies(prepared, names, [subset for _, subset in terms])
        return sum(sign * entropies[subset] for sign, subset in terms)  # type: ignore[return-value]

    def mutual_information_parts(self, x: Any, y: Any) -> tuple[Any, Any, Any]:
        """I(X;Y), H(X) and H(Y), each by this estimator from one counting pass (bits)."""
        prepared = prepare((x, y), ("x", "y"))
        self.check_params(2)
        entropies = self._subset_entropies(prepared, ["x", "y"], [subset for _, subset in MUTUAL_INFORMATION])
        mi = entropies[(0,)] + entropies[(1,)] - entropies[(0, 1)]
        return prepared.finish(mi), prepared.finish(entropies[(0,)]), prepared.finish(entropies[(1,)])


class DiscreteEstimator(CountBased):
    """An estimator that sees data only through the counts of distinct patterns."""

    #: True when the estimator takes a support size ``K``: an int (every variable has
    #: K possible symbols; a joint of m variables has K**m) or one int per variable.
    takes_support: ClassVar[bool] = False
    inputs = "codes"

    @property
    def discrete(self) -> "DiscreteEstimator":
        return self

    def counted_by(self, discrete: "DiscreteEstimator") -> "DiscreteEstimator":
        """This estimator with ``discrete`` counting instead: ``discrete`` itself."""
        return discrete

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        """Entropy in bits of each batch element, ``(b,)`` float64.

        ``support`` is the number of possible symbols K where the estimator uses it.
        """
        raise NotImplementedError

    def ceiling(self, n: int) -> float:
        """The estimate when all n samples are distinct (bits), where this estimator saturates."""
        if n < 2:
            raise ValueError(f"a ceiling needs n >= 2 samples, got {n}")
        singletons = Counts(torch.ones(n, dtype=torch.int64), torch.zeros(n, dtype=torch.int64), 1, n)
        return float(self.entropy_from_counts(singletons, self._supports(1)[0])[0])

    # -- support sizes ---------------------------------------------------------
    def _supports(self, n_variables: int) -> list[int | None]:
        K = self._params.get("K")
        if K is None:
            return [None] * n_variables
        if isinstance(K, (tuple, list)):
            return [int(k) for k in K]
        return [int(K)] * n_variables

    def check_params(self, n_variables: int) -> None:
        if not self.takes_support:
            return
        K = self._params.get("K")
        if K is None:
            return
        sizes = list(K) if isinstance(K, (tuple, list)) else [K]
        if isinstance(K, (tuple, list)) and len(sizes) != n_variables:
            raise ValueError(
                f"{self.name}: K has {len(sizes)} sizes but the quantity has {n_variables} variables; "
                "give one support size per variable, or one int for all"
            )
        for k in sizes:
            check_range("support size K", k, 1, integer=True, owner=self.name)

    # -- estimation ------------------------------------------------------------
    def _subset_entropies(self, prepared: Prepared, names: list[str], subsets: Sequence[Subset]) -> dict[Subset, torch.Tensor]:
        for t, name in zip(prepared.variables, names):
            once("check_codes", [t], name, lambda: check_codes(t, name, self.spec))
        return self.subset_entropies(prepared.variables, subsets)

    def subset_entropies(self, variables: Sequence[torch.Tensor], subsets: Sequence[Subset]) -> dict[Subset, torch.Tensor]:
        """Joint entropy (bits, ``(b,)`` float64) of each subset of integer-code variables
        ``(b, n, d)``; each variable's rows are counted once, whatever the subsets."""
        subsets = list(dict.fromkeys(subsets))
        joined = {i for subset in subsets if len(subset) > 1 for i in subset}
        # a variable in a joint needs its pattern ids; one that is only counted alone needs
        # just its counts (no sort of its rows: several times faster on rows that are all distinct)
        id_sets = {i: once("pattern_ids", [variables[i]], None, lambda: _shared_pattern_ids(variables[i])) for i in sorted(joined)}
        supports = self._supports(len(variables))
        out = {}
        for subset in subsets:
            if len(subset) == 1 and subset[0] not in joined:
                v = variables[subset[0]]
                counts = once("row_counts", [v], None, lambda: _row_counts(v))
            else:
                chosen = [id_sets[i] for i in subset]
                counts = once("joint_counts", [t for pair in chosen for t in pair], None, lambda: joint_counts(chosen))
            support = None
            if all(supports[i] is not None for i in subset):
                support = math.prod(supports[i] for i in subset)  # type: ignore[misc]
            out[subset] = self.entropy_from_counts(counts, support)
        return out


def _row_counts(codes: torch.Tensor) -> Counts:
    """Counts of the distinct rows of ``codes (b, n, d)``; a variable broadcast over the
    batch is counted once."""
    b = codes.shape[0]
    if b > 1 and codes.stride(0) == 0:
        one = codes_to_counts(codes[:1])
        return Counts(one.values.repeat(b), torch.arange(b, device=codes.device).repeat_interleave(len(one.values)), b,
                      one.n_samples)
    return codes_to_counts(codes)


def _shared_pattern_ids(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pattern ids of ``codes (b, n, d)``; a variable broadcast over the batch (one label
    vector for many snapshots) is counted once and its ids shared."""
    b = codes.shape[0]
    if b > 1 and codes.stride(0) == 0:
        ids, k = pattern_ids(codes[:1])
        return ids.expand(b, -1), k.expand(b)
    return pattern_ids(codes)


class _CountFormula(DiscreteEstimator):
    """Helpers for estimators written as sums over the observed counts."""

    @staticmethod
    def _prep(counts: Counts) -> tuple[torch.Tensor, int]:
        return counts.values.to(torch.float64), counts.n_samples

    @staticmethod
    def _sum(v: torch.Tensor, counts: Counts) -> torch.Tensor:
        return segment_sum(v, counts.batch, counts.n_batches)

    @staticmethod
    def _plugin_nats(counts: Counts) -> torch.Tensor:
        # Only counts > 1 add to sum c ln c (the others add exactly 0, so the sum is the same
        # to the last bit): rows seen once, most of them where rows are distinct, cost nothing.
        repeated = counts.values > 1
        c = counts.values[repeated].to(torch.float64)
        total = segment_sum(c * torch.log(c), counts.batch[repeated], counts.n_batches)
        return math.log(counts.n_samples) - total / counts.n_samples


class PlugIn(_CountFormula):
    """Plug-in (maximum-likelihood) entropy: -sum p_i log2 p_i with p_i = n_i / N.

    Biased down by about (K-1)/(2N ln 2) bits and never above log2 N, so once N is
    small against 2**H it saturates at log2 N (Paninski 2003).
    """

    name = "plugin"
    summary = "maximum-likelihood frequencies; saturates at log2 N"
    reference = "Paninski (2003) Neural Computation 15:1191"
    ceiling_is_bound = True

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        return self._plugin_nats(counts) / LN2


class MillerMadow(_CountFormula):
    """Miller-Madow: plug-in + (K1 - 1) / (2 N ln 2) bits, K1 = distinct symbols seen."""

    name = "miller_madow"
    summary = "plug-in plus the first-order bias term (K1-1)/2N"
    reference = "Miller (1955) Information Theory in Psychology"
    ceiling_is_bound = True

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        k1 = counts.distinct().to(torch.float64)
        return (self._plugin_nats(counts) + (k1 - 1) / (2 * counts.n_samples)) / LN2


class Jackknife(_CountFormula):
    """Leave-one-out jackknife of the plug-in: N H - (N-1)/N sum_j H_{-j}.

    Removing one sample from a symbol with count c changes only that count, so the
    N leave-one-out estimates are computed from the counts (Efron & Stein 1981;
    Zahl 1977).
    """

    name = "jackknife"
    summary = "leave-one-out bias correction of the plug-in"
    reference = "Zahl (1977) Ecology 58:907; Strong et al. (1998) PRL 80:197"

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        c, n = self._prep(counts)
        s = self._sum(_xlogx(c), counts)
        full = math.log(n) - s / n
        s_each = s[counts.batch] - _xlogx(c) + _xlogx(c - 1)
        loo = math.log(n - 1) - s_each / (n - 1)
        return (n * full - (n - 1) / n * self._sum(c * loo, counts)) / LN2


class Grassberger(_CountFormula):
    """Grassberger (2003, eq. 35): ln N - (1/N) sum n_i G(n_i) nats, with
    G(n) = psi(n) + (-1)^n / 2 * (psi((n+1)/2) - psi(n/2)). Reported in bits."""

    name = "grassberger"
    summary = "digamma-based bias correction (Grassberger 2003)"
    reference = "Grassberger (2003) arXiv:physics/0307138, eq. 35"

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        c, n = self._prep(counts)
        sign = 1.0 - 2.0 * torch.remainder(c, 2)  # (-1)^c
        g = torch.digamma(c) + 0.5 * sign * (torch.digamma((c + 1) / 2) - torch.digamma(c / 2))
        return (math.log(n) - self._sum(c * g, counts) / n) / LN2


class ChaoShen(_CountFormula):
    """Chao-Shen coverage-adjusted Horvitz-Thompson estimator.

    Coverage C = 1 - f1/N (f1 singletons; if every sample is a singleton f1 is taken
    as N-1, as in the R package ``entropy``), p_i = C n_i / N and
    H = -sum p_i ln p_i / (1 - (1 - p_i)^N) nats, reported in bits.
    """

    name = "chao_shen"
    summary = "coverage-adjusted Horvitz-Thompson; for many unseen symbols"
    reference = "Chao & Shen (2003) Environ. Ecol. Stat. 10:429"

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        c, n = self._prep(counts)
        f1 = self._sum((c == 1).to(torch.float64), counts)
        f1 = torch.where(f1 == n, torch.full_like(f1, n - 1), f1)
        coverage = 1 - f1 / n
        p = coverage[counts.batch] * c / n
        inclusion = -torch.expm1(n * torch.log1p(-p))  # 1 - (1-p)^N, accurate for small p
        return self._sum(-p * torch.log(p) / inclusion, counts) / LN2


class JamesStein(_CountFormula):
    """James-Stein shrinkage of the frequencies toward uniform over K symbols
    (Hausser & Strimmer 2009): p = lam/K + (1-lam) p_ml with
    lam = (1 - sum p_ml^2) / ((N-1) sum (1/K - p_ml)^2), clipped to [0, 1].

    ``K`` (one per variable) is the support size; unseen symbols get mass lam/K.
    Without K the support is the K1 symbols seen, so nothing unseen gets mass.
    """

    name = "james_stein"
    params = {"K": None}
    summary = "shrinks frequencies toward uniform; needs the support size K"
    reference = "Hausser & Strimmer (2009) JMLR 10:1469"
    takes_support = True

    def entropy_from_counts(self, counts: Counts, support: int | None = None) -> torch.Tensor:
        c, n = self._prep(counts)
        k1 = counts.distinct().to(torch.float64)
        k = k1 if support is None else torch.full_like(k1, float(support))
        if bool((k < k1).any()):
            raise ValueError(
                f"{self.name}: support size K={support} is smaller than the {int(k1.max())} distinct "
                "symbols observed; give the true number of possible symbols"
            )
        p_ml = c / n
        target = 1.0 / k
        unseen = k - k1
        spread = self._sum((target[counts.batch] - p_ml) ** 2, counts) + unseen * target**2
        lam = (1 - self._sum(p_ml**2, counts)) / ((n - 1) * spread)
        lam = torch.where(spread > 0, lam.clamp(0.0, 1.0), torch.ones_like(lam))
        p = lam[counts.batch] * target[counts.batch] + (1 - lam[counts.batch]) * p_ml
        p_unseen = lam * target
        h_unseen = torch.where(p_unseen > 0, -unseen * p_unseen * torch.log(p_unseen), torch.zeros_like(p_unseen))
        return (self._sum(-p * torch.log(p), counts) + h_unseen) / LN2
