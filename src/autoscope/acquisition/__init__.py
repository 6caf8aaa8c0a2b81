"""Acquisition functions: score every pool candidate, higher is better.

- :mod:`~autoscope.acquisition.base`: :class:`Acquisition` and the per-step
  :class:`AcquisitionContext`.
- :mod:`~autoscope.acquisition.classic`: expected improvement (log form), UCB,
  maximum uncertainty.
- :mod:`~autoscope.acquisition.beacon`: BEACON novelty search.
- :mod:`~autoscope.acquisition.thompson`: Thompson sampling.
- :mod:`~autoscope.acquisition.batch`: greedy batches and pending points.
- :mod:`~autoscope.acquisition.curiosity`: the curiosity rules of the Im2spec
  policies (error-based acquisition, harmonic novelty reward, schedules,
  top-k / epsilon selection, k-means initial points, the trap guard); plain
  functions over arrays, not registered acquisitions.

Every acquisition is registered by name in :data:`ACQUISITIONS` and built with
:func:`make_acquisition`.
"""

from __future__ import annotations

from typing import Any

from autoscope.acquisition.base import Acquisition, AcquisitionContext, SupportsFantasize
from autoscope.acquisition.batch import pending_posterior, select_batch
from autoscope.acquisition.beacon import Beacon, knn_distance
from autoscope.acquisition.classic import (
    ExpectedImprovement,
    LogExpectedImprovement,
    MaximumUncertainty,
    UpperConfidenceBound,
)
from autoscope.acquisition.curiosity import (
    choose_indices,
    curiosity_weight,
    error_acquisition,
    exploration_reward,
    kmeans_initial,
    mixed_acquisition,
    near_any,
    normalise_errors,
    stagnant_neighbourhoods,
)
from autoscope.acquisition.thompson import ThompsonSampling
from autoscope.errors import ConfigError

__all__ = [
    "ACQUISITIONS",
    "Acquisition",
    "AcquisitionContext",
    "Beacon",
    "ExpectedImprovement",
    "LogExpectedImprovement",
    "MaximumUncertainty",
    "SupportsFantasize",
    "ThompsonSampling",
    "UpperConfidenceBound",
    "choose_indices",
    "curiosity_weight",
    "error_acquisition",
    "exploration_reward",
    "kmeans_initial",
    "knn_distance",
    "make_acquisition",
    "mixed_acquisition",
    "near_any",
    "normalise_errors",
    "pending_posterior",
    "select_batch",
    "stagnant_neighbourhoods",
]

ACQUISITIONS: dict[str, type[Acquisition]] = {
    "ei": ExpectedImprovement,
    "logei": LogExpectedImprovement,
    "ucb": UpperConfidenceBound,
    "mu": MaximumUncertainty,
    "beacon": Beacon,
    "thompson": ThompsonSampling,
}
"""Registered acquisitions by name. ``"ei"`` is log-EI unless ``log=False``."""


def make_acquisition(name: str, **options: Any) -> Acquisition:
    """Build the registered acquisition ``name`` with keyword ``options``.

    Raises:
        ConfigError: ``name`` is not registered or an option is unknown or invalid.

    Example:
        >>> make_acquisition("ucb", beta=2.0).beta
        2.0
    """
    try:
        factory = ACQUISITIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown acquisition {name!r}; available: {sorted(ACQUISITIONS)}"
        ) from None
    try:
        return factory(**options)
    except TypeError as err:
        raise ConfigError(f"acquisition {name!r}: {err}") from None
