"""Model-based policies: a surrogate fitted each step plus an acquisition function.

Registered names (each a preset of :class:`ModelPolicy`):

=====================  =================================================================
``dkl-ei``             deep kernel GP + log expected improvement
``dkl-ucb``            deep kernel GP + upper confidence bound (``beta``)
``dkl-mu``             deep kernel GP + maximum uncertainty
``dkl-beacon``         deep kernel GP + BEACON novelty search, all-observations archive
``dkl-beacon-elite``   deep kernel GP + BEACON with the elite archive (BEACON-DKL as published)
``dkl-thompson``       deep kernel GP + Thompson sampling
``gp-beacon``          exact GP on given features + BEACON (the original BEACON)
``gp-ei``, ``gp-mu``   exact GP on given features + log-EI / maximum uncertainty
=====================  =================================================================

Every preset takes ``recipe="published"`` to run the BEACON-DKL authors' model
recipe instead of ours, so any comparison can be made side by side, and
``surrogate_options`` / ``acquisition_options`` to override single settings.

The model is warm-started from step to step; its state is checkpointed with
the run after every choice (see :mod:`autoscope.campaign.core`), so a resumed
run continues with the same model. With fewer than two finite targets there
is nothing to fit: the policy then chooses at random (documented fallback;
campaigns normally start with random initial points anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from autoscope.acquisition import AcquisitionContext, make_acquisition, select_batch
from autoscope.errors import ConfigError
from autoscope.models.base import Surrogate
from autoscope.policies.base import (
    CampaignState,
    Policy,
    Suggestion,
    register_policy,
    suggestions_from_indices,
)

__all__ = ["ModelPolicy"]

SURROGATES = ("dkl", "gp")


class ModelPolicy(Policy):
    """Fit a surrogate on the measured points, score the pool, pick the best.

    Args:
        surrogate: ``"dkl"`` (CNN features + GP on image patches) or ``"gp"``
            (exact GP on a given feature vector).
        recipe: Surrogate recipe for ``"dkl"``: ``"default"`` or ``"published"``.
        acquisition: Name in :data:`autoscope.acquisition.ACQUISITIONS`.
        acquisition_options: Options of the acquisition (e.g. ``{"beta": 4.0}``).
        surrogate_options: Options of the surrogate overriding the recipe's.
        feature: Pool feature the model reads (``"patches"``), or ``"coords"``
            for the candidate positions.

    Example:
        >>> from autoscope.policies import make_policy
        >>> make_policy("dkl-beacon").acquisition_options
        {'archive': 'all'}
    """

    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        surrogate: str | None = None,
        recipe: str = "default",
        acquisition: str | None = None,
        acquisition_options: Mapping[str, Any] | None = None,
        surrogate_options: Mapping[str, Any] | None = None,
        feature: str | None = None,
    ) -> None:
        self.surrogate = surrogate or self.defaults.get("surrogate", "dkl")
        self.recipe = recipe
        self.acquisition = acquisition or self.defaults.get("acquisition", "logei")
        self.acquisition_options = {
            **self.defaults.get("acquisition_options", {}),
            **dict(acquisition_options or {}),
        }
        self.surrogate_options = dict(surrogate_options or {})
        default_feature = "patches" if self.surrogate == "dkl" else "coords"
        self.feature = feature or self.defaults.get("feature", default_feature)
        if self.surrogate not in SURROGATES:
            raise ConfigError(f"unknown surrogate {self.surrogate!r}; expected one of {SURROGATES}")
        self._acquisition = make_acquisition(self.acquisition, **self.acquisition_options)
        self._model_seed: int | None = None
        self.model_: Surrogate | None = None
        self._fitted = False

    # -- model ---------------------------------------------------------------------------
    def _new_model(self, seed: int) -> Surrogate:
        options = {**self.surrogate_options, "seed": seed}
        if self.surrogate == "dkl":
            from autoscope.models.recipes import make_surrogate

            return make_surrogate(self.recipe, **options)
        from autoscope.models.gp import ExactGP

        try:
            return ExactGP(**options)
        except TypeError as err:
            raise ConfigError(f"gp surrogate: {err}") from None

    def _features(self, state: CampaignState) -> np.ndarray:
        if self.feature == "coords":
            return state.pool.coords.astype(np.float64)
        features = state.pool.feature(self.feature)
        if self.surrogate == "gp":
            return features.reshape(len(features), -1).astype(np.float64)
        return features

    def _fit(self, state: CampaignState, x: np.ndarray) -> Surrogate:
        if self.model_ is None:
            self._model_seed = int(state.rng.integers(2**31 - 1))
            self.model_ = self._new_model(self._model_seed)
        self.model_.fit(x[state.measured], state.targets)
        self._fitted = True
        return self.model_

    # -- policy --------------------------------------------------------------------------
    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Fit on the measured points and return the ``n`` best-scoring candidates."""
        available = state.available()
        if len(state.measured) < 2:
            picks = state.rng.choice(
                np.flatnonzero(available), size=min(n, int(available.sum())), replace=False
            )
            return suggestions_from_indices(state, picks)
        x = self._features(state)
        model = self._fit(state, x)
        context = AcquisitionContext(
            model, x, state.measured, state.targets, state.pending, rng=state.rng
        )
        picks, scores = select_batch(
            self._acquisition, context, n, available=available, rng=state.rng, return_scores=True
        )
        mean, std = context.mean, context.std
        coords = state.pool.coords
        return [
            Suggestion(
                index=int(i),
                coords=(int(coords[i, 0]), int(coords[i, 1])),
                acquisition=float(score),
                mean=float(mean[i]),
                std=float(std[i]),
            )
            for i, score in zip(picks, scores, strict=True)
        ]

    def predict(self, state: CampaignState) -> tuple[np.ndarray, np.ndarray] | None:
        """The surrogate's mean and std over the pool (``None`` before the first fit)."""
        if not self._fitted or self.model_ is None:
            return None
        return self.model_.predict(self._features(state))

    def diagnostics(self) -> dict[str, float]:
        """The surrogate's diagnostics of its last fit, prefixed ``model_``."""
        if not self._fitted or self.model_ is None:
            return {}
        return {f"model_{k}": float(v) for k, v in self.model_.diagnostics().items()}

    def state_dict(self) -> dict[str, Any]:
        """The model's seed and learned state."""
        if not self._fitted or self.model_ is None:
            return {}
        return {"model_seed": self._model_seed, "model": self.model_.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Rebuild the model from :meth:`state_dict`."""
        if not state:
            return
        self._model_seed = int(state["model_seed"])
        self.model_ = self._new_model(self._model_seed)
        self.model_.load_state_dict(state["model"])
        self._fitted = True

    def get_params(self) -> dict[str, Any]:
        """Constructor options."""
        return {
            "surrogate": self.surrogate,
            "recipe": self.recipe,
            "acquisition": self.acquisition,
            "acquisition_options": dict(self.acquisition_options),
            "surrogate_options": dict(self.surrogate_options),
            "feature": self.feature,
        }


def _preset(name: str, doc: str, **defaults: Any) -> type[ModelPolicy]:
    cls = type(
        name.replace("-", "_").title().replace("_", "") + "Policy",
        (ModelPolicy,),
        {"defaults": defaults, "__doc__": doc, "__module__": __name__},
    )
    return register_policy(name)(cls)


_preset("dkl-ei", "Deep kernel GP + log expected improvement.", acquisition="logei")
_preset("dkl-ucb", "Deep kernel GP + upper confidence bound.", acquisition="ucb")
_preset("dkl-mu", "Deep kernel GP + maximum uncertainty.", acquisition="mu")
_preset(
    "dkl-beacon",
    "Deep kernel GP + BEACON novelty search (all-observations archive).",
    acquisition="beacon",
    acquisition_options={"archive": "all"},
)
_preset(
    "dkl-beacon-elite",
    "Deep kernel GP + BEACON with the elite archive (BEACON-DKL as published).",
    acquisition="beacon",
    acquisition_options={"archive": "elite"},
)
_preset("dkl-thompson", "Deep kernel GP + Thompson sampling.", acquisition="thompson")
_preset(
    "gp-beacon",
    "Exact GP on given features + BEACON (the original BEACON).",
    surrogate="gp",
    acquisition="beacon",
    acquisition_options={"archive": "all"},
)
_preset("gp-ei", "Exact GP on given features + log expected improvement.", surrogate="gp")
_preset(
    "gp-mu", "Exact GP on given features + maximum uncertainty.", surrogate="gp", acquisition="mu"
)
