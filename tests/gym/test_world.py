"""Tests of the simulated STEM worlds (autoscope.gym.world)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoscope.errors import ConfigError
from autoscope.gym import materials as mat
from autoscope.gym.world import (
    DIFFICULTIES,
    MATERIALS,
    PRESETS,
    TASKS,
    TASKS_BY_MATERIAL,
    GroundTruth,
    World,
    WorldInfo,
    make_world,
)

SHAPE = (96, 96)
CRYSTALS = ("SrTiO3", "BaTiO3", "SiGe", "GaN")


def _px(world: World) -> np.ndarray:
    return world.truth.atom_positions_nm * 10.0 / world.info.pixel_size_A


def test_names() -> None:
    assert MATERIALS == ("SrTiO3", "BaTiO3", "SiGe", "GaN", "AuNP")
    assert DIFFICULTIES == ("Easy", "Medium", "Hard")
    assert TASKS == ("defect-census", "phase-mapping", "targeted-search", "nanoparticle")
    assert set(TASKS_BY_MATERIAL) == set(MATERIALS)
    assert TASKS_BY_MATERIAL["GaN"] == ("defect-census", "targeted-search")
    assert TASKS_BY_MATERIAL["AuNP"] == ("nanoparticle", "targeted-search")
    assert set(PRESETS) == set(DIFFICULTIES)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("material", MATERIALS)
def test_every_world_builds(material: str, difficulty: str) -> None:
    world = make_world(material, difficulty, seed=5, shape=SHAPE)
    info, truth = world.info, world.truth
    assert isinstance(info, WorldInfo) and isinstance(truth, GroundTruth)
    assert (info.material, info.difficulty, info.shape, info.tile_px) == (
        material,
        difficulty,
        SHAPE,
        32,
    )
    assert info.n_tiles == 9 and info.tile_bounds(4) == (32, 64, 32, 64)
    assert info.tasks == TASKS_BY_MATERIAL[material]
    assert len(info.sublattice_names) == len(info.sublattice_intensity) >= 1
    assert info.column_spacing_A > 0
    assert world.signal.shape == SHAPE and world.signal.dtype == np.float64
    assert not world.signal.flags.writeable
    assert np.all(np.isfinite(world.signal)) and world.signal.min() > 0
    # Ground truth shapes, dtypes, read-only.
    n = len(truth.atom_types)
    assert truth.atom_positions_nm.shape == (n, 2) and truth.atom_positions_nm.dtype == np.float64
    assert truth.atom_types.dtype == np.int64 and truth.sublattice.shape == (n,)
    assert truth.defect_mask.shape == SHAPE and truth.defect_mask.dtype == bool
    assert truth.valid.shape == SHAPE and truth.valid.dtype == bool and truth.valid.any()
    assert truth.rare_centre_nm.shape == (2,) and truth.rare_radius_nm > 0
    for a in (truth.atom_positions_nm, truth.atom_types, truth.defect_mask, truth.valid):
        assert not a.flags.writeable
    extent_nm = np.array(SHAPE) * info.pixel_size_A / 10.0
    assert np.all(truth.rare_centre_nm >= 0) and np.all(truth.rare_centre_nm < extent_nm)
    assert world.column_dose.shape == (len(world.column_positions_px),)
    # Phases.
    if "phase-mapping" in info.tasks:
        assert len(info.phase_names) == 2
        assert truth.phase_map is not None and truth.phase_map.shape == SHAPE
        assert set(np.unique(truth.phase_map).tolist()) == {0, 1}
    else:
        assert info.phase_names == () and truth.phase_map is None
    if material in CRYSTALS:
        assert info.pixel_size_A == pytest.approx(0.2)
        assert {1, 2} <= set(truth.atom_types.tolist())
        assert set(truth.atom_types.tolist()) <= {0, 1, 2}
        assert truth.sublattice.max() < len(info.sublattice_names)
        assert truth.defect_mask.any()
        assert truth.particle_centres_nm is None and truth.particle_diameters_nm is None
        assert np.all(truth.atom_positions_nm >= -0.05 * info.pixel_size_A)
        assert np.all(truth.atom_positions_nm < extent_nm)
        # The rare cluster: 4-10 substitution columns within the rare radius.
        pos = truth.atom_positions_nm
        near = np.hypot(*(pos - truth.rare_centre_nm).T) <= truth.rare_radius_nm
        n_rare = int(np.sum(near & (truth.atom_types == 2)))
        assert 4 <= n_rare <= 10
        assert len(world.column_positions_px) == n
    else:
        assert info.pixel_size_A == pytest.approx(1.0) and n == 0
        centres, diam = truth.particle_centres_nm, truth.particle_diameters_nm
        assert centres is not None and diam is not None
        assert len(centres) >= 2 and centres.shape == (len(diam), 2)
        assert np.all((diam >= 2.0) & (diam <= 5.0))
        assert np.all(centres - diam[:, None] / 2 >= 0)
        assert np.all(centres + diam[:, None] / 2 <= extent_nm)
        assert np.allclose(truth.rare_centre_nm, centres[0])


def test_determinism() -> None:
    a = make_world("SrTiO3", "Medium", seed=3, shape=SHAPE)
    b = make_world("SrTiO3", "Medium", seed=3, shape=SHAPE)
    c = make_world("SrTiO3", "Medium", seed=4, shape=SHAPE)
    np.testing.assert_array_equal(a.signal, b.signal)
    for field in ("atom_positions_nm", "atom_types", "defect_mask", "phase_map"):
        np.testing.assert_array_equal(getattr(a.truth, field), getattr(b.truth, field))
    assert a.info == b.info
    assert not np.array_equal(a.signal, c.signal)
    ta = a.acquire((0, 32, 0, 32), 1e4, np.random.default_rng(1))
    tb = b.acquire((0, 32, 0, 32), 1e4, np.random.default_rng(1))
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(a.signal, b.signal)
    x = make_world("AuNP", "Hard", seed=3, shape=SHAPE)
    y = make_world("AuNP", "Hard", seed=3, shape=SHAPE)
    np.testing.assert_array_equal(x.signal, y.signal)
    np.testing.assert_array_equal(x.truth.particle_centres_nm, y.truth.particle_centres_nm)


def test_srtio3_projection_in_world() -> None:
    """Sr and TiO columns of the [001] grain: spacing a/sqrt(2), Sr-O a/2, Sr brighter."""
    world = make_world("SrTiO3", "Easy", seed=0, shape=(128, 128))
    truth, info = world.truth, world.info
    names = info.sublattice_names
    assert {"Sr", "TiO", "O", "SrO", "Ti"} == set(names)
    assert info.column_spacing_A == pytest.approx(mat.SRTIO3_A / 2, abs=1e-3)
    inten = dict(zip(names, info.sublattice_intensity, strict=True))
    assert inten["Sr"] == pytest.approx(6 * 38**1.7) and inten["Sr"] > inten["TiO"]
    pos_a = truth.atom_positions_nm * 10.0
    sub = np.array(names)[truth.sublattice]
    pristine = truth.atom_types == 0
    sr = pos_a[(sub == "Sr") & pristine]
    tio = pos_a[(sub == "TiO") & pristine]
    o = pos_a[sub == "O"]
    d_sr_tio = np.min(np.hypot(*(tio[:, None, :] - sr[None, :, :]).T), axis=1)
    assert np.median(d_sr_tio) == pytest.approx(mat.SRTIO3_A / math.sqrt(2), abs=1e-6)
    d_sr_o = np.min(np.hypot(*(o[:, None, :] - sr[None, :, :]).T), axis=1)
    assert np.median(d_sr_o) == pytest.approx(mat.SRTIO3_A / 2, abs=1e-6)
    # Sr columns are brighter than TiO columns in the clean image.
    px = world.column_positions_px
    sig = world.signal

    def peak(mask: np.ndarray) -> float:
        ij = np.rint(px[mask]).astype(int)
        inside = np.all((ij >= 2) & (ij < np.array(sig.shape) - 2), axis=1)
        return float(np.median(sig[ij[inside, 0], ij[inside, 1]]))

    assert peak((sub == "Sr") & pristine) > 1.5 * peak((sub == "TiO") & pristine)


def test_columns_visible_at_1e4() -> None:
    """At 1e4 e/A^2 (medium) a Sr column and a half-emptied one differ clearly in counts."""
    world = make_world("SrTiO3", "Medium", seed=0, shape=(128, 128))
    names = np.array(world.info.sublattice_names)[world.truth.sublattice]
    px = world.column_positions_px
    types = world.truth.atom_types
    img = world.render_noisy(1e4, np.random.default_rng(0), scan_noise=False)
    bg = float(np.median(img))

    def disk_mean(mask: np.ndarray) -> np.ndarray:
        ij = np.rint(px[mask]).astype(int)
        ok = np.all((ij >= 2) & (ij < 126), axis=1)
        vals = [img[i - 1 : i + 2, j - 1 : j + 2].mean() for i, j in ij[ok]]
        return np.array(vals)

    sr = disk_mean((names == "Sr") & (types == 0))
    assert np.median(sr) > 5 * bg
    # Removing half of a Sr column's atoms lowers its 3x3 mean by about half its excess over
    # the surroundings; the column-to-column scatter of pristine Sr columns (Poisson noise)
    # must be well below that.
    step = 0.5 * (np.median(sr) - bg)
    assert 3 * np.std(sr) < step, (np.std(sr), step)


def test_damage_fraction_matches_cross_section() -> None:
    world = make_world("GaN", "Easy", seed=1, shape=(128, 128))
    world.displacement_cross_section_A2 = 2e-6  # 1 - exp(-0.1) = 9.5 % per scan at 5e4
    before = world.column_counts.sum()
    sig0 = world.signal.copy()
    dose = 5e4
    world.acquire((0, 128, 0, 128), dose, np.random.default_rng(0))
    after = world.column_counts.sum()
    p = -math.expm1(-2e-6 * dose)
    frac = 1 - after / before
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / before)
    np.testing.assert_allclose(world.column_dose, dose)
    lost = np.flatnonzero(
        world.column_counts.sum(axis=1)
        < make_world("GaN", "Easy", seed=1, shape=(128, 128)).column_counts.sum(axis=1)
    )
    assert lost.size > 0
    ij = np.rint(world.column_positions_px[lost]).astype(int)
    assert np.all(world.signal[ij[:, 0], ij[:, 1]] < sig0[ij[:, 0], ij[:, 1]])
    assert np.all(world.signal >= 0)
    # Repeated high-dose scans keep removing atoms: about 1 - exp(-sigma * 10 D).
    for _ in range(9):
        world.acquire((0, 128, 0, 128), dose, np.random.default_rng(_ + 1))
    p10 = -math.expm1(-2e-6 * 10 * dose)
    tol = 4 * math.sqrt(p10 * (1 - p10) / before)
    assert 1 - world.column_counts.sum() / before == pytest.approx(p10, abs=tol)


def test_damage_is_local_and_truth_unchanged() -> None:
    world = make_world("SrTiO3", "Hard", seed=2, shape=SHAPE)
    types = world.truth.atom_types.copy()
    counts0 = world.column_counts.copy()
    world.render_noisy(5e4, np.random.default_rng(0))  # imaging without damage
    np.testing.assert_array_equal(world.column_counts, counts0)
    assert np.all(world.column_dose == 0)
    for _ in range(5):
        world.acquire((0, 32, 0, 32), 5e4, np.random.default_rng(_))
    px = world.column_positions_px
    inside = (px[:, 0] < 31.5) & (px[:, 1] < 31.5)
    assert np.all(world.column_dose[inside] == 2.5e5) and np.all(world.column_dose[~inside] == 0)
    changed = np.any(world.column_counts != counts0, axis=1)
    assert changed.any() and not np.any(changed & ~inside)
    np.testing.assert_array_equal(world.truth.atom_types, types)


def test_copy_is_independent() -> None:
    world = make_world("AuNP", "Medium", seed=0, shape=SHAPE)
    clone = world.copy()
    for _ in range(3):
        clone.acquire((0, 96, 0, 96), 5e4, np.random.default_rng(_))
    assert np.all(world.column_dose == 0) and np.any(clone.column_dose > 0)
    assert not np.array_equal(world.signal, clone.signal)
    assert clone.truth is world.truth


def test_acquire_statistics() -> None:
    world = make_world("BaTiO3", "Easy", seed=0, shape=SHAPE)
    world.displacement_cross_section_A2 = 0.0
    rng = np.random.default_rng(0)
    b = (32, 64, 0, 32)
    frames = np.stack([world.acquire(b, 5e4, rng) for _ in range(200)])
    assert frames.shape == (200, 32, 32) and frames.dtype == np.float32
    truth = world.render_clean(b)
    electrons = 5e4 * 0.04 * 200
    err = (frames.mean(axis=0) - truth) / np.sqrt(truth / electrons)
    assert abs(float(err.mean())) < 0.5 and float(np.abs(err).max()) < 6


def test_scan_noise_shifts_lines() -> None:
    world = make_world("SrTiO3", "Hard", seed=0, shape=SHAPE)
    world.displacement_cross_section_A2 = 0.0
    assert world.scan_jitter_px > 0
    b = (0, 32, 32, 64)
    noisy = world.render_noisy(1e12, np.random.default_rng(0), b)
    plain = world.render_noisy(1e12, np.random.default_rng(0), b, scan_noise=False)
    assert not np.allclose(noisy, plain, rtol=1e-3)
    np.testing.assert_allclose(plain, world.render_clean(b), rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"material": "Cu"}, "material"),
        ({"difficulty": "Insane"}, "difficulty"),
        ({"shape": (100, 96)}, "multiple"),
        ({"shape": (32, 96)}, "shape"),
        ({"tile_px": 4}, "tile_px"),
        ({"seed": -1}, "seed"),
        ({"material": "AuNP", "shape": (32, 32), "tile_px": 16}, "64"),
    ],
)
def test_make_world_rejects(kwargs: dict, match: str) -> None:
    options = {"material": "GaN", "difficulty": "Easy", "seed": 0, "shape": SHAPE} | kwargs
    material, difficulty = options.pop("material"), options.pop("difficulty")
    with pytest.raises(ConfigError, match=match):
        make_world(material, difficulty, **options)


def test_acquire_rejects() -> None:
    world = make_world("GaN", "Easy", seed=0, shape=(64, 64))
    rng = np.random.default_rng(0)
    for bounds in [(0, 65, 0, 32), (-1, 10, 0, 10), (10, 10, 0, 10), (0, 10), (0.5, 10, 0, 10)]:
        with pytest.raises(ConfigError, match="bounds"):
            world.acquire(bounds, 1e4, rng)  # type: ignore[arg-type]
    for dose in [0.0, -1.0, float("nan"), float("inf"), "a lot"]:
        with pytest.raises(ConfigError, match="dose_e_per_A2"):
            world.acquire((0, 32, 0, 32), dose, rng)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Generator"):
        world.acquire((0, 32, 0, 32), 1e4, 0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tile index"):
        world.info.tile_bounds(4)
    assert np.all(world.column_dose == 0)
