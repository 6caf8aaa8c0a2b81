"""The neutral form every format reader returns before assembly.

A format reader only unpacks its file into named images and spectrum cubes in
`(rows, cols)` / `(rows, cols, S)` order with their calibrations; choosing the
structure channel, pairing and validation happen once, in ``core``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autoscope.errors import DataError

UNCALIBRATED_UNITS = frozenset({"", "px", "pixel", "pixels", "<undefined>", "none"})


@dataclass
class ImageChannel:
    """One structure channel as stored in a file.

    Attributes:
        name: Channel name from the file (``"HeightRetrace"``, ``"HAADF"``).
        data: Image `(H, W)`.
        pixel_size: Step between rows in ``pixel_units``; ``None`` if unknown.
        pixel_units: Length units of ``pixel_size`` as stored (may be empty).
        units: Units of the image values, if stored.
    """

    name: str
    data: np.ndarray
    pixel_size: float | None = None
    pixel_units: str = ""
    units: str = ""


@dataclass
class SpectrumCube:
    """One spectrum image as stored in a file, spectral axis last.

    Attributes:
        name: Signal title from the file.
        data: Spectra `(H', W', S)`.
        axis: Spectral axis values `(S,)`.
        axis_units: Units of ``axis``.
        axis_name: Name of the spectral axis (``"Energy loss"``, ``"Voltage"``).
        signal_name: What the spectra measure, with units if known.
        pixel_size: Step between rows of the spectrum grid, if known.
        pixel_units: Units of ``pixel_size`` as stored.
    """

    name: str
    data: np.ndarray
    axis: np.ndarray
    axis_units: str = ""
    axis_name: str = ""
    signal_name: str = ""
    pixel_size: float | None = None
    pixel_units: str = ""


@dataclass
class RawSignals:
    """Everything a format reader found in one file.

    Attributes:
        images: Image channels, in file order.
        cubes: Spectrum images, in file order.
        metadata: Small JSON-serialisable notes for the provenance (layout,
            original axis order, oddities found in the file).
    """

    images: list[ImageChannel] = field(default_factory=list)
    cubes: list[SpectrumCube] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def is_calibrated(units: str | None) -> bool:
    """Whether ``units`` names a physical length (not empty, not pixels)."""
    return units is not None and units.strip().lower() not in UNCALIBRATED_UNITS


def optional_import(module: str, *, path: Path, extra: str = "io") -> ModuleType:
    """Import an optional dependency or raise a :class:`DataError` naming the extra.

    Args:
        module: Dotted module name, e.g. ``"rsciio.digitalmicrograph"``.
        path: The file being read (named in the error).
        extra: The ``autoscope[...]`` extra that provides the module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DataError(
            f"{path}: reading this file needs the optional package {module.split('.')[0]!r} "
            f"({exc}); install it with `pip install autoscope[{extra}]`"
        ) from exc


def text(value: Any) -> str:
    """Decode an HDF5/Igor attribute (bytes, numpy string, array) to ``str``."""
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace").strip("\x00").strip()
    return "" if value is None else str(value).strip()
