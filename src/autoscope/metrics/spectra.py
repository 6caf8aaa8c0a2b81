"""Full-spectrum losses of a structure→spectrum model (Im2spec and kin).

A curiosity campaign learns the whole spectrum at every candidate, so its
error is a distance between spectra, not between scalars. Every loss here is
first reduced over channels (the per-point error, :func:`per_point_errors`)
and then over points. Test losses average over the *unmeasured* points only;
the ``all_*`` figures include the measured ones, and ``all_mse_sum`` (the
per-point MSE summed over every point) is the statistic the curiosity papers
report, kept under that name so curves can be compared with theirs.

Losses are computed in whatever space the arrays are in: scale predictions
and ground truth the same way first (see :mod:`autoscope.data.spectra_prep`).

Example:
    >>> import numpy as np
    >>> truth = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> predicted = np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 2.0]])
    >>> spectral_losses(predicted, truth, measured=[0])["test_mse"]
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from autoscope.errors import ConfigError, DataError

__all__ = ["best_ever", "per_point_errors", "spectral_losses"]

SpectralLoss = Literal["mse", "l1", "poisson"]
_LOSSES = ("mse", "l1", "poisson")


def _spectra_pair(predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 ``(predicted, truth)``, each `(N, S)`."""
    out = []
    for name, values in (("predicted", predicted), ("truth", truth)):
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise DataError(f"{name} must be a non-empty (N, S) array of spectra, got {arr.shape}")
        bad = ~np.isfinite(arr)
        if bad.any():
            point, channel = np.argwhere(bad)[0]
            raise DataError(
                f"{name} has {int(bad.sum())} NaN/inf values (first at point {point}, "
                f"channel {channel}); losses need finite spectra"
            )
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise DataError(
            f"predicted has shape {out[0].shape} but truth has {out[1].shape}; "
            "they must hold the same points and channels"
        )
    return out[0], out[1]


def _unmeasured_mask(measured: np.ndarray | Sequence[int] | None, n: int) -> np.ndarray:
    """Boolean mask `(N,)` of the points not in ``measured`` (indices or a mask)."""
    mask = np.ones(n, dtype=bool)
    if measured is None:
        return mask
    measured = np.asarray(measured)
    if measured.dtype == bool:
        if measured.shape != (n,):
            raise DataError(
                f"measured as a boolean mask must have shape ({n},), got {measured.shape}"
            )
        return ~measured
    measured = measured.ravel()
    if measured.size == 0:
        return mask
    if not np.issubdtype(measured.dtype, np.integer) or measured.min() < 0 or measured.max() >= n:
        raise DataError(
            f"measured must be a boolean mask ({n},) or integer indices in [0, {n}), "
            f"got {measured[:10]}"
        )
    mask[measured] = False
    return mask


def _per_point(predicted: np.ndarray, truth: np.ndarray, kind: str) -> np.ndarray:
    diff = predicted - truth
    if kind == "mse":
        return np.mean(diff * diff, axis=1)
    if kind == "l1":
        return np.mean(np.abs(diff), axis=1)
    raise ConfigError(f"kind must be 'mse' or 'l1', got {kind!r}")


def per_point_errors(
    predicted: np.ndarray, truth: np.ndarray, *, kind: Literal["mse", "l1"] = "mse"
) -> np.ndarray:
    """Error of each point's spectrum, averaged over channels.

    Args:
        predicted: Predicted spectra `(N, S)`.
        truth: True spectra `(N, S)`.
        kind: ``"mse"`` (mean squared difference) or ``"l1"`` (mean absolute difference).

    Returns:
        Per-point errors `(N,)`.

    Raises:
        DataError: Shapes differ, are not `(N, S)`, or hold NaN/inf.
        ConfigError: Unknown ``kind``.

    Example:
        >>> per_point_errors(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]), kind="l1")
        array([1.])
    """
    if kind not in ("mse", "l1"):
        raise ConfigError(f"kind must be 'mse' or 'l1', got {kind!r}")
    predicted, truth = _spectra_pair(predicted, truth)
    return _per_point(predicted, truth, kind)


def _poisson_deviance(rate: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-channel ``y log(y/μ) − (y − μ)`` with ``0 log 0 = 0``, shape of ``counts``."""
    if np.any(rate <= 0):
        point, channel = np.argwhere(rate <= 0)[0]
        raise DataError(
            f"poisson loss needs positive predicted rates; point {point}, channel {channel} "
            f"is {rate[point, channel]:g} (predict through softplus/exp)"
        )
    if np.any(counts < 0):
        point, channel = np.argwhere(counts < 0)[0]
        raise DataError(
            f"poisson loss needs non-negative counts as truth; point {point}, channel {channel} "
            f"is {counts[point, channel]:g} (compare raw counts, not centred spectra)"
        )
    positive = counts > 0
    log_term = np.zeros_like(counts)
    log_term[positive] = counts[positive] * np.log(counts[positive] / rate[positive])
    return log_term - (counts - rate)


def spectral_losses(
    predicted: np.ndarray,
    truth: np.ndarray,
    *,
    measured: np.ndarray | Sequence[int] | None = None,
    loss: SpectralLoss = "mse",
    worst: int = 10,
) -> dict[str, float]:
    """Full-spectrum losses over the pool.

    With ``d_ij = predicted_ij − truth_ij`` over points ``i`` and channels
    ``j``, the per-point errors are ``mse_i = mean_j d_ij²`` and
    ``l1_i = mean_j |d_ij|``.

    Args:
        predicted: Predicted spectra for every candidate `(N, S)` (positive
            rates when ``loss="poisson"``).
        truth: True spectra `(N, S)` (non-negative counts when ``loss="poisson"``).
        measured: Measured points, as pool indices `(M,)` (repeats fine) or a
            boolean mask `(N,)`; ``None`` treats every point as unmeasured.
        loss: The model's training loss. ``"mse"`` and ``"l1"`` add nothing
            (both are always reported); ``"poisson"`` adds ``test_poisson``.
            ``losses[f"test_{loss}"]`` is always present.
        worst: How many of the worst-predicted unmeasured points ``worst{k}_mse``
            averages (all of them when fewer are left).

    Returns:
        A dict with

        - ``test_mse``, ``test_l1``: mean of ``mse_i`` / ``l1_i`` over the
          unmeasured points (NaN when none is left);
        - ``all_mse_sum``: ``sum_i mse_i`` over **all** N points, measured
          included (the published curiosity statistic; it grows with N);
        - ``all_mse``, ``all_l1``: mean of ``mse_i`` / ``l1_i`` over all points;
        - ``worst{k}_mse`` (``worst10_mse`` by default): mean ``mse_i`` of the
          ``k = worst`` unmeasured points with the largest ``mse_i`` (NaN when
          none is left);
        - ``test_poisson`` (only for ``loss="poisson"``): the mean over
          unmeasured points and channels of the Poisson deviance of the
          counts ``y = truth`` given the rates ``μ = predicted``,
          ``y log(y/μ) − (y − μ)``, with ``0 log 0 = 0``. It is zero when
          ``μ = y`` and equals the Poisson negative log-likelihood minus its
          minimum over ``μ``; twice it is the usual unit deviance (scikit-learn's
          ``mean_poisson_deviance``).

    Raises:
        DataError: Shapes differ or are not `(N, S)`, values are NaN/inf,
            ``measured`` is out of range, or Poisson inputs are not rates/counts.
        ConfigError: Unknown ``loss`` or ``worst < 1``.

    Example:
        >>> truth = np.array([[1.0, 1.0], [2.0, 0.0]])
        >>> losses = spectral_losses(np.array([[1.0, 1.0], [1.0, 1.0]]), truth)
        >>> losses["all_mse_sum"], losses["test_l1"]
        (1.0, 0.5)
    """
    if loss not in _LOSSES:
        raise ConfigError(f"loss must be one of {_LOSSES}, got {loss!r}")
    if isinstance(worst, bool) or int(worst) != worst or worst < 1:
        raise ConfigError(f"worst must be an integer >= 1, got {worst!r}")
    worst = int(worst)
    predicted, truth = _spectra_pair(predicted, truth)
    unmeasured = _unmeasured_mask(measured, len(truth))
    mse = _per_point(predicted, truth, "mse")
    l1 = _per_point(predicted, truth, "l1")
    n_left = int(unmeasured.sum())
    nan = float("nan")
    out = {
        "test_mse": float(mse[unmeasured].mean()) if n_left else nan,
        "test_l1": float(l1[unmeasured].mean()) if n_left else nan,
        "all_mse_sum": float(mse.sum()),
        "all_mse": float(mse.mean()),
        "all_l1": float(l1.mean()),
    }
    left = mse[unmeasured]
    k = min(worst, n_left)
    out[f"worst{worst}_mse"] = float(np.sort(left)[-k:].mean()) if k else nan
    if loss == "poisson":
        deviance = _poisson_deviance(predicted, truth)
        out["test_poisson"] = float(deviance[unmeasured].mean()) if n_left else nan
    return out


def best_ever(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Running minimum of a loss curve: the best loss reached up to each step.

    NaN entries (steps without an evaluation) are skipped: they carry the
    best value so far, and stay NaN only before the first finite value.

    Args:
        values: Loss per step `(T,)`.

    Returns:
        Best-ever loss per step `(T,)`, float64.

    Raises:
        DataError: ``values`` is not 1-D.

    Example:
        >>> best_ever([np.nan, 3.0, 4.0, np.nan, 1.0, 2.0])
        array([nan,  3.,  3.,  3.,  1.,  1.])
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise DataError(f"best_ever needs a 1-D loss curve (T,), got shape {values.shape}")
    if values.size == 0:
        return values.copy()
    return np.fmin.accumulate(values)
