"""``read``: one call from a file (or an image + spectrum-image pair) to a SpectralImage.

Format readers (one family per module) only unpack files; this module picks
the structure channel(s), pairs a structure image with co-registered spectra,
infers ``spectra_binning`` from the shapes, checks the calibrations agree and
records provenance (paths, readers, sha256, how the structure was derived and
an outlier summary). Nothing is dropped, clipped or resampled.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.data.outliers import outlier_summary
from autoscope.data.readers._raw import ImageChannel, RawSignals, SpectrumCube, is_calibrated
from autoscope.data.readers.registry import ReaderInfo, select_reader
from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError

__all__ = ["DEFAULT_STRUCTURE", "STRUCTURE_DERIVATIONS", "derive_structure", "read"]

DEFAULT_STRUCTURE = "abs-mean"
"""Derivation used when a file has spectra but no image channel.

``abs-mean`` equals ``mean`` for non-negative spectra (EELS/EDX counts) and
keeps contrast for signed ones (piezoresponse loops, whose plain mean over a
bipolar sweep largely cancels).
"""

STRUCTURE_DERIVATIONS = ("file", "mean", "std", "abs-mean", "slice:<index>", "map:<name>")
"""Accepted values of ``read(..., structure=...)``."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _existing(path: str | Path, role: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{role} file not found: {path}")
    if not path.is_file():
        raise DataError(f"{role} path is not a file: {path}")
    return path


def _check_structure_spec(spec: str) -> None:
    if spec in ("file", "mean", "std", "abs-mean"):
        return
    if spec.startswith("map:") and spec[4:]:
        return
    if spec.startswith("slice:"):
        try:
            int(spec[6:])
        except ValueError:
            pass
        else:
            return
    raise DataError(
        f"unknown structure derivation {spec!r}; expected one of {', '.join(STRUCTURE_DERIVATIONS)}"
    )


def derive_structure(spectra: np.ndarray, spec: str) -> np.ndarray:
    """Compute a structure image from spectra.

    Args:
        spectra: Spectra `(H', W', S)`.
        spec: ``"mean"``, ``"std"``, ``"abs-mean"`` (mean of the absolute
            value over the spectral axis) or ``"slice:<index>"`` (one spectral
            channel; negative indices count from the end).

    Returns:
        Image `(H', W')`, float64.

    Example:
        >>> derive_structure(np.arange(8.0).reshape(1, 2, 4), "slice:-1")
        array([[3., 7.]])
    """
    _check_structure_spec(spec)
    values = np.asarray(spectra, dtype=np.float64)
    if spec == "mean":
        return values.mean(axis=-1)
    if spec == "std":
        return values.std(axis=-1)
    if spec == "abs-mean":
        return np.abs(values).mean(axis=-1)
    if spec.startswith("slice:"):
        index = int(spec[6:])
        if not -values.shape[-1] <= index < values.shape[-1]:
            raise DataError(
                f"structure {spec!r}: spectral index out of range for {values.shape[-1]} channels"
            )
        return values[..., index].copy()
    raise DataError(f"structure {spec!r} cannot be derived from spectra (use it on a file)")


def _select_map(images: list[ImageChannel], name: str, path: Path) -> ImageChannel:
    exact = [im for im in images if im.name == name]
    if not exact:
        exact = [im for im in images if im.name.lower() == name.lower()]
    if not exact:
        exact = [im for im in images if im.name.lower().startswith(name.lower())]
    if len(exact) != 1:
        what = "no" if not exact else "more than one"
        raise DataError(
            f"{path}: {what} image channel matches map:{name!r}; "
            f"channels in the file: {[im.name for im in images]}"
        )
    return exact[0]


def _structure(
    raw: RawSignals, cube: SpectrumCube | None, spec: str, path: Path
) -> list[ImageChannel]:
    if spec.startswith("map:"):
        return [_select_map(raw.images, spec[4:], path)]
    if spec == "file":
        if not raw.images:
            raise DataError(f"{path}: structure='file' but the file has no image channel")
        shapes = {im.data.shape for im in raw.images}
        if len(shapes) > 1:
            raise DataError(
                f"{path}: image channels differ in shape "
                f"({[(im.name, im.data.shape) for im in raw.images]}); choose one with "
                f"structure='map:<name>'"
            )
        return list(raw.images)
    source = raw.cubes[0] if raw.cubes else cube
    if source is None:
        raise DataError(
            f"{path}: structure={spec!r} derives the structure from spectra, but the file "
            f"has no spectrum image; use structure='map:<name>' or 'file'"
        )
    return [
        ImageChannel(
            name=f"{spec}({source.name})" if source.name else spec,
            data=derive_structure(source.data, spec),
            pixel_size=source.pixel_size,
            pixel_units=source.pixel_units,
        )
    ]


def _binning(structure_shape: tuple[int, ...], grid: tuple[int, ...], where: str) -> int:
    (h, w), (gh, gw) = structure_shape, grid
    if gh and gw and h % gh == 0 and w % gw == 0 and h // gh == w // gw:
        return h // gh
    raise DataError(
        f"{where}: structure image {(h, w)} and spectrum grid {(gh, gw)} are not related "
        f"by one integer binning factor (ratios {h / max(gh, 1):g} and {w / max(gw, 1):g}); "
        f"they cannot be co-registered"
    )


def _pixel(
    image: ImageChannel, cube: SpectrumCube | None, binning: int, where: str
) -> tuple[float, str, dict[str, Any]]:
    calibration: dict[str, Any] = {
        "structure": {"scale": image.pixel_size, "units": image.pixel_units},
    }
    if cube is not None:
        calibration["spectra"] = {"scale": cube.pixel_size, "units": cube.pixel_units}
        if (
            image.pixel_size
            and cube.pixel_size
            and image.pixel_units == cube.pixel_units
            and not np.isclose(image.pixel_size * binning, cube.pixel_size, rtol=1e-2)
        ):
            raise DataError(
                f"{where}: structure pixel {image.pixel_size:g} {image.pixel_units} x binning "
                f"{binning} does not match the spectrum pixel {cube.pixel_size:g} "
                f"{cube.pixel_units}; the two are not co-registered"
            )
    if image.pixel_size and is_calibrated(image.pixel_units):
        return float(image.pixel_size), image.pixel_units, calibration
    if cube is not None and cube.pixel_size and is_calibrated(cube.pixel_units):
        return float(cube.pixel_size) / binning, cube.pixel_units, calibration
    calibration["note"] = "no length units in the file; pixel size reported in pixels"
    return 1.0, "px", calibration


def _load(info: ReaderInfo, path: Path) -> RawSignals:
    try:
        return info.load(path)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - third-party readers raise anything on bad files
        raise DataError(
            f"{path}: the {info.name!r} reader could not read this file "
            f"(corrupt, truncated or not {info.description}): {type(exc).__name__}: {exc}"
        ) from exc


def read(
    path: str | Path,
    *,
    structure: str | None = None,
    spectra: str | Path | None = None,
    reader: str | None = None,
) -> SpectralImage:
    """Read a microscopy file (optionally plus a spectrum-image file) into a SpectralImage.

    The reader is chosen from the extension and the content (see
    :func:`~autoscope.data.readers.list_readers`); ``reader=`` forces one.

    Args:
        path: The file holding the structure image(s), or a spectrum image
            alone (its structure is then derived, see ``structure``).
        structure: How to get the structure channel(s): ``"file"`` (all image
            channels of the file, the default when it has any), ``"map:<name>"``
            (one named channel, case-insensitive, prefix allowed: ``"map:Phase"``
            selects ``"PhaseRetrace"``), or a derivation from the spectra:
            ``"mean"``, ``"std"``, ``"abs-mean"`` (default without image
            channels) or ``"slice:<index>"``. Recorded in
            ``provenance["structure"]``.
        spectra: A second file with the co-registered spectrum image; the
            binning (structure pixels per spectrum pixel) is inferred from the
            shapes, e.g. a `(1568, 192)` HAADF with a `(49, 6, 1024)` EELS SI
            gives ``spectra_binning == 32``.
        reader: Registry name forcing the reader of ``path`` (e.g. ``"hspy"``
            for a HyperSpy ``.hdf5``).

    Returns:
        The dataset. Its provenance holds ``path``, ``reader``, ``sha256``
        (and ``spectra_path``/``spectra_reader``/``spectra_sha256`` when
        paired), ``structure``, the pixel calibration found in the files,
        per-file notes and, with spectra, an ``outliers`` summary (see
        :mod:`autoscope.data.outliers`). Nothing is clipped or dropped.

    Raises:
        DataError: Missing, corrupt or unrecognised file; unknown reader or
            structure derivation; spectra with NaN/inf; image and spectra that
            cannot be co-registered.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "cube.npy"
        >>> np.save(file, np.ones((4, 4, 8)))
        >>> image = read(file, structure="slice:0")
        >>> image.provenance["structure"], image.spectra.shape
        ('slice:0', (4, 4, 8))
    """
    if structure is not None:
        _check_structure_spec(structure)
    path = _existing(path, "data")
    info = select_reader(path, reader=reader)
    raw = _load(info, path)
    provenance: dict[str, Any] = {
        "path": str(path.resolve()),
        "reader": info.name,
        "sha256": _sha256(path),
        "file_notes": raw.metadata,
    }
    where = str(path)
    cube: SpectrumCube | None = raw.cubes[0] if raw.cubes else None
    unused = [c.name for c in raw.cubes[1:]]
    if spectra is not None:
        spectra_path = _existing(spectra, "spectra")
        spectra_info = select_reader(spectra_path)
        spectra_raw = _load(spectra_info, spectra_path)
        if not spectra_raw.cubes:
            raise DataError(
                f"{spectra_path}: expected a spectrum image, found only image channels "
                f"{[im.name for im in spectra_raw.images]}"
            )
        unused = [c.name for c in raw.cubes] + [c.name for c in spectra_raw.cubes[1:]]
        cube = spectra_raw.cubes[0]
        where = f"{path} with spectra {spectra_path}"
        provenance.update(
            spectra_path=str(spectra_path.resolve()),
            spectra_reader=spectra_info.name,
            spectra_sha256=_sha256(spectra_path),
            spectra_file_notes=spectra_raw.metadata,
        )
    if unused:
        provenance["unused_spectrum_images"] = unused
    spec = structure or ("file" if raw.images else DEFAULT_STRUCTURE)
    channels = _structure(raw, cube, spec, path)
    provenance["structure"] = spec
    binning = 1 if cube is None else _binning(channels[0].data.shape, cube.data.shape[:2], where)
    pixel_size, pixel_units, calibration = _pixel(channels[0], cube, binning, where)
    provenance["pixel_calibration"] = calibration
    if cube is not None:
        provenance["spectral_axis_name"] = cube.axis_name
    try:
        image = SpectralImage(
            np.stack([c.data for c in channels]),
            spectra=None if cube is None else cube.data,
            spectral_axis=None if cube is None else cube.axis,
            spectral_units="" if cube is None else cube.axis_units,
            pixel_size=pixel_size,
            pixel_units=pixel_units,
            spectra_binning=binning,
            name=path.stem,
            signal_name="" if cube is None else cube.signal_name,
            channel_names=tuple(c.name for c in channels),
            provenance=provenance,
        )
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from exc
    if image.spectra is not None:
        # The provenance dict is ours; filling it after validation avoids a
        # second pass of SpectralImage's checks over a large cube.
        provenance["outliers"] = outlier_summary(image.spectra)
    return image
