"""Export a run's measurements to NSID-compatible HDF5 or to npz.

The HDF5 layout follows the NSID conventions written by pyNSID/sidpy (as in
the DTMicroscope files autoscope reads), so pycroscopy users can open it:

* ``/Measurement_000/Channel_000/measured_spectra`` — `(M, S)` spectra in
  measurement order, ``data_type = "POINT_CLOUD"``, with dimension scales
  ``measurement`` (index) and the spectral axis (``dimension_type = "SPECTRAL"``);
  beside it the per-measurement ``coords`` `(M, 2)`, ``targets``, ``pool_index``,
  ``seconds``, ``dose`` and ``source``;
* ``/Measurement_000/Channel_001/structure`` — the overview image with ``y``/``x``
  spatial dimension scales;
* ``/Measurement_000/metadata`` attributes — the run configuration as JSON.

h5py is used directly: pyNSID/sidpy would pull in a large stack for what is
a handful of datasets and attributes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from autoscope.campaign.rundata import RunData
from autoscope.campaign.store import RunStore
from autoscope.errors import DataError

__all__ = ["export_npz", "export_nsid", "export_run", "read_export"]


def _arrays(run: RunData) -> dict[str, np.ndarray]:
    return {
        "spectra": run.spectra,
        "spectral_axis": np.asarray(run.spectral_axis, dtype=np.float64),
        "coords": run.coords,
        "targets": run.targets,
        "pool_index": run.index,
        "seconds": run.seconds,
        "dose": run.dose,
        "source": np.asarray(run.source, dtype=str),
        "overview": run.overview,
        "pool_coords": run.pool_coords,
    }


def export_npz(run: RunData, path: str | Path) -> Path:
    """Write the run's measurements to ``path`` (npz; see :func:`read_export`)."""
    path = Path(path)
    arrays = _arrays(run)
    np.savez_compressed(path, **arrays, config=json.dumps(run.config))
    return path


def _dimension(
    group: h5py.Group, name: str, values: np.ndarray, *, units: str, kind: str, quantity: str
) -> h5py.Dataset:
    scale = group.create_dataset(name, data=values)
    scale.attrs.update({"name": name, "units": units, "quantity": quantity, "dimension_type": kind})
    scale.make_scale(name)
    return scale


def export_nsid(run: RunData, path: str | Path) -> Path:
    """Write the run's measurements to an NSID-compatible HDF5 file."""
    path = Path(path)
    arrays = _arrays(run)
    signal = run.meta.get("dataset", {}).get("signal_name", "") if run.meta else ""
    with h5py.File(path, "w") as f:
        measurement = f.create_group("Measurement_000")
        measurement.attrs["autoscope_config"] = json.dumps(run.config)
        channel = measurement.create_group("Channel_000")
        main = channel.create_dataset("measured_spectra", data=arrays["spectra"])
        main.attrs.update(
            {
                "title": "measured_spectra",
                "quantity": signal or "signal",
                "units": "a.u.",
                "data_type": "POINT_CLOUD",
                "modality": "autonomous spectroscopy",
                "source": "autoscope",
                "main_data_name": "measured_spectra",
            }
        )
        dims = [
            _dimension(
                channel,
                "measurement",
                np.arange(len(run.index)),
                units="",
                kind="UNKNOWN",
                quantity="index",
            ),
            _dimension(
                channel,
                "spectral_axis",
                arrays["spectral_axis"],
                units=run.spectral_units,
                kind="SPECTRAL",
                quantity="spectral axis",
            ),
        ]
        for i, scale in enumerate(dims):
            main.dims[i].attach_scale(scale)
            main.dims[i].label = scale.name.rsplit("/", 1)[-1]
        for name in ("coords", "targets", "pool_index", "seconds", "dose"):
            channel.create_dataset(name, data=arrays[name])
        channel.create_dataset("source", data=arrays["source"].astype("S"))
        image_channel = measurement.create_group("Channel_001")
        image = image_channel.create_dataset("structure", data=arrays["overview"])
        image.attrs.update(
            {
                "title": "structure",
                "quantity": "intensity",
                "units": "a.u.",
                "data_type": "IMAGE",
                "main_data_name": "structure",
            }
        )
        for i, (name, size) in enumerate(zip(("y", "x"), arrays["overview"].shape, strict=True)):
            scale = _dimension(
                image_channel,
                name,
                np.arange(size, dtype=float),
                units="px",
                kind="SPATIAL",
                quantity="distance",
            )
            image.dims[i].attach_scale(scale)
            image.dims[i].label = name
        image_channel.create_dataset("pool_coords", data=arrays["pool_coords"])
    return path


def read_export(path: str | Path) -> dict[str, Any]:
    """Read an export (either format) back into the arrays it holds."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"export file {path} does not exist")
    if path.suffix == ".npz":
        with np.load(path) as data:
            out = {k: data[k] for k in data.files}
        out["config"] = json.loads(str(out["config"]))
        return out
    with h5py.File(path, "r") as f:
        channel = f["Measurement_000/Channel_000"]
        out = {
            "spectra": channel["measured_spectra"][()],
            "spectral_axis": channel["spectral_axis"][()],
            **{k: channel[k][()] for k in ("coords", "targets", "pool_index", "seconds", "dose")},
            "source": channel["source"][()].astype(str),
            "overview": f["Measurement_000/Channel_001/structure"][()],
            "pool_coords": f["Measurement_000/Channel_001/pool_coords"][()],
            "config": json.loads(f["Measurement_000"].attrs["autoscope_config"]),
        }
    return out


def export_run(run_dir: str | Path, out: str | Path) -> Path:
    """Export the run in ``run_dir`` to ``out`` (``.h5``/``.hdf5`` = NSID, ``.npz``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".npz"):
        raise DataError(f"unknown export format {out.suffix!r} for {out}; use .h5, .hdf5 or .npz")
    with RunStore.open(run_dir) as store:
        run = store.load()
    return export_npz(run, out) if suffix == ".npz" else export_nsid(run, out)
