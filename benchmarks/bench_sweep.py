"""asv benchmarks of the map's batched sweep step (one group: all seeds of an estimator,
task and N in one call), and ``track_`` benchmarks of the bias of key estimators on
fixed cells, so that an accuracy regression shows in asv's graphs beside the timings."""
from mibench.map.cells import Group
from mibench.map.sweep import run_group

from .common import sizes


def _group(estimator: str, task: str, params: dict, n: int, seeds: int = 10) -> Group:
    from mibench.tasks import get_task

    t = get_task(task, **params)
    return Group(estimator, task, task, tuple(sorted(params.items())), t.id, n, 0, None, tuple(range(seeds)))


CELLS = {
    "plugin": ("plugin", "binary_codes", {"dim": 40, "source": "codebook", "K": 2**6, "output": "copy"}),
    "grassberger": ("grassberger", "binary_codes", {"dim": 40, "source": "codebook", "K": 2**10, "output": "copy"}),
    "nsb": ("nsb(K=1024)", "parity", {"dim": 6, "noise": 0.1}),
    "ksg": ("ksg", "gaussian", {"dim_x": 2, "dim_y": 2, "rho": 0.6}),
    "gcmi": ("gcmi", "gaussian", {"dim_x": 2, "dim_y": 2, "rho": 0.6}),
    "kde": ("kde", "gaussian", {"dim_x": 1, "dim_y": 1, "rho": 0.6}),
}


class SweepStep:
    params = (list(CELLS), sizes(1024, 4096))
    param_names = ["estimator", "n"]
    timeout = 300

    def setup(self, estimator, n):
        self.group = _group(*CELLS[estimator], n=n)

    def time_run_group(self, estimator, n):
        run_group(self.group)

    def track_bias_bits(self, estimator, n):
        cells = run_group(self.group)
        return sum(c.estimate - c.truth for c in cells) / len(cells)

    track_bias_bits.unit = "bits"
