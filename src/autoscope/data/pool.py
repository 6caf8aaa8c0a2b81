"""Candidate pools: the places a policy may choose, with features computed once.

A pool holds candidate coordinates on the spectrum grid and per-candidate
features (image patches, compositions, tile descriptors) computed once when
the pool is built. A pool may grow (a new field of view appends candidates)
but never reorders, so a pool index stays valid in the run store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError

__all__ = ["CandidatePool", "extract_patches"]

Border = Literal["valid", "reflect", "constant"]
Normalization = Literal["none", "global", "per_patch"]


class CandidatePool:
    """Candidates with coordinates `(N, 2)` and features `(N, ...)`.

    Args:
        coords: Integer `(row, col)` positions on the spectrum grid, `(N, 2)`.
        features: Named per-candidate arrays, each with first dimension ``N``
            (e.g. ``"patches"``: `(N, w, w)`).
        grid_shape: Shape `(H', W')` of the spectrum grid the coordinates live on.
        spec: How the pool was built (window, stride, ...), stored with a run.

    Example:
        >>> pool = CandidatePool(np.array([[0, 0], [0, 1]]), {"x": np.zeros((2, 3))}, (1, 2))
        >>> len(pool), pool.append(np.array([[0, 0]]), {"x": np.ones((1, 3))}).tolist()
        (2, [2])
    """

    def __init__(
        self,
        coords: np.ndarray,
        features: Mapping[str, np.ndarray] | None = None,
        grid_shape: tuple[int, int] | None = None,
        *,
        spec: Mapping[str, object] | None = None,
    ) -> None:
        coords = _check_coords(coords)
        if len(coords) == 0:
            raise DataError("a candidate pool needs at least one candidate, got none")
        if grid_shape is None:
            grid_shape = (int(coords[:, 0].max()) + 1, int(coords[:, 1].max()) + 1)
        self.grid_shape = (int(grid_shape[0]), int(grid_shape[1]))
        self._check_bounds(coords)
        self._coords = _read_only(coords.astype(np.int64))
        self._features: dict[str, np.ndarray] = {}
        for name, value in (features or {}).items():
            value = _read_only(np.array(value))
            if value.shape[:1] != (len(coords),):
                raise DataError(
                    f"pool feature {name!r} has first dimension {value.shape[:1]}, "
                    f"expected ({len(coords)},)"
                )
            self._features[name] = value
        self.spec = dict(spec or {})

    def _check_bounds(self, coords: np.ndarray) -> None:
        h, w = self.grid_shape
        outside = (
            (coords[:, 0] < 0) | (coords[:, 0] >= h) | (coords[:, 1] < 0) | (coords[:, 1] >= w)
        )
        if outside.any():
            first = coords[np.argmax(outside)].tolist()
            raise DataError(
                f"{int(outside.sum())} candidate coordinates lie outside the grid "
                f"{self.grid_shape} (first: {first})"
            )

    def __len__(self) -> int:
        return len(self._coords)

    @property
    def coords(self) -> np.ndarray:
        """Candidate positions `(N, 2)` as (row, col) on the spectrum grid (read-only view)."""
        return self._coords.view()

    @property
    def features(self) -> Mapping[str, np.ndarray]:
        """Per-candidate features, each `(N, ...)`."""
        return dict(self._features)

    def feature(self, name: str) -> np.ndarray:
        """The feature ``name``, `(N, ...)`; raises a :class:`DataError` if absent."""
        try:
            return self._features[name].view()
        except KeyError:
            raise DataError(
                f"pool has no feature {name!r}; available: {sorted(self._features)}"
            ) from None

    def flat_features(self, name: str = "patches") -> np.ndarray:
        """Feature ``name`` flattened to `(N, F)` float64."""
        value = self.feature(name)
        return value.reshape(len(value), -1).astype(np.float64, copy=False)

    def index_of(self, coords: np.ndarray) -> np.ndarray:
        """Pool indices `(k,)` of the given `(k, 2)` coordinates, -1 where absent."""
        coords = np.atleast_2d(np.asarray(coords, dtype=np.int64))
        lookup = {(int(r), int(c)): i for i, (r, c) in enumerate(self._coords)}
        return np.array([lookup.get((int(r), int(c)), -1) for r, c in coords], dtype=np.int64)

    def append(self, coords: np.ndarray, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Append candidates; existing indices keep their meaning.

        Args:
            coords: New positions `(k, 2)`.
            features: The same feature names as the pool, each `(k, ...)`.

        Returns:
            The indices `(k,)` given to the new candidates.
        """
        coords = _check_coords(coords)
        if set(features) != set(self._features):
            raise DataError(
                f"appended features {sorted(features)} differ from the pool's "
                f"{sorted(self._features)}"
            )
        self._check_bounds(coords)
        new = {}
        for name, value in features.items():
            value = np.asarray(value)
            old = self._features[name]
            if value.shape[0] != len(coords) or value.shape[1:] != old.shape[1:]:
                raise DataError(
                    f"appended feature {name!r} has shape {value.shape}, "
                    f"expected ({len(coords)}, *{old.shape[1:]})"
                )
            new[name] = _read_only(np.concatenate([old, value.astype(old.dtype)]))
        start = len(self._coords)
        self._coords = _read_only(np.concatenate([self._coords, coords.astype(np.int64)]))
        self._features = new
        return np.arange(start, len(self._coords))


def _check_coords(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise DataError(f"pool coords must be (N, 2), got shape {coords.shape}")
    if not np.issubdtype(coords.dtype, np.integer):
        raise DataError(f"pool coords must be integers, got dtype {coords.dtype}")
    return coords


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _normalize_image(image: np.ndarray, normalization: Normalization) -> np.ndarray:
    if normalization != "global":
        return image
    lo, hi = float(image.min()), float(image.max())
    return (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image)


def extract_patches(
    image: SpectralImage,
    *,
    window: int = 16,
    stride: int = 1,
    border: Border = "valid",
    normalization: Normalization = "global",
    channel: int | None = 0,
) -> CandidatePool:
    """Cut one structure patch per spectrum-grid candidate.

    The patch of candidate ``(r, c)`` is centred on the centre of spectrum pixel
    ``(r, c)`` in structure pixels (``r * b + b // 2`` with ``b`` the spectra
    binning), so with ``window == b`` each candidate gets exactly its own block
    of an oversampled image.

    Args:
        image: Source of the structure channel and the spectrum grid.
        window: Patch side ``w`` in structure pixels.
        stride: Step between candidates on the spectrum grid.
        border: ``"valid"`` keeps only candidates whose patch lies inside the
            image; ``"reflect"`` / ``"constant"`` pad the image so every grid
            point is a candidate.
        normalization: ``"global"`` min-max scales the whole image to [0, 1]
            before cutting (default), ``"per_patch"`` standardises each patch to
            zero mean and unit variance, ``"none"`` keeps raw values.
        channel: Structure channel to cut, or ``None`` for all channels.

    Returns:
        A pool with ``coords`` `(N, 2)` and feature ``"patches"``, `(N, w, w)`
        (or `(N, C, w, w)` when ``channel`` is ``None``).

    Raises:
        DataError: If the window does not fit, or an option is unknown.
    """
    if border not in ("valid", "reflect", "constant"):
        raise DataError(f"unknown border {border!r}; expected 'valid', 'reflect' or 'constant'")
    if normalization not in ("none", "global", "per_patch"):
        raise DataError(
            f"unknown normalization {normalization!r}; expected 'none', 'global' or 'per_patch'"
        )
    window, stride = int(window), int(stride)
    h, w = image.shape
    if window < 1 or stride < 1:
        raise DataError(
            f"patch window and stride must be >= 1, got window={window}, stride={stride}"
        )
    if window > min(h, w):
        raise DataError(
            f"patch window {window} is larger than the structure image {image.shape} of "
            f"{image.name!r}; choose window <= {min(h, w)}"
        )
    structure = image.structure if channel is None else image.structure[channel : channel + 1]
    structure = np.stack([_normalize_image(ch, normalization) for ch in structure])
    b = image.spectra_binning
    gh, gw = image.spectrum_grid_shape
    rows = np.arange(0, gh, stride)
    cols = np.arange(0, gw, stride)
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    starts = grid * b + b // 2 - window // 2
    if border == "valid":
        inside = (
            (starts >= 0).all(axis=1) & (starts[:, 0] + window <= h) & (starts[:, 1] + window <= w)
        )
        if not inside.any():
            raise DataError(
                f"no candidate of {image.name!r} has a full {window}x{window} patch inside the "
                "image; use a smaller window or border='reflect'"
            )
        grid, starts = grid[inside], starts[inside]
        padded, offset = structure, 0
    else:
        offset = window
        mode = "reflect" if border == "reflect" else "constant"
        padded = np.pad(structure, ((0, 0), (offset, offset), (offset, offset)), mode=mode)
    view = np.lib.stride_tricks.sliding_window_view(padded, (window, window), axis=(1, 2))
    patches = view[:, starts[:, 0] + offset, starts[:, 1] + offset]  # (C, N, w, w)
    patches = np.moveaxis(patches, 0, 1)
    if normalization == "per_patch":  # in float64: a large offset would swamp float32
        mean = patches.mean(axis=(-2, -1), keepdims=True)
        std = patches.std(axis=(-2, -1), keepdims=True)
        patches = (patches - mean) / np.where(std > 0, std, 1.0)
    patches = patches.astype(np.float32)
    if channel is not None:
        patches = patches[:, 0]
    spec = {
        "kind": "patches",
        "window": window,
        "stride": stride,
        "border": border,
        "normalization": normalization,
        "channel": channel,
    }
    return CandidatePool(grid, {"patches": np.ascontiguousarray(patches)}, (gh, gw), spec=spec)
