import numpy as np
import pytest

from autoscope.analysis.columns import column_intensities, flag_bright_columns, nearest_spacings
from autoscope.analysis.lattice import lattice_from_constants
from autoscope.errors import ConfigError, DataError
from autoscope.gym import Columns, column_intensity, haadf_image

PIXEL_A = 0.25
A_A = 3.16  # MoS2


def honeycomb(n_substituted=5, seed=0):
    """Mo and S2 columns of a MoS2-like sheet; ``n_substituted`` S2 columns get one Se."""
    a1 = np.array([0.0, A_A])
    a2 = np.array([A_A * np.sqrt(3) / 2, A_A / 2])
    cells = [i * a1 + j * a2 for i in range(-12, 30) for j in range(-2, 28)]
    mo = np.array(cells) + 2.0
    s2 = mo + (a1 + a2) / 3
    positions = np.vstack([mo, s2])
    inside = np.all((positions > 2.0) & (positions < 128 * PIXEL_A - 2.0), axis=1)
    positions = positions[inside]
    is_s = np.r_[np.zeros(len(mo), bool), np.ones(len(s2), bool)][inside]
    atoms = [[16, 16] if s else [42] for s in is_s]
    rng = np.random.default_rng(seed)
    substituted = rng.choice(np.flatnonzero(is_s), n_substituted, replace=False)
    for k in substituted:
        atoms[k] = [16, 34]
    columns = Columns(positions, column_intensity(atoms))
    sim = haadf_image(columns, shape=(128, 128), pixel_size_A=PIXEL_A, dose_e_per_A2=1e5, seed=seed)
    lattice = lattice_from_constants(A_A, A_A, 120.0, pixel_size=PIXEL_A, rotation_deg=0.0)
    return sim, lattice, substituted


def test_substituted_columns_are_flagged_and_nothing_else():
    sim, lattice, substituted = honeycomb()
    flags = flag_bright_columns(sim.image, sim.positions_px, lattice)
    assert set(np.flatnonzero(flags.flagged)) == set(substituted)
    # Mo columns are brighter than S2 columns, but each is compared with its own sublattice
    assert np.nanmedian(flags.ratio) == pytest.approx(1.0, abs=0.05)


def test_pristine_sheet_has_no_flags():
    sim, lattice, _ = honeycomb(n_substituted=0, seed=1)
    assert not flag_bright_columns(sim.image, sim.positions_px, lattice).flagged.any()


def test_intensities_and_spacings_by_hand():
    image = np.zeros((20, 20))
    image[5, 5] = 9.0
    image[5, 6] = 1.0
    values = column_intensities(
        image + 1e-9 * np.arange(400).reshape(20, 20),
        np.array([[5, 5], [15, 15], [0, 0]]),
        radius=1.0,
    )
    assert values[0] == pytest.approx(2.0, abs=1e-6)  # (9 + 1) / 5 pixels of the disc
    assert values[1] == pytest.approx(0.0, abs=1e-6)
    assert nearest_spacings(np.array([[0, 0], [0, 3], [4, 0]])).tolist() == [3.0, 3.0, 4.0]
    assert np.isnan(nearest_spacings(np.array([[1.0, 1.0]]))).all()


def test_bad_input():
    with pytest.raises(DataError, match="shape"):
        nearest_spacings(np.zeros(3))
    with pytest.raises(ConfigError, match="radius"):
        column_intensities(np.random.default_rng(0).random((10, 10)), np.zeros((1, 2)), radius=0.1)
