"""Shared machinery of the estimators on real-valued samples.

They see each batch element as float64 ``(n, d)`` tensors on the input's device
and implement an entropy and/or a mutual information; conditional forms follow from
those where the estimator defines them.
"""
from __future__ import annotations

from typing import Callable, ClassVar

import torch

from mibench._validate import Prepared
from mibench.estimators.base import (
    CONDITIONAL_ENTROPY,
    CONDITIONAL_MUTUAL_INFORMATION,
    ENTROPY,
    LN2,
    MUTUAL_INFORMATION,
    BaseEstimator,
    Terms,
)


class ContinuousEstimator(BaseEstimator):
    """Base of estimators on real-valued samples. Subclasses implement ``_entropy``
    and/or ``_mutual_information`` on one ``(n, d)`` float64 tensor per variable,
    returning nats as a 0-d tensor."""

    #: Columns that never vary make densities degenerate; these estimators refuse them.
    rejects_constant_columns: ClassVar[bool] = True

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError(f"{self.name} estimates mutual information only, not entropy")

    def _mutual_information(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._entropy(x) + self._entropy(y) - self._entropy(torch.cat([x, y], dim=1))

    def _conditional_mutual_information(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        xz, yz = torch.cat([x, z], dim=1), torch.cat([y, z], dim=1)
        return self._entropy(xz) + self._entropy(yz) - self._entropy(torch.cat([x, y, z], dim=1)) - self._entropy(z)

    def check_input(self, variables: list[torch.Tensor], names: list[str]) -> None:
        """Per-call checks that need the data (sample size, constant columns)."""
        if not self.rejects_constant_columns:
            return
        for t, name in zip(variables, names):
            spread = t.amax(dim=1) - t.amin(dim=1)
            if bool((spread == 0).any()):
                column = int(torch.nonzero(spread == 0)[0, 1])
                raise ValueError(
                    f"{self.name}: column {column} of {name} is constant; densities of constant columns are "
                    "degenerate: drop the column (it carries no information)"
                )

    def _estimate(self, prepared: Prepared, names: list[str], terms: Terms) -> torch.Tensor:
        variables = [t.to(torch.float64) for t in prepared.variables]
        self.check_input(variables, names)

        def element(b: int) -> torch.Tensor:
            parts = [v[b] for v in variables]
            if terms == ENTROPY:
                return self._entropy(parts[0])
            if terms == MUTUAL_INFORMATION:
                return self._mutual_information(*parts)
            if terms == CONDITIONAL_ENTROPY:
                return self._entropy(torch.cat(parts, dim=1)) - self._entropy(parts[1])
            if terms == CONDITIONAL_MUTUAL_INFORMATION:
                return self._conditional_mutual_information(*parts)
            raise ValueError(f"unsupported quantity {terms}")  # pragma: no cover - the base class only builds these

        out = self._each_element(element, variables[0].shape[0], prepared.device)
        return torch.stack([torch.as_tensor(v, dtype=torch.float64, device=prepared.device) for v in out]) / LN2

    def _each_element(self, element: Callable[[int], torch.Tensor], batch: int, device: torch.device
                      ) -> list[torch.Tensor]:
        """``element(b)`` for each batch element, in order."""
        return [element(b) for b in range(batch)]
