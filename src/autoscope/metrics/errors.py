"""Surrogate error metrics on a fixed scale of the ground truth.

Errors are divided by the ground truth's global range ``hi - lo``, fixed once
per pool, so that curves from different steps, runs and policies share one
scale. A model's own per-step normalisation (which changes as data arrive) is
never used. A constant ground truth has no range; its scale is 1 (errors stay
in raw units).
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import DataError

__all__ = ["error_metrics", "truth_scale"]


def truth_scale(
    truth: np.ndarray, value_range: tuple[float, float] | None = None
) -> tuple[float, float, float]:
    """The fixed error scale ``(lo, hi, hi - lo)``; the scale is 1 when ``hi == lo``.

    Args:
        truth: Ground truth `(N,)`, used when ``value_range`` is ``None``.
        value_range: Explicit ``(lo, hi)``.

    Raises:
        DataError: If the range is not finite or ``hi < lo``.
    """
    if value_range is None:
        lo, hi = float(np.min(truth)), float(np.max(truth))
    else:
        lo, hi = (float(v) for v in value_range)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise DataError(f"value_range must be finite with lo <= hi, got ({lo}, {hi})")
    return lo, hi, (hi - lo) if hi > lo else 1.0


def _vector(name: str, values: np.ndarray, n: int | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or (n is not None and len(values) != n):
        expected = "(N,)" if n is None else f"({n},)"
        raise DataError(f"{name} must have shape {expected}, got {values.shape}")
    if not np.isfinite(values).all():
        raise DataError(
            f"{name} must be finite; candidate {int(np.argmax(~np.isfinite(values)))} is NaN or inf"
        )
    return values


def _masked_errors(
    prediction: np.ndarray,
    truth: np.ndarray,
    unmeasured: np.ndarray,
    scale: float,
    std: np.ndarray | None,
) -> dict[str, float]:
    """Metrics from validated float64 arrays and a boolean unmeasured mask `(N,)`."""
    err = (prediction - truth) / scale
    abs_err = np.abs(err)
    sq_err = err * err
    out = {"mae": float(abs_err.mean()), "rmse": float(np.sqrt(sq_err.mean()))}
    n_left = int(np.count_nonzero(unmeasured))
    if n_left:
        out["mae_unmeasured"] = float(abs_err[unmeasured].mean())
        out["rmse_unmeasured"] = float(np.sqrt(sq_err[unmeasured].mean()))
    else:
        out["mae_unmeasured"] = out["rmse_unmeasured"] = float("nan")
    out["mean_prediction"] = float(prediction.mean())
    if std is not None:
        out["mean_std"] = float(std.mean())
    return out


def error_metrics(
    prediction: np.ndarray,
    truth: np.ndarray,
    *,
    measured: np.ndarray,
    value_range: tuple[float, float] | None = None,
    std: np.ndarray | None = None,
) -> dict[str, float]:
    """MAE and RMSE of a surrogate over the pool, on the fixed truth scale.

    Args:
        prediction: Surrogate mean per candidate, `(N,)`.
        truth: Ground truth per candidate, `(N,)`.
        measured: Pool indices measured so far, `(M,)`; repeats are fine.
        value_range: ``(lo, hi)`` of the ground truth over the whole pool
            (default: ``truth.min()``, ``truth.max()``). Errors are divided by
            ``hi - lo``, or by 1 when the truth is constant.
        std: Surrogate standard deviation per candidate, `(N,)`, optional.

    Returns:
        ``mae`` and ``rmse`` over all candidates; ``mae_unmeasured`` and
        ``rmse_unmeasured`` over candidates not in ``measured`` (NaN when none
        is left); ``mean_prediction`` (raw units, over all candidates); and
        ``mean_std`` (raw units) when ``std`` is given.

    Raises:
        DataError: If shapes differ, values are not finite, or an index is
            outside the pool.

    Example:
        >>> error_metrics(np.array([0.0, 1.0, 4.0]), np.array([0.0, 2.0, 4.0]),
        ...               measured=np.array([0]))["mae_unmeasured"]
        0.125
    """
    truth = _vector("truth", truth, None)
    n = len(truth)
    prediction = _vector("prediction", prediction, n)
    if std is not None:
        std = _vector("std", std, n)
    measured = np.atleast_1d(np.asarray(measured))
    if measured.size and (
        not np.issubdtype(measured.dtype, np.integer) or measured.min() < 0 or measured.max() >= n
    ):
        raise DataError(f"measured must be integer indices in [0, {n}), got {measured[:10]}...")
    _, _, scale = truth_scale(truth, value_range)
    unmeasured = np.ones(n, dtype=bool)
    unmeasured[measured.astype(np.int64)] = False
    return _masked_errors(prediction, truth, unmeasured, scale, std)
