"""Task scores on hand-made findings and ground truths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from autoscope.errors import ConfigError
from autoscope.gym.analysts.base import Findings
from autoscope.gym.tasks import (
    TASKS,
    census_score,
    nanoparticle_score,
    phase_score,
    search_score,
    task_score,
)
from autoscope.gym.world import GroundTruth, WorldInfo

PX_A = 0.2  # Å per pixel: 1 px = 0.02 nm
SPACING_A = 2.0  # census radius 0.4 * 2 Å = 0.8 Å = 4 px


def fake_info(**changes: object) -> WorldInfo:
    """A hand-made world description with two sublattices and two phases."""
    defaults = {
        "material": "SrTiO3",
        "difficulty": "Easy",
        "shape": (64, 64),
        "pixel_size_A": PX_A,
        "tile_px": 32,
        "sublattice_names": ("A", "B"),
        "sublattice_intensity": (100.0, 50.0),
        "column_spacing_A": SPACING_A,
        "phase_names": ("p0", "p1"),
        "tasks": ("defect-census", "phase-mapping", "targeted-search"),
    }
    return WorldInfo(**(defaults | changes))


def _nm(px) -> np.ndarray:
    return np.asarray(px, dtype=float) * PX_A / 10


def _crystal():
    info = fake_info()
    rows, cols = np.mgrid[5:64:10, 5:64:10]
    px = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(float)
    types = np.zeros(len(px), dtype=np.int64)
    types[[3, 10, 20]] = 1
    types[[7, 30]] = 2
    phase = np.zeros((64, 64), dtype=np.int64)
    phase[:, 32:] = 1
    truth = GroundTruth(
        atom_positions_nm=_nm(px),
        atom_types=types,
        sublattice=np.zeros(len(px), dtype=np.int64),
        defect_mask=np.zeros((64, 64), dtype=bool),
        phase_map=phase,
        valid=np.ones((64, 64), dtype=bool),
        rare_centre_nm=_nm([40.0, 40.0]),
        rare_radius_nm=_nm(6.0).item(),
    )
    return info, truth, px, types


def _findings(info, px, types, **kw) -> Findings:
    return replace(
        Findings.empty(info),
        atoms_px=np.asarray(px, float),
        atom_types=np.asarray(types),
        atom_uncertainty=np.zeros(len(types)),
        **kw,
    )


def test_perfect_census_scores_one_and_empty_scores_zero():
    info, truth, px, types = _crystal()
    assert census_score(_findings(info, px, types), truth, info).value == 1.0
    empty = census_score(Findings.empty(info), truth, info)
    assert empty.value == 0.0
    assert empty.details["recall"] == 0.0 and empty.details["n_truth"] == 5


def test_one_wrong_type_gives_the_expected_f1():
    info, truth, px, types = _crystal()
    wrong = types.copy()
    wrong[3] = 2  # a vacancy called a substitution: 4 TP of 5 found and 5 true
    score = census_score(_findings(info, px, wrong), truth, info)
    assert score.value == pytest.approx(2 * 4 / 10)
    assert score.details["f1_vacancy"] == pytest.approx(2 * 2 / 5)
    assert score.details["f1_substitution"] == pytest.approx(2 * 2 / 5)


def test_census_tolerates_offsets_within_the_radius_only():
    info, truth, px, types = _crystal()
    assert census_score(_findings(info, px + [3.0, 0.0], types), truth, info).value == 1.0
    assert census_score(_findings(info, px + [5.0, 0.0], types), truth, info).value == 0.0


def test_phase_half_right_scores_half_and_unknown_is_wrong():
    info, truth, _, _ = _crystal()
    predicted = np.zeros((64, 64), dtype=np.int32)  # right on the left half only
    score = phase_score(replace(Findings.empty(info), phase_map=predicted), truth, info)
    assert score.value == pytest.approx(0.5)
    assert phase_score(Findings.empty(info), truth, info).value == 0.0
    perfect = replace(Findings.empty(info), phase_map=np.asarray(truth.phase_map, np.int32))
    assert phase_score(perfect, truth, info).value == 1.0


def test_phase_counts_only_valid_pixels():
    info, truth, _, _ = _crystal()
    valid = np.zeros((64, 64), dtype=bool)
    valid[:, :32] = True
    truth = replace(truth, valid=valid)
    predicted = np.zeros((64, 64), dtype=np.int32)
    assert phase_score(replace(Findings.empty(info), phase_map=predicted), truth, info).value == 1.0


def test_rare_feature_found_or_not():
    info, truth, _, _ = _crystal()
    near = replace(Findings.empty(info), rare_px=np.array([[0.0, 0.0], [44.0, 40.0]]))
    far = replace(Findings.empty(info), rare_px=np.array([[0.0, 0.0], [52.0, 40.0]]))
    assert search_score(near, truth, info).value == 1.0
    assert search_score(far, truth, info).value == 0.0
    assert search_score(Findings.empty(info), truth, info).details["distance_nm"] == np.inf
    # reach = radius 6 px + 0.4 * spacing (4 px) = 10 px
    edge = replace(Findings.empty(info), rare_px=np.array([[49.9, 40.0]]))
    assert search_score(edge, truth, info).value == 1.0


def _particles():
    info = fake_info(
        material="AuNP",
        pixel_size_A=1.0,
        phase_names=(),
        tasks=("nanoparticle", "targeted-search"),
        shape=(128, 128),
    )
    centres_px = np.array([[20.0, 20.0], [60.0, 90.0], [100.0, 40.0]])
    diameters_px = np.array([10.0, 16.0, 12.0])
    truth = GroundTruth(
        atom_positions_nm=np.empty((0, 2)),
        atom_types=np.empty(0, dtype=np.int64),
        sublattice=np.empty(0, dtype=np.int64),
        defect_mask=np.zeros((128, 128), dtype=bool),
        phase_map=None,
        valid=np.ones((128, 128), dtype=bool),
        rare_centre_nm=centres_px[1] / 10,
        rare_radius_nm=0.8,
        particle_centres_nm=centres_px / 10,
        particle_diameters_nm=diameters_px / 10,
    )
    return info, truth, centres_px, diameters_px


def _found_particles(info, centres, diameters) -> Findings:
    return replace(
        Findings.empty(info),
        particle_centres_px=np.asarray(centres, float),
        particle_diameters_px=np.asarray(diameters, float),
    )


def test_nanoparticle_exact_and_ten_percent_size_error():
    info, truth, centres, diameters = _particles()
    exact = nanoparticle_score(_found_particles(info, centres, diameters), truth, info)
    assert exact.value == pytest.approx(1.0)
    assert exact.details["wasserstein"] == pytest.approx(0.0)
    bigger = nanoparticle_score(_found_particles(info, centres, 1.1 * diameters), truth, info)
    assert bigger.value == pytest.approx(0.9)
    assert bigger.details["size_error"] == pytest.approx(0.1)
    assert nanoparticle_score(Findings.empty(info), truth, info).value == 0.0


def test_nanoparticle_match_radius_is_half_the_true_diameter():
    info, truth, centres, diameters = _particles()
    shifted = centres + [[4.0, 0.0], [0.0, 0.0], [0.0, 0.0]]  # within 5 px of particle 0
    assert nanoparticle_score(_found_particles(info, shifted, diameters), truth, info).value == 1.0
    shifted = centres + [[6.0, 0.0], [0.0, 0.0], [0.0, 0.0]]  # beyond it: F1 = 4 / 6
    score = nanoparticle_score(_found_particles(info, shifted, diameters), truth, info)
    assert score.value == pytest.approx(4 / 6)
    assert score.details["count"] == 3 and score.details["true_count"] == 3


def test_task_score_dispatches_and_rejects_unknown_tasks():
    info, truth, px, types = _crystal()
    findings = _findings(info, px, types)
    assert task_score("defect-census", findings, truth, info).value == 1.0
    assert set(TASKS) == {"defect-census", "phase-mapping", "targeted-search", "nanoparticle"}
    with pytest.raises(ConfigError, match="known tasks"):
        task_score("census", findings, truth, info)
    with pytest.raises(ConfigError, match="nanoparticles"):
        task_score("nanoparticle", findings, truth, info)
    p_info, p_truth, _, _ = _particles()
    with pytest.raises(ConfigError, match="no phases"):
        task_score("phase-mapping", Findings.empty(p_info), p_truth, p_info)
