"""Run a gym analyst on a real image: resample, calibrate, analyse tile by tile.

An analyst is trained and tuned on simulated worlds whose pixel size and
intensity scale are known; a real image has its own. :func:`analyse_image`
bridges the two in three documented steps:

1. **resample** the image to the simulated material's pixel size (linear
   interpolation, :func:`scipy.ndimage.zoom`, after a Gaussian anti-aliasing
   blur when shrinking) and crop it to whole tiles;
2. **calibrate** the intensities linearly so that the image's 1st and 99.5th
   percentiles match those of a simulated world of the same material (its
   noiseless signal): the analyst then sees the scattered-fraction scale it
   knows. This is a two-number calibration, not a model of the detector;
3. **analyse** every tile in raster order with a constant nominal dose map
   (``dose_e_per_A2``, which only sets the analyst's noise expectations).

Positions come back in the ORIGINAL image's pixels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from autoscope.errors import ConfigError
from autoscope.gym.analysts import Analyst, Findings
from autoscope.gym.world import WorldInfo, make_world

__all__ = ["ImageAnalysis", "analyse_image"]


@dataclass(frozen=True)
class ImageAnalysis:
    """An analyst's findings on a real image.

    Attributes:
        findings: The findings in the resampled frame.
        scale: Resampled pixels per original pixel along (rows, cols) of the analysed
            frame: ``pixel_size / world pixel size``, adjusted to whole output pixels.
        info: The world description the analyst was given.
        image: The resampled, calibrated image the analyst saw `(H', W')`.
        transposed: Whether the analyst saw the image transposed.
    """

    findings: Findings
    scale: tuple[float, float]
    info: WorldInfo
    image: np.ndarray
    transposed: bool = False

    @property
    def atoms_px(self) -> np.ndarray:
        """Found columns `(K, 2)` in ORIGINAL image pixels ``(row, col)``."""
        # grid_mode resampling maps pixel edges onto pixel edges: centre x' of the
        # resampled image sits at (x' + 0.5) / scale - 0.5 in the original.
        atoms = (self.findings.atoms_px + 0.5) / np.asarray(self.scale) - 0.5
        return atoms[:, ::-1] if self.transposed else atoms

    @property
    def defects_px(self) -> np.ndarray:
        """Columns typed as a defect `(D, 2)` in original pixels."""
        return self.atoms_px[np.asarray(self.findings.atom_types) > 0]


def analyse_image(
    image: np.ndarray,
    pixel_size_A: float,
    *,
    analyst: Analyst,
    material: str = "SrTiO3",
    dose_e_per_A2: float = 1e4,
    transpose: bool = False,
) -> ImageAnalysis:
    """Run ``analyst`` over a real image as if it were a fully scanned world.

    Args:
        image: Image `(H, W)` (HAADF: columns bright).
        pixel_size_A: Its pixel size in Å (> 0).
        analyst: The analyst (reset here).
        material: The simulated material whose scale and vocabulary the analyst
            uses (its phase names, sublattices and pixel size).
        dose_e_per_A2: Nominal dose of the constant dose map.
        transpose: Swap the image's axes first, for a scan whose zone-axis frame is
            the simulated one turned by 90° (the classical analyst's cell templates
            are aligned with the world's axes); positions are mapped back.

    Returns:
        The findings, with positions mapped back to the original pixels.

    Raises:
        ConfigError: A non-2-D or non-finite image, a bad pixel size or dose, or
            an image smaller than two tiles after resampling.
    """
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2 or not np.all(np.isfinite(data)):
        raise ConfigError(f"image must be a finite 2-D array, got shape {data.shape}")
    if not (np.isfinite(pixel_size_A) and pixel_size_A > 0):
        raise ConfigError(f"pixel_size_A must be > 0, got {pixel_size_A!r}")
    if not (np.isfinite(dose_e_per_A2) and dose_e_per_A2 > 0):
        raise ConfigError(f"dose_e_per_A2 must be > 0, got {dose_e_per_A2!r}")
    if transpose:
        data = data.T
    reference = make_world(material, "Easy", seed=0)
    tile = reference.info.tile_px
    scale = float(pixel_size_A) / reference.info.pixel_size_A
    if scale < 1:
        data = ndimage.gaussian_filter(data, sigma=0.5 / scale)
    out_shape = np.maximum(1, np.round(np.array(data.shape) * scale)).astype(int)
    scale_yx = out_shape / np.array(data.shape)  # exact per axis: edges map onto edges
    resampled = ndimage.zoom(data, scale_yx, order=1, grid_mode=True, mode="nearest")
    h, w = (s // tile * tile for s in resampled.shape)
    if h < 2 * tile or w < 2 * tile:
        raise ConfigError(
            f"the image is {resampled.shape} px at the world's pixel size "
            f"{reference.info.pixel_size_A} Å; at least {2 * tile} px per side are needed"
        )
    resampled = resampled[:h, :w]
    lo, hi = np.percentile(resampled, [1.0, 99.5])
    ref_lo, ref_hi = np.percentile(reference.signal, [1.0, 99.5])
    if hi <= lo:
        raise ConfigError("the image is constant; nothing to analyse")
    calibrated = ((resampled - lo) * (ref_hi - ref_lo) / (hi - lo) + ref_lo).astype(np.float32)
    calibrated = np.clip(calibrated, 0.0, None)
    info = dataclasses.replace(reference.info, shape=(h, w))
    dose = np.full((h, w), dose_e_per_A2, dtype=np.float32)
    analyst.reset(info)
    findings = Findings.empty(info)
    for index in range(info.n_tiles):
        findings = analyst.update(calibrated, dose, info.tile_bounds(index))
    return ImageAnalysis(
        findings=findings,
        scale=(float(scale_yx[0]), float(scale_yx[1])),
        info=info,
        image=calibrated,
        transposed=transpose,
    )
