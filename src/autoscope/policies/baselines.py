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

    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Return ``n`` candidates, each farthest from everything taken so far."""
        x = state.pool.flat_features(self.feature)
        available = state.available()
        taken = np.concatenate([state.measured, state.pending]).astype(np.int64)
        nearest = np.full(len(x), np.inf)
        sq_norm = np.einsum("ij,ij->i", x, x)
        for i in taken:
            nearest = np.minimum(nearest, sq_norm - 2 * x @ x[i] + sq_norm[i])
        chosen: list[int] = []
        values: list[float] = []
        for _ in range(min(n, int(available.sum()))):
            candidates = np.flatnonzero(available)
            if np.isinf(nearest).all():
                pick = int(state.rng.choice(candidates))
            else:
                best = nearest[candidates].max()
                ties = candidates[nearest[candidates] >= best - 1e-12 * max(1.0, abs(best))]
                pick = int(state.rng.choice(ties))
            chosen.append(pick)
            values.append(float(np.sqrt(max(nearest[pick], 0.0))))
            available[pick] = False
            nearest = np.minimum(nearest, sq_norm - 2 * x @ x[pick] + sq_norm[pick])
        return suggestions_from_indices(state, np.array(chosen, dtype=np.int64), np.array(values))
