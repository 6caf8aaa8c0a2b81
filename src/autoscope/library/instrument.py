"""The particle library as a stage-aware instrument with a simulated clock.

A point of the instrument is a particle's grid cell. Measuring it moves the
stage when the particle lies outside the current field of view (region),
records an EDX frame of the whole new field of view the first time a region
is visited (which reveals every particle's composition there), and measures
the property of the particle (EELS, 1 s by default). Every second is charged
to the measurement through :class:`~autoscope.library.costs.MotionCost`, and
each measurement carries a record of the move (region, stage position,
whether the region was new) that the campaign stores with it, so the stage
path, clock and region changes of a run are durable.

The stage sits at the centre of a region and reaches every particle of it by
beam shift; moving to another region travels between region centres.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autoscope.errors import DataError, InstrumentError
from autoscope.instruments.base import Cost, Measurement
from autoscope.library.simulator import ParticleLibrary, measured_property, region_of

__all__ = ["LibraryInstrument"]


class LibraryInstrument:
    """A simulated STEM over a random particle library.

    The spectrum of a particle is one channel: its measured property.

    Args:
        library: The library.
        seed: Seed of the property measurement noise (``spec.property_noise``).

    Example:
        >>> from autoscope.instruments import check_instrument
        >>> from autoscope.library.simulator import LibrarySpec, make_library
        >>> library = make_library(LibrarySpec(area_um=60.0, n_gaussians=50), seed=0)
        >>> check_instrument(LibraryInstrument(library))
    """

    def __init__(self, library: ParticleLibrary, *, seed: int = 0) -> None:
        self.library = library
        self.seed = int(seed)
        self.costs = library.spec.costs
        self._centres = library.region_centres_um()
        self.reset()

    def reset(self) -> None:
        """Stage at the area's centre, nothing discovered, clock at zero."""
        area = self.library.spec.area_um
        self.stage_um = np.array([area / 2, area / 2])
        self.region: int | None = None
        self.discovered: set[int] = set()
        self.clock = 0.0
        self._pending_seconds = 0.0
        self._n_measured = 0

    # -- protocol ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Name, grid, cost model and library parameters."""
        spec = self.library.spec
        return {
            "name": "particle-library",
            "grid_shape": [spec.grid_cells, spec.grid_cells],
            "n_channels": 1,
            "spectral_axis": [0.0],
            "units": {"position": "µm", "seconds": "s", "property": "field units"},
            "n_particles": len(self.library),
            "n_regions": self.library.n_regions,
            "library": spec.to_dict(),
            "seed": self.seed,
        }

    def overview(self) -> Any:
        """The survey image (free)."""
        return self.library.overview()

    def expected_cost(self, points: np.ndarray) -> Cost:
        """Time to measure ``points`` `(k, 2)` in order from the current stage state."""
        indices = self._indices(points)
        region, discovered = self.region, set(self.discovered)
        seconds = self._pending_seconds
        for i in indices:
            seconds += self._step(int(self.library.region[i]), region, discovered)["seconds"]
            region = int(self.library.region[i])
            discovered.add(region)
        return Cost(seconds=float(seconds))

    def measure(self, points: np.ndarray) -> Measurement:
        """Measure the property of the particles at ``points`` `(k, 2)`, in order.

        Raises:
            InstrumentError: A point is not a particle's cell (nothing is measured).
        """
        indices = self._indices(points)
        spectra = np.empty((len(indices), 1))
        seconds = np.empty(len(indices))
        records = []
        for j, i in enumerate(indices):
            target = int(self.library.region[i])
            step = self._step(target, self.region, self.discovered)
            step["seconds"] += self._pending_seconds
            self._pending_seconds = 0.0
            if step["moved"]:
                self.stage_um = self._centres[target].copy()
            self.region = target
            self.discovered.add(target)
            spectra[j, 0] = measured_property(self.library, int(i), seed=self.seed)
            seconds[j] = step["seconds"]
            self.clock += step["seconds"]
            self._n_measured += 1
            records.append(
                {
                    "particle": int(i),
                    "region": target,
                    "stage_um": [float(v) for v in self.stage_um],
                    "moved": bool(step["moved"]),
                    "new_region": bool(step["new_region"]),
                    "move_seconds": float(step["move"]),
                    "clock": float(self.clock),
                }
            )
        return Measurement(spectra, seconds, np.zeros(len(indices)), tuple(records))

    # -- stage ------------------------------------------------------------------------------
    def move_stage(self, target_um: Iterable[float]) -> Cost:
        """Move the stage to the region containing ``target_um`` `(y, x)` (µm).

        The move's time is charged to the next measurement (nothing is lost
        from the clock).

        Raises:
            DataError: The target lies outside the accessible area.
        """
        y, x = (float(v) for v in target_um)
        area = self.library.spec.area_um
        if not (0 <= y <= area and 0 <= x <= area):
            raise DataError(
                f"stage target ({y:.1f}, {x:.1f}) µm lies outside the accessible "
                f"{area:.0f} × {area:.0f} µm area"
            )
        target = int(region_of(self.library.spec, np.array([[y, x]]))[0])
        step = self._step(target, self.region, self.discovered)
        if step["moved"]:
            self.stage_um = self._centres[target].copy()
        self.region = target
        self._pending_seconds += step["move"]
        self.clock += step["move"]
        return Cost(seconds=float(step["move"]))

    def replay_requests(self, points: Iterable[tuple[int, int]]) -> None:
        """Restore the stage state after ``points`` were measured, in order (for a resume)."""
        self.reset()
        indices = self._indices(np.array(list(points), dtype=np.int64).reshape(-1, 2))
        for i in indices:
            target = int(self.library.region[i])
            self.clock += self._step(target, self.region, self.discovered)["seconds"]
            self.stage_um = self._centres[target].copy()
            self.region = target
            self.discovered.add(target)
            self._n_measured += 1

    # -- internals --------------------------------------------------------------------------
    def _step(self, target: int, region: int | None, discovered: set[int]) -> dict[str, Any]:
        """Time of measuring one particle in region ``target`` from ``region``."""
        costs = self.costs
        moved = region != target
        if moved:
            start = self.stage_um if region is None else self._centres[region]
            distance = float(np.hypot(*(self._centres[target] - start)))
            move = float(costs.move_seconds(distance, inside_fov=False))
        else:
            move = float(costs.move_seconds(0.0, inside_fov=True))
        new_region = target not in discovered
        seconds = move + (costs.edx_frame_seconds if new_region else 0.0) + costs.measure_seconds
        return {"seconds": seconds, "move": move, "moved": moved, "new_region": new_region}

    def _indices(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 2:
            raise DataError(f"points must be (k, 2) grid cells, got shape {points.shape}")
        lookup = self.library.index_of_cell
        g = self.library.spec.grid_cells
        out = []
        for row, col in points.tolist():
            if not (0 <= row < g and 0 <= col < g):
                raise DataError(f"grid cell ({row}, {col}) lies outside the {g} × {g} grid")
            index = lookup.get((int(row), int(col)))
            if index is None:
                raise InstrumentError(f"no particle at grid cell ({row}, {col})")
            out.append(index)
        return np.array(out, dtype=np.int64)
