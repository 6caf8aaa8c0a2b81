"""Pre-filters for microscopy images: Gaussian smoothing and probe deconvolution.

Smoothing is :func:`skimage.filters.gaussian`; deconvolution is
:func:`skimage.restoration.richardson_lucy` with a Gaussian probe as the point
spread function. The only code written here is the Gaussian PSF, a reflective
pad around the image (Richardson-Lucy convolves with zero padding, which would
darken the borders) and the parameter checks.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from skimage.filters import gaussian as _sk_gaussian
from skimage.restoration import richardson_lucy

from autoscope.analysis.image import _check_float, _check_int, _rescale, as_image, normalize

__all__ = ["deconvolve", "gaussian", "gaussian_psf", "prefilter"]


def gaussian(image: ArrayLike, *, sigma: float) -> np.ndarray:
    """Smooth an image with an isotropic Gaussian.

    Intensities keep their scale (no normalisation); borders are handled by
    repeating the edge pixels.

    Args:
        image: Array-like of shape `(H, W)`, validated with
            :func:`~autoscope.analysis.image.as_image`.
        sigma: Standard deviation in pixels, >= 0; 0 returns a copy.

    Returns:
        A float64 array of shape `(H, W)`.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If ``sigma`` is negative or not finite.

    Example:
        >>> gaussian(np.eye(16), sigma=1.0).shape
        (16, 16)
    """
    sigma = _check_float("sigma", sigma, low=0.0)
    array = as_image(image)
    return _smooth(array, sigma)


def _smooth(array: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a validated float64 image (``sigma`` 0 returns it unchanged)."""
    if sigma == 0.0:
        return array
    return _sk_gaussian(array, sigma=sigma, mode="nearest", preserve_range=True)


def gaussian_psf(sigma: float) -> np.ndarray:
    """A normalised 2-D Gaussian point spread function.

    Args:
        sigma: Standard deviation in pixels, > 0.

    Returns:
        A float64 array of shape `(S, S)` with `S = 2 * ceil(3 * sigma) + 1`
        (odd, about `6 * sigma + 1`), summing to 1.

    Raises:
        ConfigError: If ``sigma`` is not positive.

    Example:
        >>> gaussian_psf(1.0).shape
        (7, 7)
    """
    sigma = _check_float("probe_sigma", sigma, low=0.0, low_open=True)
    radius = max(1, math.ceil(3.0 * sigma))
    axis = np.arange(-radius, radius + 1, dtype=np.float64)
    profile = np.exp(-0.5 * (axis / sigma) ** 2)
    psf = np.outer(profile, profile)
    return psf / psf.sum()


def deconvolve(image: ArrayLike, *, probe_sigma: float, iterations: int = 10) -> np.ndarray:
    """Richardson-Lucy deconvolution with a Gaussian probe.

    The image is min-max normalised to [0, 1], padded by reflection (by the
    PSF width, so the zero padding inside scikit-image does not darken the
    borders), deconvolved with :func:`skimage.restoration.richardson_lucy`
    (``clip=False``) and cropped back.

    Args:
        image: Array-like of shape `(H, W)`.
        probe_sigma: Standard deviation of the Gaussian probe in pixels,
            >= 0; 0 skips deconvolution.
        iterations: Richardson-Lucy iterations, >= 0; 0 skips deconvolution.

    Returns:
        A float64 array of shape `(H, W)`: the deconvolved image on the scale
        of the normalised input (not re-normalised, not clipped). With
        ``probe_sigma`` or ``iterations`` 0 it is the normalised input.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If ``probe_sigma`` or ``iterations`` is out of range.

    Example:
        >>> deconvolve(np.eye(16), probe_sigma=1.0, iterations=5).shape
        (16, 16)
    """
    probe_sigma = _check_float("probe_sigma", probe_sigma, low=0.0)
    iterations = _check_int("iterations", iterations, low=0)
    array = normalize(image)
    if probe_sigma == 0.0 or iterations == 0:
        return array
    psf = gaussian_psf(probe_sigma)
    pad = psf.shape[0]
    padded = np.pad(array, pad, mode="reflect")
    result = richardson_lucy(padded, psf, num_iter=iterations, clip=False)
    return np.ascontiguousarray(result[pad:-pad, pad:-pad], dtype=np.float64)


def prefilter(
    image: ArrayLike,
    *,
    sigma: float = 0.0,
    deconvolve_sigma: float = 0.0,
    iterations: int = 10,
) -> np.ndarray:
    """Deconvolve (optional), then smooth (optional), then normalise to [0, 1].

    Args:
        image: Array-like of shape `(H, W)`.
        sigma: Gaussian smoothing in pixels, >= 0 (0: none).
        deconvolve_sigma: Gaussian probe for :func:`deconvolve` in pixels,
            >= 0 (0: none).
        iterations: Richardson-Lucy iterations, >= 0.

    Returns:
        A float64 array of shape `(H, W)` in [0, 1] (all zeros if filtering
        left the image flat).

    Raises:
        DataError: If the image is invalid.
        ConfigError: If a parameter is out of range.

    Example:
        >>> out = prefilter(np.eye(16), sigma=1.0, deconvolve_sigma=1.0)
        >>> float(out.min()), float(out.max())
        (0.0, 1.0)
    """
    sigma = _check_float("sigma", sigma, low=0.0)
    deconvolve_sigma = _check_float("deconvolve_sigma", deconvolve_sigma, low=0.0)
    iterations = _check_int("iterations", iterations, low=0)
    if deconvolve_sigma > 0.0:
        array = deconvolve(image, probe_sigma=deconvolve_sigma, iterations=iterations)
    else:
        array = normalize(image)
    return _rescale(_smooth(array, sigma))
