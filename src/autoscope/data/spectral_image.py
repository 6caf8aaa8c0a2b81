"""The in-memory form of a measured or simulated sample.

A :class:`SpectralImage` holds a structure channel (cheap, known everywhere)
and, optionally, co-registered spectra (expensive, revealed one point at a
time by an instrument). Readers turn real files into it; digital twins
generate it together with ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autoscope.errors import DataError

__all__ = ["SpectralImage"]


@dataclass(frozen=True, eq=False)
class SpectralImage:
    """A structure image with optional co-registered spectra.

    Attributes:
        structure: Structure channel(s), `(H, W)` or `(C, H, W)`, finite floats.
        spectra: Spectra on the same grid, `(H, W, S)`, or ``None`` for an
            image-only dataset. The grid may be coarser than the structure
            image by an integer factor ``spectra_binning`` (e.g. a HAADF
            recorded 32x oversampled relative to an EELS spectrum image).
        spectral_axis: Axis values `(S,)`; monotonic for spectra, a sweep (e.g. a
            bipolar voltage triangle) for hysteresis loops.
        spectral_units: Units of ``spectral_axis`` (``"V"``, ``"eV"``, ``"keV"``).
        pixel_size: Size of one structure pixel in ``pixel_units``.
        pixel_units: Units of ``pixel_size`` (``"nm"``, ``"m"``, ``"px"``).
        spectra_binning: Structure pixels per spectrum pixel along each axis.
        name: Short human-readable name.
        signal_name: What the spectra measure, with units if known.
        channel_names: One name per structure channel.
        provenance: Where the data came from and how it was derived (file,
            reader, derivation of the structure channel, seeds of a twin).
        ground_truth: Named `(H', W')` maps on the spectrum grid that are
            known for twins (e.g. ``"coercive_bias"``); empty for real data.

    Example:
        >>> import numpy as np
        >>> image = SpectralImage(np.zeros((8, 8)), spectra=np.ones((8, 8, 4)),
        ...                       spectral_axis=np.arange(4.0))
        >>> image.spectrum_grid_shape
        (8, 8)
    """

    structure: np.ndarray
    spectra: np.ndarray | None = None
    spectral_axis: np.ndarray | None = None
    spectral_units: str = ""
    pixel_size: float = 1.0
    pixel_units: str = "px"
    spectra_binning: int = 1
    name: str = "unnamed"
    signal_name: str = ""
    channel_names: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    ground_truth: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"SpectralImage {self.name!r}"
        structure = np.asarray(self.structure)
        if structure.ndim == 2:
            structure = structure[None]
        if structure.ndim != 3 or min(structure.shape) < 1:
            raise DataError(
                f"{where}: structure must be (H, W) or (C, H, W), got shape {self.structure.shape}"
            )
        if not np.issubdtype(structure.dtype, np.number):
            raise DataError(f"{where}: structure must be numeric, got dtype {structure.dtype}")
        structure = structure.astype(np.float64, copy=False)
        bad = ~np.isfinite(structure)
        if bad.any():
            raise DataError(
                f"{where}: structure has {int(bad.sum())} NaN/inf pixels "
                f"(first at channel/row/col {tuple(int(i) for i in np.argwhere(bad)[0])})"
            )
        object.__setattr__(self, "structure", structure)
        names = tuple(self.channel_names) or tuple(
            f"channel_{i}" for i in range(structure.shape[0])
        )
        if len(names) != structure.shape[0]:
            raise DataError(
                f"{where}: {len(names)} channel names for {structure.shape[0]} structure channels"
            )
        object.__setattr__(self, "channel_names", names)
        if int(self.spectra_binning) < 1:
            raise DataError(f"{where}: spectra_binning must be >= 1, got {self.spectra_binning}")
        object.__setattr__(self, "spectra_binning", int(self.spectra_binning))
        if not (np.isfinite(self.pixel_size) and self.pixel_size > 0):
            raise DataError(f"{where}: pixel_size must be positive, got {self.pixel_size}")
        if self.spectra is not None:
            self._validate_spectra(where)

    def _validate_spectra(self, where: str) -> None:
        spectra = np.asarray(self.spectra)
        if spectra.ndim != 3:
            raise DataError(f"{where}: spectra must be (H, W, S), got shape {spectra.shape}")
        if not np.issubdtype(spectra.dtype, np.number):
            raise DataError(f"{where}: spectra must be numeric, got dtype {spectra.dtype}")
        h, w = self.structure.shape[1:]
        b = self.spectra_binning
        if (spectra.shape[0] * b, spectra.shape[1] * b) != (h, w):
            raise DataError(
                f"{where}: spectra grid {spectra.shape[:2]} x binning {b} does not match the "
                f"structure image {(h, w)}; spectra and image must be co-registered"
            )
        spectra = spectra.astype(np.float64, copy=False)
        bad = ~np.isfinite(spectra)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(
                f"{where}: spectra have {int(bad.sum())} NaN/inf values (first at row/col/channel "
                f"{first}); clean or mask them explicitly before building a SpectralImage"
            )
        object.__setattr__(self, "spectra", spectra)
        axis = self.spectral_axis
        if axis is None:
            axis = np.arange(spectra.shape[2], dtype=np.float64)
        axis = np.asarray(axis, dtype=np.float64)
        if axis.shape != (spectra.shape[2],):
            raise DataError(
                f"{where}: spectral_axis has shape {axis.shape}, expected ({spectra.shape[2]},)"
            )
        if not np.all(np.isfinite(axis)):
            raise DataError(f"{where}: spectral_axis has NaN/inf values")
        object.__setattr__(self, "spectral_axis", axis)
        for key, value in self.ground_truth.items():
            if np.shape(value) != spectra.shape[:2]:
                raise DataError(
                    f"{where}: ground truth {key!r} has shape {np.shape(value)}, "
                    f"expected the spectrum grid {spectra.shape[:2]}"
                )

    @property
    def image(self) -> np.ndarray:
        """The first structure channel, `(H, W)`."""
        return self.structure[0]

    @property
    def shape(self) -> tuple[int, int]:
        """Structure image shape `(H, W)`."""
        return self.structure.shape[1], self.structure.shape[2]

    @property
    def has_spectra(self) -> bool:
        """Whether spectra are present."""
        return self.spectra is not None

    @property
    def spectrum_grid_shape(self) -> tuple[int, int]:
        """Shape `(H', W')` of the spectrum grid (``H / spectra_binning``)."""
        b = self.spectra_binning
        return self.shape[0] // b, self.shape[1] // b

    @property
    def n_channels(self) -> int:
        """Number of spectral channels ``S`` (0 without spectra)."""
        return 0 if self.spectra is None else self.spectra.shape[2]

    def bin_spectra(self, factor: int) -> SpectralImage:
        """Sum the spectra over ``factor x factor`` blocks of the spectrum grid.

        Summing (not averaging) keeps count data Poisson; the structure image is
        untouched and ``spectra_binning`` grows by ``factor``, so each binned
        spectrum stays co-registered with its block of the image. Ground-truth
        maps are averaged over the same blocks.

        Args:
            factor: Block side; must divide both spectrum-grid dimensions.

        Returns:
            A new image with spectra `(H' / factor, W' / factor, S)`.

        Raises:
            DataError: No spectra, or ``factor`` does not divide the grid.

        Example:
            >>> image = SpectralImage(np.zeros((4, 4)), spectra=np.ones((4, 4, 2)))
            >>> image.bin_spectra(2).spectra[0, 0].tolist(), image.bin_spectra(2).spectra_binning
            ([4.0, 4.0], 2)
        """
        if self.spectra is None:
            raise DataError(f"{self.name!r} has no spectra to bin")
        factor = int(factor)
        h, w, s = self.spectra.shape
        if factor < 1 or h % factor or w % factor:
            raise DataError(
                f"bin factor {factor} must be >= 1 and divide the spectrum grid {(h, w)} "
                f"of {self.name!r}"
            )
        blocks = (h // factor, factor, w // factor, factor)
        spectra = self.spectra.reshape(blocks + (s,)).sum(axis=(1, 3))
        truth = {k: v.reshape(blocks).mean(axis=(1, 3)) for k, v in self.ground_truth.items()}
        return replace(
            self,
            spectra=spectra,
            spectra_binning=self.spectra_binning * factor,
            ground_truth=truth,
            provenance={**self.provenance, "spectra_binned": factor},
        )

    def with_provenance(self, **entries: Any) -> SpectralImage:
        """Return a copy with ``entries`` merged into the provenance."""
        return replace(self, provenance={**self.provenance, **entries})

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary (shapes, units, provenance)."""
        return {
            "name": self.name,
            "structure_shape": list(self.structure.shape),
            "channel_names": list(self.channel_names),
            "spectra_shape": None if self.spectra is None else list(self.spectra.shape),
            "spectral_units": self.spectral_units,
            "signal_name": self.signal_name,
            "pixel_size": self.pixel_size,
            "pixel_units": self.pixel_units,
            "spectra_binning": self.spectra_binning,
            "ground_truth": sorted(self.ground_truth),
            "provenance": self.provenance,
        }
