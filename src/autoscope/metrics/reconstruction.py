"""Full-spectrum metrics of a curiosity campaign, next to the core coverage metrics.

:class:`ReconstructionMonitor` asks the campaign's curiosity policy for its
model's prediction over the whole pool after every measurement
(``policy.reconstruction(truth)``) and scores it against the ground truth with
:func:`~autoscope.metrics.spectra.spectral_losses`: test-set L1/MSE over the
unmeasured points, the published statistic (summed per-point MSE over all
points), the MSE of the ten worst points, and the best value so far of each
(``best_*``). Spectra are compared after one fixed scaling fitted on the
ground truth of the whole pool (``scaling``), so every policy is scored on the
same scale whatever it trains on; Spec2im patches are compared as they are.
The model scored after measurement ``k`` is the one the policy trained at
its last choice (on ``k − 1`` points).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autoscope.data.spectra_prep import SpectrumScaling
from autoscope.metrics.spectra import spectral_losses

__all__ = ["ReconstructionMonitor"]

_BEST = ("test_mse", "test_l1", "all_mse_sum", "worst10_mse")


class ReconstructionMonitor:
    """Adds full-spectrum losses of ``policy``'s model to a core monitor's metrics.

    Args:
        policy: A policy with ``reconstruction(truth_spectra)`` and ``reconstructs``.
        truth_spectra: True spectrum of every pool candidate, `(N, S)`.
        core: The core metrics monitor (coverage, scalar error), or ``None``.
        scaling: Scaling of the spectra before comparison (``"global"``,
            ``"robust"`` or ``"per-spectrum"``).
        loss: ``"mse"``/``"l1"``, or ``"poisson"`` for counts (adds ``test_poisson``,
            computed on the unscaled counts).

    Attributes:
        history: The metrics of every update, in order.
    """

    def __init__(
        self,
        policy: Any,
        truth_spectra: np.ndarray,
        *,
        core: Any = None,
        scaling: str = "global",
        loss: str = "mse",
    ) -> None:
        self.policy = policy
        self.truth = np.asarray(truth_spectra, dtype=np.float64)
        self.core = core
        self.loss = loss
        self.scaler = SpectrumScaling(scaling).fit(self.truth)  # type: ignore[arg-type]
        self._measured: list[int] = []
        self._best: dict[str, float] = {}
        self.history: list[dict[str, float]] = []

    def update(self, new_indices: Any, *, prediction: Any = None) -> dict[str, float]:
        """Record the new measured pool indices `(k,)` and return every metric."""
        out = dict(self.core.update(new_indices, prediction=prediction)) if self.core else {}
        self._measured.extend(int(i) for i in np.asarray(new_indices).ravel())
        result = self.policy.reconstruction(self.truth)
        if result is None:
            losses = {
                name: math.nan
                for name in ("test_l1", "test_mse", "all_mse_sum", "all_l1", "worst10_mse")
            }
        else:
            predicted, target = result
            n = len(target)
            if self.policy.reconstructs == "spectra":
                losses = spectral_losses(
                    self.scaler.transform(predicted),
                    self.scaler.transform(target),
                    measured=self._measured,
                )
                if self.loss == "poisson":
                    raw = spectral_losses(
                        np.maximum(predicted, 1e-9), target, measured=self._measured, loss="poisson"
                    )
                    losses["test_poisson"] = raw["test_poisson"]
            else:
                losses = spectral_losses(
                    predicted.reshape(n, -1), target.reshape(n, -1), measured=self._measured
                )
        for name in _BEST:
            value = losses.get(name, math.nan)
            if math.isfinite(value):
                self._best[name] = min(self._best.get(name, math.inf), value)
            losses[f"best_{name}"] = self._best.get(name, math.nan)
        out.update(losses)
        self.history.append(out)
        return out

    @property
    def last(self) -> dict[str, float]:
        """The metrics of the latest update (empty before the first)."""
        return self.history[-1] if self.history else {}
