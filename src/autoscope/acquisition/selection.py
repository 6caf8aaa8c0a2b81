"""Picking the best candidates from scores, with ties broken at random.

Shared by acquisitions (batch selection) and policies: a candidate never wins
because of its index in the pool.
"""

from __future__ import annotations

import numpy as np

__all__ = ["select_top"]


def select_top(
    scores: np.ndarray, available: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the ``n`` best available scores, ties broken at random.

    Args:
        scores: One score per candidate, `(N,)`; higher is better.
        available: Boolean mask `(N,)`.
        n: How many to pick.
        rng: Breaks ties, so no candidate wins because of its index.

    Returns:
        Pool indices `(min(n, available.sum()),)`, best first.
    """
    candidates = np.flatnonzero(available)
    if len(candidates) == 0:
        return candidates
    jitter = rng.random(len(candidates))
    order = np.lexsort((jitter, -scores[candidates]))
    return candidates[order[:n]]
