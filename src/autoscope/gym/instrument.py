"""A simulated STEM world as an autoscope :class:`~autoscope.instruments.Instrument`.

:class:`WorldInstrument` lets a campaign (any autoscope policy) drive a gym
world: the instrument's grid is the world's tile grid, and measuring a point
scans that tile at a fixed dose, exactly as a
:class:`~autoscope.gym.env.STEMEnv` step does (same acquisition, same beam
damage, same dose-weighted mosaic), then lets an analyst update its findings.

The "spectrum" of a point has two channels:

0. ``mean_signal``: the tile's mean scattered fraction in the mosaic (the
   dose-weighted mean of its frames), a proxy for the local projected Z;
1. ``features``: what the analyst found in the tile so far: defect columns
   (type > 0) + nanoparticle centres + rare-feature candidates
   (:func:`~autoscope.gym.agents.tile_interest`; 0 with ``analyst="none"``).

Cost of a point: ``dose`` e/Å² on the tile, and ``tile_px²`` pixels times the
dwell time, which by default follows from the dose and the beam current
(``dwell = dose * pixel_area / (I / e)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import ConfigError, DataError
from autoscope.gym._checks import positive as _positive
from autoscope.gym.agents import tile_interest
from autoscope.gym.analysts import Analyst, Findings
from autoscope.gym.env import _resolve_analyst, add_frame
from autoscope.gym.world import World
from autoscope.instruments.base import Cost, Measurement

__all__ = ["CHANNELS", "WorldInstrument"]

#: Names of the spectrum channels.
CHANNELS = ("mean_signal", "features")

_ELECTRON_CHARGE_C = 1.602176634e-19


class WorldInstrument:
    """Scan the tiles of a gym world on request.

    Args:
        world: The world (``make_world(...)``); it is changed by beam damage.
        dose: Dose of every scan, e/Å².
        analyst: Analyst name (``"classical"``, ``"cnn"``, ``"none"``) or instance for the
            ``features`` channel.
        beam_current_pA: Probe current, which sets the dwell time per pixel.
        dwell_s: Dwell time per pixel in seconds; None derives it from ``dose`` and
            ``beam_current_pA``.
        seed: Seed of the scan noise.

    Example:
        >>> from autoscope.gym.world import make_world
        >>> from autoscope.instruments import check_instrument
        >>> world = make_world("SrTiO3", "Easy", seed=0, shape=(128, 128))
        >>> check_instrument(WorldInstrument(world, analyst="none"))
    """

    def __init__(
        self,
        world: World,
        *,
        dose: float = 1e4,
        analyst: str | Analyst | None = "classical",
        beam_current_pA: float = 50.0,
        dwell_s: float | None = None,
        seed: int = 0,
    ) -> None:
        if not (hasattr(world, "acquire") and hasattr(world, "info")):
            raise ConfigError(
                f"WorldInstrument needs a World (make_world), got {type(world).__name__}"
            )
        self.world = world
        self.dose = _positive("dose", dose)
        self.beam_current_pA = _positive("beam_current_pA", beam_current_pA)
        info = world.info
        if dwell_s is None:
            electrons_per_pixel = self.dose * info.pixel_size_A**2
            dwell_s = electrons_per_pixel * _ELECTRON_CHARGE_C / (self.beam_current_pA * 1e-12)
        self.dwell_s = _positive("dwell_s", dwell_s)
        self.seconds_per_point = self.dwell_s * info.tile_px**2
        self.analyst = _resolve_analyst(analyst)
        self.seed = int(seed)
        self.reset()

    def reset(self) -> None:
        """Forget the scans (the world keeps its beam damage) and reseed the noise."""
        shape = tuple(self.world.info.shape)
        self.rng = np.random.default_rng(self.seed)
        self._weighted = np.zeros(shape, dtype=np.float64)
        self._dose = np.zeros(shape, dtype=np.float64)
        self._image = np.zeros(shape, dtype=np.float32)
        self._dose32 = np.zeros(shape, dtype=np.float32)
        self.analyst.reset(self.world.info)
        self.n_scans = np.zeros(self.world.info.n_tiles, dtype=np.int64)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """The tile grid `(n_tiles_y, n_tiles_x)`."""
        return int(self.world.info.n_tiles_y), int(self.world.info.n_tiles_x)

    @property
    def findings(self) -> Findings:
        """The analyst's latest findings."""
        return self.analyst.findings

    @property
    def mosaic(self) -> np.ndarray:
        """`(H, W)` dose-weighted mean of the frames so far (0 unscanned), a copy."""
        return self._image.copy()

    # -- protocol ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Name, tile grid, channels, cost model and world."""
        info = self.world.info
        return {
            "name": f"gym-world:{info.material}-{info.difficulty}",
            "grid_shape": list(self.grid_shape),
            "n_channels": len(CHANNELS),
            "channel_names": list(CHANNELS),
            "units": {
                "dose": "e/Å²",
                "seconds": "s",
                "mean_signal": "scattered fraction",
                "features": "count",
            },
            "tile_px": int(info.tile_px),
            "pixel_size_A": float(info.pixel_size_A),
            "dose_per_point": self.dose,
            "seconds_per_point": self.seconds_per_point,
            "dwell_s": self.dwell_s,
            "beam_current_pA": self.beam_current_pA,
            "analyst": self.analyst.name,
            "world_seed": int(self.world.seed),
            "seed": self.seed,
        }

    def overview(self) -> SpectralImage:
        """The mosaic scanned so far (all zeros before any scan): nothing is seen for free."""
        info = self.world.info
        return SpectralImage(
            structure=self._image.astype(np.float64),
            spectra_binning=int(info.tile_px),
            pixel_size=float(info.pixel_size_A) / 10.0,
            pixel_units="nm",
            name=f"gym-world:{info.material}-{info.difficulty}",
            signal_name="HAADF scattered fraction",
            provenance={"instrument": "WorldInstrument", "world_seed": int(self.world.seed)},
        )

    def expected_cost(self, points: np.ndarray) -> Cost:
        """Cost of scanning the tiles ``points`` `(k, 2)`."""
        k = len(self._validate(points))
        return Cost(self.seconds_per_point * k, self.dose * k)

    def measure(self, points: np.ndarray) -> Measurement:
        """Scan the tiles ``points`` `(k, 2)` (row, col on the tile grid), in order.

        Raises:
            DataError: A point lies outside the tile grid (nothing is scanned).
        """
        points = self._validate(points)
        info = self.world.info
        spectra = np.empty((len(points), len(CHANNELS)))
        records = []
        for j, (row, col) in enumerate(points.tolist()):
            tile = row * info.n_tiles_x + col
            r0, r1, c0, c1 = bounds = info.tile_bounds(tile)
            frame = self.world.acquire(bounds, self.dose, self.rng)
            add_frame(
                self._weighted, self._dose, self._image, self._dose32, bounds, frame, self.dose
            )
            findings = self.analyst.update(self._image, self._dose32, bounds)
            self.n_scans[tile] += 1
            spectra[j, 0] = float(self._image[r0:r1, c0:c1].mean())
            spectra[j, 1] = float(tile_interest(findings, info)[tile])
            records.append(
                {
                    "tile": int(tile),
                    "bounds": [int(b) for b in bounds],
                    "n_scans": int(self.n_scans[tile]),
                }
            )
        k = len(points)
        return Measurement(
            spectra,
            np.full(k, self.seconds_per_point),
            np.full(k, self.dose),
            tuple(records),
        )

    def _validate(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 2 or not np.issubdtype(points.dtype, np.integer):
            raise DataError(
                f"points must be an integer array (k, 2) of tile (row, col), got "
                f"{points.dtype} {points.shape}"
            )
        h, w = self.grid_shape
        outside = (
            (points[:, 0] < 0) | (points[:, 0] >= h) | (points[:, 1] < 0) | (points[:, 1] >= w)
        )
        if outside.any():
            raise DataError(
                f"tile {points[np.argmax(outside)].tolist()} lies outside the tile grid {(h, w)}"
            )
        return points
