"""asv benchmarks of trust verdicts: one verdict on N rows of D tanh units against
10-class labels (the issue's budget: N = 10^5, D = 10 under a second on a laptop CPU)."""
import numpy as np

import mibench
from mibench.verdicts.verdict import load_atlas

from .common import activations, sizes


class Trust:
    params = (sizes(10_000, 100_000), [10], ["binned(plugin, rule=fixed, bins=30)", "binned(plugin, rule=fixed, bins=4)"])
    param_names = ["n", "d", "estimator"]

    def setup(self, n, d, estimator):
        self.x = activations(n, d)
        self.y = np.random.default_rng(1).integers(0, 10, n)
        load_atlas()  # the shipped map is read once per process

    def time_trust(self, n, d, estimator):
        mibench.trust(self.x, self.y, estimator)

    def track_expected_bias(self, n, d, estimator):
        return mibench.trust(self.x, self.y, estimator).expected_bias
