"""Tests of the projected crystal structures (autoscope.gym.materials)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms

from autoscope.errors import ConfigError
from autoscope.gym import materials as mat

ALL = [(m, p) for m, phases in mat.PHASES_BY_MATERIAL.items() for p in phases]


def _distinct_projected(atoms: Atoms) -> int:
    """Distinct in-plane positions, computed independently of project_atoms."""
    frac = np.mod(np.round(atoms.get_scaled_positions(wrap=False)[:, :2], 4), 1.0)
    return len({(round(float(u), 3) % 1.0, round(float(v), 3) % 1.0) for u, v in frac})


@pytest.mark.parametrize(("material", "phase"), ALL)
def test_projection_agrees_with_ase(material: str, phase: str) -> None:
    atoms = mat.oriented_structure(material, phase, displacement_A=0.2)
    cell = mat.project_atoms(atoms)
    assert len(cell.positions_A) == _distinct_projected(atoms)
    assert int(cell.counts.sum()) == len(atoms)
    lx, ly, lz = atoms.cell.lengths()
    assert cell.size_A == pytest.approx((ly, lx))
    assert cell.repeat_A == pytest.approx(lz)
    assert np.all(cell.positions_A >= -1e-9)
    assert np.all(cell.positions_A < np.array(cell.size_A))
    assert sorted(cell.species, reverse=True) == list(cell.species)


def test_srtio3_001_columns() -> None:
    cell = mat.projected_cell("SrTiO3", "[001]")
    a = mat.SRTIO3_A
    assert cell.size_A == pytest.approx((a, a))
    assert sorted(cell.names) == ["O", "O", "Sr", "TiO"]
    sr = cell.positions_A[cell.names.index("Sr")]
    tio = cell.positions_A[cell.names.index("TiO")]
    o = cell.positions_A[[i for i, n in enumerate(cell.names) if n == "O"]]
    assert math.dist(sr, tio) == pytest.approx(a / math.sqrt(2))
    assert np.hypot(*(o - sr).T) == pytest.approx([a / 2, a / 2])
    assert cell.nearest_spacing_A() == pytest.approx(a / 2)  # 1.95 Å: Sr-O and TiO-O
    sr_only = np.array([n != "O" for n in cell.names])
    assert cell.nearest_spacing_A(sr_only) == pytest.approx(a / math.sqrt(2))


def test_srtio3_110_columns() -> None:
    cell = mat.projected_cell("SrTiO3", "[110]")
    assert cell.size_A == pytest.approx((mat.SRTIO3_A, mat.SRTIO3_A * math.sqrt(2)))
    assert sorted(set(cell.names)) == ["O", "SrO", "Ti"]
    assert len(cell.names) == 6


@pytest.mark.parametrize("phase", ["a1", "a2"])
def test_batio3_ti_displacement_direction(phase: str) -> None:
    d = 0.25
    cell = mat.projected_cell("BaTiO3", phase, displacement_A=d)
    ti = cell.positions_A[cell.names.index("Ti")]
    centre = np.array(cell.size_A) / 2
    offset = ti - centre
    axis = 1 if phase == "a1" else 0  # c axis along x (cols) for a1, y (rows) for a2
    assert offset[axis] == pytest.approx(d, abs=1e-6)
    assert offset[1 - axis] == pytest.approx(0.0, abs=1e-6)
    assert cell.size_A[axis] == pytest.approx(mat.BATIO3_C)


def test_sige_dumbbells_and_gan_columns() -> None:
    sige = mat.projected_cell("SiGe", "[110]")
    assert len(sige.names) == 8
    assert sige.nearest_spacing_A() == pytest.approx(mat.sige_lattice_A(0.5) / 4)
    gan = mat.projected_cell("GaN", "[11-20]")
    assert sorted(gan.names) == ["Ga"] * 4 + ["N"] * 4
    assert gan.size_A == pytest.approx((mat.GAN_A * math.sqrt(3), mat.GAN_C))
    assert gan.repeat_A == pytest.approx(mat.GAN_A)


def test_helpers_and_errors() -> None:
    assert mat.atomic_density_per_A3("Au") == pytest.approx(4 / mat.AU_FCC_A**3)
    assert mat.sige_lattice_A(0.0) == pytest.approx(mat.SI_A)
    with pytest.raises(ConfigError, match="ge_fraction"):
        mat.sige_lattice_A(1.5)
    with pytest.raises(ConfigError, match="material"):
        mat.oriented_structure("Cu", "[001]")
    with pytest.raises(ConfigError, match="phase"):
        mat.oriented_structure("SrTiO3", "[111]")
    with pytest.raises(ConfigError, match="displacement_A"):
        mat.oriented_structure("BaTiO3", "a1", displacement_A=float("nan"))
    hexagonal = Atoms("Cu", cell=[[2, 0, 0], [1, 1.7, 0], [0, 0, 2]], pbc=True)
    with pytest.raises(ConfigError, match="orthogonal"):
        mat.project_atoms(hexagonal)
    with pytest.raises(ConfigError, match="tolerance_A"):
        mat.project_atoms(mat.oriented_structure("GaN", "[11-20]"), tolerance_A=0.0)
