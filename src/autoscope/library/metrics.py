"""Per-step metrics of a library campaign: model error and uncertainty, regions.

:class:`LibraryMonitor` is the library's counterpart of
:class:`~autoscope.metrics.monitor.MetricsMonitor`. After every measurement it
fits its own :class:`~autoscope.library.model.CompositionGP` (the same model
for every policy, so model-free baselines are scored by the same estimator)
on the measured particles' EDX compositions and properties and evaluates it
on the library's fixed
reference set of simplex points, where the true field is known.

Recorded per step:

- ``mean_std``: mean posterior standard deviation over the reference set
  (property units);
- ``mae`` / ``rmse``: mean absolute / root-mean-square error of the posterior
  mean against the true field on the reference set;
- ``mae_relative``: ``mae`` divided by the mean absolute deviation of the
  true field around its mean (1 = no better than knowing the field's mean);
- ``mae_constant``: the error of predicting the mean of what was measured
  (a yardstick for ``mae``);
- ``regions_discovered``, ``region_changes`` (moves between regions so far),
  ``region_fraction`` (share of the current region's particles measured) and
  ``mean_region_fraction`` (mean share over discovered regions).

The driver adds the run's cumulative ``seconds`` (instrument time) and ``dose``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autoscope.library.model import CompositionGP
from autoscope.library.simulator import ParticleLibrary, measured_property

__all__ = ["LIBRARY_METRICS", "LibraryMonitor"]

#: Names of the metrics :class:`LibraryMonitor` records.
LIBRARY_METRICS = (
    "mean_std",
    "mae",
    "rmse",
    "mae_relative",
    "mae_constant",
    "regions_discovered",
    "region_changes",
    "region_fraction",
    "mean_region_fraction",
)


class LibraryMonitor:
    """Records model error, uncertainty and region use after each measurement.

    Args:
        library: The library (its reference set and true field).
        seed: The instrument's seed (the property noise of a particle depends on it).
        gp_iterations: Adam steps per re-optimising fit.
        gp_first_iterations: Adam steps of the first fit.
        gp_refit_every: Re-optimise the hyperparameters every this many fits.
        min_points: Points needed before the GP metrics are computed (NaN before).

    Attributes:
        last: The metrics of the latest :meth:`update`.
    """

    def __init__(
        self,
        library: ParticleLibrary,
        *,
        seed: int = 0,
        gp_iterations: int = 10,
        gp_first_iterations: int = 60,
        gp_refit_every: int = 5,
        min_points: int = 3,
    ) -> None:
        self.library = library
        self.seed = int(seed)
        self.gp_iterations = int(gp_iterations)
        self.gp_first_iterations = int(gp_first_iterations)
        self.gp_refit_every = int(gp_refit_every)
        self.min_points = int(min_points)
        self.reset()

    def reset(self) -> None:
        """Forget everything measured."""
        self._order: list[int] = []
        self._values: list[float] = []
        self._gp: Any = None
        self._changes = 0
        self.last: dict[str, float] = {}

    def update(self, new_indices: Any, *, prediction: Any = None) -> dict[str, float]:
        """Add the measured pool indices ``new_indices`` `(k,)` and return the metrics.

        ``prediction`` (a policy's own model output) is ignored: every policy is
        scored by this monitor's GP.
        """
        lib = self.library
        for index in np.asarray(new_indices, dtype=np.int64).ravel():
            if self._order and lib.region[self._order[-1]] != lib.region[index]:
                self._changes += 1
            self._order.append(int(index))
            self._values.append(measured_property(lib, int(index), seed=self.seed))
        order = np.array(self._order, dtype=np.int64)
        values = np.array(self._values)
        regions = lib.region[order]
        discovered = np.unique(regions)
        per_region = np.bincount(regions, minlength=lib.n_regions)
        fractions = per_region[discovered] / lib.region_counts[discovered]
        out = {
            "regions_discovered": float(len(discovered)),
            "region_changes": float(self._changes),
            "region_fraction": float(fractions[np.searchsorted(discovered, regions[-1])]),
            "mean_region_fraction": float(fractions.mean()),
            "mae_constant": float(np.mean(np.abs(lib.reference_prop - values.mean()))),
        }
        out.update(self._model_metrics(order, values))
        self.last = out
        return out

    def _model_metrics(self, order: np.ndarray, values: np.ndarray) -> dict[str, float]:
        if len(order) < self.min_points:
            return {
                "mean_std": math.nan,
                "mae": math.nan,
                "rmse": math.nan,
                "mae_relative": math.nan,
            }
        if self._gp is None:
            self._gp = CompositionGP(
                self.library.spec.n_components,
                iterations=self.gp_iterations,
                first_iterations=self.gp_first_iterations,
                refit_every=self.gp_refit_every,
            )
        self._gp.fit(self.library.edx.fractions[order], values)
        mean, std = self._gp.predict(self.library.reference)
        truth = self.library.reference_prop
        error = mean - truth
        mae = float(np.mean(np.abs(error)))
        return {
            "mean_std": float(np.mean(std)),
            "mae": mae,
            "mae_relative": mae / float(np.mean(np.abs(truth - truth.mean()))),
            "rmse": float(np.sqrt(np.mean(error**2))),
        }
