"""asv benchmarks of the torch estimation core: counting, binning, plug-in MI."""
import mibench
from mibench.core import pattern_ids
from mibench.estimators.binning import discretize
from mibench.gates.reference import ib_numpy_mi

from .common import DEVICES, activations, codes, labels, sizes

IB_SPEC = "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))"


class PatternCounting:
    params = (sizes(10_000, 1_000_000), sizes(8, 1, 64), sizes(2, 30, 100_000), DEVICES)
    param_names = ["n", "d", "alphabet", "device"]

    def setup(self, n, d, alphabet, device):
        self.codes = codes(n, d, alphabet, device)

    def time_pattern_ids(self, n, d, alphabet, device):
        pattern_ids(self.codes)


class Binning:
    params = (sizes(100_000, 1_000_000), ["fixed", "uniform", "quantile"])
    param_names = ["n", "rule"]

    def setup(self, n, rule):
        import torch

        self.x = torch.from_numpy(activations(n, 64))[None]

    def time_discretize(self, n, rule):
        discretize(self.x, rule, bins=30)


class PluginMI:
    """I(T;Y) on binned activations, the information-plane workload (D=64, 10 classes)."""

    params = sizes(10_000, 100_000, 1_000_000)
    param_names = ["n"]
    timeout = 300

    def setup(self, n):
        self.x, self.y = activations(n, 64), labels(n)

    def time_mibench(self, n):
        mibench.mutual_information(self.x, self.y, IB_SPEC)

    def peakmem_mibench(self, n):
        mibench.mutual_information(self.x, self.y, IB_SPEC)

    def time_numpy_ib(self, n):
        ib_numpy_mi(self.x, self.y, n_edges=30)

    def track_agreement_bits(self, n):
        return abs(mibench.mutual_information(self.x, self.y, IB_SPEC) - ib_numpy_mi(self.x, self.y, n_edges=30))


class BatchedPluginMI:
    """16 seeds of N=10,000 in one call, against the NumPy approach looped."""

    def setup(self):
        self.x, self.y = activations(10_000, 64, batch=16), labels(10_000, batch=16)

    def time_mibench_batched(self):
        mibench.mutual_information(self.x, self.y, IB_SPEC)

    def time_numpy_ib_loop(self):
        for i in range(16):
            ib_numpy_mi(self.x[i], self.y[i, :, 0], n_edges=30)


class DiscreteEstimators:
    params = (["plugin", "miller_madow", "jackknife", "grassberger", "chao_shen", "james_stein", "nsb(K=4096)", "jvhw",
               "wu_yang(K=4096)"],)
    param_names = ["estimator"]

    def setup(self, estimator):
        self.x = codes(100_000, 4, 8).cpu()[0].numpy()

    def time_entropy(self, estimator):
        mibench.entropy(self.x, estimator)


class CountingVsNumPy:
    """Distinct rows and their counts at N = 10^6: mibench's counting core against NumPy's
    ``unique`` over a void view of each row (the plain alternative), on the rows users
    have: random 64-column int8 rows, and 12 binary columns (a binary or quantized layer)."""

    params = (sizes(1_000_000, 100_000), ["random-64", "binary-12"])
    param_names = ["n", "rows"]
    timeout = 300

    def setup(self, n, rows):
        from mibench.gates.speed import _counting

        columns, alphabet = (64, 128) if rows == "random-64" else (12, 2)
        self.ours, self.numpy = _counting(columns, alphabet)(n)

    def time_mibench(self, n, rows):
        self.ours()

    def time_numpy_unique(self, n, rows):
        self.numpy()
