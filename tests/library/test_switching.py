import math

import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.library.costs import MotionCost
from autoscope.library.switching import (
    GainEstimate,
    density_estimate,
    expected_gain,
    novelty_acquisition,
    should_switch,
    stay_value,
)


def uniform_pair(n, rng):
    return rng.dirichlet([1.0, 1.0], size=n)  # c0 ~ U(0, 1) on the 2-simplex


def first_fraction(c):
    return c[:, 0]


def test_stay_value_hand_values():
    assert stay_value(0, 10, 0.8) == pytest.approx(0.8)
    assert stay_value(3, 12, 0.4) == pytest.approx(0.3)
    assert stay_value(5, 5, None) == 0.0
    assert stay_value(5, 5, 0.9) == 0.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0, 1.0), "zero particles in a region"),
        ((6, 5, 1.0), "n_measured <= n_total"),
        ((1, 5, None), "4 particles are unmeasured"),
        ((1, 5, math.nan), "finite"),
    ],
)
def test_stay_value_bad_input(args, match):
    with pytest.raises(DataError, match=match):
        stay_value(*args)


def test_novelty_factor_hand_values():
    a = np.array([2.0, 2.0, 1.0])
    c = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    seen = np.array([[0.5, 0.5], [0.6, 0.4]])
    out = novelty_acquisition(a, c, seen, weight=0.5, length=0.1)
    d = np.hypot(0.5, 0.5)  # [0, 1] to its nearest seen [0.5, 0.5]
    np.testing.assert_allclose(out, [2.0, 2.0, 1.0 * (1 + 0.5 * (1 - np.exp(-d / 0.1)))])
    np.testing.assert_array_equal(novelty_acquisition(a, c, seen, weight=0.0), a)
    np.testing.assert_allclose(novelty_acquisition(a, c, None, weight=0.5), 1.5 * a)
    np.testing.assert_allclose(novelty_acquisition(a, c, np.empty((0, 2)), weight=0.5), 1.5 * a)


def test_novelty_bad_input():
    a, c = np.ones(2), np.full((2, 2), 0.5)
    with pytest.raises(ConfigError, match="weight"):
        novelty_acquisition(a, c, None, weight=-1.0)
    with pytest.raises(ConfigError, match="length"):
        novelty_acquisition(a, c, None, weight=1.0, length=0.0)
    with pytest.raises(DataError, match=r"\(M,\)"):
        novelty_acquisition(np.ones(3), c, None, weight=1.0)
    with pytest.raises(DataError, match=r"seen must be \(K, 2\)"):
        novelty_acquisition(a, c, np.ones((1, 3)), weight=1.0)


@pytest.mark.parametrize("mean_count", [0.5, 3.0])
def test_expected_gain_matches_the_closed_form(mean_count):
    # E[max of N ~ Poisson(m) uniforms] (0 when N = 0) = 1 - (1 - exp(-m)) / m.
    gain = expected_gain(
        first_fraction,
        density_per_um2=mean_count / 100.0,
        region_area_um2=100.0,
        prior_sampler=uniform_pair,
        n_samples=20000,
        rng=0,
    )
    exact = 1.0 - (1.0 - math.exp(-mean_count)) / mean_count
    assert isinstance(gain, GainEstimate) and gain.n_samples == 20000
    assert 0 < gain.stderr < 0.01
    assert abs(gain.mean - exact) < 4 * gain.stderr


def test_batching_does_not_change_the_estimate():
    calls = []

    def counted(c):
        calls.append(len(c))
        return c[:, 0]

    kwargs = dict(
        density_per_um2=0.05, region_area_um2=100.0, prior_sampler=uniform_pair, n_samples=300
    )
    whole = expected_gain(counted, rng=1, **kwargs)
    assert len(calls) == 1
    small = expected_gain(counted, rng=1, max_batch=7, **kwargs)
    assert len(calls) > 10 and max(calls[1:]) <= 20  # whole regions, one at a time if large
    assert small == whole


def test_empty_regions_and_novelty_in_the_gain():
    empty = expected_gain(
        first_fraction, density_per_um2=0.0, region_area_um2=10.0, prior_sampler=uniform_pair, rng=0
    )
    assert empty.mean == 0.0 and empty.stderr == 0.0
    kwargs = dict(
        density_per_um2=0.05,
        region_area_um2=100.0,
        prior_sampler=uniform_pair,
        n_samples=500,
        rng=3,
    )
    plain = expected_gain(first_fraction, **kwargs)
    boosted = expected_gain(first_fraction, novelty_weight=1.0, **kwargs)
    assert boosted.mean == pytest.approx(2 * plain.mean)
    near = expected_gain(first_fraction, novelty_weight=1.0, seen=np.array([[1.0, 0.0]]), **kwargs)
    assert plain.mean < near.mean < boosted.mean


def test_expected_gain_rejects_bad_callables_and_options():
    kwargs = dict(density_per_um2=0.1, region_area_um2=100.0, rng=0)
    with pytest.raises(DataError, match="prior_sampler"):
        expected_gain(first_fraction, prior_sampler=lambda n, g: np.ones(n), **kwargs)
    with pytest.raises(DataError, match="acquisition_fn must return"):
        expected_gain(lambda c: c, prior_sampler=uniform_pair, **kwargs)
    with pytest.raises(DataError, match="non-finite"):
        expected_gain(lambda c: np.full(len(c), np.nan), prior_sampler=uniform_pair, **kwargs)
    with pytest.raises(ConfigError, match="n_samples"):
        expected_gain(first_fraction, prior_sampler=uniform_pair, n_samples=1, **kwargs)
    with pytest.raises(ConfigError, match="region_area_um2"):
        expected_gain(
            first_fraction,
            prior_sampler=uniform_pair,
            density_per_um2=0.1,
            region_area_um2=0.0,
            rng=0,
        )


def test_density_estimate():
    assert density_estimate(45, 900.0) == pytest.approx(0.05)
    assert density_estimate(0, 900.0) == 0.0
    with pytest.raises(DataError, match="area_seen_um2"):
        density_estimate(3, 0.0)
    with pytest.raises(DataError, match="n_particles_seen"):
        density_estimate(-1, 10.0)


def test_should_switch_worked_example():
    cost = MotionCost()
    t_switch = cost.switch_seconds(30.0)  # 18 s
    v_stay = stay_value(2, 10, 0.0625)  # R = 0.8, G = 0.0625
    assert v_stay == pytest.approx(0.05)
    assert cost.switch_cost(v_stay, 30.0) == pytest.approx(0.9)
    assert should_switch(1.0, v_stay, t_switch, cost.measure_seconds)
    assert not should_switch(0.8, v_stay, t_switch, cost.measure_seconds)
    assert should_switch(GainEstimate(0.95, 0.01, 100), v_stay, t_switch, 1.0)
    # An exhausted region (V_stay = 0) is left for any positive gain.
    assert should_switch(1e-6, stay_value(12, 12, None), t_switch, 1.0)
    with pytest.raises(ConfigError, match="t_meas"):
        should_switch(1.0, 0.05, 18.0, 0.0)
