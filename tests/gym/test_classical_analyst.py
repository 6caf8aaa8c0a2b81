"""The classical analyst and the incremental bookkeeping of the analyst base class."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import ConfigError
from autoscope.gym.analysts import ANALYSTS, Analyst, Findings, TileFindings, make_analyst
from autoscope.gym.analysts.classical import ClassicalAnalyst
from autoscope.gym.tasks import task_score
from autoscope.gym.world import WorldInfo, make_world

PX = 0.2
SHAPE = (96, 96)
SR = 5 * 38**1.7
TIO = 5 * (22**1.7 + 8**1.7)


def fake_info(**changes: object) -> WorldInfo:
    """A hand-made SrTiO3-like world description (Sr and TiO columns only)."""
    defaults = {
        "material": "SrTiO3",
        "difficulty": "Easy",
        "shape": SHAPE,
        "pixel_size_A": PX,
        "tile_px": 32,
        "sublattice_names": ("Sr", "TiO"),
        "sublattice_intensity": (SR, TIO),
        "column_spacing_A": 3.905 / 2**0.5,
        "phase_names": (),
        "tasks": ("defect-census", "targeted-search"),
    }
    return WorldInfo(**(defaults | changes))


def _scan_all(analyst: Analyst, info: WorldInfo, image: np.ndarray, dose: float) -> Findings:
    mosaic = np.zeros(info.shape, dtype=np.float32)
    dose_map = np.zeros(info.shape)
    findings = analyst.findings
    for index in range(info.n_tiles):
        r0, r1, c0, c1 = info.tile_bounds(index)
        mosaic[r0:r1, c0:c1] = image[r0:r1, c0:c1]
        dose_map[r0:r1, c0:c1] = dose
        findings = analyst.update(mosaic, dose_map, (r0, r1, c0, c1))
    return findings


def test_registry_is_lazy_and_rejects_unknown_names():
    assert {"classical", "cnn"} <= set(ANALYSTS)
    assert isinstance(make_analyst("classical"), ClassicalAnalyst)
    with pytest.raises(ConfigError, match="known analysts: 'classical', 'cnn'"):
        make_analyst("nope")
    with pytest.raises(ConfigError, match="bad options"):
        make_analyst("classical", no_such_option=1)
    with pytest.raises(ConfigError, match="k_sigma"):
        make_analyst("classical", k_sigma=-1.0)


def test_no_scanned_tiles_means_empty_findings():
    info = fake_info(phase_names=("[001]", "[110]"))
    analyst = make_analyst("classical")
    with pytest.raises(ConfigError, match="reset"):
        analyst.findings  # noqa: B018
    analyst.reset(info)
    findings = analyst.findings
    assert findings.atoms_px.shape == (0, 2) and findings.n_defects == 0
    assert findings.phase_map is not None and (findings.phase_map == -1).all()
    # an update whose tile received no dose finds nothing either
    findings = analyst.update(np.zeros(SHAPE, np.float32), np.zeros(SHAPE), (0, 32, 0, 32))
    assert len(findings.atoms_px) == 0 and len(findings.rare_px) == 0


def _scan_world(material: str, difficulty: str, dose: float, *, seed: int = 0):
    """Scan a real 128 x 128 world tile by tile; returns (world, findings)."""
    world = make_world(material, difficulty, seed=seed, shape=(128, 128))
    info = world.info
    analyst = make_analyst("classical")
    analyst.reset(info)
    rng = np.random.default_rng(seed + 100)
    mosaic = np.zeros(info.shape, np.float32)
    dose_map = np.zeros(info.shape)
    findings = analyst.findings
    for index in range(info.n_tiles):
        r0, r1, c0, c1 = bounds = info.tile_bounds(index)
        mosaic[r0:r1, c0:c1] = world.acquire(bounds, dose, rng)
        dose_map[r0:r1, c0:c1] = dose
        findings = analyst.update(mosaic, dose_map, bounds)
    return world, findings


@pytest.mark.parametrize(("material", "floor"), [("GaN", 0.6), ("BaTiO3", 0.35)])
def test_census_on_real_worlds_at_high_dose(material, floor):
    # measured (3 seeds, Easy, 5e4 e/A^2): GaN ~0.9, BaTiO3 ~0.6
    world, findings = _scan_world(material, "Easy", 5e4)
    score = task_score("defect-census", findings, world.truth, world.info)
    assert score.value > floor, score.details


def test_phase_mapping_on_real_worlds_beats_chance():
    # measured at 1e4 e/A^2: SrTiO3 ~0.93, BaTiO3 ~0.76, SiGe ~0.78 (chance ~0.5)
    for material, floor in (("SrTiO3", 0.8), ("BaTiO3", 0.6), ("SiGe", 0.6)):
        world, findings = _scan_world(material, "Easy", 1e4)
        score = task_score("phase-mapping", findings, world.truth, world.info)
        assert score.value > floor, (material, score.details)


def test_real_world_analysis_is_deterministic_and_has_no_duplicates():
    runs = [_scan_world("GaN", "Medium", 5e4, seed=1)[1] for _ in range(2)]
    np.testing.assert_array_equal(runs[0].atoms_px, runs[1].atoms_px)
    np.testing.assert_array_equal(runs[0].atom_types, runs[1].atom_types)
    np.testing.assert_array_equal(runs[0].rare_px, runs[1].rare_px)
    atoms = runs[0].atoms_px
    d = np.hypot(*(atoms[:, None] - atoms[None]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 3.0  # no column found twice


def test_rare_feature_found_on_gan_and_aunp():
    for material in ("GaN", "AuNP"):
        world, findings = _scan_world(material, "Easy", 1e4)
        assert task_score("targeted-search", findings, world.truth, world.info).value == 1.0


class _Labeller(Analyst):
    """Reports one atom at the tile's centre and a phase equal to the tile's row."""

    name = "labeller"

    def analyse_tile(self, image, dose, window, tile):
        centre = [(tile[0] + tile[1]) / 2 - window[0], (tile[2] + tile[3]) / 2 - window[2]]
        margin_atom = [0.0, 0.0]  # in the window's margin
        return TileFindings(
            atoms_px=np.array([centre, margin_atom]),
            atom_types=np.array([1, 0]),
            phase=tile[0] // 32,
        )


def test_base_class_keeps_only_the_tiles_own_results():
    info = fake_info(phase_names=("a", "b", "c"))
    analyst = _Labeller(margin_px=4)
    analyst.reset(info)
    mosaic, dose = np.zeros(SHAPE, np.float32), np.ones(SHAPE)
    analyst.update(mosaic, dose, (32, 64, 32, 64))
    findings = analyst.update(mosaic, dose, (32, 64, 32, 64))
    assert findings.atoms_px.tolist() == [[48.0, 48.0]]  # margin atom dropped, no duplicate
    assert findings.n_defects == 1
    findings = analyst.update(mosaic, dose, (64, 96, 0, 32))
    # the window of tile (64, 0) starts at row 60: its (0, 0) atom lies in the margin
    assert findings.atoms_px.tolist() == [[48.0, 48.0], [80.0, 16.0]]
    assert (findings.phase_map[32:64, 32:64] == 1).all()
    assert (findings.phase_map[64:96, 0:32] == 2).all()
    assert (findings.phase_map[:32] == -1).all()
    with pytest.raises(ConfigError, match="bounds"):
        analyst.update(mosaic, dose, (0, 200, 0, 32))
    with pytest.raises(ConfigError, match="shape"):
        analyst.update(mosaic[:10], dose, (0, 32, 0, 32))


def test_nanoparticles_are_segmented_and_the_bright_one_is_rare():
    info = fake_info(
        material="AuNP",
        pixel_size_A=1.0,
        shape=(128, 128),
        sublattice_names=("Au",),
        sublattice_intensity=(79**1.7,),
        column_spacing_A=2.88,
        tasks=("nanoparticle", "targeted-search"),
    )
    rows, cols = np.mgrid[:128, :128]
    centres = [(20, 20), (30, 90), (70, 50), (100, 100), (100, 20)]
    radii = [6, 8, 7, 5, 9]
    truth = np.full((128, 128), 0.002)
    for k, ((r, c), rad) in enumerate(zip(centres, radii, strict=True)):
        truth[(rows - r) ** 2 + (cols - c) ** 2 <= rad**2] = 0.2 if k == 2 else 0.05
    rng = np.random.default_rng(0)
    dose = 1e3
    image = rng.poisson(truth * dose) / dose
    analyst = make_analyst("classical")
    analyst.reset(info)
    findings = _scan_all(analyst, info, image, dose)
    assert len(findings.particle_centres_px) == 5
    order = np.argsort(
        findings.particle_centres_px[:, 0] * 1000 + findings.particle_centres_px[:, 1]
    )
    expected = np.argsort(np.array(centres)[:, 0] * 1000 + np.array(centres)[:, 1])
    np.testing.assert_allclose(
        findings.particle_centres_px[order], np.array(centres, float)[expected], atol=1.0
    )
    np.testing.assert_allclose(
        findings.particle_diameters_px[order], 2 * np.array(radii, float)[expected], rtol=0.15
    )
    assert len(findings.rare_px) == 1
    np.testing.assert_allclose(findings.rare_px[0], centres[2], atol=1.0)


def test_editing_findings_does_not_change_the_analyst():
    from autoscope.gym.analysts import make_analyst
    from autoscope.gym.world import make_world

    world = make_world("GaN", "Easy", seed=2, shape=(64, 64))
    analyst = make_analyst("classical")
    analyst.reset(world.info)
    mosaic = world.render_clean().astype(np.float32)
    dose = np.full(world.info.shape, 5e4, dtype=np.float32)
    found = analyst.update(mosaic, dose, world.info.tile_bounds(0))
    assert len(found.atoms_px)
    before = found.atoms_px.copy()
    found.atoms_px[:] = -1.0
    found.atom_types[:] = 2
    later = analyst.update(mosaic, dose, world.info.tile_bounds(1))
    np.testing.assert_array_equal(later.atoms_px[: len(before)], before)
    assert not np.any(later.atoms_px == -1.0)
