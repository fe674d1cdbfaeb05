"""asv benchmarks of the continuous estimators, by N, dimension and device."""
import mibench

from .common import DEVICES, SMOKE, gaussian_pair, sizes


class KSG:
    params = (sizes(5_000, 20_000), sizes(1, 5), [1, 2], DEVICES)
    param_names = ["n", "d", "algorithm", "device"]
    timeout = 300

    def setup(self, n, d, algorithm, device):
        self.x, self.y = gaussian_pair(n, d, device)

    def time_ksg(self, n, d, algorithm, device):
        mibench.mutual_information(self.x, self.y, "ksg", k=4, algorithm=algorithm)

    def track_ksg_bias_bits(self, n, d, algorithm, device):
        truth = mibench.get_task("gaussian", dim_x=d, dim_y=d, rho=0.5).mutual_information
        return float(mibench.mutual_information(self.x, self.y, "ksg", k=4, algorithm=algorithm)) - truth


class KSGMemory:
    """KSG at N = 100,000, 2 + 2 dims: the peak-memory target (< 2 GiB)."""

    timeout = 300

    def setup(self):
        self.x, self.y = gaussian_pair(10_000 if SMOKE else 100_000, 2, "cpu")

    def peakmem_ksg(self):
        mibench.mutual_information(self.x, self.y, "ksg", k=4)


class Parametric:
    params = (sizes(10_000, 100_000), sizes(1, 8), ["parametric_gaussian", "gcmi"], DEVICES)
    param_names = ["n", "d", "estimator", "device"]

    def setup(self, n, d, estimator, device):
        self.x, self.y = gaussian_pair(n, d, device)

    def time_mi(self, n, d, estimator, device):
        mibench.mutual_information(self.x, self.y, estimator)


class Kernel:
    params = (sizes(1_000, 4_000), sizes(1, 4), ["kde", "kolchinsky_tracey"], DEVICES)
    param_names = ["n", "d", "estimator", "device"]

    def setup(self, n, d, estimator, device):
        self.x, _ = gaussian_pair(n, d, device)

    def time_entropy(self, n, d, estimator, device):
        mibench.entropy(self.x, estimator)


class Renyi:
    params = (sizes(256, 1_024), DEVICES)
    param_names = ["n", "device"]

    def setup(self, n, device):
        self.x, self.y = gaussian_pair(n, 2, device)

    def time_mi(self, n, device):
        mibench.mutual_information(self.x, self.y, "renyi")


class Neural:
    params = (["infonce", "nwj", "mine"], DEVICES)
    param_names = ["estimator", "device"]
    timeout = 300

    def setup(self, estimator, device):
        self.x, self.y = gaussian_pair(4_000, 2, device)

    def time_default_budget(self, estimator, device):
        mibench.mutual_information(self.x, self.y, estimator)
