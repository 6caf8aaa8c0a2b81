import numpy as np
import pytest

from autoscope.acquisition import curiosity
from autoscope.acquisition.curiosity import (
    TrapGuard,
    choose_indices,
    curiosity_weight,
    error_acquisition,
    exploration_reward,
    kmeans_initial,
    mixed_acquisition,
    normalise_errors,
)
from autoscope.errors import ConfigError, DataError

# --------------------------------------------------------------- normalise


def test_normalise_errors_min_max():
    np.testing.assert_allclose(normalise_errors([1.0, 2.0, 5.0]), [0.0, 0.25, 1.0])
    np.testing.assert_array_equal(normalise_errors([3.0, 3.0, 3.0]), [0.0, 0.0, 0.0])
    assert normalise_errors(np.zeros(0)).shape == (0,)


@pytest.mark.parametrize("bad", [[1.0, np.nan], [1.0, np.inf], [[1.0, 2.0]]])
def test_normalise_errors_rejects_bad_data(bad):
    with pytest.raises(DataError):
        normalise_errors(np.array(bad))


# -------------------------------------------------------------- workflow 1

# L = [0, 0.25, 0.5, 1] after min-max; lam = 0.1. By hand, 1 - exp(-0.1 x):
# x = 0.25 -> 0.02469009, 0.5 -> 0.04877058, 0.75 -> 0.07225651, 1 -> 0.09516258.
ERRORS = np.array([1.0, 2.0, 3.0, 5.0])


def test_error_acquisition_curious_prefers_highest_error():
    # beta = 1: |L - 0| = [0, 0.25, 0.5, 1]
    expected = [0.0, 0.02469009, 0.04877058, 0.09516258]
    np.testing.assert_allclose(error_acquisition(ERRORS, beta=1.0, lam=0.1), expected, atol=1e-8)


def test_error_acquisition_conservative_prefers_lowest_error():
    # beta = 0: |L - 1| = [1, 0.75, 0.5, 0]
    expected = [0.09516258, 0.07225651, 0.04877058, 0.0]
    np.testing.assert_allclose(error_acquisition(ERRORS, beta=0.0, lam=0.1), expected, atol=1e-8)


def test_error_acquisition_half_prefers_both_extremes():
    # beta = 0.5: |L - 0.5| = [0.5, 0.25, 0, 0.5]
    expected = [0.04877058, 0.02469009, 0.0, 0.04877058]
    np.testing.assert_allclose(error_acquisition(ERRORS, beta=0.5, lam=0.1), expected, atol=1e-8)


def test_error_acquisition_ranking_does_not_depend_on_lam_or_scale():
    rng = np.random.default_rng(1)
    errors = rng.random(50)
    a = error_acquisition(errors, beta=0.8, lam=0.1)
    b = error_acquisition(7.0 * errors + 3.0, beta=0.8, lam=5.0)
    np.testing.assert_array_equal(np.argsort(a), np.argsort(b))


def test_error_acquisition_without_normalising_uses_values_as_given():
    values = np.array([0.2, 0.6])
    expected = 1 - np.exp(-0.1 * values)
    np.testing.assert_allclose(error_acquisition(values, beta=1.0, normalise=False), expected)
    # normalised, the same values become [0, 1]
    np.testing.assert_allclose(error_acquisition(values, beta=1.0), [0.0, 1 - np.exp(-0.1)])


@pytest.mark.parametrize(
    "options",
    [
        {"beta": -0.1},
        {"beta": 1.1},
        {"beta": np.nan},
        {"beta": 1.0, "lam": 0.0},
        {"beta": 1.0, "lam": -1.0},
        {"beta": "high"},
    ],
)
def test_error_acquisition_rejects_bad_options(options):
    with pytest.raises(ConfigError):
        error_acquisition(ERRORS, **options)


def test_error_acquisition_rejects_bad_data():
    with pytest.raises(DataError, match="finite"):
        error_acquisition([1.0, np.nan], beta=1.0)
    with pytest.raises(DataError, match="1-D"):
        error_acquisition(np.ones((2, 2)), beta=1.0)


# -------------------------------------------------------------- workflow 2


def test_exploration_reward_by_hand():
    measured = np.array([[0.0, 0.0], [3.0, 4.0]])  # 5 apart
    candidates = np.array([[0.0, 4.0], [6.0, 8.0], [0.0, 0.0], [3.0, 4.0]])
    # (0, 4): distances 4 and 3 -> 1 / (1/4 + 1/3) = 12/7
    # (6, 8): distances 10 and 5 -> 1 / (1/10 + 1/5) = 10/3
    # a measured point -> 0
    expected = [12 / 7, 10 / 3, 0.0, 0.0]
    np.testing.assert_allclose(exploration_reward(candidates, measured), expected)


def test_exploration_reward_one_dimension_and_one_point():
    measured = np.array([[0.0], [2.0]])
    np.testing.assert_allclose(
        exploration_reward([[1.0], [4.0]], measured), [0.5, 1 / (1 / 4 + 1 / 2)]
    )
    np.testing.assert_allclose(exploration_reward([[1.0], [4.0]], [[0.0]]), [1.0, 4.0])


def test_exploration_reward_with_nothing_measured_is_all_ones():
    latents = np.random.default_rng(0).random((5, 3))
    np.testing.assert_array_equal(exploration_reward(latents, np.zeros((0, 3))), np.ones(5))
    np.testing.assert_array_equal(exploration_reward(latents, []), np.ones(5))


def test_exploration_reward_eps_counts_near_points_as_measured():
    reward = exploration_reward([[1e-3, 0.0], [1.0, 0.0]], [[0.0, 0.0]], eps=1e-2)
    np.testing.assert_allclose(reward, [0.0, 1.0])


def test_exploration_reward_in_blocks_matches_one_block(monkeypatch):
    rng = np.random.default_rng(2)
    latents, measured = rng.random((103, 4)), rng.random((7, 4))
    whole = exploration_reward(latents, measured)
    monkeypatch.setattr(curiosity, "_BLOCK", 20)  # blocks of 2 candidates
    np.testing.assert_allclose(exploration_reward(latents, measured), whole, rtol=1e-12)
    brute = 1 / (1 / np.linalg.norm(latents[:, None] - measured[None], axis=2)).sum(axis=1)
    np.testing.assert_allclose(whole, brute, rtol=1e-10)


def test_exploration_reward_scales_to_a_large_pool():
    rng = np.random.default_rng(3)
    latents, measured = rng.random((16_000, 8)), rng.random((300, 8))
    reward = exploration_reward(latents, measured)
    assert reward.shape == (16_000,)
    assert np.isfinite(reward).all() and (reward > 0).all()


def test_exploration_reward_rejects_bad_input():
    with pytest.raises(DataError, match="latent dimensions"):
        exploration_reward(np.zeros((3, 2)), np.zeros((1, 3)))
    with pytest.raises(DataError, match="2-D"):
        exploration_reward(np.zeros(3), np.zeros((1, 1)))
    with pytest.raises(DataError, match="finite"):
        exploration_reward(np.zeros((3, 2)), np.array([[np.nan, 0.0]]))
    with pytest.raises(ConfigError):
        exploration_reward(np.zeros((3, 2)), np.zeros((1, 2)), eps=-1.0)


def test_curiosity_weight_schedules_by_hand():
    # paper: 1 - exp(-0.1 * 5) = 1 - exp(-0.5)
    assert curiosity_weight(5, lam=0.1) == pytest.approx(0.39346934)
    assert curiosity_weight(5, lam=0.1, budget=999) == pytest.approx(0.39346934)
    # code: 1 - exp(-2 * 100 / 200) = 1 - exp(-1)
    assert curiosity_weight(100, lam=2.0, budget=200, schedule="code") == pytest.approx(0.63212056)
    assert curiosity_weight(10, lam=2.0, budget=200, schedule="code") == pytest.approx(
        1 - np.exp(-0.1)
    )
    assert curiosity_weight(0, lam=2.0, budget=200, schedule="code") == 0.0
    weights = [curiosity_weight(n, lam=0.3) for n in range(20)]
    assert weights == sorted(weights) and weights[-1] < 1


@pytest.mark.parametrize(
    "n, options",
    [
        (1, {"lam": 2.0, "schedule": "code"}),  # no budget
        (1, {"lam": 2.0, "budget": 0, "schedule": "code"}),
        (1, {"lam": 0.1, "schedule": "linear"}),
        (1, {"lam": 0.0}),
        (-1, {"lam": 0.1}),
    ],
)
def test_curiosity_weight_rejects_bad_options(n, options):
    with pytest.raises(ConfigError):
        curiosity_weight(n, **options)


def test_mixed_acquisition_by_hand():
    # C -> [0, 0.5, 1], E -> [1, 0, 0.5]; w = 1 - exp(-0.5) = 0.39346934
    c, e = np.array([0.0, 1.0, 2.0]), np.array([4.0, 0.0, 2.0])
    expected = [0.60653066, 0.19673467, 0.39346934 + 0.5 * 0.60653066]
    np.testing.assert_allclose(mixed_acquisition(c, e, n=5, lam=0.1), expected, atol=1e-8)
    coded = mixed_acquisition(c, e, n=100, lam=2.0, budget=200, schedule="code")
    w = 1 - np.exp(-1.0)
    np.testing.assert_allclose(coded, w * np.array([0, 0.5, 1]) + (1 - w) * np.array([1, 0, 0.5]))


def test_mixed_acquisition_without_normalising_and_at_start():
    c, e = np.array([0.2, 0.4]), np.array([3.0, 5.0])
    np.testing.assert_allclose(mixed_acquisition(c, e, n=0, lam=1.0, normalise=False), e)
    w = 1 - np.exp(-1.0)
    np.testing.assert_allclose(
        mixed_acquisition(c, e, n=1, lam=1.0, normalise=False), w * c + (1 - w) * e
    )


def test_mixed_acquisition_rejects_bad_input():
    with pytest.raises(DataError, match="same candidates"):
        mixed_acquisition(np.zeros(3), np.zeros(2), n=1, lam=0.1)
    with pytest.raises(DataError, match="finite"):
        mixed_acquisition(np.array([np.nan, 1.0]), np.zeros(2), n=1, lam=0.1)
    with pytest.raises(ConfigError):
        mixed_acquisition(np.zeros(2), np.zeros(2), n=1, lam=0.1, schedule="code")


# --------------------------------------------------------------- selection


def test_choose_indices_never_repeats_nor_picks_unavailable():
    rng = np.random.default_rng(42)
    for _ in range(1000):
        size = int(rng.integers(0, 30))
        scores = rng.normal(size=size).round(1)  # many ties
        scores[rng.random(size) < 0.15] = np.nan
        scores[rng.random(size) < 0.1] = -np.inf
        scores[rng.random(size) < 0.05] = np.inf
        available = rng.random(size) < rng.random()
        n = int(rng.integers(0, 35))
        picks = choose_indices(
            scores,
            available,
            n=n,
            rng=rng,
            top_k=int(rng.integers(1, 12)),
            epsilon=float(rng.choice([0.0, 1.0, rng.random()])),
        )
        assert picks.dtype == np.int64
        assert len(picks) == min(n, int(available.sum()))
        assert len(set(picks.tolist())) == len(picks)
        assert available[picks].all()


def test_choose_indices_skips_measured_points_in_the_top_k():
    # The published code checked only the first of its top 10 against the
    # measured points; here the whole top 10 is measured and must be skipped.
    scores = np.arange(50.0)
    available = np.ones(50, dtype=bool)
    available[40:] = False
    for seed in range(50):
        picks = choose_indices(scores, available, n=5, rng=np.random.default_rng(seed), top_k=10)
        # each pick draws from the best 10 still free: 30-39 first, down to 26 by the fifth
        assert set(picks.tolist()) <= set(range(26, 40))
        assert picks[0] >= 30
        assert len(set(picks.tolist())) == 5


def test_choose_indices_greedy_order_and_nan_as_minus_inf():
    scores = np.array([0.3, np.nan, 0.9, -np.inf, 0.5])
    picks = choose_indices(scores, np.ones(5, dtype=bool), n=5, rng=np.random.default_rng(0))
    assert picks[:3].tolist() == [2, 4, 0]
    assert sorted(picks[3:].tolist()) == [1, 3]


def test_choose_indices_top_k_is_uniform_over_the_best():
    rng = np.random.default_rng(5)
    scores, available = np.arange(10.0), np.ones(10, dtype=bool)
    picks = [choose_indices(scores, available, rng=rng, top_k=3)[0] for _ in range(3000)]
    counts = np.bincount(picks, minlength=10)
    assert counts[:7].sum() == 0
    assert (counts[7:] > 850).all()


def test_choose_indices_epsilon_one_is_uniform_over_available():
    rng = np.random.default_rng(6)
    scores = np.arange(20.0)
    available = np.arange(20) % 2 == 0
    picks = [choose_indices(scores, available, rng=rng, epsilon=1.0)[0] for _ in range(4000)]
    counts = np.bincount(picks, minlength=20)
    assert counts[1::2].sum() == 0
    assert (counts[::2] > 300).all()


def test_choose_indices_epsilon_mixes_random_and_greedy():
    rng = np.random.default_rng(7)
    scores, available = np.arange(100.0), np.ones(100, dtype=bool)
    picks = np.array(
        [choose_indices(scores, available, rng=rng, epsilon=0.2)[0] for _ in range(2000)]
    )
    # best index: 80 % greedy + 20 % * 1/100 random
    assert np.mean(picks == 99) == pytest.approx(0.802, abs=0.04)


def test_choose_indices_breaks_ties_at_random_and_is_reproducible():
    scores, available = np.ones(10), np.ones(10, dtype=bool)
    firsts = {choose_indices(scores, available, rng=np.random.default_rng(s))[0] for s in range(40)}
    assert len(firsts) > 3
    a = choose_indices(np.arange(10.0), available, n=4, rng=np.random.default_rng(3), top_k=4)
    b = choose_indices(np.arange(10.0), available, n=4, rng=np.random.default_rng(3), top_k=4)
    np.testing.assert_array_equal(a, b)


def test_choose_indices_returns_fewer_only_when_fewer_available():
    rng = np.random.default_rng(0)
    scores = np.arange(5.0)
    assert choose_indices(scores, scores > 2, n=4, rng=rng).tolist() == [4, 3]
    assert choose_indices(scores, scores > 2, n=0, rng=rng).shape == (0,)
    empty = choose_indices(scores, np.zeros(5, dtype=bool), n=3, rng=rng)
    assert empty.shape == (0,) and empty.dtype == np.int64


@pytest.mark.parametrize(
    "options",
    [
        {"n": -1},
        {"n": 1.5},
        {"top_k": 0},
        {"epsilon": 1.5},
        {"epsilon": -0.1},
        {"rng": 0},
        {"rng": None},
    ],
)
def test_choose_indices_rejects_bad_options(options):
    kwargs = {"rng": np.random.default_rng(0)} | options
    with pytest.raises(ConfigError):
        choose_indices(np.zeros(3), np.ones(3, dtype=bool), **kwargs)


def test_choose_indices_rejects_bad_masks():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="boolean"):
        choose_indices(np.zeros(3), np.ones(3, dtype=int), rng=rng)
    with pytest.raises(DataError, match="boolean"):
        choose_indices(np.zeros(3), np.ones(4, dtype=bool), rng=rng)
    with pytest.raises(DataError, match="1-D"):
        choose_indices(np.zeros((3, 1)), np.ones((3, 1), dtype=bool), rng=rng)


# ------------------------------------------------------------------ k-means


def three_blobs(rng, per=30):
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.concatenate([c + rng.normal(scale=0.5, size=(per, 2)) for c in centres])


def test_kmeans_initial_one_point_per_cluster():
    latents = three_blobs(np.random.default_rng(0))
    chosen = kmeans_initial(latents, 3, seed=0)
    assert chosen.dtype == np.int64 and chosen.shape == (3,)
    assert sorted((chosen // 30).tolist()) == [0, 1, 2]


def test_kmeans_initial_is_deterministic_and_distinct():
    latents = np.random.default_rng(1).random((200, 5))
    a = kmeans_initial(latents, 12, seed=7)
    b = kmeans_initial(latents, 12, seed=7)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 12
    c = kmeans_initial(latents, 12, seed=np.random.default_rng(7))
    d = kmeans_initial(latents, 12, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(c, d)


def test_kmeans_initial_distinct_when_centroids_share_a_nearest_point():
    # Six copies of one point and two others: k-means finds fewer distinct
    # clusters than k = 5, so centroids coincide and share a nearest point.
    latents = np.array([[0.0, 0.0]] * 6 + [[5.0, 5.0], [9.0, 0.0]])
    chosen = kmeans_initial(latents, 5, seed=0)
    assert len(set(chosen.tolist())) == 5
    assert {6, 7} <= set(chosen.tolist())


def test_kmeans_initial_with_k_equal_to_n_takes_every_point():
    latents = np.random.default_rng(2).random((6, 2))
    assert sorted(kmeans_initial(latents, 6, seed=0).tolist()) == list(range(6))


@pytest.mark.parametrize(
    "latents, k, seed, error",
    [
        (np.zeros((4, 2)), 0, 0, ConfigError),
        (np.zeros((4, 2)), 5, 0, ConfigError),
        (np.zeros((4, 2)), 2, "zero", ConfigError),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), 1, 0, DataError),
        (np.zeros(4), 1, 0, DataError),
    ],
)
def test_kmeans_initial_rejects_bad_input(latents, k, seed, error):
    with pytest.raises(error):
        kmeans_initial(latents, k, seed=seed)


# --------------------------------------------------------------- trap guard

CENTRE, BLOB_RADIUS = np.array([0.7, 0.7]), 0.15


def in_blob(latents):
    return np.linalg.norm(latents - CENTRE, axis=1) <= BLOB_RADIUS


def simulated_losses(rng, latents, measured_at, step):
    """Model loss at measured points: noise-blob points stay high and random (0.9-1.1);
    elsewhere the loss decays from 1 to a per-point floor (0.05-0.15) once measured."""
    floor = 0.05 + 0.1 * latents[:, 0]
    learnable = floor + (1 - floor) * np.exp(-0.7 * (step - measured_at))
    learnable += 0.01 * (rng.random(len(latents)) - 0.5)
    return np.where(in_blob(latents), 0.9 + 0.2 * rng.random(len(latents)), learnable)


def test_trap_guard_blocks_the_noise_blob_after_patience_steps():
    rng = np.random.default_rng(0)
    points = rng.random((2000, 2))
    blob, outside = points[in_blob(points)][:30], points[~in_blob(points)][:70]
    measured = np.concatenate([blob, outside])
    candidates = rng.random((3000, 2))
    near_blob_point = (np.linalg.norm(candidates[:, None] - blob[None], axis=2) <= 0.05).any(1)
    far = np.linalg.norm(candidates - CENTRE, axis=1) > BLOB_RADIUS + 0.05
    guard = TrapGuard(0.05, patience=3, min_improvement=0.25)
    for step in range(12):
        guard.update(step, measured, simulated_losses(rng, measured, 0, step))
        allowed = guard.allowed(candidates)
        if step < 3:  # not yet seen in patience + 1 updates
            assert not guard.trapped.any() and allowed.all()
            continue
        # from the patience-th update on: exactly the blob points, stably
        np.testing.assert_array_equal(guard.trapped, in_blob(measured))
        np.testing.assert_array_equal(allowed, ~near_blob_point)
        assert allowed[far].all() and not allowed[in_blob(candidates)].all()


def greedy_blob_share(guard, *, budget=100, n_initial=10, seed=0):
    """Fraction of a greedy curiosity budget spent in the noise blob, and the blob's area."""
    rng = np.random.default_rng(seed)
    latents = rng.random((2000, 2))
    blob = in_blob(latents)
    predicted_error = np.where(blob, 1.0 + 0.1 * rng.random(2000), 0.5 * rng.random(2000))
    order = kmeans_initial(latents, n_initial, seed=seed).tolist()
    measured_at = [0] * n_initial
    for step in range(1, budget - n_initial + 1):
        if guard is not None:
            points = latents[order]
            guard.update(step, points, simulated_losses(rng, points, np.array(measured_at), step))
        available = np.ones(len(latents), dtype=bool)
        available[order] = False
        if guard is not None:
            available &= guard.allowed(latents)
        (pick,) = choose_indices(predicted_error, available, rng=rng)
        order.append(int(pick))
        measured_at.append(step)
    assert len(order) == len(set(order)) == budget
    return blob[order].mean(), blob.mean()


def test_trap_guard_keeps_a_greedy_loop_out_of_the_noise_blob():
    guarded, area = greedy_blob_share(TrapGuard(0.35, patience=3, min_improvement=0.25))
    unguarded, _ = greedy_blob_share(None)
    assert 0.05 < area < 0.1
    assert guarded <= 2 * area
    assert unguarded > 2 * area


def test_trap_guard_state_round_trip():
    rng = np.random.default_rng(4)
    points = rng.random((40, 2))
    guard = TrapGuard(0.1, patience=2, min_improvement=0.25)
    for step in range(3):
        guard.update(
            step,
            points[: 10 * (step + 1)],
            simulated_losses(rng, points[: 10 * (step + 1)], 0, step),
        )
    state = guard.state_dict()
    copy = TrapGuard(0.1, patience=2, min_improvement=0.25)
    copy.load_state_dict(state)
    state["history"][:] = 0.0  # the state is a copy
    for step in range(3, 6):
        losses = simulated_losses(rng, points, 0, step)
        guard.update(step, points, losses)
        copy.update(step, points, losses)
        np.testing.assert_array_equal(guard.trapped, copy.trapped)
        np.testing.assert_array_equal(guard.allowed(points), copy.allowed(points))
    assert guard.trapped.any()
    with pytest.raises(ConfigError, match="patience"):
        TrapGuard(0.1, patience=3).load_state_dict(guard.state_dict())
    with pytest.raises(DataError, match="lacks"):
        TrapGuard(0.1).load_state_dict({"step": 1})


def test_trap_guard_before_any_update_allows_everything():
    guard = TrapGuard(1.0)
    assert guard.allowed(np.zeros((4, 3))).all()
    assert guard.trapped.shape == (0,)


def test_trap_guard_rejects_inconsistent_updates():
    guard = TrapGuard(0.1)
    points = np.random.default_rng(0).random((5, 2))
    guard.update(0, points[:3], np.ones(3))
    with pytest.raises(DataError, match="increase"):
        guard.update(0, points[:3], np.ones(3))
    with pytest.raises(DataError, match="previous update"):
        guard.update(1, points[1:4], np.ones(3))  # reordered
    with pytest.raises(DataError, match="previous update"):
        guard.update(1, points[:2], np.ones(2))  # a point vanished
    with pytest.raises(DataError, match="entries"):
        guard.update(1, points, np.ones(4))
    with pytest.raises(DataError, match="finite"):
        guard.update(1, points, np.array([1.0, np.nan, 1.0, 1.0, 1.0]))
    with pytest.raises(DataError, match="latent dimensions"):
        guard.update(1, np.zeros((5, 3)), np.ones(5))
    guard.update(1, points, np.ones(5))
    with pytest.raises(DataError, match="latent dimensions"):
        guard.allowed(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "radius, options",
    [
        (0.0, {}),
        (-1.0, {}),
        (np.inf, {}),
        (1.0, {"patience": 0}),
        (1.0, {"patience": 1.5}),
        (1.0, {"min_improvement": -0.1}),
    ],
)
def test_trap_guard_rejects_bad_options(radius, options):
    with pytest.raises(ConfigError):
        TrapGuard(radius, **options)
