"""Work functions that kill their worker process, for the sweep's fault tests.
(Module level, so spawned workers can import them.)"""
import hashlib
import os
from pathlib import Path

from mibench.sweep import run_group

MARKER_DIR = "MIBENCH_TEST_MARKERS"


def dies_on_big_groups(group, device):
    if group.n == 512 and group.d == 9:
        os._exit(3)  # as if killed by the OOM killer
    return run_group(group, device)


def dies_once_per_group(group, device):
    name = hashlib.sha1(f"{group.estimator}|{group.task_id}|{group.n}".encode()).hexdigest()
    marker = Path(os.environ[MARKER_DIR]) / name  # str hashes differ between processes
    if group.n == 512 and not marker.exists():
        marker.touch()
        os._exit(3)
    return run_group(group, device)
