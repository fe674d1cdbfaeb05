"""Torch kernels of the estimation core (device-agnostic)."""
from mibench.core.counting import (
    Counts,
    codes_to_counts,
    counts_from_ids,
    joint_counts,
    joint_ids,
    pattern_ids,
    segment_sum,
)

__all__ = [
    "Counts",
    "codes_to_counts",
    "counts_from_ids",
    "joint_counts",
    "joint_ids",
    "pattern_ids",
    "segment_sum",
]
