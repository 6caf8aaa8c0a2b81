from __future__ import annotations

import numpy as np
import pytest

from autoscope.campaign import Budget, Campaign, RunStore
from autoscope.data.pool import extract_patches
from autoscope.errors import BudgetError, DataError
from autoscope.instruments import Cost
from autoscope.policies import make_policy
from autoscope.policies.baselines import RandomPolicy

from helpers import total, toy_image


def make_campaign(store=None, *, policy="random", budget=None, n_initial=3, seed=0):
    image = toy_image()
    pool = extract_patches(image, window=6)
    return image, Campaign(
        pool,
        make_policy(policy),
        total,
        spectral_axis=image.spectral_axis,
        budget=budget or Budget(measurements=20),
        seed=seed,
        n_initial=n_initial,
        store=store,
    )


def tell_truth(campaign, image, suggestions):
    for s in suggestions:
        campaign.tell(s.index, image.spectra[s.coords], seconds=1.0)


def test_ask_marks_pending_and_never_repeats():
    image, campaign = make_campaign()
    first = campaign.ask(4)
    assert len(first) == 3  # capped at the initial points
    assert {s.index for s in campaign.pending} == {s.index for s in first}
    second = campaign.ask(2)
    assert not {s.index for s in first} & {s.index for s in second}
    tell_truth(campaign, image, first + second)
    assert campaign.sources == ["initial"] * 3 + ["policy"] * 2
    assert len(set(campaign.measured.tolist())) == 5


def test_tell_records_target_and_cost():
    image, campaign = make_campaign()
    [s] = campaign.ask(1)
    target = campaign.tell(s.index, image.spectra[s.coords], seconds=2.5, dose=4.0)
    assert target == pytest.approx(image.spectra[s.coords].sum())
    assert campaign.spent == {"measurements": 1, "seconds": 2.5, "dose": 4.0}


def test_tell_rejects_bad_spectra_and_unknown_points():
    image, campaign = make_campaign()
    [s] = campaign.ask(1)
    with pytest.raises(DataError, match="shape"):
        campaign.tell(s.index, np.ones(3))
    bad = image.spectra[s.coords].copy()
    bad[0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        campaign.tell(s.index, bad)
    with pytest.raises(DataError, match="not a pending suggestion"):
        campaign.tell((s.index + 1) % len(campaign.pool), image.spectra[0, 0])


def test_scalarizer_failure_keeps_the_spectrum():
    image = toy_image()
    pool = extract_patches(image, window=6)

    def broken(spectra, axis):
        raise ValueError("window outside the axis")

    campaign = Campaign(
        pool, make_policy("random"), broken, spectral_axis=image.spectral_axis,
        budget=Budget(measurements=5),
    )
    [s] = campaign.ask()
    assert np.isnan(campaign.tell(s.index, image.spectra[s.coords]))
    assert campaign.measured.tolist() == [s.index]
    state = campaign.state()
    assert s.index in state.excluded and len(state.measured) == 0


def test_attach_and_reject():
    image, campaign = make_campaign(n_initial=0)
    coords = tuple(int(v) for v in campaign.pool.coords[7])
    target = campaign.attach(coords, image.spectra[coords], note="chosen by a person")
    assert target == pytest.approx(image.spectra[coords].sum())
    assert campaign.sources == ["attached"]
    with pytest.raises(DataError, match="already measured"):
        campaign.attach(coords, image.spectra[coords])
    with pytest.raises(DataError, match="not a candidate"):
        campaign.attach((0, 0), image.spectra[0, 0])  # outside the valid-window pool
    [s] = campaign.ask()
    campaign.reject(s.index, "drifted out of focus")
    assert campaign.pending == []
    assert s.index in campaign.state().excluded
    later = [t.index for _ in range(30) for t in campaign.ask()]
    assert s.index not in later and 7 not in later


def test_budget_in_count_seconds_and_dose():
    image, campaign = make_campaign(budget=Budget(measurements=10, seconds=4.0, dose=100.0))
    assert campaign.can_afford(Cost(seconds=4.0))
    assert not campaign.can_afford(Cost(seconds=4.5))
    assert not campaign.can_afford(Cost(dose=101.0))
    for _ in range(4):
        tell_truth(campaign, image, campaign.ask())
    assert campaign.exhausted
    assert campaign.ask() == []


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"measurements": 0}, {"seconds": 0.0}, {"dose": -1.0}, {"measurements": 2.5}],
)
def test_zero_or_invalid_budget_is_an_error(kwargs):
    with pytest.raises(BudgetError):
        Budget(**kwargs)


def test_initial_points_cannot_exceed_budget():
    with pytest.raises(BudgetError, match="n_initial"):
        make_campaign(budget=Budget(measurements=2), n_initial=3)


@pytest.mark.parametrize("policy", ["random", "raster", "space-filling"])
def test_same_seed_same_trajectory(policy):
    def trajectory(seed):
        image, campaign = make_campaign(policy=policy, seed=seed)
        while batch := campaign.ask(2):
            tell_truth(campaign, image, batch)
        return campaign.measured.tolist()

    assert trajectory(1) == trajectory(1)
    assert len(trajectory(1)) == 20
    if policy != "raster":
        assert trajectory(1) != trajectory(2)


def test_replay_from_store_restores_state(tmp_path):
    image = toy_image()
    pool = extract_patches(image, window=6)
    store = RunStore.create(
        tmp_path / "run", meta={}, overview=image.image, pool_coords=pool.coords
    )
    _, campaign = make_campaign(store)
    tell_truth(campaign, image, campaign.ask(2))
    [s] = campaign.ask(1)
    campaign.fail(s.index, "timeout", seconds=5.0, final=False)
    pending = campaign.ask(1)
    store.close()
    _, replayed = make_campaign(RunStore.open(tmp_path / "run"))
    assert replayed.measured.tolist() == campaign.measured.tolist()
    assert [p.index for p in replayed.pending] == [s.index] + [p.index for p in pending]
    assert replayed.attempts(s.index) == 1
    assert replayed.spent == campaign.spent
    assert replayed.state().step == campaign.state().step


class CountingPolicy(RandomPolicy):
    """A stand-in for a warm-started model: its learned state changes at every ask."""

    def __init__(self):
        self.fits = 0

    def ask(self, state, n):
        self.fits += 1
        return super().ask(state, n)

    def state_dict(self):
        return {"fits": self.fits, "weights": np.arange(3.0) * self.fits}

    def load_state_dict(self, state):
        self.fits = state["fits"]


def test_policy_checkpoint_is_committed_with_its_suggestions(tmp_path):
    image = toy_image()
    pool = extract_patches(image, window=6)

    def campaign(store):
        return Campaign(pool, CountingPolicy(), total, spectral_axis=image.spectral_axis,
                        budget=Budget(measurements=20), n_initial=2, store=store)

    store = RunStore.create(tmp_path / "run", meta={}, overview=image.image,
                            pool_coords=pool.coords)
    first = campaign(store)
    for _ in range(6):
        tell_truth(first, image, first.ask())
    assert first.policy.fits == 4  # two initial asks used the random initial policy
    store.close()
    with RunStore.open(tmp_path / "run") as reopened:
        assert reopened.latest_checkpoint()[0] == 5
        assert campaign(reopened).policy.fits == 4


def nan_for_large(spectra, axis):
    """A scalarizer that cannot score spectra whose sum is above 1.5 (about 15% of them)."""
    sums = spectra.sum(axis=1)
    return np.where(sums > 1.5, np.nan, sums)


def spectra_campaign(store=None):
    image = toy_image()
    pool = extract_patches(image, window=6)
    return image, Campaign(
        pool, make_policy("random"), nan_for_large, spectral_axis=image.spectral_axis,
        budget=Budget(measurements=100), n_initial=2, store=store,
    )


def fill_with_spectra(campaign, image):
    """Attach one point and tell 89 more (past the 64-row first block), some with NaN targets."""
    coords = tuple(int(v) for v in campaign.pool.coords[7])
    campaign.attach(coords, image.spectra[coords])
    while len(campaign.measured) < 90:
        tell_truth(campaign, image, campaign.ask(2))


def assert_spectra_aligned(campaign, image):
    state = campaign.state()
    coords = campaign.pool.coords[state.measured]
    assert state.spectra.shape == (len(state.measured), image.spectra.shape[-1])
    np.testing.assert_array_equal(state.spectra, image.spectra[coords[:, 0], coords[:, 1]])
    np.testing.assert_allclose(state.spectra.sum(axis=1), state.targets)


def test_state_spectra_align_with_measured_and_skip_nan_targets():
    image, campaign = spectra_campaign()
    assert campaign.state().spectra.shape == (0, image.spectra.shape[-1])
    fill_with_spectra(campaign, image)
    state = campaign.state()
    assert len(campaign.measured) == 90
    assert 64 < len(state.measured) < 90  # the NaN-target points are left out
    assert campaign.sources[0] == "attached" and state.measured[0] == 7
    assert_spectra_aligned(campaign, image)
    state.spectra[:] = -1.0  # a copy: the campaign's own rows are untouched
    assert_spectra_aligned(campaign, image)


def test_state_spectra_are_rebuilt_on_resume(tmp_path):
    image = toy_image()
    pool = extract_patches(image, window=6)
    store = RunStore.create(tmp_path / "run", meta={}, overview=image.image,
                            pool_coords=pool.coords)
    _, campaign = spectra_campaign(store)
    fill_with_spectra(campaign, image)
    store.close()
    with RunStore.open(tmp_path / "run") as reopened:
        _, resumed = spectra_campaign(reopened)
        np.testing.assert_array_equal(resumed.state().measured, campaign.state().measured)
        np.testing.assert_array_equal(resumed.state().spectra, campaign.state().spectra)
        assert_spectra_aligned(resumed, image)
        tell_truth(resumed, image, resumed.ask(2))
        assert_spectra_aligned(resumed, image)
