"""What an analyst reports, the incremental analyst base class and the analyst registry.

An analyst turns the mosaic an agent has scanned so far into :class:`Findings`
(atomic columns and their defect types, a phase map, nanoparticles, candidates
for the rare feature), all in *world* pixel coordinates ``(row, col)``: pixel
``(i, j)`` has its centre at ``(i, j)``.

:class:`Analyst` is a template: after every scanned tile the environment calls
:meth:`Analyst.update`; the base class cuts a window (the tile plus a margin of
neighbouring pixels) out of the mosaic and hands it to the subclass's
:meth:`Analyst.analyse_tile`, which returns :class:`TileFindings` in window
coordinates. The base class then merges them into the world-level findings:

* atoms whose position lies inside the re-analysed tile (pixel centres
  ``r0 .. r1 - 1``, i.e. positions in ``[r0 - 0.5, r1 - 0.5)``) are replaced by
  the tile's new atoms inside the tile; atoms found in the margin are dropped,
  so a column is owned by exactly one tile and never duplicated;
* the window's phase labels are painted into the phase map over the tile's
  pixels only;
* rare-feature candidates inside the tile are replaced like atoms.

Worlds with the ``"nanoparticle"`` task are analysed as a whole instead
(particles span tiles): :meth:`Analyst.analyse_particles` gets the whole
mosaic and returns the particles and the rare candidates. A subclass with
different needs may override :meth:`Analyst.update` altogether.

Analysts are created by name with :func:`make_analyst`; the registry
:data:`ANALYSTS` maps names to ``"module:attribute"`` import paths, resolved
only when the analyst is made, so that ``import autoscope.gym`` does not import
torch for the ``"cnn"`` analyst.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import cKDTree

from autoscope.errors import ConfigError

if TYPE_CHECKING:
    from autoscope.gym.world import WorldInfo

__all__ = [
    "ANALYSTS",
    "Analyst",
    "Findings",
    "TileFindings",
    "make_analyst",
    "register_analyst",
]

#: Default margin (pixels) of already scanned neighbours analysed with a tile.
DEFAULT_MARGIN_PX = 8
#: New atoms closer than this many column spacings to an atom kept from a neighbouring
#: tile are the same column seen again and are dropped.
DUPLICATE_SPACINGS = 0.3


def _points(values: Any) -> np.ndarray:
    """``values`` as a `(N, 2)` float64 array of points (`(0, 2)` when None or empty)."""
    if values is None:
        return np.empty((0, 2))
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(-1, 2) if array.size else np.empty((0, 2))


@dataclass
class Findings:
    """Everything an analyst has found so far, in world pixel coordinates ``(row, col)``.

    Attributes:
        atoms_px: Column positions found `(K, 2)` float64.
        atom_types: Predicted type of each column `(K,)` int64: 0 pristine, 1 vacancy,
            2 substitution.
        atom_uncertainty: Uncertainty of each type `(K,)` float64 in [0, 1] (0 for the
            classical analyst).
        phase_map: Predicted phase index `(H, W)` int32 into ``WorldInfo.phase_names``,
            -1 where unknown or unscanned; None when the world has no phases.
        particle_centres_px: Nanoparticle centres `(P, 2)` float64.
        particle_diameters_px: Their equivalent diameters `(P,)` float64.
        rare_px: Candidate positions of the rare feature `(R, 2)` float64.
    """

    atoms_px: np.ndarray
    atom_types: np.ndarray
    atom_uncertainty: np.ndarray
    phase_map: np.ndarray | None
    particle_centres_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    particle_diameters_px: np.ndarray = field(default_factory=lambda: np.empty(0))
    rare_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def n_defects(self) -> int:
        """Number of columns typed as a defect (type > 0)."""
        return int(np.count_nonzero(np.asarray(self.atom_types) > 0))

    @classmethod
    def empty(cls, info: WorldInfo) -> Findings:
        """Findings of nothing for the world ``info`` (phase map all -1 if it has phases)."""
        phase_map = None
        if info.phase_names:
            phase_map = np.full(tuple(info.shape), -1, dtype=np.int32)
        return cls(
            atoms_px=np.empty((0, 2)),
            atom_types=np.empty(0, dtype=np.int64),
            atom_uncertainty=np.empty(0),
            phase_map=phase_map,
            particle_centres_px=np.empty((0, 2)),
            particle_diameters_px=np.empty(0),
            rare_px=np.empty((0, 2)),
        )


@dataclass
class TileFindings:
    """What an analyst found in one window, in WINDOW pixel coordinates.

    Attributes:
        atoms_px: Columns `(K, 2)`, ``(row, col)`` relative to the window's top-left pixel.
        atom_types: Types `(K,)` int (0 pristine, 1 vacancy, 2 substitution).
        atom_uncertainty: `(K,)` in [0, 1]; None means zeros.
        phase: Phase index per window pixel `(h, w)` int (-1 unknown), a single int for the
            whole window, or None (no phase information).
        rare_px: Rare-feature candidates `(R, 2)` in window coordinates.
    """

    atoms_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    atom_types: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    atom_uncertainty: np.ndarray | None = None
    phase: np.ndarray | int | None = None
    rare_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))


def _check_bounds(bounds: Any, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    try:
        r0, r1, c0, c1 = (int(b) for b in bounds)
    except (TypeError, ValueError):
        raise ConfigError(f"bounds must be four ints (r0, r1, c0, c1), got {bounds!r}") from None
    if not (0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]):
        raise ConfigError(
            f"bounds {bounds!r} must satisfy 0 <= r0 < r1 <= {shape[0]} and "
            f"0 <= c0 < c1 <= {shape[1]} (the world's shape)"
        )
    return r0, r1, c0, c1


def _inside(points: np.ndarray, bounds: tuple[int, int, int, int]) -> np.ndarray:
    """Mask `(N,)` of points whose nearest pixel lies in rows r0:r1, cols c0:c1."""
    r0, r1, c0, c1 = bounds
    return (
        (points[:, 0] >= r0 - 0.5)
        & (points[:, 0] < r1 - 0.5)
        & (points[:, 1] >= c0 - 0.5)
        & (points[:, 1] < c1 - 0.5)
    )


class Analyst(ABC):
    """Incremental analyst of a scanned mosaic (template method, see the module docstring).

    Subclasses implement :meth:`analyse_tile` (and optionally :meth:`analyse_particles`,
    :meth:`on_reset`); options are keyword-only constructor arguments.

    Args:
        margin_px: Pixels of the neighbouring mosaic analysed with each tile (>= 0), so that
            columns at the tile's edge are seen whole; only the tile's own results are kept.
    """

    name: str = "analyst"

    def __init__(self, *, margin_px: int = DEFAULT_MARGIN_PX) -> None:
        if isinstance(margin_px, bool) or not isinstance(margin_px, (int, np.integer)):
            raise ConfigError(f"margin_px must be an int >= 0, got {margin_px!r}")
        if margin_px < 0:
            raise ConfigError(f"margin_px must be >= 0, got {margin_px}")
        self.margin_px = int(margin_px)
        self._info: WorldInfo | None = None
        self._findings: Findings | None = None

    # ------------------------------------------------------------------ public API

    @property
    def info(self) -> WorldInfo:
        """The world being analysed (set by :meth:`reset`)."""
        if self._info is None:
            raise ConfigError(f"{type(self).__name__}: call reset(info) before using it")
        return self._info

    def reset(self, info: WorldInfo) -> None:
        """Forget everything and prepare for a new world described by ``info``."""
        self._info = info
        shape = tuple(int(s) for s in info.shape)
        self._acc_atoms = np.empty((0, 2))
        self._acc_types = np.empty(0, dtype=np.int64)
        self._acc_uncertainty = np.empty(0)
        self._acc_rare = np.empty((0, 2))
        self._acc_phase = np.full(shape, -1, dtype=np.int32) if info.phase_names else None
        self._acc_particles = (np.empty((0, 2)), np.empty(0), np.empty((0, 2)))
        self._findings = Findings.empty(info)
        self.on_reset(info)

    def update(
        self, mosaic: np.ndarray, dose_map: np.ndarray, bounds: tuple[int, int, int, int]
    ) -> Findings:
        """Re-analyse the tile just scanned and return the findings over everything scanned.

        Args:
            mosaic: `(H, W)` dose-weighted mean of the frames so far (0 where unscanned).
            dose_map: `(H, W)` dose received (e/Å²).
            bounds: ``(r0, r1, c0, c1)`` of the tile just scanned.

        Returns:
            The updated findings (also available as :attr:`findings`).

        Raises:
            ConfigError: If :meth:`reset` was not called, the arrays do not have the
                world's shape or ``bounds`` lie outside it.
        """
        info = self.info
        shape = (int(info.shape[0]), int(info.shape[1]))
        mosaic = np.asarray(mosaic)
        dose_map = np.asarray(dose_map)
        if mosaic.shape != shape or dose_map.shape != shape:
            raise ConfigError(
                f"mosaic {mosaic.shape} and dose_map {dose_map.shape} must both have the "
                f"world's shape {shape}"
            )
        tile = _check_bounds(bounds, shape)
        if "nanoparticle" in info.tasks:
            centres, diameters, rare = self.analyse_particles(mosaic, dose_map)
            self._acc_particles = (
                _points(centres),
                np.asarray(diameters, float).ravel(),
                _points(rare),
            )
        else:
            self._merge_tile(mosaic, dose_map, tile)
        self._findings = self._assemble()
        return self._findings

    @property
    def findings(self) -> Findings:
        """The latest findings (empty after :meth:`reset`)."""
        if self._findings is None:
            self.info  # noqa: B018 - raises the "call reset" error
        assert self._findings is not None
        return self._findings

    # ------------------------------------------------------------------ subclass hooks

    def on_reset(self, info: WorldInfo) -> None:
        """Hook called at the end of :meth:`reset` (e.g. to precompute per-world constants)."""
        del info

    @abstractmethod
    def analyse_tile(
        self,
        image: np.ndarray,
        dose: np.ndarray,
        window: tuple[int, int, int, int],
        tile: tuple[int, int, int, int],
    ) -> TileFindings:
        """Analyse one window of the mosaic.

        Args:
            image: `(h, w)` mosaic over the window (0 where unscanned).
            dose: `(h, w)` dose map over the window (0 where unscanned).
            window: ``(r0, r1, c0, c1)`` of the window in world pixels.
            tile: ``(r0, r1, c0, c1)`` of the tile just scanned (inside the window).

        Returns:
            The window's findings in window coordinates.
        """

    def analyse_particles(
        self, mosaic: np.ndarray, dose_map: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segment nanoparticles in the whole mosaic (worlds with the nanoparticle task).

        Args:
            mosaic: `(H, W)` scanned mosaic.
            dose_map: `(H, W)` dose map.

        Returns:
            ``(centres (P, 2), diameters (P,), rare candidates (R, 2))`` in world pixels. The
            default finds nothing.
        """
        return np.empty((0, 2)), np.empty(0), np.empty((0, 2))

    # ------------------------------------------------------------------ bookkeeping

    def _merge_tile(
        self, mosaic: np.ndarray, dose_map: np.ndarray, tile: tuple[int, int, int, int]
    ) -> None:
        r0, r1, c0, c1 = tile
        m = self.margin_px
        h, w = mosaic.shape
        window = (max(r0 - m, 0), min(r1 + m, h), max(c0 - m, 0), min(c1 + m, w))
        wr0, wr1, wc0, wc1 = window
        result = self.analyse_tile(
            mosaic[wr0:wr1, wc0:wc1], dose_map[wr0:wr1, wc0:wc1], window, tile
        )
        offset = np.array([wr0, wc0], dtype=np.float64)
        atoms = _points(result.atoms_px) + offset
        types = np.asarray(result.atom_types, dtype=np.int64).ravel()
        if result.atom_uncertainty is None:
            uncertainty = np.zeros(len(atoms))
        else:
            uncertainty = np.asarray(result.atom_uncertainty, dtype=np.float64).ravel()
        if not (len(types) == len(uncertainty) == len(atoms)):
            raise ValueError(
                f"{type(self).__name__}.analyse_tile returned {len(atoms)} atoms, "
                f"{len(types)} types and {len(uncertainty)} uncertainties; they must agree"
            )
        keep_old = ~_inside(self._acc_atoms, tile)
        keep_new = _inside(atoms, tile)
        # a column on the tile's edge may have been claimed by the neighbour that owns the
        # other side (positions jitter between analyses): keep the neighbour's copy
        if keep_old.any() and keep_new.any():
            spacing_px = float(self.info.column_spacing_A) / float(self.info.pixel_size_A)
            distance, _ = cKDTree(self._acc_atoms[keep_old]).query(atoms[keep_new])
            keep_new[np.flatnonzero(keep_new)[distance < DUPLICATE_SPACINGS * spacing_px]] = False
        self._acc_atoms = np.concatenate([self._acc_atoms[keep_old], atoms[keep_new]])
        self._acc_types = np.concatenate([self._acc_types[keep_old], types[keep_new]])
        self._acc_uncertainty = np.concatenate(
            [self._acc_uncertainty[keep_old], uncertainty[keep_new]]
        )
        rare = _points(result.rare_px) + offset
        self._acc_rare = np.concatenate(
            [self._acc_rare[~_inside(self._acc_rare, tile)], rare[_inside(rare, tile)]]
        )
        if self._acc_phase is not None and result.phase is not None:
            phase = np.asarray(result.phase)
            if phase.ndim == 0:
                self._acc_phase[r0:r1, c0:c1] = int(phase)
            else:
                self._acc_phase[r0:r1, c0:c1] = phase[r0 - wr0 : r1 - wr0, c0 - wc0 : c1 - wc0]

    def _assemble(self) -> Findings:
        centres, diameters, rare_particles = self._acc_particles
        rare = (
            np.concatenate([self._acc_rare, rare_particles])
            if len(rare_particles)
            else self._acc_rare
        )
        # Copies: a caller that edits its findings must not change the analyst's state.
        return Findings(
            atoms_px=self._acc_atoms.copy(),
            atom_types=self._acc_types.copy(),
            atom_uncertainty=self._acc_uncertainty.copy(),
            phase_map=None if self._acc_phase is None else self._acc_phase.copy(),
            particle_centres_px=np.array(centres, copy=True),
            particle_diameters_px=np.array(diameters, copy=True),
            rare_px=np.array(rare, copy=True),
        )


#: Analyst name -> ``"module:attribute"`` import path (or the class itself), resolved lazily.
ANALYSTS: dict[str, str | type[Analyst]] = {
    "classical": "autoscope.gym.analysts.classical:ClassicalAnalyst",
    "cnn": "autoscope.gym.analysts.cnn:CNNAnalyst",
}


def register_analyst(name: str, target: str | type[Analyst]) -> None:
    """Register an analyst class (or its ``"module:attribute"`` path) under ``name``."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"analyst name must be a non-empty string, got {name!r}")
    if isinstance(target, str) and ":" not in target:
        raise ConfigError(f"analyst target must be 'module:attribute' or a class, got {target!r}")
    ANALYSTS[name] = target


def _resolve(name: str) -> type[Analyst]:
    target = ANALYSTS[name]
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        ANALYSTS[name] = target
    return target


def make_analyst(name: str, **options: Any) -> Analyst:
    """Create the analyst registered as ``name`` with keyword ``options``.

    Args:
        name: A key of :data:`ANALYSTS` (``"classical"``, ``"cnn"``).
        **options: Keyword options of the analyst's constructor.

    Returns:
        A new analyst; call :meth:`Analyst.reset` before using it.

    Raises:
        ConfigError: If ``name`` is unknown (the message lists the known names) or an
            option is invalid.

    Example:
        >>> make_analyst("classical").name
        'classical'
    """
    if not isinstance(name, str) or name not in ANALYSTS:
        known = ", ".join(repr(n) for n in sorted(ANALYSTS))
        raise ConfigError(f"unknown analyst {name!r}; known analysts: {known}")
    cls = _resolve(name)
    try:
        return cls(**options)
    except TypeError as error:
        raise ConfigError(f"bad options for analyst {name!r}: {error}") from None
