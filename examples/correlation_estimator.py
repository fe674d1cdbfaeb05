"""An estimator written outside mibench, against its documented contract.

Gaussian mutual information from the sample correlation of two variables:
I(X;Y) = 1/2 log2(det S_X det S_Y / det S) bits, S the sample covariance. Use it as
``-e examples.correlation_estimator:CorrelationMI`` (with the repository root on
PYTHONPATH), check it with ``mibench conform examples.correlation_estimator:CorrelationMI``,
or in Python: ``mibench.mutual_information(x, y, CorrelationMI())``.

What a third-party estimator needs: subclass :class:`mibench.BaseEstimator`, give it a
``name`` and its ``params`` (name -> default), and implement ``_estimate``, which gets
the validated variables as ``(b, n, d)`` float tensors and returns one value per batch
element, in bits. mibench does the rest: input checks, batching, numpy/torch in and out.
Tags say what it is, so the map, the verdicts and ``mibench conform`` treat it right
without testing its class: here ``estimates_entropy = False`` (I(X;Y) only); the others
keep their defaults (``inputs = "continuous"``, not ``count_based``, not ``stochastic``).
"""
import math

import torch

from mibench import BaseEstimator
from mibench.estimators.base import MUTUAL_INFORMATION


class CorrelationMI(BaseEstimator):
    name = "correlation_mi"
    params = {"shrinkage": 0.0}
    summary = "Gaussian MI from the sample covariance (exact for jointly Gaussian data)"
    reference = "Cover & Thomas (2006), eq. 8.56"
    estimates_entropy = False

    def check_params(self, n_variables):
        value = self._params["shrinkage"]
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"shrinkage must be a number in [0, 1); got {value!r}")

    def ceiling(self, n):
        return math.inf

    def _estimate(self, prepared, names, terms):
        if terms != MUTUAL_INFORMATION:
            raise ValueError("correlation_mi estimates I(X;Y) only")
        x, y = (v.to(torch.float64) for v in prepared.variables)
        joint = torch.cat([x, y], dim=-1)
        centred = joint - joint.mean(dim=1, keepdim=True)
        cov = centred.transpose(1, 2) @ centred / (joint.shape[1] - 1)
        eye = torch.diag_embed(torch.diagonal(cov, dim1=1, dim2=2))
        cov = (1 - self._params["shrinkage"]) * cov + self._params["shrinkage"] * eye
        dx = x.shape[-1]
        logdet = torch.linalg.slogdet
        nats = 0.5 * (logdet(cov[:, :dx, :dx])[1] + logdet(cov[:, dx:, dx:])[1] - logdet(cov)[1])
        return nats / math.log(2)
