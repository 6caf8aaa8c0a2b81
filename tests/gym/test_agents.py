"""Navigators and run_episode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoscope.errors import ConfigError
from autoscope.gym.agents import (
    NAVIGATORS,
    GPUCBNavigator,
    STEMAgentNavigator,
    make_navigator,
    run_episode,
    serpentine,
    tile_interest,
)
from autoscope.gym.analysts import Findings
from autoscope.gym.env import STEMEnv
from autoscope.gym.registry import env_id
from autoscope.gym.world import make_world

SMALL = {"shape": (128, 128)}
ID = env_id("SrTiO3", "Easy", "defect-census")


@pytest.fixture(scope="module")
def info():
    return make_world("SrTiO3", "Easy", seed=0, shape=(128, 128)).info


def findings_with_defects(info, points: list[tuple[float, float]]) -> Findings:
    findings = Findings.empty(info)
    findings.atoms_px = np.array(points, dtype=np.float64).reshape(-1, 2)
    findings.atom_types = np.full(len(points), 2, dtype=np.int64)
    findings.atom_uncertainty = np.zeros(len(points))
    return findings


def observation(info, scanned: list[int], dose: float = 1e4) -> dict[str, np.ndarray]:
    dose_map = np.zeros(info.shape, dtype=np.float32)
    for tile in scanned:
        r0, r1, c0, c1 = info.tile_bounds(tile)
        dose_map[r0:r1, c0:c1] = dose
    return {"image": dose_map.copy(), "dose": dose_map}


def test_registry_and_options() -> None:
    assert set(NAVIGATORS) == {"random", "raster", "gp-ucb", "stem-agent"}
    assert make_navigator("gp-ucb").beta == 2.0
    with pytest.raises(ConfigError, match="known navigators: random, raster, gp-ucb"):
        make_navigator("greedy")
    with pytest.raises(ConfigError, match="bad options for navigator 'raster'"):
        make_navigator("raster", beta=1.0)
    with pytest.raises(ConfigError, match="beta"):
        make_navigator("gp-ucb", beta=-1.0)
    with pytest.raises(ConfigError, match="unknown state 'EXPLORE'"):
        make_navigator("stem-agent", betas={"EXPLORE": 1.0})


def test_tile_interest(info) -> None:
    findings = findings_with_defects(info, [(5.0, 5.0), (6.0, 40.0), (100.0, 100.0)])
    findings.atom_types[1] = 0  # pristine: not interesting
    findings.rare_px = np.array([[10.0, 10.0]])
    interest = tile_interest(findings, info)
    assert interest.shape == (16,)
    assert interest[0] == 2 and interest[1] == 0 and interest[15] == 1 and interest.sum() == 3


def test_serpentine() -> None:
    assert serpentine(3, 3).tolist() == [0, 1, 2, 5, 4, 3, 6, 7, 8]


def test_raster_and_random_scan_every_tile_once() -> None:
    raster = run_episode(
        ID, navigator="raster", analyst="none", seed=0, env_options={"budget": 1.0, **SMALL}
    )
    assert raster.actions[:, 0].tolist() == serpentine(4, 4).tolist()
    assert set(raster.actions[:, 1].tolist()) == {1}
    random = run_episode(
        ID, navigator="random", analyst="none", seed=0, env_options={"budget": 2.0, **SMALL}
    )
    tiles = random.actions[:, 0].tolist()
    assert sorted(tiles[:16]) == list(range(16)) and tiles[16] == 16  # then STOP
    again = run_episode(
        ID, navigator="random", analyst="none", seed=0, env_options={"budget": 2.0, **SMALL}
    )
    np.testing.assert_array_equal(random.actions, again.actions)


def test_gp_ucb_goes_where_the_defects_are(info) -> None:
    nav = GPUCBNavigator(beta=0.0)
    nav.reset(info, seed=0)
    # Tile 5 (row 1, col 1) is full of defects; tile 15 (far corner) has none.
    findings = findings_with_defects(info, [(40.0 + i, 40.0 + i) for i in range(5)])
    obs = observation(info, [5, 15])
    mu, sigma = nav.posterior(np.array([1e4 if t in (5, 15) else 0 for t in range(16)]), findings)
    assert mu[5] > mu[6] > mu[15] - 1e-9 and sigma[5] < sigma[0]
    action = nav.act(obs, findings, {"n_dose_levels": 3, "dose_fraction": 0.1})
    assert action.tolist()[1] == 1
    assert action[0] in (1, 4, 6, 9)  # a neighbour of tile 5
    explorer = GPUCBNavigator(beta=10.0)
    explorer.reset(info, seed=0)
    far = explorer.act(obs, findings, {"n_dose_levels": 3, "dose_fraction": 0.1})
    assert far[0] not in (1, 4, 5, 6, 9, 15)


def test_stem_agent_state_machine(info) -> None:
    nav = STEMAgentNavigator()
    nav.reset(info, seed=0)
    step = {"n_dose_levels": 3, "dose_levels": (2e3, 1e4, 5e4), "dose_fraction": 0.0}
    empty = Findings.empty(info)
    action = nav.act(observation(info, []), empty, step)
    assert nav.state == "SURVEY" and action[1] == 0  # survey at the low dose
    # 3/16 tiles scanned >= 15 %: INVESTIGATE at the middle dose; surveyed tiles may be re-scanned.
    action = nav.act(observation(info, [0, 1, 2], dose=2e3), empty, step)
    assert nav.state == "INVESTIGATE" and action[1] == 1
    defects = findings_with_defects(info, [(5.0, 5.0), (8.0, 9.0)])
    action = nav.act(observation(info, [0, 1, 2]), defects, step)
    assert nav.state == "CHARACTERIZE" and action[1] == 2
    nav.act(observation(info, list(range(8))), defects, step)
    assert nav.state == "CENSUS"
    action = nav.act(observation(info, list(range(8))), defects, {**step, "dose_fraction": 0.85})
    assert nav.state == "TERMINATE" and action[0] == info.n_tiles
    assert nav.history == ["SURVEY", "INVESTIGATE", "CHARACTERIZE", "CENSUS", "TERMINATE"]
    assert [t[2] for t in nav.transitions] == ["INVESTIGATE", "CHARACTERIZE", "CENSUS", "TERMINATE"]


@pytest.mark.parametrize("navigator", sorted(NAVIGATORS))
def test_run_episode(navigator: str) -> None:
    episode = run_episode(ID, navigator=navigator, analyst="classical", seed=2, env_options=SMALL)
    k = episode.n_steps
    assert k > 0 and episode.actions.shape == (k, 2) and len(episode.states) == k
    assert episode.scores.shape == episode.rewards.shape == episode.dose_fractions.shape == (k,)
    assert set(episode.task_scores) == {"defect-census", "phase-mapping", "targeted-search"}
    np.testing.assert_array_equal(episode.task_scores["defect-census"], episode.scores)
    assert math.isclose(float(episode.rewards.sum()), episode.dec_auc, abs_tol=1e-12)
    assert episode.dec_auc_by_task["defect-census"] == episode.dec_auc
    assert 0 <= episode.dec_auc <= 1 and episode.dec_auc_by_task["phase-mapping"] > 0
    assert (episode.env_id, episode.navigator, episode.analyst, episode.seed) == (
        ID,
        navigator,
        "classical",
        2,
    )
    if navigator == "stem-agent":
        assert episode.states[0] == "SURVEY" and episode.states[-1] == "TERMINATE"
        order = [STEMAgentNavigator.STATES.index(s) for s in episode.states]
        assert order == sorted(order)
        # It stops itself (STOP) before eating into the 20 % reserve.
        assert episode.actions[-1, 0] == 16 and episode.dose_fractions[-1] <= 0.8 + 1e-9
    else:
        assert set(episode.states) == {"RUN"}
    again = run_episode(ID, navigator=navigator, analyst="classical", seed=2, env_options=SMALL)
    np.testing.assert_array_equal(episode.actions, again.actions)
    np.testing.assert_array_equal(episode.rewards, again.rewards)


def test_run_episode_with_an_env_and_max_steps() -> None:
    env = STEMEnv("GaN", "Easy", "targeted-search", analyst="none", **SMALL)
    episode = run_episode(
        env, navigator=make_navigator("raster"), analyst="none", seed=0, max_steps=3
    )
    assert episode.n_steps == 3 and episode.dec_auc == 0.0 and episode.task == "targeted-search"
    with pytest.raises(ConfigError, match="the environment's analyst is 'none'"):
        run_episode(env, navigator="raster", analyst="classical", seed=0)
    with pytest.raises(ConfigError, match="env_options"):
        run_episode(env, navigator="raster", analyst="none", seed=0, env_options={"budget": 1.0})
    with pytest.raises(ConfigError, match="analyst=..."):
        run_episode(ID, navigator="raster", analyst="none", seed=0, env_options={"analyst": "none"})
