"""Electron-microscopy files through RosettaSciIO (``autoscope[io]``).

Covers Gatan ``.dm3``/``.dm4``, Velox/EMD ``.emd`` (EDX spectrum images need
the ``sparse`` package), Bruker ``.bcf`` and HyperSpy ``.hspy``/``.hdf5``.
RosettaSciIO returns a list of signal dicts (``data``, ``axes``,
``metadata``); this module turns each into an image channel or a spectrum
cube with the spectral axis last.

Which axis is spectral is decided from the axis *units and names* first
(``eV``/``keV``/``V``, "energy"), then from HyperSpy's ``navigate`` flags:
some files carry wrong flags (the Gatan EELS spectrum image in the test data
comes back as `(1024, 49, 6)` with the energy axis flagged as navigation), so
the flags alone are not trusted. A single spectrum `(S,)` is read as a
`(1, 1, S)` grid.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.data.readers._raw import (
    ImageChannel,
    RawSignals,
    SpectrumCube,
    optional_import,
    text,
)
from autoscope.errors import DataError

__all__ = ["load_bcf", "load_dm", "load_emd", "load_hspy"]

SPECTRAL_UNITS = frozenset({"ev", "kev", "mev", "v", "mv", "nm^-1", "1/nm", "cm-1", "cm^-1"})


def _axis_values(axis: dict[str, Any]) -> np.ndarray:
    if axis.get("axis") is not None:
        return np.asarray(axis["axis"], dtype=np.float64)
    size = int(axis["size"])
    return float(axis.get("offset", 0.0) or 0.0) + float(axis.get("scale", 1.0) or 1.0) * np.arange(
        size, dtype=np.float64
    )


def _looks_spectral(axis: dict[str, Any]) -> bool:
    units = text(axis.get("units")).lower()
    name = text(axis.get("name")).lower()
    return units in SPECTRAL_UNITS or "energy" in name


def _spectral_index(axes: list[dict[str, Any]], path: Path, title: str) -> tuple[int, str]:
    by_units = [i for i, ax in enumerate(axes) if _looks_spectral(ax)]
    if len(by_units) == 1:
        return by_units[0], "units/name"
    signal = [i for i, ax in enumerate(axes) if ax.get("navigate") is False]
    if len(signal) == 1:
        return signal[0], "navigate flags"
    described = [(text(ax.get("name")), text(ax.get("units")), ax.get("navigate")) for ax in axes]
    raise DataError(
        f"{path}: cannot tell which axis of signal {title!r} is spectral "
        f"(axes name/units/navigate: {described}); expected one energy-like axis"
    )


def _signal(signal: dict[str, Any], path: Path, raw: RawSignals, index: int) -> None:
    data = np.asarray(signal["data"])
    axes = list(signal.get("axes", []))
    metadata = signal.get("metadata", {})
    title = text(metadata.get("General", {}).get("title")) or (
        path.stem if index == 0 else f"{path.stem}_{index}"
    )
    signal_type = text(metadata.get("Signal", {}).get("signal_type"))
    quantity = text(metadata.get("Signal", {}).get("quantity"))
    note: dict[str, Any] = {
        "title": title,
        "signal_type": signal_type,
        "shape": list(data.shape),
        "axes": [
            {
                "name": text(ax.get("name")),
                "units": text(ax.get("units")),
                "navigate": ax.get("navigate"),
            }
            for ax in axes
        ],
    }
    raw.metadata.setdefault("signals", []).append(note)
    if len(axes) != data.ndim:
        raise DataError(f"{path}: signal {title!r} has {data.ndim} dims but {len(axes)} axes")
    if data.ndim == 2 and not any(_looks_spectral(ax) for ax in axes):
        row = axes[0]
        raw.images.append(
            ImageChannel(
                name=title,
                data=data,
                pixel_size=float(row.get("scale", 1.0) or 1.0),
                pixel_units=text(row.get("units")),
                units=quantity,
            )
        )
        return
    if data.ndim not in (1, 3):
        note["skipped"] = f"{data.ndim}-D signal is neither an image nor a spectrum image"
        return
    spec, rule = _spectral_index(axes, path, title) if data.ndim == 3 else (0, "1-D")
    note["spectral_axis_index"] = spec
    note["spectral_axis_rule"] = rule
    if data.ndim == 3 and axes[spec].get("navigate") is True:
        note["navigate_flags_inconsistent"] = True
    cube = np.moveaxis(data, spec, -1) if data.ndim == 3 else data.reshape(1, 1, -1)
    spatial = [ax for i, ax in enumerate(axes) if i != spec]
    row = spatial[0] if spatial else {}
    raw.cubes.append(
        SpectrumCube(
            name=title,
            data=cube,
            axis=_axis_values(axes[spec]),
            axis_units=text(axes[spec].get("units")),
            axis_name=text(axes[spec].get("name")),
            signal_name=" ".join(part for part in (signal_type, quantity) if part) or title,
            pixel_size=float(row.get("scale", 1.0) or 1.0) if row else None,
            pixel_units=text(row.get("units")) if row else "",
        )
    )


def _load(path: Path, module: str, **kwargs: Any) -> RawSignals:
    reader = optional_import(module, path=path)
    with warnings.catch_warnings():
        # rsciio's own deprecations (of its internals) are nothing a user of
        # autoscope can act on; every other warning is let through.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"rsciio\.")
        signals = reader.file_reader(str(path), **kwargs)
    raw = RawSignals(metadata={"rsciio_module": module})
    for index, signal in enumerate(signals):
        _signal(signal, path, raw, index)
    return raw


def load_dm(path: Path) -> RawSignals:
    """Read a Gatan DigitalMicrograph ``.dm3``/``.dm4`` file."""
    return _load(path, "rsciio.digitalmicrograph")


def load_emd(path: Path) -> RawSignals:
    """Read an EMD file (Velox or Berkeley); Velox EDX needs ``sparse``."""
    optional_import("sparse", path=path)
    return _load(path, "rsciio.emd")


def load_bcf(path: Path) -> RawSignals:
    """Read a Bruker ``.bcf`` hypermap (image channels and the EDX cube)."""
    return _load(path, "rsciio.bruker")


def load_hspy(path: Path) -> RawSignals:
    """Read a HyperSpy ``.hspy`` / ``.hdf5`` file."""
    return _load(path, "rsciio.hspy")
