"""asv benchmark of a dump's information plane: every (layer, epoch) snapshot's
I(X;T) and I(T;Y) with the binned plug-in, against the IDNNs-style NumPy loop."""
import numpy as np

from mibench.dumps.format import Dump
from mibench.dumps.plane import information_plane
from mibench.gates.reference import _entropy_bits, _row_probabilities, ib_numpy_mi

from .common import activations, labels, sizes

SPEC = "binned(plugin, rule=fixed, bins=29, range=(-1.0, 1.0))"


class InformationPlane:
    """4 layers x 25 epochs of N = 4096 tanh units (widths 12, 10, 7, 5), 2 classes."""

    params = sizes(25, 5)
    param_names = ["epochs"]

    def setup(self, epochs):
        n, widths = 4096, (12, 10, 7, 5)
        snapshots = {f"layer{i}@{e}": activations(n, w, seed=10 * e + i) for i, w in enumerate(widths) for e in range(epochs)}
        self.dump = Dump({"labels": labels(n, classes=2), **snapshots})

    def time_mibench(self, epochs):
        information_plane(self.dump, SPEC)

    def time_numpy_loop(self, epochs):
        for layer, epoch in self.dump.snapshots():
            t = self.dump.snapshot(layer, epoch)
            edges = np.linspace(-1.0, 1.0, 30, dtype=t.dtype)
            binned = edges[np.digitize(t, edges) - 1]
            _entropy_bits(_row_probabilities(binned))  # I(X;T) = H(T): the layer is a function of the input
            ib_numpy_mi(t, self.dump.labels, n_edges=30)
