"""BEACON novelty search, adapted to a deep-kernel surrogate over a finite pool.

BEACON (Tang, Chakrabarty & Paulson, 2024, "BEACON: A Bayesian Optimization
Strategy for Novelty Search in Expensive Black-Box Systems") draws one
posterior function sample ``y(x)`` and scores each candidate by how far
``y(x)`` lies from the ``k`` nearest responses in an archive of outcomes. Two
archives are offered:

- ``archive="all"`` (the original BEACON): every measured response (or, with
  ``denoise=True``, the posterior mean at every measured point), in target
  units; the score is the sum (or mean: same argmax) of the ``k`` nearest
  distances.
- ``archive="elite"`` (the BEACON-DKL authors' code): the top
  ``elite_fraction`` of measured points by measured value, their posterior
  means as reference values, z-scored with the elite mean and unbiased
  (``ddof=1``) std; the sample is z-scored the same way and the score is the
  mean of the ``k' = min(k, elite size)`` nearest distances. The elite size is
  ``max(1, ceil(elite_fraction * M))`` (10 measured, 20 % -> 2). With a single
  elite point, or an elite std of (numerically) 0, the std is taken as 1: the
  reference values are only centred.

Fewer archive entries than ``k`` use all of them. Pending points enter the
archive with their believed value (a batch pick: the Thompson draw that picked
it; otherwise the posterior mean), z-scored like the elite in the elite form;
this keeps batches diverse (see :mod:`autoscope.acquisition.batch`).

The outcome is scalar, so the ``k`` nearest archive entries of a value lie in a
window of ``k`` on each side of its position in the sorted archive:
:func:`knn_distance` finds them with ``searchsorted`` in O(N log A + N k) time
and O(chunk * k) memory, never building an `(N, A)` matrix. The original code
uses a brute-force distance matrix; no library offers this 1-D shortcut.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from autoscope.acquisition.base import SAMPLE_METHODS, Acquisition, AcquisitionContext
from autoscope.errors import ConfigError, DataError

if TYPE_CHECKING:
    from autoscope.models.base import SampleMethod

__all__ = ["Beacon", "elite_size", "knn_distance"]

_CHUNK = 65536


def knn_distance(
    values: np.ndarray, archive: np.ndarray, k: int, *, reduce: str = "sum"
) -> np.ndarray:
    """Sum or mean of the distances from each value to its ``k`` nearest archive entries.

    Args:
        values: Scalars to score `(N,)`.
        archive: Reference scalars `(A,)`, ``A >= 1``, any order.
        k: Neighbours; ``min(k, A)`` are used.
        reduce: ``"sum"`` or ``"mean"`` of the nearest distances.

    Returns:
        Novelty `(N,)`.

    Raises:
        DataError: The archive is empty.
        ConfigError: ``k`` is below 1 or ``reduce`` is unknown.

    Example:
        >>> knn_distance(np.array([0.5, 3.0]), np.array([0.0, 1.0, 2.0]), 2)
        array([1., 3.])
    """
    if reduce not in ("sum", "mean"):
        raise ConfigError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k!r}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    archive = np.sort(np.asarray(archive, dtype=np.float64).reshape(-1))
    size = len(archive)
    if size == 0:
        raise DataError("the novelty archive is empty; measure at least one point first")
    k = min(int(k), size)
    offsets = np.arange(-k, k)
    out = np.empty(len(values))
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        window = np.searchsorted(archive, chunk)[:, None] + offsets[None, :]
        inside = (window >= 0) & (window < size)
        distances = np.abs(archive[np.clip(window, 0, size - 1)] - chunk[:, None])
        distances[~inside] = np.inf
        nearest = np.partition(distances, k - 1, axis=1)[:, :k]
        out[start : start + len(chunk)] = nearest.sum(axis=1)
    return out / k if reduce == "mean" else out


def elite_size(n_measured: int, fraction: float) -> int:
    """Number of elite points: ``max(1, ceil(fraction * n_measured))``.

    Example:
        >>> elite_size(10, 0.2), elite_size(7, 0.2), elite_size(1, 0.2)
        (2, 2, 1)
    """
    return max(1, math.ceil(round(fraction * n_measured, 9)))


class Beacon(Acquisition):
    """BEACON: novelty of a Thompson sample with respect to an archive of responses.

    Args:
        k: Nearest archive entries per candidate (``min(k, archive size)`` used).
        archive: ``"all"`` (every observation) or ``"elite"`` (top measured
            points, z-scored); see the module docstring.
        reduce: ``"sum"`` or ``"mean"`` of the nearest distances; ``None``
            means ``"sum"`` for ``"all"`` and ``"mean"`` for ``"elite"``.
        denoise: Reference values are posterior means at the measured points
            instead of the measured values; ``None`` means ``False`` for
            ``"all"`` and ``True`` for ``"elite"``.
        elite_fraction: Fraction of measured points in the elite, in (0, 1].
        sampler: How to draw the Thompson sample: ``"pathwise"``,
            ``"marginal"`` or ``"joint"`` (passed to ``model.sample``).

    Raises:
        ConfigError: An option is out of range.
        DataError: (on call) nothing measured or pending.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.zeros(len(x)), np.ones(len(x))
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.array([[0.55, 1.3]])
        >>> context = AcquisitionContext(Fixed(), np.zeros((2, 1)), np.array([0, 1]),
        ...                              np.array([0.0, 0.0]))
        >>> Beacon(k=2)(context)  # archive [0, 0]: distances 2 * 0.55 and 2 * 1.3
        array([1.1, 2.6])
    """

    name = "beacon"

    def __init__(
        self,
        *,
        k: int = 10,
        archive: str = "all",
        reduce: str | None = None,
        denoise: bool | None = None,
        elite_fraction: float = 0.2,
        sampler: SampleMethod = "pathwise",
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"k must be an integer >= 1, got {k!r}")
        self.k = int(k)
        if archive not in ("all", "elite"):
            raise ConfigError(f"archive must be 'all' or 'elite', got {archive!r}")
        self.archive = archive
        if reduce is None:
            reduce = "sum" if archive == "all" else "mean"
        if reduce not in ("sum", "mean"):
            raise ConfigError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
        self.reduce = reduce
        if denoise is None:
            denoise = archive == "elite"
        if not isinstance(denoise, (bool, np.bool_)):
            raise ConfigError(f"denoise must be True, False or None, got {denoise!r}")
        self.denoise = bool(denoise)
        if not (isinstance(elite_fraction, (int, float)) and 0 < elite_fraction <= 1):
            raise ConfigError(f"elite_fraction must be in (0, 1], got {elite_fraction!r}")
        self.elite_fraction = float(elite_fraction)
        if sampler not in SAMPLE_METHODS:
            raise ConfigError(f"sampler must be one of {SAMPLE_METHODS}, got {sampler!r}")
        self.sampler: SampleMethod = sampler

    def reference(self, context: AcquisitionContext) -> tuple[np.ndarray, float, float]:
        """The archive and the affine map applied to samples before comparing.

        Returns:
            ``(archive, center, scale)``: archive values `(A,)` already
            standardised, and ``center``/``scale`` such that a sample ``y`` is
            compared as ``(y - center) / scale`` (0 and 1 for ``"all"``).

        Raises:
            DataError: Nothing is measured (elite) or measured or pending (all).
        """
        measured, targets = context.measured, context.targets
        pending = context.believed_pending()
        if self.archive == "all":
            values = context.mean[measured] if self.denoise else targets
            archive = np.concatenate([values, pending])
            if archive.size == 0:
                raise DataError("BEACON needs at least one measured or pending point")
            return archive, 0.0, 1.0
        if len(measured) == 0:
            raise DataError("BEACON with an elite archive needs at least one measured point")
        size = elite_size(len(measured), self.elite_fraction)
        top = np.argsort(-targets, kind="stable")[:size]
        elite = context.mean[measured[top]] if self.denoise else targets[top]
        center = float(elite.mean())
        scale = float(elite.std(ddof=1)) if size > 1 else 1.0
        if not scale > 1e-12 * max(1.0, abs(center)):
            scale = 1.0
        archive = (np.concatenate([elite, pending]) - center) / scale
        return archive, center, scale

    def __call__(self, context: AcquisitionContext) -> np.ndarray:
        """Novelty `(N,)` of the context's Thompson sample at every candidate."""
        archive, center, scale = self.reference(context)
        draw = (context.sample(self.sampler) - center) / scale
        return knn_distance(draw, archive, self.k, reduce=self.reduce)

    def fantasy(self, context: AcquisitionContext, index: int) -> float:
        """The Thompson draw at ``index`` (the value that made it novel)."""
        return float(context.sample(self.sampler)[index])
