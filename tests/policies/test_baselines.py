"""Baseline policies (random, raster, space-filling), the registry and select_top."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.pool import CandidatePool
from autoscope.errors import ConfigError
from autoscope.policies import POLICIES, CampaignState, make_policy, select_top
from autoscope.policies.baselines import RandomPolicy, RasterPolicy, SpaceFillingPolicy

EMPTY = np.array([], dtype=np.int64)


def state_of(
    pool: CandidatePool,
    *,
    measured: list[int] | None = None,
    pending: list[int] | None = None,
    excluded: list[int] | None = None,
    seed: int = 0,
) -> CampaignState:
    measured_arr = np.array(measured or [], dtype=np.int64)
    return CampaignState(
        pool=pool,
        measured=measured_arr,
        targets=np.zeros(len(measured_arr)),
        pending=np.array(pending or [], dtype=np.int64),
        excluded=np.array(excluded or [], dtype=np.int64),
        step=0,
        rng=np.random.default_rng(seed),
    )


def grid_pool(rows: int = 3, cols: int = 4) -> CandidatePool:
    """Candidates in row-major order: index ``r * cols + c``."""
    coords = np.argwhere(np.ones((rows, cols), dtype=bool))
    return CandidatePool(coords, {"patches": np.zeros((rows * cols, 2, 2))}, (rows, cols))


def line_pool(positions: list[float]) -> CandidatePool:
    """Candidates whose only feature is a 1-D position."""
    n = len(positions)
    coords = np.stack([np.zeros(n, dtype=np.int64), np.arange(n)], axis=1)
    return CandidatePool(coords, {"pos": np.array(positions, dtype=float)[:, None]}, (1, n))


def indices(suggestions: list) -> list[int]:
    return [s.index for s in suggestions]


# -- raster ---------------------------------------------------------------------------------

# 3 x 4 grid, index = 4 * row + col:
#   0  1  2  3
#   4  5  6  7
#   8  9 10 11
ROW_ORDER = [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11]
COLUMN_ORDER = [0, 4, 8, 9, 5, 1, 2, 6, 10, 11, 7, 3]


@pytest.mark.parametrize(("by", "expected"), [("row", ROW_ORDER), ("column", COLUMN_ORDER)])
def test_raster_serpentine_order(by: str, expected: list[int]) -> None:
    pool = grid_pool()
    policy = make_policy("raster", by=by)
    assert indices(policy.ask(state_of(pool), 12)) == expected
    assert indices(policy.ask(state_of(pool), 5)) == expected[:5]
    suggestions = policy.ask(state_of(pool), 3)
    assert [s.coords for s in suggestions] == [tuple(pool.coords[i]) for i in expected[:3]]


def test_raster_order_does_not_depend_on_pool_order() -> None:
    coords = np.argwhere(np.ones((3, 4), dtype=bool))
    perm = np.random.default_rng(3).permutation(12)
    pool = CandidatePool(coords[perm], None, (3, 4))
    chosen = indices(RasterPolicy(by="row").ask(state_of(pool), 12))
    # map the shuffled pool indices back to row-major indices
    assert perm[chosen].tolist() == ROW_ORDER


def test_raster_skips_measured_pending_and_excluded() -> None:
    pool = grid_pool()
    state = state_of(pool, measured=[0, 7], pending=[2], excluded=[5])
    assert indices(RasterPolicy().ask(state, 12)) == [1, 3, 6, 4, 8, 9, 10, 11]
    assert indices(RasterPolicy(by="column").ask(state, 3)) == [4, 8, 9]


def test_raster_continues_after_each_measured_point() -> None:
    pool = grid_pool()
    measured: list[int] = []
    for _ in range(12):
        [s] = RasterPolicy().ask(state_of(pool, measured=measured), 1)
        measured.append(s.index)
    assert measured == ROW_ORDER
    assert RasterPolicy().ask(state_of(pool, measured=measured), 1) == []


def test_raster_rejects_unknown_direction() -> None:
    with pytest.raises(ConfigError, match="'row' or 'column'"):
        RasterPolicy(by="diagonal")
    with pytest.raises(ConfigError, match="'row' or 'column'"):
        make_policy("raster", by="diagonal")


# -- random ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_random_never_returns_unavailable_or_duplicates(seed: int) -> None:
    pool = grid_pool(5, 5)
    measured, pending, excluded = [0, 3, 24], [7, 8], [12, 13, 14]
    taken = set(measured + pending + excluded)
    state = state_of(pool, measured=measured, pending=pending, excluded=excluded, seed=seed)
    for n in (1, 4, 17, 100):
        chosen = indices(RandomPolicy().ask(state, n))
        assert len(chosen) == min(n, 25 - len(taken))
        assert len(set(chosen)) == len(chosen)
        assert not taken & set(chosen)
        assert all(0 <= i < 25 for i in chosen)


def test_random_is_reproducible_from_the_rng() -> None:
    pool = grid_pool(10, 10)
    runs = [indices(RandomPolicy().ask(state_of(pool, measured=[1], seed=s), 10)) for s in (4, 4)]
    assert runs[0] == runs[1]
    others = {tuple(indices(RandomPolicy().ask(state_of(pool, seed=s), 10))) for s in range(5)}
    assert len(others) == 5


def test_random_with_nothing_available_returns_nothing() -> None:
    pool = grid_pool(1, 2)
    assert RandomPolicy().ask(state_of(pool, measured=[0], excluded=[1]), 3) == []


# -- space-filling --------------------------------------------------------------------------


def test_space_filling_picks_far_end_then_middle() -> None:
    pool = line_pool([float(i) for i in range(11)])  # positions 0..10, index == position
    policy = make_policy("space-filling", feature="pos")
    [first] = policy.ask(state_of(pool, measured=[0]), 1)
    assert first.index == 10 and first.acquisition == pytest.approx(10.0)
    [second] = policy.ask(state_of(pool, measured=[0, 10]), 1)
    assert second.index == 5 and second.acquisition == pytest.approx(5.0)
    batch = policy.ask(state_of(pool, measured=[0]), 2)
    assert indices(batch) == [10, 5]
    assert [s.acquisition for s in batch] == pytest.approx([10.0, 5.0])


def test_space_filling_counts_pending_points_as_taken() -> None:
    pool = line_pool([float(i) for i in range(11)])
    [s] = SpaceFillingPolicy(feature="pos").ask(state_of(pool, measured=[0], pending=[10]), 1)
    assert s.index == 5


def test_space_filling_skips_excluded_points() -> None:
    pool = line_pool([float(i) for i in range(11)])
    [s] = SpaceFillingPolicy(feature="pos").ask(state_of(pool, measured=[0], excluded=[10]), 1)
    assert s.index == 9


def test_space_filling_breaks_ties_at_random() -> None:
    pool = line_pool([-1.0, 0.0, 1.0])  # indices 0 and 2 are both at distance 1 from index 1
    policy = SpaceFillingPolicy(feature="pos")
    picks = {policy.ask(state_of(pool, measured=[1], seed=s), 1)[0].index for s in range(20)}
    assert picks == {0, 2}
    same = {policy.ask(state_of(pool, measured=[1], seed=7), 1)[0].index for _ in range(3)}
    assert len(same) == 1


def test_space_filling_first_pick_is_random_without_history() -> None:
    pool = line_pool([float(i) for i in range(6)])
    policy = SpaceFillingPolicy(feature="pos")
    picks = {policy.ask(state_of(pool, seed=s), 1)[0].index for s in range(30)}
    assert len(picks) > 2


@pytest.mark.parametrize("seed", range(5))
def test_space_filling_batch_picks_are_distinct_and_available(seed: int) -> None:
    rng = np.random.default_rng(seed)
    coords = np.argwhere(np.ones((6, 6), dtype=bool))
    pool = CandidatePool(coords, {"patches": rng.random((36, 3, 3))}, (6, 6))
    taken = {0, 5, 30}
    state = state_of(pool, measured=[0], pending=[5], excluded=[30], seed=seed)
    chosen = indices(SpaceFillingPolicy().ask(state, 12))
    assert len(chosen) == 12 == len(set(chosen))
    assert not taken & set(chosen)
    everything = indices(SpaceFillingPolicy().ask(state, 100))
    assert sorted(everything) == sorted(set(range(36)) - taken)


def test_space_filling_with_duplicate_features_still_returns_distinct_points() -> None:
    pool = line_pool([0.0, 0.0, 0.0, 1.0])
    chosen = indices(SpaceFillingPolicy(feature="pos").ask(state_of(pool, measured=[3]), 3))
    assert sorted(chosen) == [0, 1, 2]


# -- registry and select_top ----------------------------------------------------------------


def test_registry_holds_the_baselines() -> None:
    assert {"random", "raster", "space-filling"} <= set(POLICIES)
    assert isinstance(make_policy("random"), RandomPolicy)
    assert make_policy("raster", by="column").get_params() == {"by": "column"}
    assert make_policy("space-filling").name == "space-filling"


def test_make_policy_unknown_name_or_option() -> None:
    with pytest.raises(ConfigError, match=r"unknown policy 'nope'.*random"):
        make_policy("nope")
    with pytest.raises(ConfigError, match="'raster'"):
        make_policy("raster", speed=3)
    with pytest.raises(ConfigError, match="'random'"):
        make_policy("random", by="row")


def test_select_top_best_first_among_available() -> None:
    scores = np.array([0.1, 5.0, 3.0, 4.0, 2.0])
    available = np.array([True, False, True, True, True])
    rng = np.random.default_rng(0)
    assert select_top(scores, available, 3, rng).tolist() == [3, 2, 4]
    assert select_top(scores, available, 10, rng).tolist() == [3, 2, 4, 0]
    assert select_top(scores, np.zeros(5, dtype=bool), 2, rng).tolist() == []


def test_select_top_breaks_ties_at_random_not_by_index() -> None:
    scores = np.array([1.0, 3.0, 3.0, 3.0, 0.0])
    available = np.ones(5, dtype=bool)
    firsts = {int(select_top(scores, available, 1, np.random.default_rng(s))[0]) for s in range(40)}
    assert firsts == {1, 2, 3}
    for s in range(10):
        top3 = select_top(scores, available, 3, np.random.default_rng(s))
        assert sorted(top3.tolist()) == [1, 2, 3]
    again = [select_top(scores, available, 3, np.random.default_rng(9)).tolist() for _ in "ab"]
    assert again[0] == again[1]


def test_space_filling_breaks_ties_at_random_far_from_the_origin():
    positions = np.array([[1000.0], [1000.5], [1001.0]])
    pool = CandidatePool(np.array([[0, 0], [0, 1], [0, 2]]), {"patches": positions}, (1, 3))
    picks = set()
    for seed in range(30):
        state = CampaignState(pool, np.array([1]), np.array([0.0]), np.array([], dtype=int),
                              np.array([], dtype=int), 0, np.random.default_rng(seed))
        picks.add(SpaceFillingPolicy().ask(state, 1)[0].index)
    assert picks == {0, 2}
