"""Validation and normalisation of single-channel images for the analysis operators.

Every operator in :mod:`autoscope.analysis` starts with :func:`as_image`, so
that bad input (a colour image, NaN pixels, a constant frame, a 1-pixel strip)
fails with one specific message instead of a confusing error deep inside
scikit-image, and nothing is silently reshaped or clipped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from autoscope.errors import ConfigError, DataError

__all__ = ["as_image", "normalize"]


def as_image(image: ArrayLike, *, name: str = "image", min_size: int = 8) -> np.ndarray:
    """Validate a single-channel image and return it as a float64 copy.

    Args:
        image: Array-like of shape `(H, W)` with real, finite values.
        name: What to call the array in error messages.
        min_size: Smallest allowed length of each side, in pixels.

    Returns:
        A new float64 array of shape `(H, W)`.

    Raises:
        DataError: If the input is not 2-D (a colour image `(H, W, 3)` is named
            as such), is not real-valued, holds NaN or inf, is constant, or has
            a side shorter than ``min_size``.
        ConfigError: If ``min_size`` is smaller than 1.

    Example:
        >>> as_image([[0, 1], [2, 3]], min_size=2).dtype
        dtype('float64')
    """
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ConfigError(f"min_size must be an integer >= 1, got {min_size!r}")
    array = np.asarray(image)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise DataError(f"{name} must hold numbers, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise DataError(f"{name} must be real-valued, got complex dtype {array.dtype}")
    if array.ndim != 2:
        shape = tuple(array.shape)
        if array.ndim == 3 and shape[-1] in (3, 4):
            raise DataError(
                f"{name} has shape {shape}, which looks like an RGB(A) colour image; "
                "the analysis operators take one channel (H, W): pass e.g. image[..., 0] "
                "or convert to grey first"
            )
        if array.ndim > 2 and sum(n != 1 for n in shape) == 2:
            raise DataError(
                f"{name} has shape {shape}; expected a 2-D image (H, W): squeeze the "
                "length-1 axes first"
            )
        raise DataError(f"{name} must be a 2-D image (H, W), got {array.ndim}-D shape {shape}")
    for axis, side in enumerate(array.shape):
        if side < min_size:
            what = "tall" if axis == 0 else "wide"
            raise DataError(
                f"{name} of shape {tuple(array.shape)} is only {side} pixel(s) {what}; "
                f"each side needs at least {min_size} pixels"
            )
    out = array.astype(np.float64, copy=True)
    finite = np.isfinite(out)
    if not finite.all():
        if not finite.any():
            kind = "NaN" if np.isnan(out).all() else "NaN/inf"
            raise DataError(f"{name} is all {kind}: no finite pixel to analyse")
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        raise DataError(
            f"{name} holds {len(bad)} NaN/inf pixel(s) (first at row, col {first}); "
            "fill or crop them before analysis"
        )
    low, high = out.min(), out.max()
    if low == high:
        raise DataError(f"{name} is constant (every pixel is {low:g}); nothing to analyse")
    return out


def normalize(image: ArrayLike) -> np.ndarray:
    """Min-max scale an image to the range [0, 1].

    Args:
        image: Array-like of shape `(H, W)`, validated with :func:`as_image`.

    Returns:
        A float64 array of shape `(H, W)` with minimum 0 and maximum 1.

    Raises:
        DataError: If :func:`as_image` rejects the input.

    Example:
        >>> normalize(np.arange(64.0).reshape(8, 8)).max()
        np.float64(1.0)
    """
    out = as_image(image)
    return _rescale(out)


def _rescale(image: np.ndarray) -> np.ndarray:
    """Min-max scale a float array to [0, 1] in place; a constant array becomes zeros."""
    low, high = float(image.min()), float(image.max())
    image -= low
    if high > low:
        image /= high - low
    return image


def _check_float(
    name: str,
    value: float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise ConfigError if it is not a number in range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if low is not None and (number < low or (low_open and number == low)):
        relation = ">" if low_open else ">="
        raise ConfigError(f"{name} must be {relation} {low:g}, got {value!r}")
    if high is not None and number > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {value!r}")
    return number


def _check_int(name: str, value: int, *, low: int | None = None) -> int:
    """Return ``value`` as an int, or raise ConfigError if it is not an integer >= ``low``."""
    integral_float = isinstance(value, (float, np.floating)) and float(value).is_integer()
    if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) or integral_float):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if low is not None and value < low:
        raise ConfigError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _check_choice(name: str, value: object, choices: tuple) -> object:
    """Return ``value`` if it is one of ``choices``, else raise ConfigError listing them."""
    known = any(
        value is choice or (isinstance(value, str) and value == choice) for choice in choices
    )
    if not known:
        raise ConfigError(f"unknown {name} {value!r}; expected one of {list(choices)}")
    return value
