"""What found columns say: intensities, spacings and unusually bright columns.

After atom finding, a microscopist asks how far apart the columns are (against
the known lattice) and which columns are brighter than their kind should be
(a heavier atom substituted into the column: Z contrast). Both are answered
here without labels:

* :func:`nearest_spacings` — each column's distance to its nearest neighbour.
* :func:`flag_bright_columns` — each column's intensity relative to the
  columns one lattice translation away (``±a1, ±a2, ±(a1 ± a2)``), which
  belong to the same sublattice whatever the basis. A column is flagged when
  that ratio is a robust outlier (``n_sigma`` scaled MADs above the median
  ratio). The comparison is local, so slow intensity gradients (thickness,
  scan distortion) do not trigger flags, and a heavy column is never
  compared with a lighter sublattice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from autoscope.analysis.image import as_image
from autoscope.analysis.lattice import Lattice
from autoscope.errors import ConfigError, DataError

__all__ = ["ColumnFlags", "column_intensities", "flag_bright_columns", "nearest_spacings"]


def _positions(positions: np.ndarray) -> np.ndarray:
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] < 2:
        raise DataError(f"positions must have shape (N, 2) or (N, 3), got {positions.shape}")
    return positions[:, :2]


def column_intensities(image: np.ndarray, positions: np.ndarray, *, radius: float) -> np.ndarray:
    """Mean image intensity within ``radius`` pixels of each column.

    Args:
        image: Image `(H, W)`.
        positions: Columns `(N, 2)` (row, col) in pixels (a third column is ignored).
        radius: Disc radius in pixels (≥ 0.5).

    Returns:
        Intensities `(N,)`; pixels outside the image are left out of the mean.
    """
    image = as_image(image)
    positions = _positions(positions)
    if radius < 0.5:
        raise ConfigError(f"radius must be >= 0.5 px, got {radius}")
    r = int(np.ceil(radius))
    dr, dc = np.mgrid[-r : r + 1, -r : r + 1]
    inside = dr**2 + dc**2 <= radius**2
    dr, dc = dr[inside], dc[inside]
    rows = np.rint(positions[:, 0])[:, None].astype(int) + dr[None]
    cols = np.rint(positions[:, 1])[:, None].astype(int) + dc[None]
    valid = (rows >= 0) & (rows < image.shape[0]) & (cols >= 0) & (cols < image.shape[1])
    values = np.where(
        valid, image[rows.clip(0, image.shape[0] - 1), cols.clip(0, image.shape[1] - 1)], 0.0
    )
    counts = valid.sum(axis=1)
    return np.where(counts > 0, values.sum(axis=1) / np.maximum(counts, 1), np.nan)


def nearest_spacings(positions: np.ndarray) -> np.ndarray:
    """Distance from each column to its nearest neighbour `(N,)` (pixels; NaN if N < 2)."""
    positions = _positions(positions)
    if len(positions) < 2:
        return np.full(len(positions), np.nan)
    distances, _ = cKDTree(positions).query(positions, k=2)
    return distances[:, 1]


@dataclass(frozen=True)
class ColumnFlags:
    """Bright-column analysis of a set of columns.

    Attributes:
        intensity: Mean intensity around each column `(N,)`.
        ratio: Intensity over the median of its same-sublattice translates `(N,)`
            (NaN when fewer than ``min_translates`` were found).
        z: Robust z-score of ``ratio`` (median / scaled MAD over all columns) `(N,)`.
        flagged: Columns brighter than their sublattice, `(N,)` bool.
        n_translates: Translates found per column `(N,)`.
    """

    intensity: np.ndarray
    ratio: np.ndarray
    z: np.ndarray
    flagged: np.ndarray
    n_translates: np.ndarray


def flag_bright_columns(
    image: np.ndarray,
    positions: np.ndarray,
    lattice: Lattice,
    *,
    radius: float | None = None,
    n_sigma: float = 4.0,
    tolerance: float = 0.25,
    min_translates: int = 4,
) -> ColumnFlags:
    """Flag columns brighter than the columns of the same sublattice around them.

    Args:
        image: Image `(H, W)`.
        positions: Detected columns `(N, 2)` in pixels.
        lattice: The image's lattice (e.g. from
            :func:`~autoscope.analysis.lattice.estimate_lattice`).
        radius: Intensity disc radius in pixels (default: 0.15 × the lattice spacing).
        n_sigma: Flag threshold in scaled MADs of the ratio.
        tolerance: A translate is a detection within ``tolerance × spacing`` of
            ``position ± lattice vector``.
        min_translates: Columns with fewer translates found (at the image edge,
            next to gaps) get no ratio: a reference of one or two columns is
            too noisy to flag against. Columns within half a spacing of the
            image edge get none either (their peak is cut by the edge).

    Returns:
        The :class:`ColumnFlags`.
    """
    positions = _positions(positions)
    spacing = float(lattice.spacing)
    radius = 0.15 * spacing if radius is None else float(radius)
    intensity = column_intensities(image, positions, radius=max(radius, 0.5))
    n = len(positions)
    ratio = np.full(n, np.nan)
    n_translates = np.zeros(n, dtype=int)
    if n >= 2:
        a1, a2 = np.asarray(lattice.vectors, dtype=float)
        shifts = np.array([a1, -a1, a2, -a2, a1 + a2, -a1 - a2, a1 - a2, a2 - a1])
        tree = cKDTree(positions)
        references = np.full((n, len(shifts)), np.nan)
        for j, shift in enumerate(shifts):
            distance, index = tree.query(
                positions + shift, distance_upper_bound=tolerance * spacing
            )
            found = np.isfinite(distance)
            references[found, j] = intensity[index[found]]
        n_translates = np.isfinite(references).sum(axis=1)
        has = n_translates >= max(int(min_translates), 1)
        reference = np.full(n, np.nan)
        reference[has] = np.nanmedian(references[has], axis=1)
        shape = np.asarray(np.shape(image)[:2], dtype=float)
        edge = 0.5 * spacing
        inside = np.all((positions >= edge) & (positions <= shape - 1 - edge), axis=1)
        ok = has & inside & (np.abs(reference) > 0)
        ratio[ok] = intensity[ok] / reference[ok]
    finite = np.isfinite(ratio)
    z = np.full(n, np.nan)
    if finite.sum() >= 3:
        centre = np.median(ratio[finite])
        mad = 1.4826 * np.median(np.abs(ratio[finite] - centre))
        z[finite] = (ratio[finite] - centre) / (mad if mad > 0 else np.finfo(float).eps)
    flagged = np.nan_to_num(z, nan=-np.inf) > n_sigma
    return ColumnFlags(intensity, ratio, z, flagged, n_translates)
