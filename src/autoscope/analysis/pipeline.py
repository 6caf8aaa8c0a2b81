"""From an image file to a written analysis: what ``autoscope analyze`` does.

:func:`load_image` reads any format of the data layer, picks one channel,
optionally bins it and converts the calibration to nanometres;
:func:`analyze_file` builds the task's workflow, runs the search (whole image
or sliding windows) and writes the report folder of
:mod:`autoscope.analysis.report`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.analysis.image import as_image
from autoscope.analysis.report import write_analysis, write_window_analysis
from autoscope.analysis.search import SearchResult, WindowResult, search, search_windows
from autoscope.analysis.workflows import make_workflow
from autoscope.errors import ConfigError, DataError

__all__ = ["AnalysisOutcome", "LoadedImage", "analyze_file", "load_image"]

_TO_NM = {"m": 1e9, "mm": 1e6, "µm": 1e3, "um": 1e3, "nm": 1.0, "Å": 0.1, "A": 0.1, "pm": 1e-3}


@dataclass
class LoadedImage:
    """One image channel ready for analysis.

    Attributes:
        image: The channel, float64 `(H, W)`.
        pixel_size: Pixel size in ``unit`` (``None`` when the file is not calibrated).
        unit: ``"nm"`` when the file's length unit is known, else the file's unit.
        name: File name and channel.
    """

    image: np.ndarray
    pixel_size: float | None
    unit: str
    name: str


def load_image(
    path: str | Path,
    *,
    channel: str | int = 0,
    binning: int = 1,
    pixel_size: float | None = None,
    unit: str | None = None,
    reader: str | None = None,
    invert: bool = False,
) -> LoadedImage:
    """Read one image channel of any supported file.

    Args:
        path: Image file (every format of :func:`autoscope.data.readers.read`).
        channel: Channel name (exact or prefix, case-insensitive) or index.
        binning: Average ``binning × binning`` pixel blocks (large images).
        pixel_size: Override the file's calibration (in ``unit``, after binning
            the override is multiplied by ``binning``).
        unit: Unit of ``pixel_size`` (default nm).
        reader: Force a reader by name (see ``autoscope datasets``).
        invert: Negate the image (annular bright-field: columns are dark).

    Raises:
        DataError: Unreadable file, unknown channel, unusable image.
    """
    from autoscope.data.readers import read

    spectral = read(path, reader=reader)
    names = list(spectral.channel_names)
    index = _channel_index(channel, names, path)
    image = np.asarray(spectral.structure[index], dtype=float)
    if binning < 1:
        raise ConfigError(f"binning must be >= 1, got {binning}")
    if binning > 1:
        h, w = (s // binning * binning for s in image.shape)
        if min(h, w) == 0:
            raise DataError(f"binning {binning} is larger than the image {image.shape}")
        image = image[:h, :w].reshape(h // binning, binning, w // binning, binning).mean((1, 3))
    image = as_image(-image if invert else image, name=f"{Path(path).name}:{names[index]}")
    if pixel_size is not None:
        size, length_unit = float(pixel_size), unit or "nm"
    else:
        file_unit = spectral.pixel_units or "px"
        size = float(spectral.pixel_size) if file_unit != "px" else None
        length_unit = file_unit
        if size is not None and file_unit in _TO_NM:
            size, length_unit = size * _TO_NM[file_unit], "nm"
    if size is not None:
        size *= binning
    label = f"{Path(path).name} [{names[index]}{', inverted' if invert else ''}]"
    return LoadedImage(image, size, length_unit, label)


def _channel_index(channel: str | int, names: list[str], path: str | Path) -> int:
    if isinstance(channel, int) or str(channel).lstrip("-").isdigit():
        index = int(channel)
        if not -len(names) <= index < len(names):
            raise DataError(f"{path}: channel {index} out of range; channels: {names}")
        return index % len(names)
    matches = [i for i, n in enumerate(names) if n.lower() == str(channel).lower()]
    matches = matches or [i for i, n in enumerate(names) if n.lower().startswith(channel.lower())]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise DataError(f"{path}: {what} channel matches {channel!r}; channels: {names}")
    return matches[0]


@dataclass
class AnalysisOutcome:
    """What :func:`analyze_file` produced."""

    page: Path
    result: SearchResult
    loaded: LoadedImage
    n_detections: int
    summary: dict[str, Any]
    windows: list[WindowResult] = field(default_factory=list)


def analyze_file(
    path: str | Path,
    task: str,
    out_dir: str | Path,
    *,
    channel: str | int = 0,
    binning: int = 1,
    pixel_size: float | None = None,
    unit: str | None = None,
    invert: bool = False,
    workflow_options: dict[str, Any] | None = None,
    window: int | None = None,
    pick: int | None = None,
    **search_options: Any,
) -> AnalysisOutcome:
    """Analyse one image file and write the report folder.

    ``workflow_options`` go to the task's workflow (e.g. ``atoms_per_cell``,
    ``diameter``); ``search_options`` to :func:`~autoscope.analysis.search.search`.
    With ``window`` the search runs per window (:func:`search_windows`); the
    page shows the merged detections and each window's knee, and
    ``AnalysisOutcome.result`` is the first window's search.
    """
    loaded = load_image(
        path, channel=channel, binning=binning, pixel_size=pixel_size, unit=unit, invert=invert
    )
    options = dict(workflow_options or {})
    if task in ("walls", "particles") and loaded.pixel_size:
        options.setdefault("pixel_size", loaded.pixel_size)
    workflow = make_workflow(task, **options)
    calibration = {"pixel_size": loaded.pixel_size, "unit": loaded.unit, "source": loaded.name}
    windows: list[WindowResult] = []
    if window:
        if pick is not None:
            raise ConfigError(
                "--pick selects a point of one front; with --window each window "
                "has its own front and its knee is used"
            )
        windows, merged = search_windows(workflow, loaded.image, window=window, **search_options)
        result = windows[0].search
        page = write_window_analysis(
            workflow, loaded.image, windows, merged, out_dir, **calibration
        )
    else:
        result = search(workflow, loaded.image, **search_options)
        page = write_analysis(workflow, loaded.image, result, out_dir, pick=pick, **calibration)
    summary = json.loads((Path(out_dir) / "result.json").read_text())["summary"]
    return AnalysisOutcome(page, result, loaded, summary["count"], summary, windows)
