"""Work functions that kill their worker process, for the sweep's fault tests.
(Module level, so spawned workers can import them.)"""
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

from mibench.map.sweep import run_group

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


def slow_group(group, device):
    # long enough that the test, polling the store, interrupts the sweep mid-way even on a
    # busy machine (0.5 s once let all 16 groups finish before the interrupt, in CI)
    time.sleep(1.5)
    return run_group(group, device)


def sweep_until_interrupted(suite_path, out):
    """Run a suite on two slow workers as ``mibench map --jobs 2`` does; exit 130 on Ctrl-C."""
    from mibench.map.store import Store
    from mibench.map.suite import load_suite
    from mibench.map.sweep import _run_processes, pending_groups

    # a terminal's Ctrl-C reaches a process whose SIGINT is Python's own handler; a test
    # runner may have left SIGINT ignored, which a child would inherit (found in full runs)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    suite = load_suite(suite_path)
    store = Store(out)
    try:
        _run_processes(pending_groups(suite, store), "cpu", 2, lambda group, rows: store.write(rows), work=slow_group)
    except KeyboardInterrupt:
        sys.exit(130)
