"""Thompson sampling over a finite pool: one posterior draw is the score.

Each call scores the pool with the context's posterior draw, so a greedy batch
(:func:`~autoscope.acquisition.batch.select_batch`) uses a fresh draw for every
pick: standard batch Thompson sampling. Pending points are otherwise ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoscope.acquisition.base import SAMPLE_METHODS, Acquisition, AcquisitionContext
from autoscope.errors import ConfigError

if TYPE_CHECKING:
    from autoscope.models.base import SampleMethod

__all__ = ["ThompsonSampling"]


class ThompsonSampling(Acquisition):
    """Score every candidate by one posterior function draw.

    Args:
        sampler: ``"pathwise"`` (default; joint-consistent in O(N) memory),
            ``"marginal"`` (independent per candidate) or ``"joint"`` (exact,
            O(N^2), small pools), passed to ``model.sample``.

    Raises:
        ConfigError: ``sampler`` is unknown.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.zeros(len(x)), np.ones(len(x))
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return rng.normal(size=(n_samples, len(x)))
        >>> context = AcquisitionContext(Fixed(), np.zeros((3, 1)), np.array([0]),
        ...                              np.array([0.0]), rng=np.random.default_rng(0))
        >>> ThompsonSampling(sampler="marginal")(context).shape
        (3,)
    """

    name = "thompson"

    def __init__(self, *, sampler: SampleMethod = "pathwise") -> None:
        if sampler not in SAMPLE_METHODS:
            raise ConfigError(f"sampler must be one of {SAMPLE_METHODS}, got {sampler!r}")
        self.sampler: SampleMethod = sampler

    def __call__(self, context: AcquisitionContext) -> np.ndarray:
        """The context's posterior draw `(N,)`."""
        return context.sample(self.sampler).copy()

    def fantasy(self, context: AcquisitionContext, index: int) -> float:
        """The draw at ``index``."""
        return float(context.sample(self.sampler)[index])
