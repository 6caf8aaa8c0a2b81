"""From a :class:`~autoscope.campaign.config.Config` to a running, resumable campaign.

:func:`prepare` builds everything a run needs (dataset, replay instrument,
pool, scalarizer, policies, ground truth) and validates it *before* a run
directory exists, so bad input never leaves a partial run behind.
:func:`start_run` creates the run directory and runs; :func:`resume_run`
rebuilds the same objects from the stored configuration, replays the event
log and continues with the same choices an uninterrupted run would make.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autoscope
from autoscope.campaign.config import Config
from autoscope.campaign.core import Budget, Campaign
from autoscope.campaign.driver import RetryPolicy, RunSummary, run_campaign
from autoscope.campaign.store import RunStore
from autoscope.data.pool import CandidatePool, extract_patches
from autoscope.data.scaling import robust_scale
from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError, RunStoreError
from autoscope.instruments.replay import FaultInjection, ReplayInstrument
from autoscope.policies import Policy, make_policy

__all__ = ["Experiment", "load_dataset", "prepare", "resume_run", "start_run"]


def load_dataset(config: Config) -> SpectralImage:
    """The dataset named by ``config.data`` (a built-in twin or a file)."""
    data = config.data
    if data.twin:
        from autoscope.data.twins import make_twin

        options = {"seed": config.run.seed, **data.twin_options}
        image = make_twin(data.twin, **options)
        return image.bin_spectra(data.bin) if data.bin != 1 else image
    from autoscope.data.readers import read

    kwargs: dict[str, Any] = {}
    if data.structure:
        kwargs["structure"] = data.structure
    if data.spectra:
        kwargs["spectra"] = data.spectra
    if data.reader:
        kwargs["reader"] = data.reader
    image = read(data.path, **kwargs)
    image = image.bin_spectra(data.bin) if data.bin != 1 else image
    return _crop_spectra(image, data.spectral_range, data.spectral_bin)


def _crop_spectra(image: SpectralImage, spectral_range: list[float], n_bin: int) -> SpectralImage:
    """Crop the spectral axis to ``spectral_range`` and sum ``n_bin`` channels."""
    if not spectral_range and n_bin == 1:
        return image
    if image.spectra is None or image.spectral_axis is None:
        raise DataError(f"{image.name!r} has no spectra to crop or bin")
    from dataclasses import replace

    from autoscope.data.spectra_prep import crop_and_bin

    low, high = spectral_range if spectral_range else (None, None)
    spectra, axis = crop_and_bin(
        image.spectra, image.spectral_axis, low=low, high=high, bin=n_bin, remainder="drop"
    )
    provenance = {**image.provenance, "spectral_range": list(spectral_range),
                  "spectral_bin": n_bin}
    return replace(image, spectra=spectra, spectral_axis=axis, provenance=provenance)


def fingerprint(image: SpectralImage) -> str:
    """SHA-256 of the structure and spectra, to detect a changed dataset on resume."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(image.structure).tobytes())
    if image.spectra is not None:
        digest.update(np.ascontiguousarray(image.spectra).tobytes())
    return digest.hexdigest()


@dataclass
class Experiment:
    """Everything one run needs, built and validated from a config.

    Attributes:
        config: The configuration.
        dataset: The dataset (with spectra and any ground truth).
        instrument: The replay instrument over ``dataset``.
        pool: The candidate pool.
        scalarizer: Spectra `(k, S)` + axis `(S,)` -> targets `(k,)`.
        truth_map: Scalar target of every spectrum-grid point `(H', W')`,
            NaN where the scalarizer cannot score it.
        truth: ``truth_map`` at the pool candidates, `(N,)`.
    """

    config: Config
    dataset: SpectralImage
    instrument: ReplayInstrument
    pool: CandidatePool
    scalarizer: Any
    truth_map: np.ndarray
    truth: np.ndarray

    def policies(self) -> tuple[Policy, Policy]:
        """The main policy and the initial-points policy."""
        policy = make_policy(self.config.policy.name, **self.config.policy.options)
        initial = make_policy(self.config.policy.initial)
        return policy, initial

    def budget(self) -> Budget:
        """The configured budget."""
        b = self.config.budget
        return Budget(measurements=b.measurements, seconds=b.seconds, dose=b.dose)

    @property
    def spectral_axis(self) -> np.ndarray:
        """The axis of the spectra the instrument returns, `(S,)`."""
        return self.dataset.spectral_axis

    def campaign(self, store: RunStore | None = None) -> Campaign:
        """A campaign over this experiment (replaying ``store`` when given)."""
        policy, initial = self.policies()
        return Campaign(
            self.pool,
            policy,
            self.scalarizer,
            spectral_axis=self.spectral_axis,
            budget=self.budget(),
            seed=self.config.run.seed,
            n_initial=self.config.policy.n_initial,
            initial_policy=initial,
            store=store,
        )

    def monitor(self, policy: Policy | None = None) -> Any:
        """A metrics monitor, or ``None`` when metrics are disabled.

        For a policy that learns whole spectra (a curiosity policy) the core
        metrics are joined by its model's full-spectrum losses
        (:class:`~autoscope.metrics.reconstruction.ReconstructionMonitor`).
        """
        m = self.config.metrics
        if not m.enabled:
            return None
        core = self._core_monitor()
        if policy is None or not hasattr(policy, "reconstruction"):
            return core
        from autoscope.metrics.reconstruction import ReconstructionMonitor

        assert self.dataset.spectra is not None
        coords = self.pool.coords
        truth = self.dataset.spectra[coords[:, 0], coords[:, 1]]
        return ReconstructionMonitor(
            policy, truth, core=core, scaling=m.spectra_scaling, loss=getattr(policy, "loss", "mse")
        )

    def _core_monitor(self) -> Any:
        m = self.config.metrics
        from autoscope.metrics.monitor import MetricsMonitor

        return MetricsMonitor(
            self.pool,
            self.truth,
            seed=self.config.run.seed,
            patch_clusters=m.patch_clusters,
            patch_components=m.patch_components,
            feature_clusters=m.feature_clusters,
            target_bins=tuple(m.target_bins),
            feature_space=m.feature_space,
            n_initial=self.config.policy.n_initial,
        )

    def target_outliers(self) -> dict[str, Any]:
        """Ground-truth targets beyond 10 IQR of the median (reported, never dropped)."""
        finite = np.isfinite(self.truth)
        _, info = robust_scale(self.truth[finite])
        indices = np.flatnonzero(finite)[info.outlier_indices]
        return {
            "rule": f"|target - median| > {info.outlier_iqr} * IQR",
            "count": int(info.n_outliers),
            "non_finite": int((~finite).sum()),
            "pool_indices": indices[:20].tolist(),
        }

    def meta(self) -> dict[str, Any]:
        """What ``run.json`` records about this run."""
        return {
            "autoscope_version": autoscope.__version__,
            "config": self.config.to_dict(),
            "seed": self.config.run.seed,
            "dataset": self.dataset.describe(),
            "dataset_fingerprint": fingerprint(self.dataset),
            "instrument": self.instrument.describe(),
            "pool": {"size": len(self.pool), **self.pool.spec},
            "scalarizer": {
                "name": self.config.scalarizer.name,
                "options": self.config.scalarizer.options,
                "units": getattr(self.scalarizer, "units", ""),
            },
            "target_outliers": self.target_outliers(),
            "grid_shape": list(self.dataset.spectrum_grid_shape),
            "spectra_binning": self.dataset.spectra_binning,
            "spectral_axis": self.dataset.spectral_axis,
            "spectral_units": self.dataset.spectral_units,
            "n_channels": self.dataset.n_channels,
        }


def prepare(config: Config) -> Experiment:
    """Build and validate everything a run needs; creates no files.

    Raises:
        DataError, ConfigError: Bad data or options, with a message naming them.
    """
    from autoscope.data.scalarizers import make_scalarizer

    config.validate()
    if config.data.library:
        from autoscope.library.experiment import prepare_library

        return prepare_library(config)
    dataset = load_dataset(config)
    if dataset.spectra is None:
        raise DataError(f"dataset {dataset.name!r} has no spectra to measure")
    p = config.pool
    pool = extract_patches(
        dataset,
        window=p.window,
        stride=p.stride,
        border=p.border,
        normalization=p.normalization,
        channel=0 if p.channels == "first" else None,
    )
    scalarizer = make_scalarizer(config.scalarizer.name, **config.scalarizer.options)
    grid = dataset.spectrum_grid_shape
    truth_map = np.asarray(
        scalarizer(dataset.spectra.reshape(-1, dataset.n_channels), dataset.spectral_axis),
        dtype=float,
    ).reshape(grid)
    truth = truth_map[pool.coords[:, 0], pool.coords[:, 1]]
    if not np.isfinite(truth).any():
        raise DataError(
            f"scalarizer {config.scalarizer.name!r} gives no finite target on {dataset.name!r}; "
            "check its options against the spectral axis"
        )
    i = config.instrument
    instrument = ReplayInstrument(
        dataset,
        seconds_per_point=i.seconds_per_point,
        dose_per_point=i.dose_per_point,
        noise_std=i.noise_std,
        poisson=i.poisson,
        faults=FaultInjection(**vars(i.faults)),
        latency=i.latency,
        seed=config.run.seed,
    )
    experiment = Experiment(config, dataset, instrument, pool, scalarizer, truth_map, truth)
    experiment.campaign()  # policies, budget and initial points, checked before any file exists
    return experiment


def _run(experiment: Experiment, store: RunStore, *, progress: bool) -> RunSummary:
    campaign = experiment.campaign(store)
    experiment.instrument.replay_requests(campaign.attempted_points)
    monitor = experiment.monitor(campaign.policy)
    if monitor is not None:
        stored = store.metric_steps()
        for step, index in enumerate(campaign.measured, start=1):
            values = monitor.update(np.array([index]))
            if step not in stored:
                store.write_metrics(step, values)
    return run_campaign(
        campaign,
        experiment.instrument,
        batch_size=experiment.config.policy.batch_size,
        retry=RetryPolicy(max_attempts=experiment.config.retry.max_attempts),
        monitor=monitor,
        progress=progress,
    )


def start_run(
    config: Config, *, run_dir: str | Path | None = None, progress: bool | None = None
) -> Path:
    """Validate ``config``, create its run directory and run the campaign.

    Returns:
        The run directory.
    """
    experiment = prepare(config)
    run_dir = Path(run_dir) if run_dir is not None else config.run_dir()
    store = RunStore.create(
        run_dir,
        meta=experiment.meta(),
        overview=experiment.dataset.structure,
        pool_coords=experiment.pool.coords,
        truth_map=experiment.truth_map,
        synchronous=config.run.synchronous,
    )
    with store:
        _run(experiment, store, progress=config.run.progress if progress is None else progress)
    return run_dir


def resume_run(run_dir: str | Path, *, progress: bool = True) -> Path:
    """Continue the run in ``run_dir`` where it stopped.

    Raises:
        RunStoreError: ``run_dir`` is not a run, or its dataset changed since.
    """
    store = RunStore.open(run_dir)
    with store:
        config = Config.from_dict(store.meta["config"])
        store_sync = config.run.synchronous
        if store_sync != "FULL":
            store.close()
            store = RunStore.open(run_dir, synchronous=store_sync)
        experiment = prepare(config)
        if fingerprint(experiment.dataset) != store.meta.get("dataset_fingerprint"):
            raise RunStoreError(
                f"the dataset of {run_dir} changed since the run started "
                f"({experiment.dataset.name!r}); refusing to resume on different data"
            )
        _run(experiment, store, progress=progress)
    return Path(run_dir)
