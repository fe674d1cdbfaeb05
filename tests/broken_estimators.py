"""Deliberately broken third-party estimators: ``mibench conform`` must name what is wrong."""
import math

import torch

from mibench import BaseEstimator
from mibench.estimators.discrete import PlugIn


class NatsPlugIn(PlugIn):
    """Plug-in that forgets to convert to bits."""

    def _estimate(self, prepared, names, terms):
        return super()._estimate(prepared, names, terms) * math.log(2)


class BatchMeanPlugIn(PlugIn):
    """Plug-in that averages over the batch: batched calls differ from single ones."""

    def _estimate(self, prepared, names, terms):
        values = super()._estimate(prepared, names, terms)
        return values.mean().expand_as(values)


class Sloppy(BaseEstimator):
    """Returns a number for anything, NaN included, and ignores y."""

    name = "sloppy"

    def mutual_information(self, x, y):
        return 1.0

    def _estimate(self, prepared, names, terms):
        return torch.ones(prepared.variables[0].shape[0], dtype=torch.float64)

