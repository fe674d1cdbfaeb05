"""Fixtures shared by the verdict tests: the shipped map and a trained population dump."""
import pytest

import mibench
from mibench.dumps.nets import train_reference
from mibench.verdicts.atlas import Atlas


@pytest.fixture(scope="session")
def atlas():
    return Atlas.shipped()


@pytest.fixture(scope="session")
def tanh_dump(tmp_path_factory):
    """``tishby-tanh`` after 300 epochs, 6 snapshots: a population dump (every 12-bit input once)."""
    path = tmp_path_factory.mktemp("dumps") / "tanh.npz"
    train_reference("tishby-tanh", epochs=300, snapshots=6, seed=0, out=path)
    return mibench.Dump(path)
