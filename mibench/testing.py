"""Hypothesis strategies for property tests of estimators (needs ``hypothesis``).

Shipped with the package so users can property-test their own estimators against
the same generators.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def codes(draw, n: int | None = None, max_dim: int = 3, max_symbols: int = 6) -> np.ndarray:
    """Integer codes of shape ``(n, d)`` with values in ``[0, max_symbols)``."""
    n = draw(st.integers(2, 60)) if n is None else n
    d = draw(st.integers(1, max_dim))
    k = draw(st.integers(1, max_symbols))
    return draw(hnp.arrays(np.int64, (n, d), elements=st.integers(0, k - 1)))


@st.composite
def paired_codes(draw, variables: int = 2, max_dim: int = 3, max_symbols: int = 6) -> tuple[np.ndarray, ...]:
    """``variables`` code arrays sharing the same number of rows n."""
    n = draw(st.integers(2, 60))
    return tuple(draw(codes(n=n, max_dim=max_dim, max_symbols=max_symbols)) for _ in range(variables))


@st.composite
def count_vectors(draw, max_symbols: int = 12, max_count: int = 30) -> np.ndarray:
    """Positive counts of the distinct symbols of one sample of at least 2."""
    counts = st.lists(st.integers(1, max_count), min_size=1, max_size=max_symbols).filter(lambda c: sum(c) >= 2)
    return np.array(draw(counts), dtype=np.int64)
