"""The policy interface: what every strategy that chooses points implements.

A policy looks at the campaign state (the pool, what was measured, what is
pending) and returns suggestions. Policies do no I/O and keep no hidden
randomness: every random choice comes from ``state.rng``, which the campaign
derives from the run's seed and the step, so the same seed gives the same
trajectory, also across a resume.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from autoscope.acquisition.selection import select_top
from autoscope.data.pool import CandidatePool
from autoscope.errors import ConfigError

__all__ = [
    "POLICIES",
    "CampaignState",
    "Policy",
    "Suggestion",
    "make_policy",
    "register_policy",
    "select_top",
]


@dataclass(frozen=True)
class Suggestion:
    """One point a policy proposes to measure.

    Attributes:
        index: Pool index of the candidate.
        coords: `(row, col)` of the candidate on the spectrum grid.
        acquisition: The acquisition value that ranked it (NaN for model-free policies).
        mean: Model mean at the candidate (NaN without a model).
        std: Model standard deviation at the candidate (NaN without a model).
        expected_seconds: Expected instrument time.
        expected_dose: Expected electron dose.
        payload: Extra action for instruments that need one (dose, dwell, stage move).
    """

    index: int
    coords: tuple[int, int]
    acquisition: float = math.nan
    mean: float = math.nan
    std: float = math.nan
    expected_seconds: float = 0.0
    expected_dose: float = 0.0
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignState:
    """What a policy may look at when it chooses.

    Attributes:
        pool: The candidate pool.
        measured: Pool indices measured successfully, in order, `(M,)`.
        targets: Scalar target of each measured point, `(M,)`.
        pending: Pool indices suggested but not yet told, `(P,)`.
        excluded: Pool indices never to suggest again (failed or rejected), `(E,)`.
        step: Number of earlier ``ask`` calls.
        rng: Generator for this step's random choices.
        spectra: Measured spectra `(M, S)`, row ``i`` measured at ``measured[i]``
            (points whose target is NaN are left out, as in ``measured``), for
            policies that learn the whole spectrum; ``None`` when the caller
            has none (states built by hand in tests and doctests).
        seed: The run's seed, for policies that seed their own models with it
            (so replications with different seeds differ, and a resumed run
            rebuilds the same models).
    """

    pool: CandidatePool
    measured: np.ndarray
    targets: np.ndarray
    pending: np.ndarray
    excluded: np.ndarray
    step: int
    rng: np.random.Generator
    spectra: np.ndarray | None = None
    seed: int = 0

    def available(self) -> np.ndarray:
        """Boolean mask `(N,)` of candidates that may be suggested."""
        mask = np.ones(len(self.pool), dtype=bool)
        for taken in (self.measured, self.pending, self.excluded):
            mask[np.asarray(taken, dtype=np.int64)] = False
        return mask


class Policy(ABC):
    """Base class of all policies.

    Subclasses implement :meth:`ask`. Model-based policies also implement
    :meth:`predict` so the campaign can record the surrogate's error and
    uncertainty, and :meth:`state_dict` / :meth:`load_state_dict` so a resumed
    run continues with the same model.
    """

    name: ClassVar[str] = "policy"

    @abstractmethod
    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Return up to ``n`` suggestions among ``state.available()`` candidates."""

    def predict(self, state: CampaignState) -> tuple[np.ndarray, np.ndarray] | None:
        """Model mean and std over the whole pool, each `(N,)`, or ``None`` without a model."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Learned state to checkpoint with a run (empty for model-free policies)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        return None

    def diagnostics(self) -> dict[str, float]:
        """Scalar health figures of the policy's model, recorded with the metrics."""
        return {}

    def get_params(self) -> dict[str, Any]:
        """Constructor options, recorded with the run."""
        return {
            k: v for k, v in vars(self).items() if not k.startswith("_") and not k.endswith("_")
        }


POLICIES: dict[str, Callable[..., Policy]] = {}


def register_policy(name: str) -> Callable[[type[Policy]], type[Policy]]:
    """Class decorator adding a policy to :data:`POLICIES` under ``name``."""

    def decorator(cls: type[Policy]) -> type[Policy]:
        if name in POLICIES:
            raise ConfigError(f"policy {name!r} is registered twice")
        cls.name = name
        POLICIES[name] = cls
        return cls

    return decorator


def make_policy(name: str, **options: Any) -> Policy:
    """Build the registered policy ``name`` with ``options``.

    Raises:
        ConfigError: ``name`` is not registered or an option is unknown.
    """
    try:
        factory = POLICIES[name]
    except KeyError:
        raise ConfigError(f"unknown policy {name!r}; available: {sorted(POLICIES)}") from None
    try:
        return factory(**options)
    except TypeError as err:
        raise ConfigError(f"policy {name!r}: {err}") from None


def suggestions_from_indices(
    state: CampaignState, indices: np.ndarray, acquisition: np.ndarray | None = None
) -> list[Suggestion]:
    """Wrap pool ``indices`` `(k,)` into suggestions."""
    coords = state.pool.coords
    out = []
    for j, i in enumerate(indices):
        value = math.nan if acquisition is None else float(acquisition[j])
        out.append(
            Suggestion(
                index=int(i), coords=(int(coords[i, 0]), int(coords[i, 1])), acquisition=value
            )
        )
    return out
