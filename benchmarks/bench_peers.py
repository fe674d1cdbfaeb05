"""Side by side with other libraries on the same data, where they are installed
(``pip install infomeasure frites``); a missing library skips its benchmarks
(asv skips a benchmark whose setup raises NotImplementedError)."""
import importlib

import mibench

from .common import gaussian_pair, sizes


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NotImplementedError(f"{module} is not installed") from None


class _Pair:
    """One Gaussian pair, 1 + 1 dims (rho = 0.5), as NumPy arrays."""

    param_names = ["n"]

    def setup(self, n):
        x, y = gaussian_pair(n, 1, "cpu")
        self.x, self.y = x.numpy(), y.numpy()


class KSG(_Pair):
    params = sizes(5_000, 20_000)
    timeout = 300

    def time_mibench_ksg(self, n):
        mibench.mutual_information(self.x, self.y, "ksg", k=4)


class KSGInfomeasure(_Pair):
    params = sizes(5_000, 20_000)
    timeout = 300

    def setup(self, n):
        self.im = _need("infomeasure")
        super().setup(n)

    def time_infomeasure_ksg(self, n):
        self.im.mutual_information(self.x[:, 0], self.y[:, 0], approach="ksg", k=4)


class GaussianCopula(_Pair):
    params = sizes(10_000, 100_000)

    def time_mibench_gcmi(self, n):
        mibench.mutual_information(self.x, self.y, "gcmi")


class GaussianCopulaFrites(_Pair):
    params = sizes(10_000, 100_000)

    def setup(self, n):
        self.core = _need("frites.core")
        super().setup(n)

    def time_frites_gcmi(self, n):
        copnorm = self.core.copnorm_nd
        self.core.mi_nd_gg(copnorm(self.x.T, axis=-1), copnorm(self.y.T, axis=-1), mvaxis=-2, traxis=-1)
