"""Hand-checkable DEC-AUC of whole episodes: an oracle analyst and a do-nothing agent.

The oracle analyst reads the ground truth (what no real analyst may do), so after
the first scan every task scores 1 and the episode's DEC-AUC is exactly
``1 - d_1``, the dose fraction of that scan; an agent that stops at once scores 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoscope.gym.analysts import Analyst, Findings, TileFindings
from autoscope.gym.decauc import dec_auc
from autoscope.gym.env import STEMEnv
from autoscope.gym.registry import parse_env_id
from autoscope.gym.world import TASKS_BY_MATERIAL


class OracleAnalyst(Analyst):
    """Reports the ground truth of ``env`` after any scan."""

    name = "oracle"

    def __init__(self) -> None:
        super().__init__()
        self.env: STEMEnv | None = None

    def analyse_tile(self, image, dose, window, tile) -> TileFindings:  # pragma: no cover
        return TileFindings()

    def update(self, mosaic, dose_map, bounds) -> Findings:
        truth = self.env.ground_truth
        px_nm = self.env.world_info.pixel_size_A / 10
        centres = (
            np.empty((0, 2)) if truth.particle_centres_nm is None else truth.particle_centres_nm
        )
        diameters = (
            np.empty(0) if truth.particle_diameters_nm is None else truth.particle_diameters_nm
        )
        return Findings(
            atoms_px=np.asarray(truth.atom_positions_nm) / px_nm,
            atom_types=np.asarray(truth.atom_types, dtype=np.int64),
            atom_uncertainty=np.zeros(len(truth.atom_types)),
            phase_map=None if truth.phase_map is None else np.asarray(truth.phase_map),
            particle_centres_px=np.asarray(centres) / px_nm,
            particle_diameters_px=np.asarray(diameters) / px_nm,
            rare_px=np.asarray(truth.rare_centre_nm)[None, :] / px_nm,
        )


@pytest.mark.parametrize(
    ("material", "task"), [(m, t) for m, tasks in TASKS_BY_MATERIAL.items() for t in tasks]
)
def test_oracle_scores_one_minus_the_first_dose_fraction(material, task):
    oracle = OracleAnalyst()
    env = STEMEnv(material, "Medium", task, analyst=oracle, shape=(128, 128))
    oracle.env = env
    env.reset(seed=0)
    n_tiles = env.world_info.n_tiles
    _, first, *_, info = env.step(np.array([0, 0]))  # one tile at the lowest dose
    assert info["score"] == pytest.approx(1.0)
    d1 = info["dose_fraction"]
    assert d1 == pytest.approx(2e3 / (0.5 * n_tiles * 1e4))  # 0.025 of the budget
    _, second, terminated, *_ = env.step(np.array([n_tiles, 0]))  # STOP
    assert terminated and second == 0.0
    assert first + second == pytest.approx(1.0 - d1)
    assert dec_auc([1.0, 1.0], [d1, d1]) == pytest.approx(1.0 - d1)


@pytest.mark.parametrize("env_id", ["autoscope/STEM-GaN-Hard-DefectCensus-v0",
                                    "autoscope/STEM-AuNP-Easy-Nanoparticle-v0"])  # fmt: skip
def test_stopping_at_once_scores_zero(env_id):
    material, difficulty, task = parse_env_id(env_id)
    env = STEMEnv(material, difficulty, task, shape=(128, 128))
    env.reset(seed=1)
    _, reward, terminated, truncated, info = env.step(np.array([env.world_info.n_tiles, 1]))
    assert terminated and not truncated
    assert reward == 0.0 and info["dose_fraction"] == 0.0
    assert math.isclose(dec_auc([info["score"]], [info["dose_fraction"]]), 0.0)
