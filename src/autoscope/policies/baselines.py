"""Model-free baseline policies: random, raster (serpentine) and space-filling.

They are the yardsticks every model-based policy is compared against, and the
default seed-point generators of a campaign.
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import ConfigError
from autoscope.policies.base import (
    CampaignState,
    Policy,
    Suggestion,
    register_policy,
    suggestions_from_indices,
)

__all__ = ["RandomPolicy", "RasterPolicy", "SpaceFillingPolicy"]


@register_policy("random")
class RandomPolicy(Policy):
    """Uniformly random available candidates.

    Example:
        >>> from autoscope.data.pool import CandidatePool
        >>> pool = CandidatePool(np.array([[0, 0], [0, 1], [1, 0]]))
        >>> state = CampaignState(pool, np.array([0]), np.array([1.0]), np.array([], int),
        ...                       np.array([], int), 0, np.random.default_rng(0))
        >>> sorted(s.index for s in RandomPolicy().ask(state, 2))
        [1, 2]
    """

    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Return ``n`` distinct random available candidates."""
        candidates = np.flatnonzero(state.available())
        chosen = state.rng.choice(candidates, size=min(n, len(candidates)), replace=False)
        return suggestions_from_indices(state, chosen)


@register_policy("raster")
class RasterPolicy(Policy):
    """A serpentine raster: rows top to bottom, alternating direction.

    Args:
        by: ``"row"`` (default) scans rows; ``"column"`` scans columns.
    """

    def __init__(self, *, by: str = "row") -> None:
        if by not in ("row", "column"):
            raise ConfigError(f"raster 'by' must be 'row' or 'column', got {by!r}")
        self.by = by

    def order(self, coords: np.ndarray) -> np.ndarray:
        """Serpentine order of pool ``coords`` `(N, 2)`, as pool indices `(N,)`."""
        major, minor = (
            (coords[:, 0], coords[:, 1]) if self.by == "row" else (coords[:, 1], coords[:, 0])
        )
        rank = np.unique(major, return_inverse=True)[1]
        minor_key = np.where(rank % 2 == 0, minor, -minor)
        return np.lexsort((minor_key, major))

    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Return the next ``n`` available candidates in serpentine order."""
        order = self.order(state.pool.coords)
        available = state.available()
        return suggestions_from_indices(state, order[available[order]][:n])


@register_policy("space-filling")
class SpaceFillingPolicy(Policy):
    """Greedy farthest-point sampling in feature (patch) space.

    Each pick maximises the Euclidean distance to the nearest measured or
    pending candidate; with nothing measured the first pick is random.

    Args:
        feature: Name of the pool feature to measure distances in.
    """

    def __init__(self, *, feature: str = "patches") -> None:
        self.feature = feature
        self._pool_id: int | None = None
        self._x: np.ndarray | None = None
        self._nearest: np.ndarray | None = None
        self._seen: set[int] = set()

    def _squared_distances(self, i: int) -> np.ndarray:
        assert self._x is not None
        diff = self._x - self._x[i]
        return np.einsum("ij,ij->i", diff, diff)

    def _nearest_taken(self, state: CampaignState) -> np.ndarray:
        """Squared distance of every candidate to its nearest taken one, updated incrementally.

        The cache is derived state: rebuilt whenever the pool changes or a
        taken point was released (a rejected suggestion), so a resumed run and
        an uninterrupted one compute the same values.
        """
        taken = {int(i) for i in np.concatenate([state.measured, state.pending])}
        pool = state.pool
        if self._pool_id != id(pool) or self._x is None or len(self._x) != len(pool) or not (
            self._seen <= taken
        ):
            self._pool_id = id(pool)
            self._x = pool.flat_features(self.feature).astype(np.float64)
            self._nearest = np.full(len(pool), np.inf)
            self._seen = set()
        assert self._nearest is not None
        for i in sorted(taken - self._seen):
            np.minimum(self._nearest, self._squared_distances(i), out=self._nearest)
        self._seen = taken
        return self._nearest

    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Return ``n`` candidates, each farthest from everything taken so far."""
        nearest = self._nearest_taken(state).copy()
        available = state.available()
        chosen: list[int] = []
        values: list[float] = []
        for _ in range(min(n, int(available.sum()))):
            candidates = np.flatnonzero(available)
            if np.isinf(nearest).all():
                pick = int(state.rng.choice(candidates))
            else:
                best = nearest[candidates].max()
                ties = candidates[np.isclose(nearest[candidates], best, rtol=1e-9, atol=0.0)]
                pick = int(state.rng.choice(ties))
            chosen.append(pick)
            values.append(float(np.sqrt(nearest[pick])))
            available[pick] = False
            np.minimum(nearest, self._squared_distances(pick), out=nearest)
        return suggestions_from_indices(state, np.array(chosen, dtype=np.int64), np.array(values))
