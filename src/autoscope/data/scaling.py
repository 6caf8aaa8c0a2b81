"""Robust scaling of scalar targets.

Real scalar targets have outliers (a few BEPS pixels have loop areas 100x the
median). A model trained on z-scores of such targets sees everything else
squashed to zero. :func:`robust_scale` centres on the median and divides by
the interquartile range instead, and *reports* extreme values without
touching them: nothing is clipped or dropped, the caller decides.

Example:
    >>> import numpy as np
    >>> scaled, info = robust_scale(np.array([1.0, 2.0, 3.0, 4.0, 500.0]))
    >>> info.n_outliers
    1
    >>> bool(np.allclose(info.inverse(scaled), [1, 2, 3, 4, 500]))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscope.errors import ConfigError, DataError

__all__ = ["ScaleInfo", "robust_scale"]


@dataclass(frozen=True)
class ScaleInfo:
    """How values were scaled by :func:`robust_scale`.

    Attributes:
        center: Median of the values.
        scale: Interquartile range (or the fallback when it is zero).
        scale_kind: ``"iqr"``, ``"mad"`` (1.4826·MAD), ``"std"`` or ``"unit"``
            (all values equal): which statistic gave ``scale``.
        outlier_iqr: Fence factor ``k`` used to flag outliers.
        n_outliers: Number of values outside ``[Q1 − k·IQR, Q3 + k·IQR]``.
        outlier_indices: Their indices into the input, `(n_outliers,)`.

    Example:
        >>> info = ScaleInfo(center=1.0, scale=2.0, scale_kind="iqr", outlier_iqr=10.0,
        ...                  n_outliers=0, outlier_indices=np.array([], dtype=int))
        >>> float(info.inverse(np.array([0.5]))[0])
        2.0
    """

    center: float
    scale: float
    scale_kind: str
    outlier_iqr: float
    n_outliers: int
    outlier_indices: np.ndarray

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale new values `(k,)` with the same centre and scale."""
        return (np.asarray(values, dtype=np.float64) - self.center) / self.scale

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Map scaled values `(k,)` (or standard deviations with ``center=0``) back."""
        return np.asarray(scaled, dtype=np.float64) * self.scale + self.center

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable summary (to store with a run)."""
        return {
            "center": self.center,
            "scale": self.scale,
            "scale_kind": self.scale_kind,
            "outlier_iqr": self.outlier_iqr,
            "n_outliers": self.n_outliers,
            "outlier_indices": self.outlier_indices.tolist(),
        }


def robust_scale(
    values: np.ndarray, *, outlier_iqr: float = 10.0
) -> tuple[np.ndarray, ScaleInfo]:
    """Centre on the median and divide by the interquartile range.

    ``scaled = (x − median(x)) / IQR(x)``. When the IQR is zero (more than
    half the values equal) the scale falls back to 1.4826·MAD, then to the
    standard deviation, then to 1 (all values equal). Values outside the
    fences ``[Q1 − k·IQR, Q3 + k·IQR]`` (``k = outlier_iqr``, with IQR
    replaced by the fallback scale when zero) are counted and listed in the
    info; nothing is clipped or dropped.

    Args:
        values: Finite values `(k,)`, ``k >= 1``.
        outlier_iqr: Fence factor ``k`` (> 0).

    Returns:
        ``(scaled, info)``: scaled values `(k,)` and a :class:`ScaleInfo`.

    Raises:
        DataError: If ``values`` is not 1-D, empty, or has NaN/inf.
        ConfigError: If ``outlier_iqr`` is not positive.

    Example:
        >>> import numpy as np
        >>> robust_scale(np.array([0.0, 1.0, 2.0, 3.0, 4.0]))[0]
        array([-1. , -0.5,  0. ,  0.5,  1. ])
    """
    if not (np.isfinite(outlier_iqr) and outlier_iqr > 0):
        raise ConfigError(f"robust_scale: outlier_iqr must be > 0, got {outlier_iqr!r}")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise DataError(f"robust_scale: values must be a non-empty 1-D array, got {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataError(
            f"robust_scale: {int(bad.sum())} values are NaN/inf (first at index "
            f"{int(np.argmax(bad))})"
        )
    q1, center, q3 = np.percentile(x, [25.0, 50.0, 75.0])
    iqr = q3 - q1
    kind, scale = "iqr", iqr
    if scale <= 0:
        kind, scale = "mad", 1.4826 * float(np.median(np.abs(x - center)))
    if scale <= 0:
        kind, scale = "std", float(np.std(x))
    if scale <= 0:
        kind, scale = "unit", 1.0
    low, high = q1 - outlier_iqr * scale, q3 + outlier_iqr * scale
    outliers = np.flatnonzero((x < low) | (x > high))
    info = ScaleInfo(
        center=float(center),
        scale=float(scale),
        scale_kind=kind,
        outlier_iqr=float(outlier_iqr),
        n_outliers=int(outliers.size),
        outlier_indices=outliers,
    )
    return (x - center) / scale, info
