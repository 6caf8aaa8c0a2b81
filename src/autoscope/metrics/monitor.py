"""Per-step monitoring of a campaign: coverage in three spaces and surrogate errors.

:class:`MetricsMonitor` does the expensive work once per pool (patch-space
k-means, VAE training and latent k-means, target bins) and then answers each
campaign step with an incremental update: coverage costs `O(k)` for `k` new
points and error metrics one `O(N)` numpy pass over the prediction.

Its state is the sequence of index arrays passed to :meth:`MetricsMonitor.update`;
a monitor built with the same pool, truth and seed and fed the same sequence
(:meth:`MetricsMonitor.load_state`) reproduces every value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autoscope.data.pool import CandidatePool
from autoscope.errors import ConfigError, DataError
from autoscope.metrics.coverage import (
    CoverageTracker,
    _as_indices,
    feature_space_clusters,
    patch_space_clusters,
)
from autoscope.metrics.coverage import target_bins as _target_bins
from autoscope.metrics.errors import _masked_errors, _vector, truth_scale

__all__ = ["MetricsMonitor", "MonitorState"]


@dataclass(frozen=True)
class MonitorState:
    """What a monitor has seen: the pool indices of every update call, in order.

    Attributes:
        steps: One tuple of pool indices per :meth:`MetricsMonitor.update` call.
    """

    steps: tuple[tuple[int, ...], ...] = ()


class MetricsMonitor:
    """Coverage and error curves of one run, updated step by step.

    Groupings built once at construction:

    * ``patch``: k-means of standardised, randomly projected patches
      (:func:`~autoscope.metrics.coverage.patch_space_clusters`);
    * ``feature``: k-means of the mean latents of a small VAE trained on all
      patches (skipped when ``feature_space`` is false; ``latents`` supplies
      precomputed coordinates instead of training);
    * ``target_B`` and ``target_qB`` for each ``B`` in ``target_bins``:
      equal-width and quantile bins of the ground truth (only with ``truth``).

    :meth:`update` returns ``coverage_<grouping>`` for each grouping, each also
    as ``coverage_<grouping>_noinit`` counting only the points measured after
    the first ``n_initial`` (the first ``n_initial`` indices passed to
    :meth:`update`, in call order). With a prediction it adds ``mean_prediction``
    and ``mean_std`` and, with a truth, ``mae``, ``rmse``, ``mae_unmeasured``
    and ``rmse_unmeasured`` on the fixed scale ``truth.max() - truth.min()``
    (see :func:`~autoscope.metrics.errors.error_metrics`). With a truth, every
    step also records ``rmse_constant``: the RMSE, on the same scale, of
    predicting the mean of the measured points' true values everywhere, the
    baseline a model's ``rmse`` has to beat.

    Args:
        pool: The candidate pool of the run.
        truth: Ground-truth scalar per candidate, `(N,)`, or ``None`` when unknown.
        seed: Seed of the projection, k-means and VAE; the same seed gives the
            same groupings.
        feature: Pool feature clustered and fed to the VAE, `(N, w, w)`.
        patch_clusters: Number of patch-space clusters.
        patch_components: Dimension of the patch random projection.
        feature_clusters: Number of latent-space clusters.
        target_bins: Bin counts of the target-space groupings.
        feature_space: Whether to measure feature-space coverage (trains the VAE).
        n_initial: Number of initial (seed) points excluded from ``_noinit`` metrics.
        latents: Precomputed feature-space coordinates `(N, d)`; skips the VAE.
        vae_options: Keyword arguments for :func:`~autoscope.models.vae.fit_vae`
            (``epochs``, ``latent_dim``, ``num_threads``, ...).

    Attributes:
        groupings: Group label of every candidate, `(N,)`, per grouping name.
        latents: Feature-space coordinates `(N, d)`, or ``None``.
        vae: The trained VAE, or ``None``.
        setup_seconds: Wall time of the one-off setup: ``clustering`` and ``vae``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> patches = rng.random((100, 4, 4))
        >>> pool = CandidatePool(np.argwhere(np.ones((10, 10))), {"patches": patches})
        >>> monitor = MetricsMonitor(pool, np.linspace(0, 1, 100), seed=0, feature_space=False,
        ...                          patch_clusters=5, target_bins=(10,), n_initial=1)
        >>> values = monitor.update(np.array([0, 99]))
        >>> values["coverage_target_10"], values["coverage_target_10_noinit"]
        (0.2, 0.1)
    """

    def __init__(
        self,
        pool: CandidatePool,
        truth: np.ndarray | None = None,
        *,
        seed: int,
        feature: str = "patches",
        patch_clusters: int = 100,
        patch_components: int = 32,
        feature_clusters: int = 80,
        target_bins: Sequence[int] = (10, 25, 100),
        feature_space: bool = True,
        n_initial: int = 0,
        latents: np.ndarray | None = None,
        vae_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.n = len(pool)
        if self.n == 0:
            raise DataError("cannot monitor an empty candidate pool")
        if int(n_initial) < 0:
            raise ConfigError(f"n_initial must be >= 0, got {n_initial}")
        self.seed = int(seed)
        self.n_initial = int(n_initial)
        self.truth: np.ndarray | None = None
        self._scale = 1.0
        if truth is not None:
            self.truth = _vector("truth", truth, self.n)
            _, _, self._scale = truth_scale(self.truth)
        patches = pool.feature(feature)
        self.groupings: dict[str, np.ndarray] = {}
        self.latents: np.ndarray | None = None
        self.vae: Any = None
        self.setup_seconds = {"clustering": 0.0, "vae": 0.0}

        t0 = time.perf_counter()
        self.groupings["patch"] = patch_space_clusters(
            patches, n_clusters=patch_clusters, n_components=patch_components, seed=self.seed
        )
        clustering = time.perf_counter() - t0
        if feature_space:
            if latents is None:
                from autoscope.models.vae import encode, fit_vae

                t0 = time.perf_counter()
                self.vae = fit_vae(patches, **{"seed": self.seed, **dict(vae_options or {})})
                latents = encode(self.vae, patches)
                self.setup_seconds["vae"] = time.perf_counter() - t0
            latents = np.asarray(latents, dtype=np.float64)
            if latents.ndim != 2 or len(latents) != self.n:
                raise DataError(f"latents must have shape ({self.n}, d), got {latents.shape}")
            self.latents = latents
            t0 = time.perf_counter()
            self.groupings["feature"] = feature_space_clusters(
                latents, n_clusters=feature_clusters, seed=self.seed
            )
            clustering += time.perf_counter() - t0
        if self.truth is not None:
            t0 = time.perf_counter()
            for b in target_bins:
                self.groupings[f"target_{int(b)}"] = _target_bins(self.truth, n_bins=int(b))
            for b in target_bins:
                self.groupings[f"target_q{int(b)}"] = _target_bins(
                    self.truth, n_bins=int(b), kind="quantile"
                )
            clustering += time.perf_counter() - t0
        self.setup_seconds["clustering"] = clustering

        self._trackers = {name: CoverageTracker(labels) for name, labels in self.groupings.items()}
        self._trackers_noinit = {
            name: CoverageTracker(labels) for name, labels in self.groupings.items()
        }
        self._unmeasured = np.ones(self.n, dtype=bool)
        self._n_seen = 0
        self._steps: list[tuple[int, ...]] = []

    @property
    def state(self) -> MonitorState:
        """The update calls seen so far; see :meth:`load_state`."""
        return MonitorState(tuple(self._steps))

    def reset(self) -> None:
        """Forget every measured point."""
        for tracker in (*self._trackers.values(), *self._trackers_noinit.values()):
            tracker.reset()
        self._unmeasured[:] = True
        self._n_seen = 0
        self._steps = []

    def load_state(self, state: MonitorState) -> None:
        """Reset, then replay the update calls recorded in ``state``."""
        self.reset()
        for step in state.steps:
            self.update(np.asarray(step, dtype=np.int64))

    def update(
        self,
        new_indices: np.ndarray | Sequence[int],
        *,
        prediction: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> dict[str, float]:
        """Record newly measured candidates and return this step's metrics.

        Args:
            new_indices: Pool indices measured in this step, `(k,)` (may be empty).
            prediction: Surrogate ``(mean, std)`` over the whole pool, each `(N,)`
                (``std`` may be ``None``), or ``None``.

        Returns:
            Metric name to value (see the class docstring for the names).

        Raises:
            DataError: If an index is outside the pool or the prediction has the
                wrong shape or non-finite values.
        """
        idx = _as_indices(np.asarray(new_indices), self.n)
        mean = std = None
        if prediction is not None:
            mean = _vector("prediction mean", prediction[0], self.n)
            if prediction[1] is not None:
                std = _vector("prediction std", prediction[1], self.n)
        self._steps.append(tuple(idx.tolist()))
        n_init_left = max(self.n_initial - self._n_seen, 0)
        later = idx[n_init_left:]
        self._n_seen += len(idx)
        self._unmeasured[idx] = False

        out: dict[str, float] = {}
        for name, tracker in self._trackers.items():
            out[f"coverage_{name}"] = tracker._add_valid(idx)
            out[f"coverage_{name}_noinit"] = self._trackers_noinit[name]._add_valid(later)
        if self.truth is not None and not self._unmeasured.all():
            # The skill baseline every model must beat: predict the mean of what
            # was measured, everywhere (same fixed scale as ``rmse``).
            measured_truth = self.truth[~self._unmeasured]
            constant = (
                float(np.nanmean(measured_truth)) if np.isfinite(measured_truth).any() else 0.0
            )
            residual = (constant - self.truth) / self._scale
            out["rmse_constant"] = float(np.sqrt(np.nanmean(residual**2)))
        if mean is not None:
            if self.truth is not None:
                out.update(_masked_errors(mean, self.truth, self._unmeasured, self._scale, std))
            else:
                out["mean_prediction"] = float(mean.mean())
                if std is not None:
                    out["mean_std"] = float(std.mean())
        return out
