"""STEMEnv: spaces, dose budget, rewards = DEC-AUC, errors, rendering."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

from autoscope.errors import ConfigError
from autoscope.gym.decauc import dec_auc
from autoscope.gym.env import EpisodeOverError, InvalidActionError, NullAnalyst, STEMEnv
from autoscope.gym.world import GroundTruth, WorldInfo

SHAPE = (128, 128)  # 16 tiles of 32 px


def make(task: str = "defect-census", material: str = "SrTiO3", **options) -> STEMEnv:
    options.setdefault("shape", SHAPE)
    return STEMEnv(material, "Easy", task, **options)


def constant_frames(env: STEMEnv, values: list[float]) -> None:
    """Make the world return constant frames ``values[0]``, ``values[1]``, ... (no noise)."""
    queue = list(values)

    def acquire(bounds, dose, rng):
        r0, r1, c0, c1 = bounds
        return np.full((r1 - r0, c1 - c0), queue.pop(0), dtype=np.float32)

    env.world.acquire = acquire  # type: ignore[method-assign]


def test_spaces_and_reset() -> None:
    env = make()
    assert env.action_space == gymnasium.spaces.MultiDiscrete([17, 3])
    assert env.observation_space["image"].shape == SHAPE
    assert env.observation_space["dose"].dtype == np.float32
    observation, info = env.reset(seed=3)
    assert observation in env.observation_space
    assert not observation["image"].any() and not observation["dose"].any()
    assert info["dose_fraction"] == 0.0 and info["n_steps"] == 0 and info["tile"] == -1
    assert set(info["scores"]) == set(env.world_info.tasks)
    assert isinstance(env.world_info, WorldInfo)
    assert isinstance(env.ground_truth, GroundTruth)
    assert env.findings.n_defects == 0
    assert env.world_seed == 3


def test_budget_and_dose_accounting() -> None:
    env = make(analyst="none")
    env.reset(seed=0)
    info = env.world_info
    tile_area = (info.tile_px * info.pixel_size_A) ** 2
    budget = 0.5 * SHAPE[0] * SHAPE[1] * info.pixel_size_A**2 * 1e4
    observation, reward, terminated, truncated, step = env.step(np.array([0, 1]))
    assert math.isclose(step["budget_electrons"], budget)
    assert step["dose_step"] == 1e4
    assert math.isclose(step["electrons_step"], 1e4 * tile_area)
    assert math.isclose(step["dose_fraction"], 1 / 8)  # 16 tiles, half at the middle dose
    assert np.all(observation["dose"][:32, :32] == 1e4) and not observation["dose"][32:].any()
    # 7/8 of the budget remain: a high-dose tile (5/8) fits, the next one does not.
    *_, truncated, step = env.step(np.array([1, 2]))
    assert not truncated and math.isclose(step["dose_fraction"], 6 / 8)
    observation, _, terminated, truncated, step = env.step(np.array([2, 2]))
    assert truncated and not terminated
    assert step["dose_fraction"] == 1.0
    # What remained: 2/8 of the budget = two tiles' worth at 1e4, all on this tile.
    assert math.isclose(step["dose_step"], 2e4)
    assert math.isclose(float(observation["dose"][0, 70]), 2e4, rel_tol=1e-6)


def test_image_is_the_dose_weighted_mean_of_the_frames() -> None:
    env = make(analyst="none", budget=2.0)
    env.reset(seed=0)
    constant_frames(env, [1.0, 4.0])
    env.step(np.array([5, 0]))  # 2e3 e/Å² of 1.0
    observation, *_ = env.step(np.array([5, 1]))  # 1e4 e/Å² of 4.0
    r0, r1, c0, c1 = env.world_info.tile_bounds(5)
    np.testing.assert_allclose(observation["image"][r0:r1, c0:c1], 3.5, rtol=1e-6)
    np.testing.assert_allclose(observation["dose"][r0:r1, c0:c1], 1.2e4)
    assert not observation["image"][:r0].any()


@pytest.mark.parametrize(
    ("material", "task"),
    [("SrTiO3", "defect-census"), ("BaTiO3", "phase-mapping"), ("AuNP", "nanoparticle")],
)
def test_return_equals_dec_auc(material: str, task: str) -> None:
    env = make(task, material, budget=1.0)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    rewards, scores, fractions, all_scores = [], [], [], []
    done = False
    tiles = iter(np.concatenate([rng.permutation(env.n_tiles)] * 4))
    while not done:
        action = np.array([next(tiles), rng.integers(2)])
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        scores.append(info["score"])
        fractions.append(info["dose_fraction"])
        all_scores.append(info["scores"])
        done = terminated or truncated
    assert math.isclose(sum(rewards), dec_auc(scores, fractions), abs_tol=1e-12)
    assert max(scores) > 0  # the classical analyst finds something on an easy world
    assert fractions[-1] == 1.0
    assert [s[task] for s in all_scores] == scores
    trajectory = env.trajectory
    assert math.isclose(float(trajectory["dec_auc"]), sum(rewards), abs_tol=1e-12)
    np.testing.assert_array_equal(trajectory["rewards"], rewards)
    assert trajectory["actions"].shape == (len(rewards), 2)


def test_stop_terminates_without_dose() -> None:
    env = make(analyst="none")
    env.reset(seed=0)
    env.step(np.array([0, 1]))
    observation, reward, terminated, truncated, info = env.step(np.array([env.n_tiles, 0]))
    assert terminated and not truncated and reward == 0.0
    assert info["tile"] == env.n_tiles and info["dose_step"] == 0.0
    assert math.isclose(info["dose_fraction"], 1 / 8)
    assert np.count_nonzero(observation["dose"]) == 32 * 32


def test_step_after_the_end_raises_and_changes_nothing() -> None:
    env = make(analyst="none")
    with pytest.raises(EpisodeOverError, match="reset"):
        env.step(np.array([0, 0]))
    env.reset(seed=0)
    env.step(np.array([env.n_tiles, 0]))
    before = env.trajectory
    with pytest.raises(EpisodeOverError, match="call reset"):
        env.step(np.array([0, 0]))
    after = env.trajectory
    assert len(after["scores"]) == len(before["scores"]) == 1
    np.testing.assert_array_equal(after["actions"], before["actions"])
    env.reset(seed=0)  # a reset starts over
    env.step(np.array([0, 0]))


@pytest.mark.parametrize(
    "action",
    [
        np.array([17, 0]),
        np.array([0, 3]),
        np.array([-1, 0]),
        np.array([0, 0, 0]),
        np.array([1.5, 0.0]),
        np.array([True, False]),
        "tile 3",
        None,
    ],
)
def test_invalid_actions(action: object) -> None:
    env = make(analyst="none")
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"not in the action space MultiDiscrete"):
        env.step(action)
    assert issubclass(InvalidActionError, ConfigError) and issubclass(
        InvalidActionError, ValueError
    )
    assert env.trajectory["scores"].size == 0
    env.step(np.array([1.0, 2.0]))  # integral floats and lists are accepted
    env.step([2, 0])


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="valid materials: SrTiO3, BaTiO3, SiGe, GaN, AuNP"):
        STEMEnv("Graphene", "Easy", "defect-census")
    with pytest.raises(ConfigError, match="valid difficulties"):
        STEMEnv("SrTiO3", "easy", "defect-census")
    with pytest.raises(ConfigError, match="valid tasks"):
        STEMEnv("SrTiO3", "Easy", "census")
    with pytest.raises(ConfigError, match="does not apply to AuNP"):
        STEMEnv("AuNP", "Easy", "defect-census")
    with pytest.raises(ConfigError, match="multiples of tile_px"):
        make(shape=(100, 128))
    with pytest.raises(ConfigError, match="increasing"):
        make(dose_levels=(1e4, 2e3))
    with pytest.raises(ConfigError, match="budget"):
        make(budget=0)
    with pytest.raises(ConfigError, match="render_mode"):
        make(render_mode="human")
    with pytest.raises(ConfigError, match="unknown analyst"):
        make(analyst="oracle")


def test_null_analyst_scores_zero() -> None:
    env = make(analyst="none")
    assert isinstance(env.analyst, NullAnalyst)
    env.reset(seed=0)
    for tile in range(3):
        _, reward, *_, info = env.step(np.array([tile, 1]))
        assert reward == 0.0 and info["score"] == 0.0
        assert set(info["scores"].values()) == {0.0}
    assert env.findings.n_defects == 0


def test_reset_without_seed_is_reproducible_from_the_first_seed() -> None:
    env = make(analyst="none")
    env.reset(seed=11)
    env.reset()
    first = env.world_seed
    env.reset(seed=11)
    env.reset()
    assert env.world_seed == first != 11


def test_render_rgb_array() -> None:
    env = make(analyst="none", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([0, 1]))
    frame = env.render()
    assert frame is not None and frame.shape == (*SHAPE, 3) and frame.dtype == np.uint8
    assert tuple(frame[-1, -1]) == (16, 16, 48)  # unscanned
    assert frame[:32, :32].max() > 0
    assert make(analyst="none").render() is None


@pytest.mark.parametrize("budget", [0.0, -1.0, float("inf"), float("nan"), True, "0.5", None])
def test_budget_must_be_a_positive_number(budget: object) -> None:
    with pytest.raises(ConfigError, match="budget must be a finite number > 0"):
        make(budget=budget)
