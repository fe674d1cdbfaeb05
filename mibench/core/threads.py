"""How many torch threads an estimate gets: from the work's size and the cores free now.

Torch's intra-op threads wait for each other at every parallel operation; with other
programs on the cores they wait for a core too, and a counting call that takes 0.1 s
alone takes 1-3 s (measured with two busy processes on a 2-core machine). Small work
gains nothing from threads either. So each public estimate runs with one thread when
its inputs are small or no other core is free, and otherwise with as many threads as
there are free cores, never more than torch's own setting (the user's choice, or
the sweep workers' 1). Free cores are read from the kernel's count of runnable tasks
(Linux ``/proc/loadavg``, an instant figure; elsewhere the one-minute load average).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any, Iterator

import torch

SMALL_WORK = 1 << 20  # input values below which one thread is faster (thread start-up dominates)


def _running_here() -> int:
    """Threads of this process running now (Linux): torch's and the tree searches' workers
    still spinning after the last call are ours, not a neighbour's."""
    running = 0
    for stat in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{stat}/stat", encoding="ascii") as f:
                running += f.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):  # a thread that ended meanwhile
            continue
    return max(1, running)  # the reader itself is one of them


READINGS = 5  # instant counts read, READING_GAP s apart; the fewest is taken
READING_GAP = 0.001


def busy_elsewhere() -> float:
    """Tasks of other processes running or runnable now (Linux), or the 1-minute load average.
    One instant count catches blips: a thread of ours winding down that the kernel still
    counted but that sleeps by the time ours are read, a short-lived neighbour. The fewest of
    READINGS counts is taken: a neighbour that keeps a core busy is in every one. (A trust()
    verdict that read 1 from a blip ran on one thread throughout: 8.2 s instead of 4.4.)"""
    try:
        fewest = math.inf
        for i in range(READINGS):
            if i:
                time.sleep(READING_GAP)
            with open("/proc/loadavg", encoding="ascii") as f:
                running = int(f.read().split()[3].split("/")[0])
            fewest = min(fewest, max(0, running - _running_here()))
            if fewest == 0:
                break
        return fewest
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except (OSError, AttributeError):
            return 0.0


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def values_in(array: Any) -> int:
    """How many values an input holds (0 when that is not cheap to know, e.g. a list)."""
    if isinstance(array, torch.Tensor):
        return array.numel()
    size = getattr(array, "size", None)
    return size if isinstance(size, int) else 0


def threads_for(values: int, limit: int | None = None) -> int:
    """Threads for work on ``values`` input values: 1 for small work, else the free cores,
    at most ``limit`` (torch's current setting when None)."""
    limit = torch.get_num_threads() if limit is None else limit
    if limit <= 1 or values < SMALL_WORK:
        return 1
    return max(1, min(limit, int(cores() - busy_elsewhere())))


@contextlib.contextmanager
def fitting_threads(values: int) -> Iterator[int]:
    """Run the code inside with :func:`threads_for` threads; torch's setting is restored after."""
    before = torch.get_num_threads()
    chosen = threads_for(values, before)
    if chosen == before:
        yield chosen
        return
    torch.set_num_threads(chosen)
    try:
        yield chosen
    finally:
        torch.set_num_threads(before)
