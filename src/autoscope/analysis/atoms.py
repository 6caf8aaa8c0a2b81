"""Atom (column) finding: scale-space blob detection with sub-pixel refinement.

Detection is scikit-image's :func:`~skimage.feature.blob_log` or
:func:`~skimage.feature.blob_dog` on the image min-max normalised to [0, 1].
Written here are only the two sub-pixel refinements, which scikit-image does
not offer for blobs:

* ``"quadratic"``: a least-squares fit of a 2-D quadratic
  `a + b r + c c' + d r^2 + e c'^2 + f r c'` to the 3 x 3 pixels around each
  detected peak; the offset of its maximum is clipped to +-0.5 px per axis.
  Where the fitted surface has no maximum, each axis falls back to a 1-D
  parabola through three pixels (or no shift).
* ``"centroid"``: the intensity-weighted centroid of the pixels within
  `sigma * sqrt(2)` (the blob radius) of the current estimate, after
  subtracting the window's minimum as background; iterated (at most
  :data:`CENTROID_ITERATIONS` times) so the window re-centres on the blob.
  The total shift is limited to the window radius.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from skimage.feature import blob_dog, blob_log

from autoscope.analysis.image import _check_choice, _check_float, _check_int, normalize
from autoscope.errors import ConfigError

__all__ = ["BLOB_METHODS", "CENTROID_ITERATIONS", "REFINEMENTS", "find_atoms"]

#: Detection methods accepted by :func:`find_atoms`.
BLOB_METHODS = ("log", "dog")
#: Sub-pixel refinements accepted by :func:`find_atoms`.
REFINEMENTS = ("quadratic", "centroid", None)
#: Most re-centring steps of the centroid refinement.
CENTROID_ITERATIONS = 5
#: Blobs refined together (bounds the memory of the vectorised centroid).
_CENTROID_BATCH = 4096
#: Smallest ratio between successive DoG scales.
MIN_DOG_RATIO = 1.05

BlobMethod = Literal["log", "dog"]
Refinement = Literal["quadratic", "centroid"] | None


def find_atoms(
    image: ArrayLike,
    *,
    method: BlobMethod = "log",
    sigma_min: float = 2.0,
    sigma_max: float = 6.0,
    num_sigma: int = 5,
    threshold: float = 0.05,
    overlap: float = 0.5,
    refine: Refinement = "quadratic",
    exclude_border: int = 0,
) -> np.ndarray:
    """Find bright blobs (atomic columns) and their sub-pixel centres.

    The threshold is absolute, applied to the scale-normalised response
    (`-sigma^2 * LoG`, or the DoG equivalent) of the image normalised to
    [0, 1]. A Gaussian blob of amplitude `A` above its surroundings gives a
    response of about `A / 2` at its own scale, so ``threshold=0.05`` keeps
    blobs at least about 10 % of the image's range high. Dark features (e.g.
    columns in annular bright field) are found by passing ``-image``.

    Args:
        image: Array-like of shape `(H, W)`.
        method: ``"log"`` (Laplacian of Gaussian) or ``"dog"`` (difference of
            Gaussians).
        sigma_min: Smallest blob scale in pixels, > 0.
        sigma_max: Largest blob scale in pixels, >= ``sigma_min``.
        num_sigma: Number of scales, >= 1. For ``"log"`` they are spaced
            linearly from ``sigma_min`` to ``sigma_max``; for ``"dog"`` it sets
            the ratio between successive scales,
            `(sigma_max / sigma_min) ** (1 / (num_sigma - 1))` (at least
            :data:`MIN_DOG_RATIO`; 1.6 when ``num_sigma`` is 1).
        threshold: Absolute response threshold, >= 0; a threshold above every
            response gives an empty result.
        overlap: Blobs overlapping by more than this fraction of area, in
            [0, 1], are merged (the smaller one dropped).
        refine: ``"quadratic"``, ``"centroid"`` or ``None`` (integer-pixel
            peaks).
        exclude_border: Drop peaks closer than this many pixels to the image
            border, >= 0.

    Returns:
        Float64 array of shape `(N, 3)`: row, column (sub-pixel, in pixels)
        and sigma (in pixels) of each blob, sorted by row then column. No blob
        gives shape `(0, 3)`.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> rows, cols = np.mgrid[:32, :32]
        >>> blob = np.exp(-((rows - 15.3) ** 2 + (cols - 16.6) ** 2) / 8.0)
        >>> np.round(find_atoms(blob), 1).tolist()
        [[15.3, 16.6, 2.0]]
    """
    method = _check_choice("method", method, BLOB_METHODS)
    refine = _check_choice("refine", refine, REFINEMENTS)
    sigma_min = _check_float("sigma_min", sigma_min, low=0.0, low_open=True)
    sigma_max = _check_float("sigma_max", sigma_max)
    if sigma_max < sigma_min:
        raise ConfigError(f"sigma_max ({sigma_max:g}) must be >= sigma_min ({sigma_min:g})")
    num_sigma = _check_int("num_sigma", num_sigma, low=1)
    threshold = _check_float("threshold", threshold, low=0.0)
    overlap = _check_float("overlap", overlap, low=0.0, high=1.0)
    exclude_border = _check_int("exclude_border", exclude_border, low=0)
    array = normalize(image)
    border: int | bool = exclude_border if exclude_border > 0 else False
    if method == "log":
        blobs = blob_log(
            array,
            min_sigma=sigma_min,
            max_sigma=sigma_max,
            num_sigma=num_sigma,
            threshold=threshold,
            overlap=overlap,
            exclude_border=border,
        )
    else:
        ratio = 1.6
        if num_sigma > 1:
            ratio = max((sigma_max / sigma_min) ** (1.0 / (num_sigma - 1)), MIN_DOG_RATIO)
        blobs = blob_dog(
            array,
            min_sigma=sigma_min,
            max_sigma=sigma_max,
            sigma_ratio=ratio,
            threshold=threshold,
            overlap=overlap,
            exclude_border=border,
        )
    blobs = np.asarray(blobs, dtype=np.float64).reshape(-1, 3)
    if len(blobs) == 0:
        return np.empty((0, 3), dtype=np.float64)
    peaks = blobs[:, :2].astype(np.intp)
    if refine == "quadratic":
        blobs[:, :2] = peaks + _quadratic_offsets(array, peaks)
    elif refine == "centroid":
        blobs[:, :2] = _centroids(array, peaks, blobs[:, 2])
    order = np.lexsort((blobs[:, 1], blobs[:, 0]))
    return blobs[order]


# 3 x 3 design matrix of the quadratic fit: columns 1, r, c, r^2, c^2, r*c.
_DR, _DC = (g.ravel().astype(np.float64) for g in np.mgrid[-1:2, -1:2])
_DESIGN = np.column_stack([np.ones(9), _DR, _DC, _DR**2, _DC**2, _DR * _DC])
_FIT = np.linalg.pinv(_DESIGN)  # (6, 9)


def _quadratic_offsets(array: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Sub-pixel offsets `(N, 2)` of the maxima of 3 x 3 quadratic fits around ``peaks``.

    The image is reflected at its borders, which makes a border peak's fit
    symmetric (zero offset) across that border.
    """
    padded = np.pad(array, 1, mode="reflect")
    rows = peaks[:, 0:1] + 1 + _DR.astype(np.intp)[None, :]
    cols = peaks[:, 1:2] + 1 + _DC.astype(np.intp)[None, :]
    windows = padded[rows, cols]  # (N, 9)
    coef = windows @ _FIT.T  # (N, 6): a, b_r, b_c, d_rr, d_cc, d_rc
    b_r, b_c, d_rr, d_cc, d_rc = coef[:, 1], coef[:, 2], coef[:, 3], coef[:, 4], coef[:, 5]
    # Stationary point of the fit: [[2 d_rr, d_rc], [d_rc, 2 d_cc]] x = -[b_r, b_c].
    det = 4.0 * d_rr * d_cc - d_rc**2
    is_max = (det > 0) & (d_rr < 0)
    safe = np.where(is_max, det, 1.0)
    off_r = np.where(is_max, (-2.0 * d_cc * b_r + d_rc * b_c) / safe, 0.0)
    off_c = np.where(is_max, (-2.0 * d_rr * b_c + d_rc * b_r) / safe, 0.0)
    # Fallback: separable 1-D parabolas through the centre row and column.
    centre = windows[:, 4]
    axes = ((off_r, windows[:, 1], windows[:, 7]), (off_c, windows[:, 3], windows[:, 5]))
    for offsets, before, after in axes:
        curvature = before - 2.0 * centre + after
        ok = ~is_max & (curvature < 0)
        offsets[ok] = 0.5 * (before[ok] - after[ok]) / curvature[ok]
    return np.clip(np.column_stack([off_r, off_c]), -0.5, 0.5)


def _centroids(array: np.ndarray, peaks: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Background-subtracted, iterated intensity centroids `(N, 2)` around ``peaks``."""
    out = peaks.astype(np.float64)
    radii = np.maximum(1.0, sigmas * math.sqrt(2.0))
    for radius in np.unique(radii):
        chosen = np.flatnonzero(radii == radius)
        for first in range(0, len(chosen), _CENTROID_BATCH):
            batch = chosen[first : first + _CENTROID_BATCH]
            out[batch] = _centroids_at(array, out[batch], float(radius))
    return out


def _centroids_at(array: np.ndarray, start: np.ndarray, radius: float) -> np.ndarray:
    """Iterated centroids `(N, 2)` in discs of one ``radius`` starting at ``start``."""
    # A disc around a sub-pixel centre fits in +-half of its nearest pixel.
    half = math.ceil(radius) + 1
    padded = np.pad(array, half, constant_values=np.nan)
    offsets = np.arange(-half, half + 1)
    d_row, d_col = (g.ravel() for g in np.meshgrid(offsets, offsets, indexing="ij"))
    centre = start.copy()
    active = np.ones(len(start), dtype=bool)
    for _ in range(CENTROID_ITERATIONS):
        base = np.rint(centre).astype(np.intp)
        rows = base[:, 0:1] + d_row  # (N, P)
        cols = base[:, 1:2] + d_col
        values = padded[rows + half, cols + half]
        inside = (rows - centre[:, 0:1]) ** 2 + (cols - centre[:, 1:2]) ** 2 <= radius**2
        inside &= ~np.isnan(values)
        background = np.where(inside, values, np.inf).min(axis=1, keepdims=True)
        weights = np.where(inside, values - background, 0.0)
        total = weights.sum(axis=1)
        found = total > 0.0
        new = centre.copy()
        new[found, 0] = (weights * rows).sum(axis=1)[found] / total[found]
        new[found, 1] = (weights * cols).sum(axis=1)[found] / total[found]
        shift = new - start
        distance = np.hypot(shift[:, 0], shift[:, 1])
        far = distance > radius
        new[far] = start[far] + shift[far] * (radius / distance[far])[:, None]
        moved = np.hypot(*(new - centre).T)
        centre[active] = new[active]
        active &= moved >= 1e-3
        if not active.any():
            break
    return centre
