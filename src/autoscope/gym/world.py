"""Simulated STEM worlds: a sample, its ground truth and a damaging, noisy HAADF scan.

A :class:`World` is a whole specimen field of view (default 256 x 256 px) cut into
``tile_px`` tiles. :func:`make_world` builds one deterministically from a seed:

* **Structure.** Crystals come from :mod:`autoscope.gym.materials` (ASE structures cut
  to the zone axis and projected into columns); the projected cell is tiled over the
  frame with a random origin and ``round(thickness / repeat)`` repeats per column.
  Columns just outside the frame are rendered too (their probe tails), but only the
  columns inside it are part of the ground truth and can be damaged.
* **Image.** The clean image ``signal`` (scattered fraction of the beam) is rendered once
  with :func:`autoscope.gym.haadf.haadf_image` (incoherent Z-contrast, ``sum Z^1.7``,
  200 kV / 21 mrad probe, thermal smearing 0.08 Å, flat background 0.002).
  :meth:`World.acquire` then scans a window: per-line integer scan offsets (Gaussian jitter
  per line plus a linear drift, both in pixels, rounded to whole pixels and applied by
  fancy indexing), Poisson counts at ``dose * pixel_area`` electrons per pixel, divided
  back by the electrons per pixel (an unbiased estimate of the scattered fraction).
* **Beam damage.** Each atom of a column inside the scanned window is displaced with
  probability ``1 - exp(-sigma_d * dose)`` per acquisition (a Binomial draw per species
  and column, ``sigma_d`` per material, below). A displaced atom is gone: the column's
  ``sum Z^n`` drops and its lost contribution is subtracted from ``signal`` with a
  precomputed point-spread kernel (probe ⊛ thermal Gaussian, rendered once per pixel
  size by ``haadf_image`` at 8 x 8 sub-pixel phases; the nearest phase is used, so the
  placement error is at most 1/16 pixel, a ~2 % residual at the column's peak; the
  kernel is cut at 2.5 Å from the column, which holds about 96 % of the probe's
  intensity, so a subtraction leaves ~4 % of the lost signal in the far probe tails).
  The scan damages the columns whose centres lie in the window. The ground truth stays
  the ORIGINAL sample: columns emptied by the beam look like vacancies to an analyst and
  are scored as false positives.

Materials (``pixel_size_A``, thickness, dopant, displacement cross-section ``sigma_d``):

=======  =====  =====  ===========================  ==========  ===============================
name     px Å   t Å    phases                       dopant      sigma_d (Å²)
=======  =====  =====  ===========================  ==========  ===============================
SrTiO3   0.20   23     grains "[001]" / "[110]",    La on Sr    6e-7 (60 b): 3 % of atoms per
                       split by a straight boundary             5e4 e/Å² scan
BaTiO3   0.20   24     ferroelastic "a1" / "a2",    Bi on Ba    6e-7
                       45° stripe domains
SiGe     0.20   31     "Si-rich" / "Ge-rich" blobs  Sn         8e-7 (4 % per 5e4 e/Å² scan)
                       (thresholded smooth noise)
GaN      0.20   26     none                         In on Ga    8e-7
AuNP     1.00   --     none                         --          3e-7
=======  =====  =====  ===========================  ==========  ===============================

The cross-sections are "effective" values (knock-on plus radiolysis/sputtering), chosen
so that one scan at the highest nominal dose (5e4 e/Å²) displaces a few % of the atoms
and ten such scans of the same tile remove about a quarter of them: over-dosing
visibly destroys the columns one came to count.

Defects (crystals): a vacancy (label 1) removes ``max(1, round(depth * n_host))`` of a
column's host atoms (Sr, Ti; Ba, Ti; Si, Ge; Ga); a substitution (label 2) replaces
``max(1, round(fraction * n_A))`` A-site atoms (Sr, Ba, Si/Ge, Ga) with the dopant. The
rare feature is one dopant cluster: the ``k`` A-site columns nearest a random point, each
with at least half its A-site atoms substituted. Random defects keep clear of it, and
every crystal world has at least one vacancy and one isolated substitution. Where two
phases meet, columns of the second phase closer than 1 Å to a column of the first are
dropped (no overlapping columns at grain boundaries or domain walls).

AuNP uses a thickness model at 1 Å/px: every pixel inside a particle's projected disc is
a column of ``rho * chord`` atoms (``rho`` from ASE's fcc cell, the chord of a sphere;
stochastic rounding to integers), on an amorphous carbon film (a Poisson number of C
atoms per pixel, ``rho_C = 0.1`` Å⁻³, static: not damaged). The columns sit on pixel
centres, so the image is the column map convolved with the probe ⊛ thermal kernel
sampled on the pixel grid (thermal smearing 0.5 Å stands for the unresolved atomic
structure; the kernel is normalised to conserve the scattered intensity). The rare
particle is a Pt nanorod standing end-on (length ``rod_factor`` x its diameter), much
brighter per area than the Au spheres. AuNP worlds have no atomic ground truth
(``atom_positions_nm`` is empty); ``World.column_dose`` then runs over the thickness
columns of the particles.

For training data, :meth:`World.render_clean` gives the current noiseless image and
:meth:`World.render_noisy` a noisy one at any dose (no damage) of the world or a window;
:meth:`World.copy` clones the damage state cheaply.

Difficulty presets:

==============================================  ===========  ===========  ===========
knob                                            Easy         Medium       Hard
==============================================  ===========  ===========  ===========
vacancy probability per host column             0.03         0.02         0.012
substitution probability per A-site column      0.03         0.02         0.012
vacancy depth (fraction of host atoms removed)  0.6          0.5          0.35
substitution fraction (A-site atoms replaced)   0.6          0.4          0.25
rare cluster size (columns)                     8-10         6-8          4-6
BaTiO3 Ti displacement along c (Å)              0.30         0.20         0.12
SiGe Ge fraction Ge-rich / Si-rich              0.8 / 0.2    0.7 / 0.3    0.6 / 0.4
scan jitter (px, std per line)                  0.0          0.3          0.6
drift (px per line, random direction)           0.0          0.01         0.025
AuNP particles per 256² px                      8            12           16
AuNP carbon film thickness (Å)                  30           60           100
AuNP rare Pt rod length / diameter              3.0          2.2          1.6
==============================================  ===========  ===========  ===========

The BaTiO3 displacement is exaggerated relative to the bulk (~0.1 Å) so that the two
variants are told apart by the Ti column's off-centring at realistic doses; it is the
phase-mapping difficulty knob. In projection the displaced Ti column separates from
the O column it shares at zero displacement.

Example:
    >>> world = make_world("SrTiO3", "Medium", seed=0, shape=(64, 64))
    >>> tile = world.acquire(world.info.tile_bounds(0), 1e4, np.random.default_rng(0))
    >>> tile.shape, tile.dtype
    ((32, 32), dtype('float32'))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from autoscope.errors import ConfigError
from autoscope.gym import materials as mat
from autoscope.gym.haadf import BACKGROUND, CROSS_SECTION_A2, Z_EXPONENT, Columns, haadf_image

__all__ = [
    "DIFFICULTIES",
    "MATERIALS",
    "PHASE_NAMES",
    "PRESETS",
    "TASKS",
    "TASKS_BY_MATERIAL",
    "GroundTruth",
    "Preset",
    "World",
    "WorldInfo",
    "make_world",
]

MATERIALS = ("SrTiO3", "BaTiO3", "SiGe", "GaN", "AuNP")
DIFFICULTIES = ("Easy", "Medium", "Hard")
TASKS = ("defect-census", "phase-mapping", "targeted-search", "nanoparticle")
TASKS_BY_MATERIAL: dict[str, tuple[str, ...]] = {
    "SrTiO3": ("defect-census", "phase-mapping", "targeted-search"),
    "BaTiO3": ("defect-census", "phase-mapping", "targeted-search"),
    "SiGe": ("defect-census", "phase-mapping", "targeted-search"),
    "GaN": ("defect-census", "targeted-search"),
    "AuNP": ("nanoparticle", "targeted-search"),
}
#: Phase names per material (empty: no phases).
PHASE_NAMES: dict[str, tuple[str, ...]] = {
    "SrTiO3": ("[001]", "[110]"),
    "BaTiO3": ("a1", "a2"),
    "SiGe": ("Si-rich", "Ge-rich"),
    "GaN": (),
    "AuNP": (),
}


@dataclass(frozen=True)
class Preset:
    """The knobs of one difficulty level (see the module docstring's table)."""

    vacancy_prob: float
    substitution_prob: float
    vacancy_depth: float
    substitution_fraction: float
    cluster_size: tuple[int, int]
    batio3_displacement_A: float
    sige_ge_fraction: tuple[float, float]
    scan_jitter_px: float
    drift_px_per_line: float
    aunp_particles: int
    aunp_carbon_A: float
    aunp_rod_factor: float


PRESETS: dict[str, Preset] = {
    "Easy": Preset(0.03, 0.03, 0.6, 0.6, (8, 10), 0.30, (0.2, 0.8), 0.0, 0.0, 8, 30.0, 3.0),
    "Medium": Preset(0.02, 0.02, 0.5, 0.4, (6, 8), 0.20, (0.3, 0.7), 0.3, 0.01, 12, 60.0, 2.2),
    "Hard": Preset(0.012, 0.012, 0.35, 0.25, (4, 6), 0.12, (0.4, 0.6), 0.6, 0.025, 16, 100.0, 1.6),
}


@dataclass(frozen=True)
class _Spec:
    pixel_size_A: float
    thickness_A: float
    dopant_Z: int
    a_site_Z: tuple[int, ...]  # hosts of substitutions
    host_Z: tuple[int, ...]  # hosts of vacancies
    sigma_d_A2: float


_SPECS: dict[str, _Spec] = {
    "SrTiO3": _Spec(0.2, 23.0, 57, (38,), (38, 22), 6e-7),
    "BaTiO3": _Spec(0.2, 24.0, 83, (56,), (56, 22), 6e-7),
    "SiGe": _Spec(0.2, 31.0, 50, (14, 32), (14, 32), 8e-7),
    "GaN": _Spec(0.2, 26.0, 49, (31,), (31,), 8e-7),
    "AuNP": _Spec(1.0, 0.0, 78, (79,), (79,), 3e-7),
}
_THERMAL_SIGMA_A = 0.08
_AUNP_THERMAL_SIGMA_A = 0.5
_KERNEL_RADIUS_A = 2.5
_PHASES = 8  # sub-pixel kernel phases per axis
_CARBON_DENSITY = 0.1  # atoms / Å³
_PT_FCC_A = 3.924


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class WorldInfo:
    """What an agent or analyst may know about a world (no ground truth).

    Attributes:
        material: One of ``MATERIALS``.
        difficulty: One of ``DIFFICULTIES``.
        shape: ``(H, W)`` pixels of the whole world.
        pixel_size_A: Å per pixel.
        tile_px: Tiles are ``tile_px x tile_px``; ``H`` and ``W`` are multiples of it.
        sublattice_names: Pristine column kinds, heaviest first (e.g. ``("Sr", "TiO", "O")``).
        sublattice_intensity: Nominal ``sum Z^n`` of a pristine column of each kind.
        column_spacing_A: Nominal nearest projected spacing of the heavy (defect-bearing)
            columns.
        phase_names: Phase names; ``()`` without phases.
        tasks: Tasks that apply to this world.

    Example:
        >>> info = make_world("GaN", "Easy", seed=1, shape=(64, 96)).info
        >>> info.n_tiles, info.tile_bounds(1)
        (6, (0, 32, 32, 64))
    """

    material: str
    difficulty: str
    shape: tuple[int, int]
    pixel_size_A: float
    tile_px: int
    sublattice_names: tuple[str, ...]
    sublattice_intensity: tuple[float, ...]
    column_spacing_A: float
    phase_names: tuple[str, ...]
    tasks: tuple[str, ...]

    @property
    def n_tiles_y(self) -> int:
        """Tiles along the rows."""
        return self.shape[0] // self.tile_px

    @property
    def n_tiles_x(self) -> int:
        """Tiles along the columns."""
        return self.shape[1] // self.tile_px

    @property
    def n_tiles(self) -> int:
        """Number of tiles."""
        return self.n_tiles_y * self.n_tiles_x

    def tile_bounds(self, index: int) -> tuple[int, int, int, int]:
        """Pixel bounds ``(r0, r1, c0, c1)`` of tile ``index`` (row-major numbering).

        Raises:
            ConfigError: If ``index`` is not in ``[0, n_tiles)``.
        """
        if isinstance(index, bool) or int(index) != index or not 0 <= index < self.n_tiles:
            raise ConfigError(f"tile index must be an int in [0, {self.n_tiles}), got {index!r}")
        ty, tx = divmod(int(index), self.n_tiles_x)
        t = self.tile_px
        return (ty * t, (ty + 1) * t, tx * t, (tx + 1) * t)


@dataclass(frozen=True)
class GroundTruth:
    """The true sample, for scoring only (arrays are read-only).

    Attributes:
        atom_positions_nm: Array `(N, 2)` of column positions ``(row, col)`` in nm; pixel
            ``(i, j)`` has its centre at ``(i, j) * pixel_size``. Empty for AuNP.
        atom_types: Array `(N,)` int: 0 pristine, 1 vacancy, 2 substitution.
        sublattice: Array `(N,)` int index into ``WorldInfo.sublattice_names``.
        defect_mask: Array `(H, W)` bool: pixels within half a column spacing of a defect.
        phase_map: Array `(H, W)` int phase index (-1 outside ``valid``); None without phases.
        valid: Array `(H, W)` bool: where there is material to characterise.
        rare_centre_nm: Array `(2,)`: centre of the rare feature (nm).
        rare_radius_nm: Its radius (nm).
        particle_centres_nm: Array `(P, 2)` for AuNP (the rare particle included), else None.
        particle_diameters_nm: Array `(P,)` for AuNP, else None.
    """

    atom_positions_nm: np.ndarray
    atom_types: np.ndarray
    sublattice: np.ndarray
    defect_mask: np.ndarray
    phase_map: np.ndarray | None
    valid: np.ndarray
    rare_centre_nm: np.ndarray
    rare_radius_nm: float
    particle_centres_nm: np.ndarray | None = None
    particle_diameters_nm: np.ndarray | None = None


@lru_cache(maxsize=8)
def _kernels(pixel_size_A: float, thermal_sigma_A: float, phases: int) -> np.ndarray:
    """Unit-column point-spread kernels `(phases, phases, k, k)` in 1/Å² (probe ⊛ thermal).

    Kernel ``[a, b]`` is a column at sub-pixel offset ``(a, b) / phases`` from the centre
    pixel ``(k // 2, k // 2)``.
    """
    half = math.ceil(_KERNEL_RADIUS_A / pixel_size_A)
    k = 2 * half + 1
    reach = 4.8 + 4.0 * thermal_sigma_A  # Probe().reach_A is 4.78 Å
    step = k + math.ceil(reach / pixel_size_A) + 2
    size = phases * step
    grid = np.arange(phases, dtype=np.float64)
    ay, ax = np.meshgrid(grid, grid, indexing="ij")
    pos_px = np.stack([(ay * step + half + ay / phases), (ax * step + half + ax / phases)], -1)
    cols = Columns(pos_px.reshape(-1, 2) * pixel_size_A, np.ones(phases * phases))
    img = haadf_image(
        cols,
        shape=(size, size),
        pixel_size_A=pixel_size_A,
        thermal_sigma_A=thermal_sigma_A,
        cross_section_A2=1.0,
        background=0.0,
    ).image
    out = np.empty((phases, phases, k, k))
    for a in range(phases):
        for b in range(phases):
            out[a, b] = img[a * step : a * step + k, b * step : b * step + k]
    out.setflags(write=False)
    return out


class World:
    """A simulated specimen: ground truth, clean signal and a damaging scan.

    Build one with :func:`make_world`. The noiseless image ``signal`` changes as the beam
    damages columns; the ground truth never changes.

    Attributes:
        info: What an agent may know.
        truth: The ground truth (scoring only).
        seed: The seed it was built from.
        displacement_cross_section_A2: ``sigma_d`` of the beam-damage model (Å²).
        scan_jitter_px: Per-line jitter (std, pixels) of :meth:`acquire`.
        drift_px_per_line: Drift ``(row, col)`` in pixels per line of :meth:`acquire`.
    """

    def __init__(
        self,
        info: WorldInfo,
        truth: GroundTruth,
        *,
        seed: int,
        signal: np.ndarray,
        columns_px: np.ndarray,
        counts: np.ndarray,
        weights: np.ndarray,
        kernels: np.ndarray,
        displacement_cross_section_A2: float,
        scan_jitter_px: float,
        drift_px_per_line: tuple[float, float],
    ) -> None:
        self.info = info
        self.truth = truth
        self.seed = seed
        self.displacement_cross_section_A2 = float(displacement_cross_section_A2)
        self.scan_jitter_px = float(scan_jitter_px)
        self.drift_px_per_line = (float(drift_px_per_line[0]), float(drift_px_per_line[1]))
        self._signal = np.array(signal, dtype=np.float64)
        self._counts = np.array(counts, dtype=np.int64)
        self._dose = np.zeros(len(columns_px))
        self._weights = _readonly(np.asarray(weights, dtype=np.float64))
        self._kernels = kernels
        pos = np.asarray(columns_px, dtype=np.float64).reshape(-1, 2)
        self._order = np.argsort(pos[:, 0], kind="stable")
        self._rows_sorted = _readonly(pos[self._order, 0])
        self._pos = _readonly(pos)
        phases = kernels.shape[0]
        scaled = np.round(pos * phases).astype(np.int64)
        self._anchor = _readonly(np.floor_divide(scaled, phases))
        self._phase = _readonly(scaled - self._anchor * phases)

    # -- state -----------------------------------------------------------------------------

    @property
    def signal(self) -> np.ndarray:
        """Array `(H, W)` float64 (read-only view): current noiseless scattered fraction."""
        view = self._signal.view()
        view.setflags(write=False)
        return view

    @property
    def column_dose(self) -> np.ndarray:
        """Array `(M,)` (read-only view): accumulated dose (e/Å²) per model column.

        For crystals the model columns are the ground-truth columns, in the same order.
        """
        view = self._dose.view()
        view.setflags(write=False)
        return view

    @property
    def column_positions_px(self) -> np.ndarray:
        """Array `(M, 2)` of the model columns' positions ``(row, col)`` in pixels."""
        return self._pos

    @property
    def column_counts(self) -> np.ndarray:
        """Array `(M, S)` int (read-only view): atoms left per column and species."""
        view = self._counts.view()
        view.setflags(write=False)
        return view

    def copy(self) -> World:
        """An independent copy (the damage state is copied; immutable parts are shared)."""
        new = object.__new__(World)
        new.__dict__.update(self.__dict__)
        new._signal = self._signal.copy()
        new._counts = self._counts.copy()
        new._dose = self._dose.copy()
        return new

    # -- validation --------------------------------------------------------------------------

    def _bounds(self, bounds: Sequence[int] | None) -> tuple[int, int, int, int]:
        h, w = self.info.shape
        if bounds is None:
            return (0, h, 0, w)
        try:
            r0, r1, c0, c1 = (int(b) for b in bounds)
            exact = all(int(b) == b for b in bounds)
        except (TypeError, ValueError):
            raise ConfigError(
                f"bounds must be four ints (r0, r1, c0, c1), got {bounds!r}"
            ) from None
        if not exact or not (0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w):
            raise ConfigError(
                f"bounds (r0, r1, c0, c1) must be ints with 0 <= r0 < r1 <= {h} and "
                f"0 <= c0 < c1 <= {w}, got {tuple(bounds)!r}"
            )
        return r0, r1, c0, c1

    @staticmethod
    def _dose_value(dose_e_per_A2: float) -> float:
        try:
            dose = float(dose_e_per_A2)
        except (TypeError, ValueError):
            raise ConfigError(
                f"dose_e_per_A2 must be a finite number > 0, got {dose_e_per_A2!r}"
            ) from None
        if not math.isfinite(dose) or dose <= 0:
            raise ConfigError(f"dose_e_per_A2 must be a finite number > 0, got {dose_e_per_A2!r}")
        return dose

    @staticmethod
    def _generator(rng: np.random.Generator) -> np.random.Generator:
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                f"got {type(rng).__name__}"
            )
        return rng

    # -- imaging -----------------------------------------------------------------------------

    def _scan(
        self,
        bounds: tuple[int, int, int, int],
        rng: np.random.Generator,
        scan_noise: bool,
    ) -> np.ndarray:
        r0, r1, c0, c1 = bounds
        jitter = self.scan_jitter_px if scan_noise else 0.0
        dy, dx = self.drift_px_per_line if scan_noise else (0.0, 0.0)
        if jitter == 0 and dy == 0 and dx == 0:
            return self._signal[r0:r1, c0:c1]
        h, w = self.info.shape
        lines = np.arange(r1 - r0, dtype=np.float64)
        ox = lines * dx
        if jitter > 0:
            ox = ox + rng.normal(0.0, jitter, size=lines.size)
        rows = np.clip(r0 + np.arange(r1 - r0) + np.rint(lines * dy).astype(np.int64), 0, h - 1)
        cols = np.arange(c0, c1)[None, :] + np.rint(ox).astype(np.int64)[:, None]
        np.clip(cols, 0, w - 1, out=cols)
        return self._signal[rows[:, None], cols]

    def _counts_image(self, clean: np.ndarray, dose: float, rng: np.random.Generator) -> np.ndarray:
        electrons = dose * self.info.pixel_size_A**2
        return (rng.poisson(clean * electrons) / electrons).astype(np.float32)

    def acquire(
        self,
        bounds: tuple[int, int, int, int],
        dose_e_per_A2: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Scan a window at a dose, then let the beam damage the columns inside it.

        Args:
            bounds: ``(r0, r1, c0, c1)``: rows ``r0:r1`` and columns ``c0:c1`` of the world.
            dose_e_per_A2: Dose of this scan (e/Å², finite, > 0).
            rng: Generator of the scan jitter, the counting noise and the damage.

        Returns:
            Array `(r1 - r0, c1 - c0)` float32: Poisson counts / electrons per pixel, an
            unbiased estimate of the scattered fraction, with scan jitter and drift.

        Raises:
            ConfigError: For bounds outside the world, a bad dose or a non-Generator rng.
        """
        b = self._bounds(bounds)
        dose = self._dose_value(dose_e_per_A2)
        rng = self._generator(rng)
        image = self._counts_image(self._scan(b, rng, True), dose, rng)
        self._damage(b, dose, rng)
        return image

    def render_clean(self, bounds: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The current noiseless scattered fraction, `(r1 - r0, c1 - c0)` float64 copy.

        Args:
            bounds: Window ``(r0, r1, c0, c1)``; the whole world when None.
        """
        r0, r1, c0, c1 = self._bounds(bounds)
        return self._signal[r0:r1, c0:c1].copy()

    def render_noisy(
        self,
        dose_e_per_A2: float,
        rng: np.random.Generator,
        bounds: tuple[int, int, int, int] | None = None,
        *,
        scan_noise: bool = True,
    ) -> np.ndarray:
        """A noisy image like :meth:`acquire` but WITHOUT beam damage (training data).

        Args:
            dose_e_per_A2: Dose (e/Å², > 0).
            rng: Generator of the noise.
            bounds: Window ``(r0, r1, c0, c1)``; the whole world when None.
            scan_noise: Apply this difficulty's scan jitter and drift.

        Returns:
            Array `(r1 - r0, c1 - c0)` float32 (counts / electrons per pixel).
        """
        b = self._bounds(bounds)
        dose = self._dose_value(dose_e_per_A2)
        rng = self._generator(rng)
        return self._counts_image(self._scan(b, rng, scan_noise), dose, rng)

    # -- damage ------------------------------------------------------------------------------

    def _columns_in(self, bounds: tuple[int, int, int, int]) -> np.ndarray:
        r0, r1, c0, c1 = bounds
        lo = np.searchsorted(self._rows_sorted, r0 - 0.5, side="left")
        hi = np.searchsorted(self._rows_sorted, r1 - 0.5, side="left")
        idx = self._order[lo:hi]
        c = self._pos[idx, 1]
        return idx[(c >= c0 - 0.5) & (c < c1 - 0.5)]

    def _damage(self, bounds: tuple[int, int, int, int], dose: float, rng: np.random.Generator):
        idx = self._columns_in(bounds)
        if idx.size == 0:
            return
        self._dose[idx] += dose
        p = -math.expm1(-self.displacement_cross_section_A2 * dose)
        lost = rng.binomial(self._counts[idx], p)
        hit = np.flatnonzero(lost.any(axis=1))
        if hit.size == 0:
            return
        cols, lost = idx[hit], lost[hit]
        self._counts[cols] -= lost
        loss = lost @ self._weights
        self._subtract(cols, loss)

    def _subtract(self, cols: np.ndarray, loss: np.ndarray) -> None:
        h, w = self.info.shape
        k = self._kernels.shape[-1]
        half = k // 2
        for j, amount in zip(cols.tolist(), loss.tolist(), strict=True):
            ay, ax = self._anchor[j]
            py, px = self._phase[j]
            y0, x0 = ay - half, ax - half
            ys, xs = max(0, -y0), max(0, -x0)
            ye, xe = min(k, h - y0), min(k, w - x0)
            if ye <= ys or xe <= xs:
                continue
            win = self._signal[y0 + ys : y0 + ye, x0 + xs : x0 + xe]
            win -= amount * self._kernels[py, px, ys:ye, xs:xe]
            np.maximum(win, 0.0, out=win)


# ----------------------------------------------------------------------------------------------
# construction
# ----------------------------------------------------------------------------------------------


def _check(material: str, difficulty: str, shape: Sequence[int], tile_px: int, seed: int):
    if material not in MATERIALS:
        raise ConfigError(f"material must be one of {MATERIALS}, got {material!r}")
    if difficulty not in DIFFICULTIES:
        raise ConfigError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
    if isinstance(tile_px, bool) or not isinstance(tile_px, int | np.integer) or tile_px < 8:
        raise ConfigError(f"tile_px must be an int >= 8, got {tile_px!r}")
    try:
        h, w = (int(s) for s in shape)
        exact = all(int(s) == s for s in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"shape must be a pair of ints (H, W), got {shape!r}") from None
    minimum = 64 if material == "AuNP" else 2 * tile_px
    if not exact or h < max(minimum, tile_px) or w < max(minimum, tile_px):
        raise ConfigError(
            f"shape must be ints >= {max(minimum, tile_px)} for {material}, got {shape!r}"
        )
    if h % tile_px or w % tile_px:
        raise ConfigError(f"shape {shape!r} must be a multiple of tile_px={tile_px} on both axes")
    return h, w


def _disk_mask(shape: tuple[int, int], centres_px: np.ndarray, radius_px: float) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    r = max(radius_px, 0.5)
    ri = math.ceil(r)
    oy, ox = np.mgrid[-ri : ri + 1, -ri : ri + 1]
    for cy, cx in centres_px:
        iy, ix = int(round(cy)), int(round(cx))
        yy, xx = iy + oy, ix + ox
        sel = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (yy >= 0) & (yy < shape[0])
        sel &= (xx >= 0) & (xx < shape[1])
        mask[yy[sel], xx[sel]] = True
    return mask


def _phase_layout(material: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Phase index map `(H, W)` int (0 or 1) with both phases over >= 20 % of the pixels."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for _ in range(100):
        if material == "SrTiO3":  # one straight grain boundary
            theta = rng.uniform(0.0, math.pi)
            cy, cx = (
                (h - 1) / 2 + rng.uniform(-0.15, 0.15) * h,
                (w - 1) / 2 + rng.uniform(-0.15, 0.15) * w,
            )
            side = (yy - cy) * math.cos(theta) - (xx - cx) * math.sin(theta)
            phase = (side > 0).astype(np.int64)
        elif material == "BaTiO3":  # 90° domains: stripes along a <110> diagonal
            sign = 1.0 if rng.random() < 0.5 else -1.0
            period = rng.uniform(0.8, 1.1) * max(h, w)  # domain width = period / 2
            u = (yy + sign * xx) / math.sqrt(2.0) + rng.uniform(0.0, period)
            phase = (np.floor(u / (period / 2)) % 2).astype(np.int64)
        else:  # SiGe: blobs of thresholded smooth noise, split at the median
            noise = ndimage.gaussian_filter(rng.normal(size=(h, w)), max(h, w) / 6, mode="wrap")
            phase = (noise > np.median(noise)).astype(np.int64)
        frac = phase.mean()
        if 0.2 <= frac <= 0.8:
            return phase
    raise AssertionError("no balanced phase layout found")  # pragma: no cover


def _tile_cell(
    cell: mat.ProjectedCell, extent_A: tuple[float, float], margin_A: float, origin_A: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Tile the projected cell over ``[-margin, extent + margin]``: positions (Å), site ids."""
    ly, lx = cell.size_A
    iy = np.arange(
        math.floor((-margin_A - origin_A[0]) / ly) - 1,
        math.ceil((extent_A[0] + margin_A - origin_A[0]) / ly) + 1,
    )
    ix = np.arange(
        math.floor((-margin_A - origin_A[1]) / lx) - 1,
        math.ceil((extent_A[1] + margin_A - origin_A[1]) / lx) + 1,
    )
    gy, gx = np.meshgrid(iy * ly, ix * lx, indexing="ij")
    corners = np.stack([gy.ravel(), gx.ravel()], axis=1) + origin_A
    pos = (corners[:, None, :] + cell.positions_A[None, :, :]).reshape(-1, 2)
    site = np.tile(np.arange(len(cell.positions_A)), len(corners))
    keep = np.all((pos >= -margin_A) & (pos <= np.asarray(extent_A) + margin_A), axis=1)
    return pos[keep], site[keep]


def _replace(
    counts: np.ndarray, row: int, host_idx: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Take ``n`` random atoms of the host species out of column ``row`` (returned per host)."""
    pool = counts[row, host_idx]
    n = min(int(n), int(pool.sum()))
    taken = rng.multivariate_hypergeometric(pool, n)
    counts[row, host_idx] -= taken
    return taken


def _make_crystal(
    material: str, preset: Preset, shape: tuple[int, int], ss: np.random.SeedSequence
):
    spec = _SPECS[material]
    p = spec.pixel_size_A
    h, w = shape
    rng_layout, rng_struct, rng_defect = (np.random.default_rng(s) for s in ss.spawn(3))
    phase_names = PHASE_NAMES[material]
    phase_px = (
        _phase_layout(material, shape, rng_layout)
        if phase_names
        else np.zeros(shape, dtype=np.int64)
    )

    if material == "SrTiO3":
        structures = ["[001]", "[110]"]
    elif material == "BaTiO3":
        structures = ["a1", "a2"]
    elif material == "SiGe":
        structures = ["[110]", "[110]"]
    else:
        structures = ["[11-20]"]
    displacement = preset.batio3_displacement_A if material == "BaTiO3" else 0.0
    cells = [mat.projected_cell(material, s, displacement_A=displacement) for s in structures]

    species = sorted({z for c in cells for z in c.species} | {spec.dopant_Z}, reverse=True)
    if material == "SiGe":
        species = sorted(set(species) | {32}, reverse=True)
    zpow = np.asarray(species, dtype=np.float64) ** Z_EXPONENT
    extent = ((h - 1) * p, (w - 1) * p)
    margin = 4.8 + 4 * _THERMAL_SIGMA_A
    shared_origin = rng_struct.uniform(0.0, 1.0, size=2)

    all_pos, all_counts, all_names, all_phase = [], [], [], []
    name_intensity: dict[str, float] = {}
    eligible_spacing = math.inf
    for k, cell in enumerate(cells):
        frac = shared_origin if material in ("BaTiO3", "SiGe") else rng_struct.uniform(0, 1, 2)
        origin = frac * np.asarray(cell.size_A)
        pos, site = _tile_cell(cell, extent, margin, origin)
        ipx = np.clip(np.rint(pos / p).astype(np.int64), 0, [h - 1, w - 1])
        sel = phase_px[ipx[:, 0], ipx[:, 1]] == k
        pos, site = pos[sel], site[sel]
        n_rep = max(1, round(spec.thickness_A / cell.repeat_A))
        idx = [species.index(z) for z in cell.species]
        cc = np.zeros((len(cell.counts), len(species)), dtype=np.int64)
        cc[:, idx] = cell.counts * n_rep
        counts = cc[site]
        names = [("SiGe" if material == "SiGe" else cell.names[s]) for s in site]
        if material == "SiGe":
            x_ge = preset.sige_ge_fraction[k]
            si, ge = species.index(14), species.index(32)
            n_atoms = counts[:, si].copy()
            counts[:, ge] = rng_struct.binomial(n_atoms, x_ge)
            counts[:, si] = n_atoms - counts[:, ge]
        for s, nm in enumerate(cell.names):
            key = "SiGe" if material == "SiGe" else nm
            if key not in name_intensity:
                val = float(cc[s] @ zpow)
                if material == "SiGe":
                    n_at = int(cc[s].sum())
                    val = n_at * (0.5 * 14**Z_EXPONENT + 0.5 * 32**Z_EXPONENT)
                name_intensity[key] = val
        heavy = np.array(
            [
                any(
                    z in spec.host_Z
                    for z in cell.species
                    if cell.counts[s, cell.species.index(z)] > 0
                )
                for s in range(len(cell.names))
            ]
        )
        eligible_spacing = min(eligible_spacing, cell.nearest_spacing_A(heavy))
        all_pos.append(pos)
        all_counts.append(counts)
        all_names.extend(names)
        all_phase.append(np.full(len(pos), k))
    pos = np.concatenate(all_pos)
    counts = np.concatenate(all_counts)
    if len(cells) > 1:  # at a boundary, drop columns closer than 1 Å to the other phase's
        phase_of = np.concatenate(all_phase)
        ref = pos[phase_of == 0]
        d, _ = cKDTree(ref).query(pos, k=1)
        keep = (phase_of == 0) | (d >= 1.0)
        pos, counts, phase_of = pos[keep], counts[keep], phase_of[keep]
        all_names = [n for n, kp in zip(all_names, keep.tolist(), strict=True) if kp]
    sub_names = tuple(sorted(name_intensity, key=lambda n: -name_intensity[n]))
    sublattice = np.array([sub_names.index(n) for n in all_names], dtype=np.int64)

    # Model columns: inside the frame. Context columns outside only add probe tails.
    pos_px = pos / p
    inside = np.all((pos_px >= -0.5) & (pos_px < np.array([h, w]) - 0.5), axis=1)
    ctx_pos, ctx_counts = pos[~inside], counts[~inside]
    pos, pos_px, counts, sublattice = (
        pos[inside],
        pos_px[inside],
        counts[inside],
        sublattice[inside],
    )
    order = np.lexsort((pos[:, 1], pos[:, 0]))
    pos, pos_px, counts, sublattice = pos[order], pos_px[order], counts[order], sublattice[order]

    # Defects.
    a_idx = np.array([species.index(z) for z in spec.a_site_Z if z in species])
    h_idx = np.array([species.index(z) for z in spec.host_Z if z in species])
    d_idx = species.index(spec.dopant_Z)
    a_ok = counts[:, a_idx].sum(axis=1) > 0
    h_ok = counts[:, h_idx].sum(axis=1) > 0
    types = np.zeros(len(pos), dtype=np.int64)
    spacing_px = eligible_spacing / p
    frame = np.array([h - 1, w - 1], dtype=np.float64)

    k_lo, k_hi = preset.cluster_size
    k_rare = int(rng_defect.integers(k_lo, k_hi + 1))
    edge = np.minimum(pos_px, frame - pos_px).min(axis=1)
    cand = np.flatnonzero(a_ok & (edge >= 2.5 * spacing_px))
    if cand.size == 0:
        cand = np.flatnonzero(a_ok)
    centre = pos_px[int(rng_defect.choice(cand))]
    a_cols = np.flatnonzero(a_ok)
    dist = np.hypot(*(pos_px[a_cols] - centre).T)
    members = a_cols[np.argsort(dist, kind="stable")[:k_rare]]
    rare_frac = max(preset.substitution_fraction, 0.5)
    for j in members:
        n_a = int(counts[j, a_idx].sum())
        taken = _replace(counts, j, a_idx, max(1, round(rare_frac * n_a)), rng_defect)
        counts[j, d_idx] += int(taken.sum())
        types[j] = 2
    rare_centre_px = pos_px[members].mean(axis=0)
    rare_radius_px = float(np.hypot(*(pos_px[members] - rare_centre_px).T).max()) + 0.5 * spacing_px

    far = np.hypot(*(pos_px - rare_centre_px).T) > rare_radius_px + 2.0 * spacing_px
    draw = rng_defect.random(len(pos))
    vac = h_ok & far & (draw < preset.vacancy_prob)
    draw2 = rng_defect.random(len(pos))
    sub = a_ok & far & ~vac & (draw2 < preset.substitution_prob)
    free = types == 0
    if not vac.any():
        pool = np.flatnonzero(h_ok & far & ~sub & free)
        pool = pool if pool.size else np.flatnonzero(h_ok & ~sub & free)
        if pool.size:  # a tiny world may have no free host column left
            vac[rng_defect.choice(pool)] = True
    if not sub.any():
        pool = np.flatnonzero(a_ok & far & ~vac & free)
        pool = pool if pool.size else np.flatnonzero(a_ok & ~vac & free)
        if pool.size:
            sub[rng_defect.choice(pool)] = True
    for j in np.flatnonzero(vac):
        n_h = int(counts[j, h_idx].sum())
        _replace(counts, j, h_idx, max(1, round(preset.vacancy_depth * n_h)), rng_defect)
        types[j] = 1
    for j in np.flatnonzero(sub):
        n_a = int(counts[j, a_idx].sum())
        taken = _replace(
            counts, j, a_idx, max(1, round(preset.substitution_fraction * n_a)), rng_defect
        )
        counts[j, d_idx] += int(taken.sum())
        types[j] = 2

    # Render the clean image once.
    weights = CROSS_SECTION_A2 * zpow
    all_cols = Columns(np.concatenate([pos, ctx_pos]), np.concatenate([counts, ctx_counts]) @ zpow)
    signal = haadf_image(
        all_cols,
        shape=shape,
        pixel_size_A=p,
        thermal_sigma_A=_THERMAL_SIGMA_A,
        cross_section_A2=CROSS_SECTION_A2,
        background=BACKGROUND,
    ).image

    defects = pos_px[types > 0]
    truth = GroundTruth(
        atom_positions_nm=_readonly(pos / 10.0),
        atom_types=_readonly(types),
        sublattice=_readonly(sublattice),
        defect_mask=_readonly(_disk_mask(shape, defects, 0.5 * spacing_px)),
        phase_map=_readonly(phase_px.copy()) if phase_names else None,
        valid=_readonly(np.ones(shape, dtype=bool)),
        rare_centre_nm=_readonly(rare_centre_px * p / 10.0),
        rare_radius_nm=rare_radius_px * p / 10.0,
    )
    info_parts = dict(
        pixel_size_A=p,
        sublattice_names=sub_names,
        sublattice_intensity=tuple(name_intensity[n] for n in sub_names),
        column_spacing_A=float(eligible_spacing),
        phase_names=phase_names,
    )
    model = dict(
        signal=signal,
        columns_px=pos_px,
        counts=counts,
        weights=weights,
        kernels=_kernels(p, _THERMAL_SIGMA_A, _PHASES),
        displacement_cross_section_A2=spec.sigma_d_A2,
    )
    return truth, info_parts, model


def _make_aunp(preset: Preset, shape: tuple[int, int], ss: np.random.SeedSequence):
    spec = _SPECS["AuNP"]
    p = spec.pixel_size_A
    h, w = shape
    rng_place, rng_fill = (np.random.default_rng(s) for s in ss.spawn(2))
    rho_au = mat.atomic_density_per_A3("Au", mat.AU_FCC_A)
    rho_pt = mat.atomic_density_per_A3("Pt", _PT_FCC_A)
    species = [79, 78, 6]
    zpow = np.asarray(species, dtype=np.float64) ** Z_EXPONENT

    # Particles: the rare Pt rod first, then Au spheres without overlaps.
    n_target = max(2, round(preset.aunp_particles * h * w / 256**2))
    centres, diam = [], []
    gap = 5.0  # Å between particle edges
    rod_d = rng_place.uniform(25.0, 35.0)
    lo = np.full(2, rod_d / 2 + 4)
    centres.append(rng_place.uniform(lo, np.array([(h - 1) * p, (w - 1) * p]) - lo))
    diam.append(rod_d)
    for _ in range(400 * n_target):
        if len(centres) >= n_target + 1:
            break
        d = rng_place.uniform(20.0, 50.0)
        r = d / 2
        lo, hi = np.array([r + 4, r + 4]), np.array([(h - 1) * p - r - 4, (w - 1) * p - r - 4])
        if np.any(hi <= lo):
            continue
        c = rng_place.uniform(lo, hi)
        if all(
            math.hypot(*(c - c2)) > r + d2 / 2 + gap for c2, d2 in zip(centres, diam, strict=True)
        ):
            centres.append(c)
            diam.append(d)
    centres_A, diam_A = np.array(centres), np.array(diam)

    # Thickness columns on pixel centres.
    pos_list, cnt_list = [], []
    for i, (c, d) in enumerate(zip(centres_A, diam_A, strict=True)):
        r = d / 2
        y0, y1 = max(0, math.floor((c[0] - r) / p)), min(h - 1, math.ceil((c[0] + r) / p))
        x0, x1 = max(0, math.floor((c[1] - r) / p)), min(w - 1, math.ceil((c[1] + r) / p))
        yy, xx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        r2 = (yy * p - c[0]) ** 2 + (xx * p - c[1]) ** 2
        inside = r2 <= r * r
        if i == 0:
            mean_atoms = np.full(inside.sum(), rho_pt * preset.aunp_rod_factor * d * p * p)
            col = 1
        else:
            mean_atoms = rho_au * 2.0 * np.sqrt(r * r - r2[inside]) * p * p
            col = 0
        n = np.floor(mean_atoms + rng_fill.random(mean_atoms.size)).astype(np.int64)
        cnt = np.zeros((n.size, len(species)), dtype=np.int64)
        cnt[:, col] = n
        pos_list.append(np.stack([yy[inside], xx[inside]], axis=1).astype(np.float64))
        cnt_list.append(cnt)
    pos_px = np.concatenate(pos_list)
    counts = np.concatenate(cnt_list)
    order = np.lexsort((pos_px[:, 1], pos_px[:, 0]))
    pos_px, counts = pos_px[order], counts[order]

    # Scattering map (σ per pixel) -> image by convolution with the sampled kernel.
    weights = CROSS_SECTION_A2 * zpow
    sigma_map = np.zeros(shape)
    iy, ix = pos_px[:, 0].astype(np.int64), pos_px[:, 1].astype(np.int64)
    np.add.at(sigma_map, (iy, ix), counts @ weights)
    carbon = rng_fill.poisson(_CARBON_DENSITY * preset.aunp_carbon_A * p * p, size=shape)
    sigma_map += carbon * weights[2]
    kernel = _aunp_kernel(p)
    signal = ndimage.convolve(sigma_map, kernel[0, 0], mode="reflect") + BACKGROUND

    truth = GroundTruth(
        atom_positions_nm=_readonly(np.zeros((0, 2))),
        atom_types=_readonly(np.zeros(0, dtype=np.int64)),
        sublattice=_readonly(np.zeros(0, dtype=np.int64)),
        defect_mask=_readonly(np.zeros(shape, dtype=bool)),
        phase_map=None,
        valid=_readonly(np.ones(shape, dtype=bool)),
        rare_centre_nm=_readonly(centres_A[0] / 10.0),
        rare_radius_nm=float(diam_A[0] / 20.0),
        particle_centres_nm=_readonly(centres_A / 10.0),
        particle_diameters_nm=_readonly(diam_A / 10.0),
    )
    info_parts = dict(
        pixel_size_A=p,
        sublattice_names=("Au",),
        sublattice_intensity=(float(rho_au * 35.0 * p * p * 79**Z_EXPONENT),),
        column_spacing_A=mat.AU_FCC_A / 2,
        phase_names=(),
    )
    model = dict(
        signal=signal,
        columns_px=pos_px,
        counts=counts,
        weights=weights,
        kernels=kernel,
        displacement_cross_section_A2=spec.sigma_d_A2,
    )
    return truth, info_parts, model


@lru_cache(maxsize=4)
def _aunp_kernel(pixel_size_A: float) -> np.ndarray:
    """Pixel-centred kernel `(1, 1, k, k)` for the thickness model, normalised to sum 1/p²."""
    k = _kernels(pixel_size_A, _AUNP_THERMAL_SIGMA_A, 1).copy()
    k /= k.sum() * pixel_size_A**2
    k.setflags(write=False)
    return k


def make_world(
    material: str,
    difficulty: str,
    *,
    seed: int,
    shape: tuple[int, int] = (256, 256),
    tile_px: int = 32,
) -> World:
    """Build a simulated specimen deterministically from a seed.

    Args:
        material: One of ``MATERIALS``.
        difficulty: One of ``DIFFICULTIES`` (see the module docstring's preset table).
        seed: Seed (int >= 0); the same seed gives the same world.
        shape: ``(H, W)`` pixels, multiples of ``tile_px`` (AuNP: at least 64).
        tile_px: Tile size in pixels (>= 8).

    Returns:
        The world.

    Raises:
        ConfigError: For an unknown material or difficulty or a bad shape, tile or seed.

    Example:
        >>> w = make_world("AuNP", "Easy", seed=2, shape=(128, 128))
        >>> w.truth.particle_centres_nm.shape[1], w.info.pixel_size_A
        (2, 1.0)
    """
    h, w = _check(material, difficulty, shape, tile_px, seed)
    preset = PRESETS[difficulty]
    ss = np.random.SeedSequence(
        [int(seed), MATERIALS.index(material), DIFFICULTIES.index(difficulty)]
    )
    ss_world, ss_scan = ss.spawn(2)
    if material == "AuNP":
        truth, info_parts, model = _make_aunp(preset, (h, w), ss_world)
    else:
        truth, info_parts, model = _make_crystal(material, preset, (h, w), ss_world)
    info = WorldInfo(
        material=material,
        difficulty=difficulty,
        shape=(h, w),
        tile_px=int(tile_px),
        tasks=TASKS_BY_MATERIAL[material],
        **info_parts,  # type: ignore[arg-type]
    )
    angle = np.random.default_rng(ss_scan).uniform(0.0, 2.0 * math.pi)
    drift = preset.drift_px_per_line
    return World(
        info,
        truth,
        seed=int(seed),
        scan_jitter_px=preset.scan_jitter_px,
        drift_px_per_line=(drift * math.sin(angle), drift * math.cos(angle)),
        **model,  # type: ignore[arg-type]
    )
