"""Crystal structures of the simulated STEM worlds, projected along the beam.

The structures are built with ASE (:func:`ase.spacegroup.crystal`,
:func:`ase.build.bulk`) from tabulated lattice parameters and cut to an
orthogonal supercell whose third vector is the zone axis (:func:`ase.build.cut`).
:func:`project_atoms` then drops the coordinate along the beam and groups atoms
whose in-plane positions agree within ``tolerance_A`` (periodically) into
columns, giving per-column atom counts for one repeat of the cell along the
beam. A world (see :mod:`autoscope.gym.world`) tiles that projected cell over
its frame and stacks ``round(thickness / repeat)`` repeats in every column.

Orientation convention: the supercell's first vector ``a`` runs along the image
x axis (columns, ``col``), its second ``b`` along the image y axis (rows) and its
third ``c`` is the beam direction. Positions are ``(row, col)`` in Å.

Structures (lattice parameters in Å):

===========  ========================================  ==============================
material     structure                                 zone axis / in-plane (x, y)
===========  ========================================  ==============================
SrTiO3       cubic perovskite Pm-3m, a = 3.905         [001]: x [100], y [010];
                                                       [110]: x [1-10], y [001]
BaTiO3       tetragonal P4mm, a = 3.992, c = 4.036,    [100]; variant a1: c along x,
             Ti displaced by ``displacement_A``        a2: c along y
             along c (ferroelectric off-centring)
SiGe         diamond Fd-3m, a = 5.431 + 0.2 x          [110]: x [001], y [1-10]
             (Vegard; alloyed by the world)
GaN          wurtzite P6_3mc, a = 3.189, c = 5.185,    [11-20]: x [0001], y [1-100]
             u = 0.377
Au (AuNP)    fcc, a = 4.078 (atomic density only:      --
             the particles use a thickness model)
===========  ========================================  ==============================

Example:
    >>> cell = projected_cell("SrTiO3", "[001]")
    >>> cell.names, cell.size_A
    (('Sr', 'O', 'O', 'TiO'), (3.905, 3.905))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ase import Atoms
from ase.build import bulk, cut
from ase.data import chemical_symbols
from ase.spacegroup import crystal

from autoscope.errors import ConfigError

__all__ = [
    "AU_FCC_A",
    "BATIO3_A",
    "BATIO3_C",
    "GAN_A",
    "GAN_C",
    "GAN_U",
    "PHASES_BY_MATERIAL",
    "SI_A",
    "SRTIO3_A",
    "ProjectedCell",
    "atomic_density_per_A3",
    "oriented_structure",
    "project_atoms",
    "projected_cell",
    "sige_lattice_A",
]

SRTIO3_A = 3.905
BATIO3_A = 3.992
BATIO3_C = 4.036
SI_A = 5.431
GE_A = 5.658
GAN_A = 3.189
GAN_C = 5.185
GAN_U = 0.377
AU_FCC_A = 4.078

#: Structural variants ("phases") that :func:`oriented_structure` can build per material.
PHASES_BY_MATERIAL: dict[str, tuple[str, ...]] = {
    "SrTiO3": ("[001]", "[110]"),
    "BaTiO3": ("a1", "a2"),
    "SiGe": ("[110]",),
    "GaN": ("[11-20]",),
}


def sige_lattice_A(ge_fraction: float) -> float:
    """Vegard's-law lattice parameter of Si(1-x)Ge(x) (Å).

    Args:
        ge_fraction: Ge fraction ``x`` in [0, 1].

    Returns:
        ``(1 - x) a_Si + x a_Ge``.
    """
    x = float(ge_fraction)
    if not 0.0 <= x <= 1.0:
        raise ConfigError(f"ge_fraction must lie in [0, 1], got {ge_fraction!r}")
    return (1.0 - x) * SI_A + x * GE_A


def atomic_density_per_A3(symbol: str = "Au", a_A: float = AU_FCC_A) -> float:
    """Atoms per Å³ of an fcc metal (from ASE's conventional cell).

    Args:
        symbol: Chemical symbol.
        a_A: Cubic lattice parameter (Å).

    Returns:
        The number density.
    """
    atoms = bulk(symbol, "fcc", a=a_A, cubic=True)
    return len(atoms) / float(atoms.get_volume())


def oriented_structure(material: str, phase: str, *, displacement_A: float = 0.0) -> Atoms:
    """An orthogonal supercell with ``a`` along image x, ``b`` along image y, ``c`` the beam.

    Args:
        material: "SrTiO3", "BaTiO3", "SiGe" or "GaN".
        phase: One of ``PHASES_BY_MATERIAL[material]``.
        displacement_A: BaTiO3 only: Ti displacement along the tetragonal c axis (Å).

    Returns:
        The ASE ``Atoms`` of the oriented cell.

    Raises:
        ConfigError: For an unknown material or phase.
    """
    if material not in PHASES_BY_MATERIAL:
        raise ConfigError(
            f"material must be one of {sorted(PHASES_BY_MATERIAL)} for a crystal structure, "
            f"got {material!r}"
        )
    if phase not in PHASES_BY_MATERIAL[material]:
        raise ConfigError(
            f"phase of {material} must be one of {PHASES_BY_MATERIAL[material]}, got {phase!r}"
        )
    if material == "SrTiO3":
        sto = crystal(
            ["Sr", "Ti", "O"],
            basis=[(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)],
            spacegroup=221,
            cellpar=[SRTIO3_A] * 3 + [90] * 3,
        )
        if phase == "[001]":
            return cut(sto, a=(1, 0, 0), b=(0, 1, 0), c=(0, 0, 1))
        return cut(sto, a=(1, -1, 0), b=(0, 0, 1), c=(1, 1, 0))
    if material == "BaTiO3":
        d = float(displacement_A)
        if not math.isfinite(d) or abs(d) >= 0.5 * BATIO3_C:
            raise ConfigError(f"displacement_A must be finite and < c/2 in size, got {d!r}")
        bto = crystal(
            ["Ba", "Ti", "O", "O"],
            basis=[(0, 0, 0), (0.5, 0.5, 0.5 + d / BATIO3_C), (0.5, 0.5, 0), (0.5, 0, 0.5)],
            spacegroup=99,
            cellpar=[BATIO3_A, BATIO3_A, BATIO3_C, 90, 90, 90],
        )
        if phase == "a1":  # c axis along image x
            return cut(bto, a=(0, 0, 1), b=(0, 1, 0), c=(1, 0, 0))
        return cut(bto, a=(0, 1, 0), b=(0, 0, 1), c=(1, 0, 0))
    if material == "SiGe":
        si = bulk("Si", "diamond", a=sige_lattice_A(0.5), cubic=True)
        return cut(si, a=(0, 0, 1), b=(1, -1, 0), c=(1, 1, 0))
    gan = bulk("GaN", "wurtzite", a=GAN_A, c=GAN_C, u=GAN_U)
    return cut(gan, a=(0, 0, 1), b=(1, -1, 0), c=(1, 1, 0))


@dataclass(frozen=True)
class ProjectedCell:
    """A rectangular cell of atomic columns seen down a zone axis.

    Attributes:
        size_A: In-plane repeat ``(Ly, Lx)`` (rows, cols) in Å.
        repeat_A: Repeat length along the beam (Å).
        positions_A: Array `(C, 2)` of column positions ``(row, col)`` in the cell, in Å.
        species: Atomic numbers ``(S,)`` present, heaviest first.
        counts: Array `(C, S)` int: atoms of each species per column per repeat.
        names: ``C`` column kinds (composition, heaviest element first, e.g. "TiO").
    """

    size_A: tuple[float, float]
    repeat_A: float
    positions_A: np.ndarray
    species: tuple[int, ...]
    counts: np.ndarray
    names: tuple[str, ...]

    def nearest_spacing_A(self, mask: np.ndarray | None = None) -> float:
        """Nearest (periodic) distance between the selected columns (all when None)."""
        pos = self.positions_A if mask is None else self.positions_A[np.asarray(mask)]
        ly, lx = self.size_A
        best = math.inf
        for i in range(len(pos)):
            d = pos - pos[i]
            for sy in (-1, 0, 1):
                for sx in (-1, 0, 1):
                    r = np.hypot(d[:, 0] + sy * ly, d[:, 1] + sx * lx)
                    if sy == 0 and sx == 0:
                        r[i] = math.inf
                    best = min(best, float(r.min()))
        return best


def _column_name(species: tuple[int, ...], counts: np.ndarray) -> str:
    return "".join(chemical_symbols[z] for z, n in zip(species, counts, strict=True) if n > 0)


def project_atoms(atoms: Atoms, *, tolerance_A: float = 0.05) -> ProjectedCell:
    """Project an orthogonal cell along its third vector and group atoms into columns.

    Args:
        atoms: ASE atoms with mutually orthogonal cell vectors; ``c`` is the beam.
        tolerance_A: Atoms whose projected positions agree within this distance (Å,
            periodic) share a column.

    Returns:
        The projected cell, columns sorted by (row, col).

    Raises:
        ConfigError: If the cell is not orthogonal or the tolerance is not positive.
    """
    if not (math.isfinite(tolerance_A) and tolerance_A > 0):
        raise ConfigError(f"tolerance_A must be a finite number > 0, got {tolerance_A!r}")
    angles = atoms.cell.angles()
    if not np.allclose(angles, 90.0, atol=1e-6):
        raise ConfigError(f"project_atoms needs an orthogonal cell, got angles {angles}")
    lx, ly, lz = (float(v) for v in atoms.cell.lengths())
    frac = np.mod(atoms.get_scaled_positions(wrap=False)[:, :2], 1.0)
    xy = np.stack([frac[:, 1] * ly, frac[:, 0] * lx], axis=1)  # (row, col) Å
    species = tuple(sorted({int(z) for z in atoms.numbers}, reverse=True))
    col_of = np.full(len(atoms), -1)
    centres: list[np.ndarray] = []
    for i in range(len(atoms)):
        for k, c in enumerate(centres):
            d = xy[i] - c
            d -= np.round(d / [ly, lx]) * [ly, lx]
            if math.hypot(*d) <= tolerance_A:
                col_of[i] = k
                break
        else:
            col_of[i] = len(centres)
            centres.append(xy[i])
    pos = np.array(centres)
    pos = np.where(pos > np.array([ly, lx]) - tolerance_A, pos - [ly, lx], pos)
    pos = np.where(np.abs(pos) < 1e-9, 0.0, pos)
    counts = np.zeros((len(centres), len(species)), dtype=np.int64)
    for i, z in enumerate(atoms.numbers):
        counts[col_of[i], species.index(int(z))] += 1
    order = np.lexsort((pos[:, 1], pos[:, 0]))
    pos, counts = pos[order], counts[order]
    names = tuple(_column_name(species, c) for c in counts)
    pos.setflags(write=False)
    counts.setflags(write=False)
    return ProjectedCell((ly, lx), lz, pos, species, counts, names)


@lru_cache(maxsize=64)
def projected_cell(
    material: str, phase: str, *, displacement_A: float = 0.0, tolerance_A: float = 0.05
) -> ProjectedCell:
    """The projected cell of ``material`` in ``phase`` (cached).

    Args:
        material: "SrTiO3", "BaTiO3", "SiGe" or "GaN".
        phase: One of ``PHASES_BY_MATERIAL[material]``.
        displacement_A: BaTiO3 Ti displacement (Å).
        tolerance_A: Column grouping tolerance (Å).

    Returns:
        The projected cell (see :func:`project_atoms`).
    """
    atoms = oriented_structure(material, phase, displacement_A=displacement_A)
    return project_atoms(atoms, tolerance_A=tolerance_A)
