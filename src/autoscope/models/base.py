"""The surrogate-model interface that model-based policies and acquisitions use.

A surrogate is fitted on the features of the measured candidates and their
scalar targets, and predicts over the whole pool in memory-bounded chunks.
Inputs are numpy arrays at this boundary; torch lives inside the models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

__all__ = ["SampleMethod", "Surrogate"]

SampleMethod = Literal["marginal", "joint", "pathwise"]


class Surrogate(ABC):
    """A probabilistic regression model over candidate features.

    Subclasses store options in ``__init__`` and learn in :meth:`fit`; learned
    state ends in ``_``.
    """

    @abstractmethod
    def fit(self, x: np.ndarray, y: np.ndarray) -> Surrogate:
        """Fit on features `(n, ...)` and targets `(n,)`; returns ``self``."""

    @abstractmethod
    def predict(
        self, x: np.ndarray, *, include_noise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation `(N,)` each, in target units.

        Args:
            x: Candidate features `(N, ...)`.
            include_noise: Add the observation noise to the variance (the
                predictive of a new measurement) instead of the latent function's.
        """

    @abstractmethod
    def sample(
        self,
        x: np.ndarray,
        *,
        n_samples: int = 1,
        rng: np.random.Generator,
        method: SampleMethod = "pathwise",
    ) -> np.ndarray:
        """Posterior function draws at ``x``, `(n_samples, N)`, in target units.

        ``"marginal"`` draws each candidate independently (O(N) memory);
        ``"joint"`` draws from the exact joint posterior (O(N^2), small pools);
        ``"pathwise"`` draws a random-feature prior function and conditions it on
        the data (Matheron's rule): joint-consistent in O(N) memory.
        """

    def state_dict(self) -> dict[str, Any]:
        """Learned state, to checkpoint with a run."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        return None

    def diagnostics(self) -> dict[str, float]:
        """Scalar health figures of the last fit (noise, lengthscale, collapse flag, ...)."""
        return {}
