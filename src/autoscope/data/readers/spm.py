"""Scanning-probe image files: Gwyddion ``.gwy`` and Igor ``.ibw`` (``autoscope[io]``).

Both hold several image channels of one scan (Height, Amplitude, Phase, ...).

* ``.gwy`` through ``gwyfile``: each data field is `(yres, xres)`, row = y.
* ``.ibw`` through ``igor2``: an Asylum Research wave `(n0, n1, C)`; channel
  ``k`` is ``wave[:, :, k]`` in the stored order (Igor dimension 0 becomes
  rows). Channel names come from the dimension labels of the last dimension.
  igor2 (0.5) joins each 32-byte label field after dropping its NUL bytes, so
  stale bytes after the terminator leak into the name
  (``"PhaseRetracerace"``); this reader reads the label fields itself and
  cuts each at its first NUL, falling back to igor2's labels if that fails.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from autoscope.data.readers._raw import ImageChannel, RawSignals, optional_import, text
from autoscope.errors import DataError

__all__ = ["load_gwy", "load_ibw"]

_LABEL_BYTES = 32
_BIN_HEADER5 = 64  # Igor binary header, version 5


def load_gwy(path: Path) -> RawSignals:
    """Read every data field (image channel) of a Gwyddion file."""
    gwyfile = optional_import("gwyfile", path=path)
    util = optional_import("gwyfile.util", path=path)
    container = gwyfile.load(str(path))
    fields = util.get_datafields(container)
    if not fields:
        raise DataError(f"{path}: Gwyddion file holds no data field (image channel)")
    raw = RawSignals(metadata={"layout": "Gwyddion"})
    for name, field in fields.items():
        data = np.asarray(field.data)
        xy_units = field.get("si_unit_xy")
        z_units = field.get("si_unit_z")
        raw.images.append(
            ImageChannel(
                name=str(name),
                data=data,
                pixel_size=float(field.yreal) / data.shape[0],
                pixel_units=text(xy_units.get("unitstr")) if xy_units is not None else "",
                units=text(z_units.get("unitstr")) if z_units is not None else "",
            )
        )
    return raw


def _raw_ibw_labels(path: Path, dim: int) -> list[str]:
    """Dimension labels of ``dim`` read from the file itself (Igor version 5 only)."""
    with open(path, "rb") as handle:
        head = handle.read(_BIN_HEADER5)
        if len(head) < _BIN_HEADER5:
            return []
        for order in "<>":
            if struct.unpack(order + "h", head[:2])[0] == 5:
                break
        else:
            return []
        # BinHeader5: version, checksum (h h), wfmSize, formulaSize, noteSize,
        # dataEUnitsSize, dimEUnitsSize[4], dimLabelsSize[4], ... (all int32).
        fields = struct.unpack(order + "hhiiii4i4i", head[: 4 + 4 * 12])
        wfm, formula, note, data_units = fields[2:6]
        dim_units = fields[6:10]
        label_sizes = fields[10:14]
        offset = _BIN_HEADER5 + wfm + formula + note + data_units + sum(dim_units)
        offset += sum(label_sizes[:dim])
        handle.seek(offset)
        block = handle.read(label_sizes[dim])
    chunks = [block[i : i + _LABEL_BYTES] for i in range(0, len(block), _LABEL_BYTES)]
    # The first label names the dimension as a whole; then one per index.
    return [chunk.split(b"\x00", 1)[0].decode("latin-1") for chunk in chunks[1:]]


def load_ibw(path: Path) -> RawSignals:
    """Read the image channels of an Igor binary wave (Asylum Research scans)."""
    binarywave = optional_import("igor2.binarywave", path=path)
    wave = binarywave.load(str(path))["wave"]
    data = np.asarray(wave["wData"])
    header = wave["wave_header"]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise DataError(
            f"{path}: Igor wave must be an image (n0, n1) or a channel stack (n0, n1, C), "
            f"got shape {data.shape}"
        )
    n_channels = data.shape[2]
    names: list[str] = []
    try:
        names = _raw_ibw_labels(path, 2)
    except (OSError, struct.error, ValueError):
        names = []
    if len(names) != n_channels:
        labels = wave.get("labels") or [[], [], [], []]
        names = [text(label) for label in labels[2][1:]] if len(labels) > 2 else []
    if len(names) != n_channels or not all(names):
        names = [f"channel_{k}" for k in range(n_channels)]
    scale = float(np.asarray(header["sfA"])[0])
    units = text(b"".join(np.asarray(header["dimUnits"])[0]))
    raw = RawSignals(
        metadata={"layout": "Igor binary wave", "wave_name": text(header.get("bname", b""))}
    )
    for k, name in enumerate(names):
        raw.images.append(
            ImageChannel(name=name, data=data[:, :, k], pixel_size=scale, pixel_units=units)
        )
    return raw
