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



class OneValuePlugIn(PlugIn):
    """Returns one value whatever the batch: a board must not rank it on the seeds zip kept."""

    def mutual_information_parts(self, x, y):
        value, h_x, h_y = super().mutual_information_parts(x, y)
        first = value.reshape(-1)[:1] if hasattr(value, "reshape") else value
        return first, None, None


class ExitingPlugIn(PlugIn):
    """Calls sys.exit(0) when asked for an estimate."""

    def mutual_information(self, x, y):
        import sys

        sys.exit(0)

    def mutual_information_parts(self, x, y):
        return self.mutual_information(x, y), None, None


class SleepingPlugIn(PlugIn):
    """Sleeps (nearly) forever."""

    def _estimate(self, prepared, names, terms):
        import time

        time.sleep(3600)
        return super()._estimate(prepared, names, terms)


class WordPlugIn(PlugIn):
    """Returns a word instead of a number."""

    def mutual_information(self, x, y):
        return "abc"

    def mutual_information_parts(self, x, y):
        return "abc", None, None


class NoTargetPlugIn(PlugIn):
    """Pairs with no task: it says no task knows what it estimates."""

    def target(self, task):
        return None
