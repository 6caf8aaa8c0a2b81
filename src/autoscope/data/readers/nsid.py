"""NSID (pycroscopy/sidpy) HDF5 files, read with h5py directly.

An NSID main dataset is an HDF5 dataset carrying ``DIMENSION_LABELS`` and
``data_type`` (``"IMAGE"``, ``"SPECTRAL_IMAGE"``, ...) attributes, with one
dimension-scale dataset per axis (``units``, ``quantity``, ``dimension_type``
``"SPATIAL"``/``"SPECTRAL"``). Images become structure channels named by their
``quantity`` attribute; a spectral image becomes a cube with its spectral
dimension moved last. Arrays keep the order stored in the file (dimension 0
becomes rows); the dimension labels are recorded in the metadata.

h5py is a core dependency, so this reader needs no extra. pyNSID/SciFiReaders
would add sidpy for little gain here, hence the direct reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from autoscope.data.readers._raw import ImageChannel, RawSignals, SpectrumCube, text
from autoscope.errors import DataError

__all__ = ["is_nsid", "load_nsid"]


def _main_datasets(handle: h5py.File) -> list[tuple[str, h5py.Dataset]]:
    found: list[tuple[str, h5py.Dataset]] = []

    def visit(name: str, obj: Any) -> None:
        if "original_metadata" in name.split("/"):
            return
        if (
            isinstance(obj, h5py.Dataset)
            and "DIMENSION_LABELS" in obj.attrs
            and ("data_type" in obj.attrs or "main_data_name" in obj.attrs)
        ):
            found.append((name, obj))

    handle.visititems(visit)
    return found


def is_nsid(handle: h5py.File) -> bool:
    """Whether an open HDF5 file holds at least one NSID main dataset."""
    return bool(_main_datasets(handle))


def _dimension(dataset: h5py.Dataset, index: int, label: str) -> tuple[np.ndarray, dict[str, str]]:
    scale: h5py.Dataset | None = None
    try:
        attached = dataset.dims[index]
        if len(attached):
            scale = attached[0]
    except (KeyError, RuntimeError, ValueError):
        scale = None
    if scale is None and dataset.parent is not None and label in dataset.parent:
        scale = dataset.parent[label]
    if scale is None:
        return np.arange(dataset.shape[index], dtype=np.float64), {}
    attrs = {
        k: text(scale.attrs[k]) for k in ("units", "quantity", "dimension_type") if k in scale.attrs
    }
    values = np.asarray(scale[()], dtype=np.float64).reshape(-1)
    if values.shape != (dataset.shape[index],):
        raise DataError(
            f"NSID dimension {label!r} of {dataset.name} has {values.size} values, "
            f"expected {dataset.shape[index]}"
        )
    return values, attrs


def _step(values: np.ndarray) -> float | None:
    if values.size < 2:
        return None
    step = float(abs(values[1] - values[0]))
    return step if step > 0 else None


def load_nsid(path: Path) -> RawSignals:
    """Read every NSID main dataset of an HDF5 file.

    Args:
        path: An ``.h5``/``.hdf5`` file in the NSID layout.

    Returns:
        Image channels (2-D ``IMAGE`` datasets) and spectrum cubes (3-D datasets
        with two ``SPATIAL`` and one ``SPECTRAL`` dimension).
    """
    raw = RawSignals(metadata={"layout": "NSID"})
    datasets_meta: list[dict[str, Any]] = []
    with h5py.File(path, "r") as handle:
        mains = _main_datasets(handle)
        if not mains:
            raise DataError(
                f"{path}: HDF5 file has no NSID main dataset (expected a dataset with "
                f"'DIMENSION_LABELS' and 'data_type' attributes, as written by pyNSID/sidpy)"
            )
        for name, dataset in mains:
            labels = [text(v) for v in np.atleast_1d(dataset.attrs["DIMENSION_LABELS"])]
            dims = [_dimension(dataset, i, label) for i, label in enumerate(labels)]
            quantity = text(dataset.attrs.get("quantity", "")) or name.rsplit("/", 1)[-1]
            units = text(dataset.attrs.get("units", ""))
            data = np.asarray(dataset[()])
            meta: dict[str, Any] = {
                "dataset": name,
                "dimension_labels": labels,
                "data_type": text(dataset.attrs.get("data_type", "")),
                "steps": [_step(values) for values, _ in dims],
                "dimension_units": [attrs.get("units", "") for _, attrs in dims],
            }
            datasets_meta.append(meta)
            if data.ndim == 2:
                values, attrs = dims[0]
                raw.images.append(
                    ImageChannel(
                        name=quantity,
                        data=data,
                        pixel_size=_step(values),
                        pixel_units=attrs.get("units", ""),
                        units=units,
                    )
                )
            elif data.ndim == 3:
                kinds = [attrs.get("dimension_type", "").upper() for _, attrs in dims]
                spectral = [i for i, kind in enumerate(kinds) if kind == "SPECTRAL"]
                spec = spectral[0] if len(spectral) == 1 else 2
                spatial = [i for i in range(3) if i != spec]
                meta["spectral_dimension"] = spec
                axis, axis_attrs = dims[spec]
                row_values, row_attrs = dims[spatial[0]]
                raw.cubes.append(
                    SpectrumCube(
                        name=quantity,
                        data=np.moveaxis(data, spec, -1),
                        axis=axis,
                        axis_units=axis_attrs.get("units", ""),
                        axis_name=labels[spec],
                        signal_name=f"{quantity} ({units})" if units else quantity,
                        pixel_size=_step(row_values),
                        pixel_units=row_attrs.get("units", ""),
                    )
                )
            else:
                meta["skipped"] = f"{data.ndim}-D data is neither an image nor a spectrum image"
    raw.metadata["datasets"] = datasets_meta
    if not raw.images and not raw.cubes:
        raise DataError(
            f"{path}: NSID file has no 2-D image or 3-D spectral-image dataset "
            f"(found {[(m['dataset'], m['dimension_labels']) for m in datasets_meta]})"
        )
    return raw
