"""The benchmark's Gymnasium ids: naming, registration and Gymnasium's own checker."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from autoscope.errors import ConfigError
from autoscope.gym.registry import ENTRY_POINT, env_id, env_ids, parse_env_id, register_envs
from autoscope.gym.world import DIFFICULTIES, MATERIALS, TASKS_BY_MATERIAL

register_envs()

#: Small worlds keep the 39-environment checks fast (16 tiles; the default
#: budget then allows one high-dose step without truncation).
SMALL = {"shape": (128, 128)}

# The observation boxes are Box(0, inf) by contract: the image is Poisson counts /
# electrons per pixel, which has no upper bound when a step scans with a tiny remainder
# of the budget, and the dose map is not bounded by the space either. check_env warns
# about any infinite bound; this one warning is expected and ignored, nothing else.
INFINITE_BOX = "ignore:.*A Box observation space maximum value is infinity:UserWarning"


def test_ids_cover_every_applicable_world_and_task() -> None:
    ids = env_ids()
    assert len(ids) == len(set(ids)) == 39
    expected = sum(len(TASKS_BY_MATERIAL[m]) for m in MATERIALS) * len(DIFFICULTIES)
    assert len(ids) == expected
    assert "autoscope/STEM-SrTiO3-Easy-DefectCensus-v0" in ids
    assert "autoscope/STEM-AuNP-Hard-Nanoparticle-v0" in ids
    assert "autoscope/STEM-GaN-Medium-PhaseMapping-v0" not in ids
    for name in ids:
        assert env_id(*parse_env_id(name)) == name


def test_parse_env_id() -> None:
    assert parse_env_id("autoscope/STEM-BaTiO3-Medium-PhaseMapping-v0") == (
        "BaTiO3",
        "Medium",
        "phase-mapping",
    )
    for bad in ("STEM-SrTiO3-Easy-DefectCensus-v0", "autoscope/STEM-SrTiO3-Easy-Census-v0", 3):
        with pytest.raises(ConfigError, match="not a STEM benchmark id"):
            parse_env_id(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="valid materials: SrTiO3"):
        parse_env_id("autoscope/STEM-Si-Easy-DefectCensus-v0")


def test_env_id_errors_list_the_valid_names() -> None:
    with pytest.raises(ConfigError, match="valid materials: SrTiO3, BaTiO3, SiGe, GaN, AuNP"):
        env_id("Graphene", "Easy", "defect-census")
    with pytest.raises(ConfigError, match="valid difficulties: Easy, Medium, Hard"):
        env_id("SrTiO3", "Extreme", "defect-census")
    with pytest.raises(ConfigError, match="valid tasks: defect-census"):
        env_id("SrTiO3", "Easy", "counting")
    with pytest.raises(ConfigError, match="does not apply to GaN"):
        env_id("GaN", "Easy", "phase-mapping")


def test_registration_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = register_envs()
        second = register_envs()
    assert first == second == env_ids()
    for name in first:
        spec = gymnasium.spec(name)
        assert spec.entry_point == ENTRY_POINT
        assert spec.kwargs["material"] == parse_env_id(name)[0]


@pytest.mark.filterwarnings(INFINITE_BOX)
@pytest.mark.parametrize("name", env_ids())
def test_check_env(name: str) -> None:
    env = gymnasium.make(name, **SMALL)
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


@pytest.mark.parametrize("name", env_ids())
def test_seeded_determinism(name: str) -> None:
    runs = []
    for _ in range(2):
        env = gymnasium.make(name, **SMALL)
        observation, _ = env.reset(seed=7)
        record = [observation]
        for action in ([5, 1], [6, 0], [5, 2]):
            observation, reward, terminated, truncated, info = env.step(np.array(action))
            record += [observation, reward, info["scores"]]
        env.close()
        runs.append(record)
    for a, b in zip(*runs, strict=True):
        if isinstance(a, dict) and "image" in a:
            np.testing.assert_array_equal(a["image"], b["image"])
            np.testing.assert_array_equal(a["dose"], b["dose"])
        else:
            assert a == b
