"""Plain numpy files: ``.npy`` (one array) and ``.npz`` (named arrays).

* ``.npy``: a 2-D array is an image `(H, W)`; a 3-D array is a spectrum cube
  `(H, W, S)` (spectral axis last, as autoscope stores it).
* ``.npz``: keys ``structure`` (`(H, W)` or `(C, H, W)`) and/or ``spectra``
  (`(H', W', S)`), optional ``spectral_axis`` `(S,)`, and optional scalars
  ``spectral_units``, ``pixel_size``, ``pixel_units``, ``signal_name``,
  ``name`` and ``channel_names`` `(C,)`. Unknown keys are listed in the
  provenance, never silently used.

Files are loaded with ``allow_pickle=False``: object arrays are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from autoscope.data.readers._raw import ImageChannel, RawSignals, SpectrumCube, text
from autoscope.errors import DataError

__all__ = ["load_npy", "load_npz"]

NPZ_KEYS = (
    "structure",
    "spectra",
    "spectral_axis",
    "spectral_units",
    "pixel_size",
    "pixel_units",
    "signal_name",
    "name",
    "channel_names",
)


def _cube(data: np.ndarray, axis: np.ndarray | None, **info: Any) -> SpectrumCube:
    if axis is None:
        axis = np.arange(data.shape[-1], dtype=np.float64)
    return SpectrumCube(name=info.pop("name", ""), data=data, axis=np.asarray(axis), **info)


def load_npy(path: Path) -> RawSignals:
    """Read a ``.npy`` file holding an image `(H, W)` or a cube `(H, W, S)`."""
    array = np.load(path, allow_pickle=False)
    if array.ndim == 2:
        return RawSignals(images=[ImageChannel(name=path.stem, data=array)])
    if array.ndim == 3:
        return RawSignals(cubes=[_cube(array, None, name=path.stem)])
    raise DataError(
        f"{path}: .npy must hold an image (H, W) or a spectrum cube (H, W, S), "
        f"got shape {array.shape}"
    )


def load_npz(path: Path) -> RawSignals:
    """Read a ``.npz`` file with ``structure`` and/or ``spectra`` keys (see module doc)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    if "structure" not in arrays and "spectra" not in arrays:
        raise DataError(
            f"{path}: .npz has neither a 'structure' nor a 'spectra' array "
            f"(found keys {sorted(arrays)})"
        )
    raw = RawSignals(metadata={"unused_keys": sorted(set(arrays) - set(NPZ_KEYS))})
    pixel_size = float(arrays["pixel_size"]) if "pixel_size" in arrays else None
    pixel_units = text(arrays["pixel_units"]) if "pixel_units" in arrays else ""
    if "structure" in arrays:
        structure = arrays["structure"]
        if structure.ndim == 2:
            structure = structure[None]
        if structure.ndim != 3:
            raise DataError(
                f"{path}: 'structure' must be (H, W) or (C, H, W), "
                f"got shape {arrays['structure'].shape}"
            )
        names = [text(n) for n in np.atleast_1d(arrays.get("channel_names", np.array([])))]
        if names and len(names) != structure.shape[0]:
            raise DataError(
                f"{path}: 'channel_names' has {len(names)} entries for "
                f"{structure.shape[0]} structure channels"
            )
        names = names or [f"channel_{i}" for i in range(structure.shape[0])]
        raw.images = [
            ImageChannel(name=n, data=c, pixel_size=pixel_size, pixel_units=pixel_units)
            for n, c in zip(names, structure, strict=True)
        ]
    if "spectra" in arrays:
        spectra = arrays["spectra"]
        if spectra.ndim != 3:
            raise DataError(f"{path}: 'spectra' must be (H, W, S), got shape {spectra.shape}")
        raw.cubes = [
            _cube(
                spectra,
                arrays.get("spectral_axis"),
                name=text(arrays.get("name", path.stem)),
                axis_units=text(arrays.get("spectral_units", "")),
                signal_name=text(arrays.get("signal_name", "")),
                pixel_size=None if "structure" in arrays else pixel_size,
                pixel_units="" if "structure" in arrays else pixel_units,
            )
        ]
    return raw
