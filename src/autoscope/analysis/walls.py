"""Domain walls and edges: edge map -> skeleton -> ordered branches.

Edge maps come from scikit-image (:func:`~skimage.filters.sobel`,
:func:`~skimage.feature.canny`), thinning from
:func:`~skimage.morphology.skeletonize` and straight segments from
:func:`~skimage.transform.probabilistic_hough_line`. Written here is the
splitting of a skeleton into ordered pixel paths, which scikit-image lacks:

* Skeleton pixels are nodes of a graph with 8-connectivity, except that a
  diagonal step is dropped when the same two pixels are also joined through a
  shared 4-neighbour in the skeleton (a staircase corner is a path, not a
  junction).
* Junctions are pixels with more than two graph neighbours. Removing them
  leaves simple paths and cycles; each path is walked from one end to the
  other, and a junction next to an end is added to that end, so branches
  meeting at a junction share its pixel.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage as ndi
from skimage.feature import canny
from skimage.filters import sobel
from skimage.morphology import skeletonize
from skimage.transform import probabilistic_hough_line

from autoscope.analysis.filters import _smooth
from autoscope.analysis.image import _check_choice, _check_float, _check_int, normalize
from autoscope.errors import ConfigError, DataError

__all__ = [
    "EDGE_METHODS",
    "edge_map",
    "find_walls",
    "hough_segments",
    "path_length",
    "skeleton_branches",
    "wall_skeleton",
]

#: Edge operators accepted by :func:`edge_map` and :func:`wall_skeleton`.
EDGE_METHODS = ("sobel", "canny")

EdgeMethod = Literal["sobel", "canny"]

# Neighbour offsets in a fixed order: the four 4-neighbours, then the diagonals.
_OFFSETS = ((-1, 0), (0, -1), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _check_canny(low: float, high: float) -> tuple[float, float]:
    low = _check_float("low", low, low=0.0, high=1.0)
    high = _check_float("high", high, low=0.0, high=1.0)
    if low > high:
        raise ConfigError(f"low ({low:g}) must be <= high ({high:g})")
    return low, high


def edge_map(
    image: ArrayLike,
    *,
    method: EdgeMethod = "sobel",
    sigma: float = 1.0,
    low: float = 0.1,
    high: float = 0.2,
) -> np.ndarray:
    """Edge strength (Sobel) or edge pixels (Canny) of an image.

    Args:
        image: Array-like of shape `(H, W)`; min-max normalised first.
        method: ``"sobel"`` or ``"canny"``.
        sigma: Gaussian smoothing in pixels, >= 0.
        low: Canny hysteresis low threshold as a fraction of the largest
            gradient magnitude, in [0, 1].
        high: Canny high threshold as a fraction, in [``low``, 1].

    Returns:
        ``"sobel"``: float64 `(H, W)` gradient magnitude of the smoothed image
        scaled to [0, 1] (all zeros if flat). ``"canny"``: bool `(H, W)` edge
        pixels.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> step = np.zeros((16, 16))
        >>> step[:, 8:] = 1.0
        >>> bool(edge_map(step, method="canny")[:, 7:9].any())
        True
    """
    method = _check_choice("method", method, EDGE_METHODS)
    sigma = _check_float("sigma", sigma, low=0.0)
    low, high = _check_canny(low, high)
    array = normalize(image)
    if method == "sobel":
        magnitude = sobel(_smooth(array, sigma))
        top = float(magnitude.max())
        return magnitude / top if top > 0 else np.zeros_like(magnitude)
    # Canny takes absolute thresholds; scale the fractions by the largest
    # gradient magnitude of the image smoothed as Canny smooths it.
    smoothed = _smooth(array, sigma)
    top = float(np.hypot(ndi.sobel(smoothed, axis=0), ndi.sobel(smoothed, axis=1)).max())
    if top == 0.0:
        return np.zeros(array.shape, dtype=bool)
    return canny(
        array, sigma=sigma, low_threshold=low * top, high_threshold=high * top, use_quantiles=False
    )


def _remove_small(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Drop 8-connected components of ``mask`` with fewer than ``min_size`` pixels."""
    if min_size <= 1 or not mask.any():
        return mask
    labels, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= min_size
    keep[0] = False
    return keep[labels]


def wall_skeleton(
    image: ArrayLike,
    *,
    method: EdgeMethod = "sobel",
    sigma: float = 1.0,
    threshold: float = 0.2,
    low: float = 0.1,
    high: float = 0.2,
    min_size: int = 10,
) -> np.ndarray:
    """One-pixel-wide skeleton of the walls (edges) of an image.

    Args:
        image: Array-like of shape `(H, W)`.
        method: ``"sobel"`` (edge magnitude above ``threshold``) or ``"canny"``.
        sigma: Gaussian smoothing in pixels, >= 0.
        threshold: Sobel threshold on the [0, 1] magnitude, in [0, 1].
        low: Canny low threshold (fraction), in [0, 1].
        high: Canny high threshold (fraction), in [``low``, 1].
        min_size: 8-connected edge components with fewer pixels are removed
            before thinning, >= 0.

    Returns:
        Bool array of shape `(H, W)`; all False when nothing passes.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> step = np.zeros((32, 32))
        >>> step[:, 16:] = 1.0
        >>> int(wall_skeleton(step).sum()) >= 30
        True
    """
    threshold = _check_float("threshold", threshold, low=0.0, high=1.0)
    min_size = _check_int("min_size", min_size, low=0)
    edges = edge_map(image, method=method, sigma=sigma, low=low, high=high)
    mask = edges if edges.dtype == bool else edges > threshold
    mask = _remove_small(mask, min_size)
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    return skeletonize(mask)


def _as_skeleton(skeleton: ArrayLike) -> np.ndarray:
    array = np.asarray(skeleton)
    if array.ndim != 2:
        raise DataError(f"skeleton must be a 2-D (H, W) array, got shape {array.shape}")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all():
            raise DataError("skeleton must be boolean (or hold only 0 and 1)")
        array = array.astype(bool)
    return array


def _graph(skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates `(P, 2)` (row-major) and neighbour table `(P, 8)` (-1 = none)."""
    height, width = skeleton.shape
    padded = np.pad(skeleton, 1)
    index = np.full(padded.shape, -1, dtype=np.intp)
    pixels = np.argwhere(skeleton)
    index[pixels[:, 0] + 1, pixels[:, 1] + 1] = np.arange(len(pixels))
    rows, cols = pixels[:, 0] + 1, pixels[:, 1] + 1
    table = np.full((len(pixels), len(_OFFSETS)), -1, dtype=np.intp)
    for k, (dr, dc) in enumerate(_OFFSETS):
        neighbour = index[rows + dr, cols + dc]
        if dr != 0 and dc != 0:
            # A diagonal step is redundant where a shared 4-neighbour exists.
            shortcut = padded[rows + dr, cols] | padded[rows, cols + dc]
            neighbour = np.where(shortcut, -1, neighbour)
        table[:, k] = neighbour
    return pixels, table


def skeleton_branches(skeleton: ArrayLike, *, min_length: int = 2) -> list[np.ndarray]:
    """Split a skeleton at its junctions into ordered pixel paths.

    Args:
        skeleton: Bool array of shape `(H, W)`, one pixel wide (e.g. from
            :func:`wall_skeleton`).
        min_length: Branches with fewer pixels are dropped, >= 1.

    Returns:
        List of int arrays of shape `(M_i, 2)`, the (row, col) pixels of each
        branch in walking order from one end to the other. A branch that ends
        at a junction includes the junction pixel. A closed loop without
        junctions starts at its first pixel in row-major order and repeats it
        at the end, so :func:`path_length` gives the full perimeter. Branches
        are listed in row-major order of their first non-junction pixel;
        pixels that are all junction (no branch between them) give none.

    Raises:
        DataError: If the skeleton is not a 2-D boolean array.
        ConfigError: If ``min_length`` is smaller than 1.

    Example:
        >>> line = np.zeros((5, 9), dtype=bool)
        >>> line[2, 1:8] = True
        >>> [b.shape for b in skeleton_branches(line)]
        [(7, 2)]
    """
    min_length = _check_int("min_length", min_length, low=1)
    mask = _as_skeleton(skeleton)
    pixels, table = _graph(mask)
    if len(pixels) == 0:
        return []
    degree = (table >= 0).sum(axis=1)
    junction = degree > 2
    visited = junction.copy()
    branches: list[np.ndarray] = []
    for seed in range(len(pixels)):
        if visited[seed]:
            continue
        # Collect the component of non-junction pixels containing the seed.
        component = [seed]
        visited[seed] = True
        stack = [seed]
        while stack:
            node = stack.pop()
            for other in table[node]:
                if other >= 0 and not visited[other]:
                    visited[other] = True
                    component.append(other)
                    stack.append(other)
        branch = _walk(component, table, junction)
        if len(branch) >= min_length:
            branches.append(pixels[branch])
    return branches


def _walk(component: list[int], table: np.ndarray, junction: np.ndarray) -> list[int]:
    """Order a path or cycle of non-junction pixels, adding junctions at its ends."""
    members = set(component)

    def inner(node: int) -> list[int]:
        return [int(o) for o in table[node] if o >= 0 and int(o) in members]

    ends = sorted(node for node in component if len(inner(node)) < 2)
    closed = not ends
    start = min(component) if closed else ends[0]
    path = [start]
    seen = {start}
    while True:
        step = [o for o in inner(path[-1]) if o not in seen]
        if not step:
            break
        path.append(step[0])
        seen.add(step[0])
    if closed:
        if len(path) > 2:
            path.append(start)
        return path
    # Attach adjacent junction pixels (4-neighbours first, by offset order).
    head = [int(o) for o in table[path[0]] if o >= 0 and junction[o]]
    tail = [int(o) for o in table[path[-1]] if o >= 0 and junction[o]]
    first = head[0] if head else None
    if first is not None:
        path.insert(0, first)
    if len(component) == 1:
        # A lone pixel: its two ends are the same pixel, so use two different junctions.
        tail = [o for o in tail if o != first]
    if tail:
        path.append(tail[0])
    return path


def path_length(branch: ArrayLike) -> float:
    """Length of a pixel path: 1 per axial step, sqrt(2) per diagonal step.

    Args:
        branch: Int array of shape `(M, 2)` of (row, col) pixels in order.

    Returns:
        The summed Euclidean step length in pixels (0 for fewer than 2 pixels).
        This 8-neighbour chain length overestimates smooth curves slightly
        (by about 5 % for a digitised circle) and is exact for straight
        axial or diagonal lines.

    Raises:
        DataError: If ``branch`` is not of shape `(M, 2)`.

    Example:
        >>> path_length(np.array([[0, 0], [0, 1], [1, 2]]))
        2.414213562373095
    """
    array = np.asarray(branch, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise DataError(f"branch must have shape (M, 2), got {array.shape}")
    if len(array) < 2:
        return 0.0
    return float(np.hypot(*np.diff(array, axis=0).T).sum())


def find_walls(
    image: ArrayLike,
    *,
    method: EdgeMethod = "sobel",
    sigma: float = 1.0,
    threshold: float = 0.2,
    low: float = 0.1,
    high: float = 0.2,
    min_size: int = 10,
    min_length: int = 5,
) -> list[np.ndarray]:
    """Walls of an image as ordered pixel paths.

    :func:`wall_skeleton` followed by :func:`skeleton_branches`; see them for
    the options.

    Args:
        image: Array-like of shape `(H, W)`.
        method: ``"sobel"`` or ``"canny"``.
        sigma: Gaussian smoothing in pixels, >= 0.
        threshold: Sobel threshold, in [0, 1].
        low: Canny low threshold (fraction), in [0, 1].
        high: Canny high threshold (fraction), in [``low``, 1].
        min_size: Smallest edge component kept, in pixels, >= 0.
        min_length: Shortest branch kept, in pixels, >= 1.

    Returns:
        List of int arrays of shape `(M_i, 2)` (row, col), possibly empty.

    Raises:
        DataError: If the image is invalid.
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> step = np.zeros((32, 32))
        >>> step[:, 16:] = 1.0
        >>> len(find_walls(step)) >= 1
        True
    """
    min_length = _check_int("min_length", min_length, low=1)
    skeleton = wall_skeleton(
        image,
        method=method,
        sigma=sigma,
        threshold=threshold,
        low=low,
        high=high,
        min_size=min_size,
    )
    return skeleton_branches(skeleton, min_length=min_length)


def hough_segments(
    skeleton: ArrayLike,
    *,
    threshold: int = 10,
    line_length: int = 20,
    line_gap: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """Straight segments in a skeleton by the probabilistic Hough transform.

    Args:
        skeleton: Bool array of shape `(H, W)`.
        threshold: Accumulator threshold, >= 0.
        line_length: Shortest accepted segment in pixels, >= 1.
        line_gap: Largest gap within a segment in pixels, >= 0.
        seed: Seed of the transform's random pixel order (same seed, same
            segments).

    Returns:
        Int array of shape `(K, 2, 2)`: ((r0, c0), (r1, c1)) end points of
        each segment; `(0, 2, 2)` when there are none.

    Raises:
        DataError: If the skeleton is not a 2-D boolean array.
        ConfigError: If an option is out of range.

    Example:
        >>> line = np.zeros((40, 40), dtype=bool)
        >>> line[20, 5:35] = True
        >>> hough_segments(line).shape
        (1, 2, 2)
    """
    threshold = _check_int("threshold", threshold, low=0)
    line_length = _check_int("line_length", line_length, low=1)
    line_gap = _check_int("line_gap", line_gap, low=0)
    seed = _check_int("seed", seed, low=0)
    mask = _as_skeleton(skeleton)
    if not mask.any():
        return np.empty((0, 2, 2), dtype=np.intp)
    lines = probabilistic_hough_line(
        mask, threshold=threshold, line_length=line_length, line_gap=line_gap, rng=seed
    )
    if not lines:
        return np.empty((0, 2, 2), dtype=np.intp)
    # scikit-image gives ((x0, y0), (x1, y1)) = ((c0, r0), (c1, r1)).
    return np.asarray(lines, dtype=np.intp)[:, :, ::-1].copy()
