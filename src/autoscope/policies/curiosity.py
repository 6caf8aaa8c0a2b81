"""Curiosity-driven structure→spectrum learning: spend measurements where the model errs.

Deep kernel policies need a scalar target; these policies learn the whole
spectrum from the image patch (Im2spec) or the patch from the spectrum
(Spec2im), predict where that model is most wrong, and measure there.

Registered names:

======================  ================================================================
``curiosity-im2spec``   workflow 1: five-variant Im2spec ensemble (SWA, best model by the
                        mean validation loss over the last epochs); the best model's frozen
                        encoder + a new decoder predicts each patch's L1 spectral mismatch;
                        A = 1 − exp(−λ |L − (1 − β)|) (β = 1 curiosity, β = 0 conservative)
``curiosity-ae``        workflow 2: an autoencoder on all patches; Im2spec on the measured
                        ones; an error predictor on the autoencoder latents learns Im2spec's
                        normalised error C; A = w C + (1 − w) E with E the harmonic-mean
                        novelty reward and w = 1 − e^{−λn} (paper) or 1 − e^{−λn/N} (code)
``curiosity-ae-mcd``    workflow 2 with the error predictor's Monte-Carlo-dropout spread
                        added to C during exploration
``curiosity-spec2im``   workflow 2 for Spec2im (spectrum → patch): there is no forward pass
                        for unmeasured points, so the error predictor works on the patch
                        latents and randomness comes from ε-random moves
======================  ================================================================

Every policy takes ``selection="random"`` or ``"space-filling"`` to keep the
same learner (and the same metrics) but choose points without its
acquisition: those are the baselines the curiosity strategies are compared
with. A policy chooses its own initial points (``n_initial``; k-means of the
autoencoder latent as in the paper, or random as in the published code), so
every strategy of one seed starts from the same points.

A point is never suggested twice: every selection draws only from
``state.available()`` (the published code re-measured points, see the issue).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.acquisition.curiosity import (
    choose_indices,
    error_acquisition,
    exploration_reward,
    kmeans_initial,
    mixed_acquisition,
    near_any,
    stagnant_neighbourhoods,
)
from autoscope.data.spectra_prep import SpectrumScaling
from autoscope.errors import ConfigError, DataError
from autoscope.policies.base import (
    CampaignState,
    Policy,
    Suggestion,
    register_policy,
    suggestions_from_indices,
)

__all__ = ["CuriosityPolicy"]

SELECTIONS = ("acquisition", "random", "space-filling")
WORKFLOWS = ("im2spec", "ae", "spec2im")


class CuriosityPolicy(Policy):
    """Learn structure→spectrum on the measured points; measure where the model errs.

    Args:
        workflow: ``"im2spec"`` (workflow 1), ``"ae"`` (workflow 2, Im2spec) or
            ``"spec2im"`` (workflow 2, Spec2im).
        selection: ``"acquisition"`` (the curiosity rule), ``"random"`` or
            ``"space-filling"`` (farthest point in the autoencoder latent); the
            baselines keep the same learner.
        n_initial: Points chosen before the first model.
        init: ``"kmeans"`` (closest to k-means centroids of the autoencoder
            latent, as in the paper) or ``"random"`` (the published code).
        beta: Workflow 1: 1 samples the highest predicted error, 0 the lowest.
        lam: λ of the acquisition (workflow 1: 0.1; workflow 2: the schedule rate).
        schedule: Workflow 2: ``"paper"`` (w = 1 − e^{−λn}) or ``"code"``
            (w = 1 − e^{−λn/N}, N = ``budget``).
        budget: N of the ``"code"`` schedule (the campaign's measurement budget).
        error_target: Workflow 2: ``"paper"`` (per-point MSE after the update
            divided by its mean) or ``"code"`` (MSE before + after the update,
            divided by its mean).
        mc_samples: Monte-Carlo dropout passes of the error predictor (0 = off;
            ``curiosity-ae-mcd`` adds their spread to C).
        novelty_latent: Latent of the exploration reward: ``"ae"`` (paper) or
            ``"model"`` (the Im2spec latent, as in the published code).
        top_k: Choose uniformly among the ``top_k`` best.
        epsilon: Probability of a uniformly random move.
        trap_guard: Block candidates near measured points whose loss stagnates high.
        trap_radius: The guard's radius in autoencoder-latent units (of the
            standardised latent).
        trap_patience: Measured points in a latent neighbourhood without a new
            low of the held-out error before the guard blocks it
            (:func:`~autoscope.acquisition.curiosity.stagnant_neighbourhoods`).
        loss: ``"mse"``, ``"l1"`` or ``"poisson"`` (counts, positive outputs).
        scaling: Spectrum scaling before training: ``"global"`` (min–max over the
            initial points), ``"per-spectrum"`` (each spectrum to zero mean, unit
            std) or ``"robust"`` (global median / IQR); not used with ``"poisson"``.
        latent_dim: Im2spec latent size.
        update_epochs: Gradient steps per Im2spec update (full batch).
        lr: Im2spec learning rate.
        error_epochs: Epochs per error-predictor update.
        error_lr: Error-predictor learning rate (high, as published).
        ae_epochs: Autoencoder epochs (trained once on all patches).
        ensemble_epochs: Workflow 1: epochs of a full ensemble retraining.
        retrain_probability: Workflow 1: probability of a full retraining per step.
        device: ``"cpu"`` or ``"cuda"``.
    """

    def __init__(
        self,
        *,
        workflow: str = "ae",
        selection: str = "acquisition",
        n_initial: int = 30,
        init: str = "kmeans",
        beta: float = 1.0,
        lam: float | None = None,
        schedule: str = "code",
        budget: int | None = None,
        error_target: str = "paper",
        mc_samples: int = 0,
        novelty_latent: str = "ae",
        top_k: int = 1,
        epsilon: float = 0.0,
        trap_guard: bool = False,
        trap_radius: float = 0.3,
        trap_patience: int = 3,
        loss: str = "mse",
        scaling: str = "global",
        latent_dim: int | None = None,
        update_epochs: int = 20,
        lr: float = 3e-3,
        error_epochs: int = 20,
        error_lr: float = 1e-2,
        ae_epochs: int = 20,
        ensemble_epochs: int = 30,
        retrain_probability: float = 0.1,
        device: str = "cpu",
    ) -> None:
        self.workflow = workflow
        if self.workflow not in WORKFLOWS:
            raise ConfigError(f"workflow must be one of {WORKFLOWS}, got {self.workflow!r}")
        if selection not in SELECTIONS:
            raise ConfigError(f"selection must be one of {SELECTIONS}, got {selection!r}")
        if init not in ("kmeans", "random"):
            raise ConfigError(f"init must be 'kmeans' or 'random', got {init!r}")
        if schedule not in ("paper", "code"):
            raise ConfigError(f"schedule must be 'paper' or 'code', got {schedule!r}")
        if schedule == "code" and budget is None and self.workflow != "im2spec":
            raise ConfigError("schedule='code' needs budget (the campaign's measurement budget)")
        if error_target not in ("paper", "code"):
            raise ConfigError(f"error_target must be 'paper' or 'code', got {error_target!r}")
        if novelty_latent not in ("ae", "model"):
            raise ConfigError(f"novelty_latent must be 'ae' or 'model', got {novelty_latent!r}")
        if loss not in ("mse", "l1", "poisson"):
            raise ConfigError(f"loss must be mse, l1 or poisson, got {loss!r}")
        if scaling not in ("global", "per-spectrum", "robust"):
            raise ConfigError(f"scaling must be global, per-spectrum or robust, got {scaling!r}")
        if n_initial < 2:
            raise ConfigError(f"n_initial must be >= 2 (a model needs two points), got {n_initial}")
        if not 0.0 <= beta <= 1.0:
            raise ConfigError(f"beta must be in [0, 1], got {beta}")
        self.selection = selection
        self.n_initial = int(n_initial)
        self.init = init
        self.beta = float(beta)
        self.lam = float(lam) if lam is not None else (0.1 if self.workflow == "im2spec" else 2.0)
        self.schedule = schedule
        self.budget = None if budget is None else int(budget)
        self.error_target = error_target
        self.mc_samples = int(mc_samples)
        self.novelty_latent = novelty_latent
        self.top_k = int(top_k)
        self.epsilon = float(epsilon)
        self.trap_guard = bool(trap_guard)
        self.trap_radius = float(trap_radius)
        self.trap_patience = int(trap_patience)
        self.loss = loss
        self.scaling = scaling
        self.latent_dim = (
            int(latent_dim) if latent_dim is not None else (3 if self.workflow == "im2spec" else 2)
        )
        self.update_epochs = int(update_epochs)
        self.lr = float(lr)
        self.error_epochs = int(error_epochs)
        self.error_lr = float(error_lr)
        self.ae_epochs = int(ae_epochs)
        self.ensemble_epochs = int(ensemble_epochs)
        self.retrain_probability = float(retrain_probability)
        self.device = device
        self._reset()

    def _reset(self) -> None:
        self._pool_id: int | None = None
        self._patches: np.ndarray | None = None
        self._ae_latents: np.ndarray | None = None
        self._init_order: np.ndarray | None = None
        self._model: Any = None
        self._error: Any = None
        self._fresh: list[float] = []
        self._scale: SpectrumScaling | None = None
        self._diag: dict[str, float] = {}

    # -- the pool: patches and the autoencoder latent ---------------------------------------
    def _prepare(self, state: CampaignState) -> None:
        if self._pool_id == id(state.pool) and self._ae_latents is not None:
            return
        from autoscope.models.error_model import PatchAutoencoder

        if "patches" not in state.pool.features:
            raise DataError("curiosity policies need image patches in the pool ('patches')")
        patches = np.asarray(state.pool.features["patches"], dtype=np.float64)
        if patches.ndim == 4:
            patches = patches[:, 0]
        self._patches = patches
        autoencoder = PatchAutoencoder(latent_dim=3, seed=state.seed, device=self.device)
        autoencoder.fit(patches, epochs=self.ae_epochs)
        latents = autoencoder.encode(patches)
        spread = latents.std(axis=0)
        self._ae_latents = (latents - latents.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        self._pool_id = id(state.pool)

    def _initial_order(self, state: CampaignState) -> np.ndarray:
        if self._init_order is None:
            assert self._ae_latents is not None
            seed = int(np.random.default_rng([state.seed, 7]).integers(2**31))
            if self.init == "kmeans":
                self._init_order = kmeans_initial(self._ae_latents, self.n_initial, seed=seed)
            else:
                rng = np.random.default_rng(seed)
                self._init_order = rng.choice(len(state.pool), self.n_initial, replace=False)
        return self._init_order

    # -- scaling of the spectra --------------------------------------------------------------
    def _scaled(self, spectra: np.ndarray) -> np.ndarray:
        """Spectra as the model sees them (counts stay counts for the Poisson loss)."""
        if self.loss == "poisson":
            return spectra
        if self._scale is None:  # fixed on the first spectra the model sees
            self._scale = SpectrumScaling(self.scaling).fit(spectra)  # type: ignore[arg-type]
        return self._scale.transform(spectra)

    def _unscaled(self, predictions: np.ndarray) -> np.ndarray:
        """Predictions in the data's units (per-spectrum scaled ones stay scaled)."""
        if self.loss == "poisson" or self.scaling == "per-spectrum":
            return predictions
        assert self._scale is not None
        return self._scale.inverse_transform(predictions)

    # -- the learner -------------------------------------------------------------------------
    def _learn(self, state: CampaignState) -> np.ndarray:
        """Update the model on the measured pairs; returns the error predictor's target `(M,)`."""
        from autoscope.metrics.spectra import per_point_errors
        from autoscope.models.im2spec import Im2SpecEnsemble, train

        assert self._patches is not None and state.spectra is not None
        patches = self._patches[state.measured]
        spectra = self._scaled(state.spectra)
        kind = "l1" if self.workflow == "im2spec" else "mse"
        rng = np.random.default_rng([state.seed, int(state.step), 13])
        if self.workflow == "im2spec":
            if self._model is None:
                self._model = Im2SpecEnsemble(
                    latent_dim=self.latent_dim,
                    epochs=self.ensemble_epochs,
                    update_epochs=self.update_epochs,
                    retrain_probability=self.retrain_probability,
                    loss=self.loss,
                    seed=state.seed,
                    device=self.device,
                )
            if self._model.best_ is not None:
                self._record_fresh(
                    per_point_errors(self._model.predict(patches), spectra, kind=kind)
                )
            self._model.fit(patches, spectra, rng=rng)
            mismatch = per_point_errors(self._model.predict(patches), spectra, kind=kind)
            return mismatch
        if self._model is None:
            self._model = self._new_model(patches.shape[-1], spectra.shape[1], state.seed)
            self._model_shape = (patches.shape[-1], spectra.shape[1])
        inputs, targets = (patches, spectra) if self.workflow == "ae" else (spectra, patches)
        flat = targets.reshape(len(targets), -1)
        before = per_point_errors(self._forward(inputs).reshape(flat.shape), flat, kind=kind)
        self._record_fresh(before)
        train(
            self._model,
            inputs,
            targets,
            epochs=self.update_epochs,
            lr=self.lr,
            loss=self.loss if self.workflow == "ae" else "mse",
            seed=np.random.default_rng([state.seed, int(state.step)]),
            device=self.device,
        )
        after = per_point_errors(self._forward(inputs).reshape(flat.shape), flat, kind=kind)
        target = after if self.error_target == "paper" else before + after
        mean = float(np.mean(target))
        return target / mean if mean > 0 else target

    def _record_fresh(self, before: np.ndarray) -> None:
        """Keep each point's error from before the model was first trained on it."""
        self._fresh.extend(float(v) for v in before[len(self._fresh) :])

    def _new_model(self, window: int, n_spectral: int, seed: int) -> Any:
        import torch

        from autoscope._torch import resolve_device
        from autoscope.models.im2spec import Im2Spec, Spec2Im

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            if self.workflow == "ae":
                output = "softplus" if self.loss == "poisson" else "linear"
                model = Im2Spec(window, n_spectral, latent_dim=self.latent_dim, output=output)
            else:
                model = Spec2Im(n_spectral, window, latent_dim=self.latent_dim)
        # On the policy's device from the start: the first forward pass (the errors
        # before the first update) comes before train() would move it.
        return model.to(resolve_device(self.device))

    def _forward(self, inputs: np.ndarray) -> np.ndarray:
        import torch

        from autoscope._torch import resolve_device

        self._model.eval()
        with torch.no_grad():
            x = torch.as_tensor(inputs, dtype=torch.float32, device=resolve_device(self.device))
            return self._model(x).cpu().numpy().astype(np.float64)

    def _model_latent(self) -> np.ndarray:
        """The Im2spec latent of every pool patch (the code's novelty latent)."""
        import torch

        assert self._patches is not None
        if self.workflow == "im2spec":
            return self._model.encode(self._patches)
        from autoscope._torch import resolve_device

        with torch.no_grad():
            x = torch.as_tensor(
                self._patches, dtype=torch.float32, device=resolve_device(self.device)
            )
            return self._model.encode(x).cpu().numpy().astype(np.float64)

    def _error_latents(self) -> np.ndarray:
        if self.workflow == "im2spec":
            return self._model.encode(self._patches)
        assert self._ae_latents is not None
        return self._ae_latents

    # -- Policy API --------------------------------------------------------------------------
    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Initial points first, then the selection rule."""
        self._prepare(state)
        available = state.available()
        taken = len(state.measured) + len(state.pending) + len(state.excluded)
        if taken < self.n_initial:
            order = [i for i in self._initial_order(state) if available[i]]
            return suggestions_from_indices(state, np.array(order[:n], dtype=np.int64))
        if state.spectra is None or len(state.measured) < 2:
            picks = choose_indices(
                np.zeros(len(available)), available, n=n, rng=state.rng, epsilon=1.0
            )
            return suggestions_from_indices(state, picks)
        errors = self._learn(state)
        if self.selection == "random":
            picks = choose_indices(
                np.zeros(len(available)), available, n=n, rng=state.rng, epsilon=1.0
            )
            return suggestions_from_indices(state, picks)
        latents = self._error_latents()  # an ensemble forward pass over the pool in workflow 1
        scores = self._score(state, errors, latents)
        mask = available
        if self.trap_guard and self.selection == "acquisition":
            measured = latents[state.measured][: len(self._fresh)]
            trapped = stagnant_neighbourhoods(
                measured,
                np.asarray(self._fresh),
                radius=self.trap_radius,
                patience=self.trap_patience,
            )
            allowed = ~near_any(latents, measured[trapped], radius=self.trap_radius)
            if (available & allowed).any():
                mask = available & allowed
            self._diag["trap_blocked"] = float((available & ~allowed).sum())
        picks = choose_indices(
            scores,
            mask,
            n=n,
            rng=state.rng,
            top_k=self.top_k,
            epsilon=self.epsilon if self.selection == "acquisition" else 0,
        )
        return suggestions_from_indices(state, picks, scores[picks])

    def _score(self, state: CampaignState, errors: np.ndarray, latents: np.ndarray) -> np.ndarray:
        from autoscope.models.error_model import ErrorPredictor

        if self.selection == "space-filling":
            assert self._ae_latents is not None
            return exploration_reward(self._ae_latents, self._ae_latents[state.measured])
        if self._error is None:
            self._error = ErrorPredictor(seed=state.seed, device=self.device)
        self._error.fit(latents[state.measured], errors, epochs=self.error_epochs, lr=self.error_lr)
        if self.mc_samples > 0:
            mean, spread = self._error.predict(
                latents,
                mc_samples=self.mc_samples,
                rng=np.random.default_rng([state.seed, int(state.step), 17]),
            )
            curiosity = mean + spread
        else:
            curiosity = self._error.predict(latents)
        self._diag["predicted_error_max"] = float(np.max(curiosity))
        if self.workflow == "im2spec":
            return error_acquisition(curiosity, beta=self.beta, lam=self.lam)
        novelty = self._ae_latents if self.novelty_latent == "ae" else self._model_latent()
        exploration = exploration_reward(novelty, novelty[state.measured])
        budget = self.budget if self.schedule == "code" else None
        return mixed_acquisition(
            curiosity,
            exploration,
            n=len(state.measured),
            lam=self.lam,
            budget=budget,
            schedule=self.schedule,
        )

    # -- what the monitor reads ----------------------------------------------------------------
    @property
    def reconstructs(self) -> str:
        """``"spectra"`` (Im2spec) or ``"patches"`` (Spec2im)."""
        return "patches" if self.workflow == "spec2im" else "spectra"

    def reconstruction(self, truth_spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's prediction over the whole pool and what it should equal.

        Args:
            truth_spectra: The true spectrum of every pool candidate, `(N, S)`.

        Returns:
            Im2spec: predicted spectra `(N, S)` in the data's units and
            ``truth_spectra``; Spec2im: predicted patches `(N, w, w)` from the
            true spectra and the pool patches. ``None`` before the first model.
        """
        if self._model is None or self._patches is None:
            return None
        if self.workflow == "im2spec":
            return self._unscaled(self._model.predict(self._patches)), truth_spectra
        if self.workflow == "ae":
            return self._unscaled(self._forward(self._patches)), truth_spectra
        return self._forward(self._scaled(truth_spectra)), self._patches

    def diagnostics(self) -> dict[str, float]:
        """Largest predicted error and candidates the trap guard blocked."""
        return dict(self._diag)

    def state_dict(self) -> dict[str, Any]:
        """The learner, the error predictor, the scaling and the trap guard.

        The autoencoder latent is not stored: it is retrained from the run's
        seed on resume and comes out the same.
        """
        if self._model is None:
            return {}
        if self.workflow == "im2spec":
            model = self._model.state_dict()
        else:
            model = {k: v.detach().cpu().clone() for k, v in self._model.state_dict().items()}
            model["shape"] = (int(self._model_shape[0]), int(self._model_shape[1]))
        return {
            "model": model,
            "error": None if self._error is None else self._error.state_dict(),
            "scale": self._scale,
            "fresh": list(self._fresh),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the pool latents are rebuilt at the next ``ask``)."""
        if not state:
            return
        from autoscope.models.error_model import ErrorPredictor
        from autoscope.models.im2spec import Im2SpecEnsemble

        self._scale = state["scale"]
        self._fresh = list(state.get("fresh", []))
        if self.workflow == "im2spec":
            options = dict(state["model"]["options"])
            options.pop("device", None)
            self._model = Im2SpecEnsemble(**options, device=self.device)
            self._model.load_state_dict(state["model"])
        else:
            weights = dict(state["model"])
            window, n_spectral = weights.pop("shape")
            self._model = self._new_model(window, n_spectral, 0)
            self._model.load_state_dict(weights)
            self._model_shape = (window, n_spectral)
        if state.get("error") is not None:
            options = dict(state["error"]["options"])
            options.pop("device", None)
            self._error = ErrorPredictor(**options, device=self.device)
            self._error.load_state_dict(state["error"])


def _preset(name: str, **defaults: Any) -> type[CuriosityPolicy]:
    def __init__(self: CuriosityPolicy, **options: Any) -> None:
        CuriosityPolicy.__init__(self, **{**defaults, **options})

    cls = type(
        name.title().replace("-", ""),
        (CuriosityPolicy,),
        {"__init__": __init__, "__doc__": f"``{name}``: :class:`CuriosityPolicy` with {defaults}."},
    )
    return register_policy(name)(cls)


CuriosityIm2Spec = _preset("curiosity-im2spec", workflow="im2spec", n_initial=245, init="random")
CuriosityAE = _preset("curiosity-ae", workflow="ae")
CuriosityAEMCD = _preset("curiosity-ae-mcd", workflow="ae", mc_samples=500)
CuriositySpec2Im = _preset("curiosity-spec2im", workflow="spec2im", epsilon=0.1)
