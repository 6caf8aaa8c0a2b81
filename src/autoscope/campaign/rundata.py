"""A finished or running campaign, loaded from its run directory as arrays.

:class:`RunData` is what reports, exports and metrics read; the run store
(:mod:`autoscope.campaign.store`) builds it from its event log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RunData"]


@dataclass
class RunData:
    """The measurements, failures and metrics of one run.

    Attributes:
        run_dir: The run directory.
        config: The run's configuration (as loaded from its TOML).
        meta: Seeds, versions, instrument and pool descriptions.
        overview: Structure image `(H, W)` the campaign saw.
        spectra_binning: Structure pixels per spectrum-grid pixel.
        pool_coords: All candidate positions `(N, 2)` on the spectrum grid.
        grid_shape: Spectrum grid shape `(H', W')`.
        index: Pool index of each successful measurement, in order, `(M,)`.
        coords: `(row, col)` of each measurement, `(M, 2)`.
        targets: Scalar target of each measurement, `(M,)`.
        spectra: Measured spectra `(M, S)`.
        seconds: Instrument time of each measurement, `(M,)`.
        dose: Dose of each measurement, `(M,)`.
        source: ``"initial"``, ``"policy"`` or ``"attached"`` per measurement, `(M,)`.
        spectral_axis: Spectral axis values `(S,)`.
        spectral_units: Units of the spectral axis.
        failed: One dict per point that failed beyond the retry policy
            (``index``, ``coords``, ``attempts``, ``reason``).
        rejected: One dict per rejected suggestion (``index``, ``coords``, ``reason``).
        metric_steps: Number of measurements at which metrics were recorded, `(T,)`.
        metrics: Metric name -> values `(T,)` aligned with ``metric_steps``.
        truth_map: Ground-truth scalar target on the spectrum grid `(H', W')`,
            NaN where unknown; ``None`` when the run has no ground truth.
    """

    run_dir: Path
    config: dict[str, Any]
    meta: dict[str, Any]
    overview: np.ndarray
    spectra_binning: int
    pool_coords: np.ndarray
    grid_shape: tuple[int, int]
    index: np.ndarray
    coords: np.ndarray
    targets: np.ndarray
    spectra: np.ndarray
    seconds: np.ndarray
    dose: np.ndarray
    source: np.ndarray
    spectral_axis: np.ndarray
    spectral_units: str = ""
    failed: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    metric_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    truth_map: np.ndarray | None = None

    @property
    def n_initial(self) -> int:
        """Number of initial (seed) measurements."""
        return int(np.sum(self.source == "initial"))

    def revealed_map(self) -> np.ndarray:
        """Measured targets on the spectrum grid `(H', W')`, NaN where not measured."""
        grid = np.full(self.grid_shape, np.nan)
        grid[self.coords[:, 0], self.coords[:, 1]] = self.targets
        return grid
