"""Small synthetic datasets shared by tests (no real data, no twins)."""

from __future__ import annotations

import numpy as np

from autoscope.data.spectral_image import SpectralImage


def toy_image(size: int = 20, n_channels: int = 6, seed: int = 0) -> SpectralImage:
    """A random structure image with spectra whose sum is a smooth function of position."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size] / size
    structure = np.sin(4 * rows) + np.cos(3 * cols) + 0.1 * rng.random((size, size))
    level = (rows - 0.5) ** 2 + (cols - 0.3) ** 2
    spectra = level[..., None] * np.linspace(0.5, 1.5, n_channels) + 0.01 * rng.random(
        (size, size, n_channels)
    )
    return SpectralImage(
        structure,
        spectra=spectra,
        spectral_axis=np.linspace(0.0, 1.0, n_channels),
        spectral_units="eV",
        name="toy",
    )


def total(spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """A trivial scalarizer: the sum of each spectrum."""
    return spectra.sum(axis=1)
