import numpy as np
import pytest
from acq_fakes import ArraySurrogate, gp_problem

from autoscope.acquisition import (
    ACQUISITIONS,
    AcquisitionContext,
    Beacon,
    ExpectedImprovement,
    MaximumUncertainty,
    SupportsFantasize,
    UpperConfidenceBound,
    make_acquisition,
    pending_posterior,
    select_batch,
)
from autoscope.errors import ConfigError, DataError


def gp_context(seed=0, pending=()):
    model, features, measured, targets = gp_problem()
    return AcquisitionContext(
        model,
        features,
        measured,
        targets,
        pending=np.asarray(pending, dtype=np.int64),
        rng=np.random.default_rng(seed),
    )


class NoFantasy(ArraySurrogate):
    """A fixed smooth posterior over a 1-D grid, without a fantasize method."""


def array_context(seed=0, pending=(), n=41):
    grid = np.linspace(0, 1, n)
    mean = np.exp(-((grid - 0.5) ** 2) / 0.02)  # one bump: UCB/EI crowd around 0.5
    std = np.full(n, 0.2)
    model = NoFantasy(mean, std)
    return AcquisitionContext(
        model,
        grid[:, None],
        np.array([0, n - 1]),
        mean[[0, n - 1]],
        pending=np.asarray(pending, dtype=np.int64),
        rng=np.random.default_rng(seed),
    )


def available_mask(context):
    mask = np.ones(context.n_candidates, dtype=bool)
    mask[context.measured] = False
    mask[context.pending] = False
    return mask


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
@pytest.mark.parametrize("make_context", [gp_context, array_context])
def test_every_acquisition_picks_q_distinct_available_points(name, make_context):
    context = make_context(pending=[12, 13])
    available = available_mask(context)
    picks, scores = select_batch(
        make_acquisition(name),
        context,
        5,
        available=available,
        rng=np.random.default_rng(0),
        return_scores=True,
    )
    assert picks.shape == (5,) and scores.shape == (5,)
    assert len(set(picks.tolist())) == 5
    assert available[picks].all()
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
def test_same_seed_same_batch(name):
    batches = [
        select_batch(
            make_acquisition(name),
            gp_context(seed=4),
            4,
            available=available_mask(gp_context()),
            rng=np.random.default_rng(9),
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*batches)


def test_pool_smaller_than_batch_returns_all_available():
    context = gp_context()
    available = np.zeros(context.n_candidates, dtype=bool)
    available[[3, 17, 25]] = True
    picks = select_batch(
        MaximumUncertainty(), context, 10, available=available, rng=np.random.default_rng(0)
    )
    assert sorted(picks.tolist()) == [3, 17, 25]
    none = select_batch(
        MaximumUncertainty(),
        context,
        2,
        available=np.zeros_like(available),
        rng=np.random.default_rng(0),
    )
    assert none.shape == (0,)


def test_ties_are_broken_at_random():
    std = np.full(10, 0.5)
    std[[3, 7]] = 1.0
    model = ArraySurrogate(np.zeros(10), std)
    features = np.array([[0.0], [1], [2], [3], [4], [5], [6], [3], [8], [9]])
    context = AcquisitionContext(model, features, np.array([0]), np.array([0.0]))
    firsts = {
        int(
            select_batch(
                MaximumUncertainty(),
                context,
                1,
                available=available_mask(context),
                rng=np.random.default_rng(seed),
            )[0]
        )
        for seed in range(40)
    }
    assert firsts == {3, 7}


def min_gap(picks, features):
    x = np.sort(features[picks, 0])
    return np.diff(x).min()


@pytest.mark.parametrize("make_context", [gp_context, array_context])
@pytest.mark.parametrize("acquisition", [UpperConfidenceBound(beta=4.0), MaximumUncertainty()])
def test_mean_std_batches_spread_out(make_context, acquisition):
    context = make_context()
    available = available_mask(context)
    picks = select_batch(acquisition, context, 4, available=available, rng=np.random.default_rng(0))
    top = np.flatnonzero(available)[np.argsort(-acquisition(context)[available])[:4]]
    spacing = context.features[1, 0] - context.features[0, 0]
    assert min_gap(picks, context.features) > 1.5 * spacing  # no two neighbours
    if isinstance(context.model, NoFantasy):  # the top 4 at once are neighbours
        assert min_gap(top, context.features) < 1.5 * spacing
        assert np.ptp(context.features[picks, 0]) > 2 * np.ptp(context.features[top, 0])


def test_beacon_batches_are_diverse_in_the_sampled_value():
    # one fixed draw, a ramp; the archive sits low, so raw novelty crowds at the top end
    n = 41
    ramp = np.linspace(0, 1, n)
    model = ArraySurrogate(ramp, np.full(n, 0.1), samples=ramp)
    measured = np.array([4, 8, 12])
    context = AcquisitionContext(
        model, ramp[:, None], measured, ramp[measured], rng=np.random.default_rng(0)
    )
    available = available_mask(context)
    for archive in ("all", "elite"):
        acquisition = Beacon(k=3, archive=archive)
        picks = select_batch(
            acquisition, context, 4, available=available, rng=np.random.default_rng(0)
        )
        top = np.argsort(-np.where(available, acquisition(context), -np.inf))[:4]
        assert np.ptp(ramp[top]) < 0.1  # what taking the top 4 of one draw would do
        assert np.ptp(ramp[picks]) > 0.3, (archive, ramp[picks])


def test_fantasizing_model_shrinks_std_at_pending_points():
    context = gp_context(pending=[7])
    assert isinstance(context.model, SupportsFantasize)
    mean, std, rho = pending_posterior(context)
    assert std[7] < 0.5 * context.std[7] and rho[7] > 0.8
    far = np.argmax(np.abs(context.features[:, 0] - context.features[7, 0]))
    assert std[far] == pytest.approx(context.std[far], rel=0.05)
    assert rho[far] < 0.2
    np.testing.assert_allclose(mean, context.mean, atol=1e-8)  # the believer keeps its mean


def test_feature_penalty_without_fantasize():
    context = array_context(pending=[20])
    assert not isinstance(context.model, SupportsFantasize)
    _, std, rho = pending_posterior(context)
    assert std[20] == 0.0 and rho[20] == 1.0
    assert std[19] < std[18] < std[17] <= context.std[17]
    assert std[0] == pytest.approx(context.std[0]) and rho[0] < 1e-6
    _, std, rho = pending_posterior(array_context())
    assert np.array_equal(std, array_context().std) and not rho.any()


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
def test_scores_with_pending_points_are_finite(name):
    for context in (gp_context(pending=[7, 8]), array_context(pending=[20])):
        assert np.isfinite(make_acquisition(name)(context)).all()


def test_penalty_lowers_scores_near_pending_points():
    for acquisition in (
        UpperConfidenceBound(),
        MaximumUncertainty(),
        make_acquisition("ei"),
        make_acquisition("ei", log=False),
    ):
        free = acquisition(array_context())
        near = acquisition(array_context(pending=[20]))
        assert near[21] < free[21] and near[19] < free[19]
        if not isinstance(acquisition, ExpectedImprovement):  # EI's incumbent rises too
            assert near[0] == pytest.approx(free[0], abs=1e-9)


def test_bad_input():
    context = gp_context()
    available = available_mask(context)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError):
        select_batch(MaximumUncertainty(), context, 0, available=available, rng=rng)
    with pytest.raises(DataError, match="boolean mask"):
        select_batch(MaximumUncertainty(), context, 2, available=available[:-1], rng=rng)

    class NaNScores(MaximumUncertainty):
        def score(self, mean, std, context):
            return np.full_like(std, np.nan)

    with pytest.raises(DataError, match="NaN"):
        select_batch(NaNScores(), context, 2, available=available, rng=rng)
