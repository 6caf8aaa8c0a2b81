"""The random-library simulator: particles of random composition on a TEM grid.

:func:`make_library` draws, under one seed, the particles of a random library:
positions on the accessible area, radii, true compositions on the
D-simplex, the EDX read-out of each composition (noise falling with particle
size, least-certain component re-estimated from the simplex constraint), and
the target property from a :class:`~autoscope.library.field.TargetField`,
evaluated once at the particle compositions and at a fixed reference set of
simplex points (the set the model error is measured on).

The area is tiled into square beam-shift fields of view (*regions*); the
stage sits at the centre of one region and reaches every particle of it by
beam shift. Positions are snapped to a grid of ``grid_um`` cells, one
particle per cell (a hard-core process at the cell scale), so that a particle
is also a `(row, col)` point of the campaign's grid.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import ConfigError
from autoscope.library.costs import MotionCost
from autoscope.library.field import TargetField, reference_points
from autoscope.library.simplex import SimplexEstimate, observe_compositions, sample_simplex

__all__ = ["LibrarySpec", "ParticleLibrary", "make_library", "measured_property", "region_of"]


@dataclass(frozen=True)
class LibrarySpec:
    """What a simulated library looks like (the paper's simulation defaults).

    Attributes:
        n_components: Components D of the composition simplex (2 to 8).
        area_um: Side of the square accessible area (µm).
        density_per_um2: Mean particles per µm² (the count is Poisson).
        radius_mean_nm: Mean particle radius (nm).
        radius_sd_nm: Standard deviation of the radius (nm); radii are log-normal
            with this mean and standard deviation, so always positive.
        n_gaussians: Gaussians in the target field.
        field_width: Standard deviation of each Gaussian in composition space.
        amplitudes: ``"signed"`` (multimodal, default) or ``"positive"``.
        grid_um: Cell size of the position grid (µm): one particle per cell.
        edx_sigma_ref: EDX standard deviation per component at ``edx_radius_ref_nm``.
        edx_radius_ref_nm: Radius at which the EDX noise is ``edx_sigma_ref``.
        property_noise: Standard deviation of the measured property around the
            field (in field units; 0 = noiseless).
        n_reference: Simplex points the model error is measured on.
        costs: The motion and measurement time model (its ``fov_um`` sets the regions).
    """

    n_components: int = 3
    area_um: float = 300.0
    density_per_um2: float = 0.02
    radius_mean_nm: float = 20.0
    radius_sd_nm: float = 10.0
    n_gaussians: int = 1000
    field_width: float = 0.1
    amplitudes: str = "signed"
    grid_um: float = 1.0
    edx_sigma_ref: float = 0.02
    edx_radius_ref_nm: float = 20.0
    property_noise: float = 0.0
    n_reference: int = 2000
    costs: MotionCost = field(default_factory=MotionCost)

    def __post_init__(self) -> None:
        if not 2 <= int(self.n_components) <= 8:
            raise ConfigError(f"library: n_components must be 2..8, got {self.n_components}")
        for name in ("area_um", "density_per_um2", "radius_mean_nm", "grid_um", "field_width"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"library: {name} must be > 0, got {getattr(self, name)}")
        if self.radius_sd_nm < 0 or self.property_noise < 0:
            raise ConfigError("library: radius_sd_nm and property_noise must be >= 0")
        if self.costs.fov_um > self.area_um:
            raise ConfigError(
                f"library: the field of view ({self.costs.fov_um} µm) is larger than the "
                f"accessible area ({self.area_um} µm); shrink costs.fov_um or grow area_um"
            )
        if self.grid_um > self.costs.fov_um:
            raise ConfigError("library: grid_um must not exceed the field of view")
        expected = self.density_per_um2 * self.area_um**2
        if expected > 0.5 * self.grid_cells**2:
            raise ConfigError(
                f"library: {expected:.0f} particles expected on {self.grid_cells**2} grid cells; "
                "lower density_per_um2 or grid_um (at most one particle per cell)"
            )

    @property
    def grid_cells(self) -> int:
        """Cells per side of the position grid."""
        return int(math.ceil(self.area_um / self.grid_um))

    @property
    def regions_per_side(self) -> int:
        """Regions (fields of view) per side of the area."""
        return int(math.ceil(self.area_um / self.costs.fov_um))

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> LibrarySpec:
        """Build from config options; ``costs`` is a table of :class:`MotionCost` fields.

        Raises:
            ConfigError: An unknown option.
        """
        options = dict(options)
        costs = options.pop("costs", {})
        known = {f.name for f in cls.__dataclass_fields__.values()} - {"costs"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"library: unknown option(s) {unknown}; known: {sorted(known)}")
        try:
            cost_model = costs if isinstance(costs, MotionCost) else MotionCost(**costs)
        except TypeError as err:
            raise ConfigError(f"library costs: {err}") from None
        return cls(**options, costs=cost_model)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (the inverse of :meth:`from_dict`)."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class ParticleLibrary:
    """One simulated library (all arrays read-only).

    Attributes:
        spec: How it was made.
        seed: The seed it was made with.
        cells: Grid cell `(row, col)` of each particle, `(N, 2)`.
        positions_um: Position `(y, x)` of each particle (µm), `(N, 2)`.
        radius_nm: Radius of each particle, `(N,)`.
        composition: True composition, `(N, D)`, rows on the simplex.
        edx: The EDX read-out (fractions `(N, D)`, uncertainty `(N,)`, flags).
        region: Region (field of view) index of each particle, `(N,)`.
        prop: True target property of each particle, `(N,)`.
        reference: Reference compositions, `(R, D)`.
        reference_prop: True property at the reference compositions, `(R,)`.
        field: The target field.
    """

    spec: LibrarySpec
    seed: int
    cells: np.ndarray
    positions_um: np.ndarray
    radius_nm: np.ndarray
    composition: np.ndarray
    edx: SimplexEstimate
    region: np.ndarray
    prop: np.ndarray
    reference: np.ndarray
    reference_prop: np.ndarray
    field: TargetField

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def n_regions(self) -> int:
        """Number of regions (including empty ones)."""
        return self.spec.regions_per_side**2

    def region_centres_um(self) -> np.ndarray:
        """Centre `(y, x)` of every region (µm), `(n_regions, 2)`; stage positions."""
        fov, side = self.spec.costs.fov_um, self.spec.regions_per_side
        rows, cols = np.divmod(np.arange(side * side), side)
        centres = np.stack([(rows + 0.5) * fov, (cols + 0.5) * fov], axis=1)
        return np.minimum(centres, self.spec.area_um)

    @cached_property
    def region_counts(self) -> np.ndarray:
        """Particles per region, `(n_regions,)`."""
        return np.bincount(self.region, minlength=self.n_regions)

    @cached_property
    def index_of_cell(self) -> dict[tuple[int, int], int]:
        """Particle index of each occupied grid cell."""
        return {(int(r), int(c)): i for i, (r, c) in enumerate(self.cells)}

    def survey_image(self) -> np.ndarray:
        """A low-magnification survey, `(G, G)`: each cell's particle volume (nm³ / 1e4)."""
        g = self.spec.grid_cells
        image = np.zeros((g, g))
        image[self.cells[:, 0], self.cells[:, 1]] = self.radius_nm**3 / 1e4
        return image

    def overview(self) -> SpectralImage:
        """The survey as the instrument's free overview (no spectra, no truth)."""
        return SpectralImage(
            self.survey_image(),
            pixel_size=self.spec.grid_um,
            pixel_units="µm",
            name=f"particle-library-D{self.spec.n_components}",
            signal_name="property",
            provenance={
                "simulator": "autoscope.library",
                "seed": self.seed,
                "spec": self.spec.to_dict(),
            },
        )

    def truth_map(self) -> np.ndarray:
        """True property on the grid, `(G, G)`; NaN where no particle is."""
        g = self.spec.grid_cells
        out = np.full((g, g), np.nan)
        out[self.cells[:, 0], self.cells[:, 1]] = self.prop
        return out


def make_library(spec: LibrarySpec | None = None, *, seed: int = 0) -> ParticleLibrary:
    """Draw a random library.

    The particle count is Poisson with mean ``density × area²``; cells are drawn
    without replacement; a particle sits uniformly inside its cell.

    Args:
        spec: The library's parameters (defaults: the paper's 3-component simulation).
        seed: Seed of every random draw; the target field uses its own stream of it.

    Returns:
        The library.

    Example:
        >>> library = make_library(LibrarySpec(area_um=60.0, n_gaussians=50), seed=0)
        >>> library.composition.shape[1], bool(np.allclose(library.composition.sum(1), 1))
        (3, True)
    """
    spec = spec or LibrarySpec()
    streams = np.random.SeedSequence([int(seed), 7]).spawn(4)
    place, size, chem, edx_rng = (np.random.default_rng(s) for s in streams)
    g = spec.grid_cells
    n = int(place.poisson(spec.density_per_um2 * spec.area_um**2))
    n = max(n, 1)
    flat = np.sort(place.choice(g * g, size=n, replace=False))
    cells = np.stack(np.divmod(flat, g), axis=1).astype(np.int64)
    positions = (cells + place.random((n, 2))) * spec.grid_um
    positions = np.minimum(positions, spec.area_um)
    radius = _lognormal_radii(size, n, spec.radius_mean_nm, spec.radius_sd_nm)
    composition = sample_simplex(n, spec.n_components, chem)
    edx = observe_compositions(
        composition,
        radius,
        edx_rng,
        sigma_ref=spec.edx_sigma_ref,
        radius_ref_nm=spec.edx_radius_ref_nm,
    )
    region = region_of(spec, positions)
    target = TargetField(
        spec.n_components,
        n_gaussians=spec.n_gaussians,
        width=spec.field_width,
        amplitudes=spec.amplitudes,
        seed=int(seed),
    )
    reference = reference_points(spec.n_components, n=spec.n_reference, seed=int(seed))
    values = target(np.concatenate([composition, reference]))
    arrays = {
        "cells": cells,
        "positions_um": positions,
        "radius_nm": radius,
        "composition": composition,
        "region": region,
        "prop": values[:n],
        "reference": reference,
        "reference_prop": values[n:],
    }
    for value in arrays.values():
        value.setflags(write=False)
    return ParticleLibrary(spec=spec, seed=int(seed), edx=edx, field=target, **arrays)


def region_of(spec: LibrarySpec, positions_um: np.ndarray) -> np.ndarray:
    """Region (field-of-view tile) index of positions `(y, x)` (µm), `(N, 2)` → `(N,)`."""
    fov, side = spec.costs.fov_um, spec.regions_per_side
    tile = np.minimum((np.asarray(positions_um) // fov).astype(np.int64), side - 1)
    return tile[:, 0] * side + tile[:, 1]


def measured_property(library: ParticleLibrary, index: int, *, seed: int = 0) -> float:
    """The property the instrument reports for particle ``index`` (field + seeded noise).

    The noise of one particle depends only on ``(seed, index)``, so a
    re-measurement, a resume and the metrics all see the same value.
    """
    value = float(library.prop[index])
    noise = library.spec.property_noise
    if noise > 0:
        value += float(np.random.default_rng([int(seed), 11, int(index)]).normal(0.0, noise))
    return value


def _lognormal_radii(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    if sd == 0:
        return np.full(n, float(mean))
    sigma2 = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)
