"""Robust detection of outlier pixels in a spectrum image.

Real spectrum images carry pixels whose response is orders of magnitude above
the rest (failed fits, charging, a cosmic ray). autoscope never drops or clips
them on reading; it reports them, so that a user or a scalarizer can decide.

The rule is deliberately simple and robust: the magnitude of each pixel is the
root-mean-square of its spectrum, and a pixel is an outlier when its magnitude
lies more than ``threshold`` robust standard deviations above the median,
where the robust standard deviation is ``1.4826 * MAD`` (median absolute
deviation; it falls back to ``1.2533 *`` the mean absolute deviation when more
than half of the pixels share one value, as in sparse-count EDX maps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import DataError

__all__ = ["DEFAULT_THRESHOLD", "find_outlier_pixels", "outlier_summary", "pixel_magnitude"]

DEFAULT_THRESHOLD = 20.0
"""Robust z-score above which a pixel counts as an outlier."""


def pixel_magnitude(spectra: np.ndarray) -> np.ndarray:
    """Root-mean-square magnitude of every spectrum.

    Args:
        spectra: Spectra `(H', W', S)`.

    Returns:
        Magnitudes `(H', W')`, float64.
    """
    spectra = np.asarray(spectra)
    if spectra.ndim != 3:
        raise DataError(f"spectra must be (H, W, S), got shape {spectra.shape}")
    values = spectra.astype(np.float64, copy=False)
    return np.sqrt(np.mean(values * values, axis=-1))


def _robust_z(magnitude: np.ndarray) -> tuple[np.ndarray, float, float]:
    median = float(np.median(magnitude))
    deviation = np.abs(magnitude - median)
    scale = 1.4826 * float(np.median(deviation))
    if scale == 0.0:
        scale = 1.2533 * float(np.mean(deviation))
    if scale == 0.0:
        return np.zeros_like(magnitude), median, scale
    return (magnitude - median) / scale, median, scale


def find_outlier_pixels(spectra: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Flag pixels whose spectral magnitude is far above the typical one.

    Args:
        spectra: Spectra `(H', W', S)`, finite.
        threshold: Robust z-score (in units of ``1.4826 * MAD`` of the per-pixel
            RMS magnitude) above which a pixel is flagged. Only the high side is
            flagged: a dead pixel is not an outlier of this kind.

    Returns:
        Boolean mask `(H', W')`, ``True`` at outlier pixels. Nothing is removed.

    Example:
        >>> spectra = 1.0 + 0.1 * np.random.default_rng(0).random((4, 4, 8))
        >>> spectra[1, 2] *= 1000.0
        >>> np.argwhere(find_outlier_pixels(spectra)).tolist()
        [[1, 2]]
    """
    if not threshold > 0:
        raise DataError(f"outlier threshold must be positive, got {threshold}")
    z, _, _ = _robust_z(pixel_magnitude(spectra))
    return z > threshold


def outlier_summary(
    spectra: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD, n_positions: int = 5
) -> dict[str, Any]:
    """A short, JSON-serialisable account of the outlier pixels.

    Args:
        spectra: Spectra `(H', W', S)`, finite.
        threshold: As in :func:`find_outlier_pixels`.
        n_positions: How many outlier positions (the strongest first) to list.

    Returns:
        A dict with the rule, the ``count`` and ``fraction`` of flagged pixels,
        the median magnitude, the largest magnitude as a multiple of the median
        and the ``positions`` `(row, col)` of the strongest outliers.
    """
    magnitude = pixel_magnitude(spectra)
    z, median, scale = _robust_z(magnitude)
    mask = z > threshold
    rows, cols = np.nonzero(mask)
    order = np.argsort(-magnitude[rows, cols], kind="stable")[:n_positions]
    peak = float(magnitude.max())
    return {
        "rule": f"RMS over the spectral axis > median + {threshold:g} * 1.4826 * MAD",
        "threshold": float(threshold),
        "count": int(mask.sum()),
        "fraction": float(mask.mean()),
        "median_magnitude": median,
        "robust_sigma": scale,
        "max_over_median": peak / median if median > 0 else None,
        "positions": [[int(rows[i]), int(cols[i])] for i in order],
    }
