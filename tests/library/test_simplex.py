import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.library.simplex import (
    SimplexEstimate,
    check_compositions,
    edx_sigma,
    free_coordinates,
    observe_compositions,
    reestimate_least_certain,
    sample_simplex,
)


def test_check_compositions_accepts_and_converts():
    out = check_compositions([[0.25, 0.75], [1, 0]])
    assert out.dtype == np.float64 and out.shape == (2, 2)


@pytest.mark.parametrize(
    ("c", "match"),
    [
        ([0.5, 0.5], "with D >= 2"),
        ([[1.0], [1.0]], "with D >= 2"),
        ([[0.5, 0.5], [1.2, -0.2]], "row 1 has a negative"),
        ([[0.5, 0.5], [0.5, 0.4], [0.1, 0.1]], "row 1 sums to 0.9"),
        ([[np.nan, 1.0]], "row 0 holds a non-finite"),
    ],
)
def test_check_compositions_names_the_bad_row(c, match):
    with pytest.raises(DataError, match=match):
        check_compositions(c)


def test_check_compositions_tolerance():
    check_compositions([[0.5 + 1e-8, 0.5]])
    with pytest.raises(DataError, match="sums to"):
        check_compositions([[0.5 + 1e-8, 0.5]], atol=1e-10)


def test_sample_simplex_is_uniform_dirichlet():
    c = sample_simplex(20000, 3, 0)
    assert c.shape == (20000, 3)
    check_compositions(c, atol=1e-12)
    # Dirichlet(1, 1, 1) marginal is Beta(1, 2): mean 1/3, variance 1/18.
    np.testing.assert_allclose(c.mean(axis=0), 1 / 3, atol=0.01)
    np.testing.assert_allclose(c.var(axis=0), 1 / 18, atol=0.003)
    np.testing.assert_array_equal(c, sample_simplex(20000, 3, np.random.default_rng(0)))


@pytest.mark.parametrize(("n", "d", "rng"), [(-1, 3, 0), (5, 1, 0), (5, 3, "seed")])
def test_sample_simplex_bad_options(n, d, rng):
    with pytest.raises(ConfigError):
        sample_simplex(n, d, rng)


def test_free_coordinates_drop_the_last():
    np.testing.assert_array_equal(free_coordinates([[0.2, 0.3, 0.5]]), [[0.2, 0.3]])
    with pytest.raises(DataError):
        free_coordinates([[0.2, 0.3, 0.6]])


def test_hand_check_from_the_issue():
    est = reestimate_least_certain([0.5, 0.3, np.nan], [0.02, 0.03, 0.2])
    assert isinstance(est, SimplexEstimate)
    np.testing.assert_allclose(est.fractions, [[0.5, 0.3, 0.2]])
    assert est.index.tolist() == [2]
    assert est.uncertainty[0] == pytest.approx(0.0360555, abs=1e-7)
    np.testing.assert_allclose(est.sigmas, [[0.02, 0.03, 0.0360555]], atol=1e-7)
    assert est.negative.tolist() == [False]


def test_least_certain_is_picked_per_row_and_ties_go_last():
    fractions = np.array([[0.9, 0.05, 0.05], [0.3, 0.3, 0.4]])
    sigmas = np.array([[0.3, 0.01, 0.02], [0.01, 0.01, 0.01]])
    est = reestimate_least_certain(fractions, sigmas)
    assert est.index.tolist() == [0, 2]
    np.testing.assert_allclose(est.fractions, [[0.9, 0.05, 0.05], [0.3, 0.3, 0.4]])
    np.testing.assert_allclose(est.uncertainty, [np.hypot(0.01, 0.02), np.hypot(0.01, 0.01)])


def test_negative_estimate_is_flagged_clipped_and_renormalised():
    est = reestimate_least_certain([[0.7, 0.5, np.nan], [0.2, 0.3, 0.0]], [[0.1, 0.1, 0.2]] * 2)
    assert est.negative.tolist() == [True, False]
    np.testing.assert_allclose(est.fractions[0], [0.7 / 1.2, 0.5 / 1.2, 0.0])
    np.testing.assert_allclose(est.fractions.sum(axis=1), 1.0)
    # The uncertainty is reported as computed, not changed by clipping.
    assert est.uncertainty[0] == pytest.approx(np.hypot(0.1, 0.1))


@pytest.mark.parametrize(
    ("fractions", "sigmas", "match"),
    [
        ([[0.5, 0.5]], [[0.1, 0.1, 0.1]], "shape"),
        ([[np.nan, 0.5, 0.5]], [[0.1, 0.1, 0.2]], "row 0 has a non-finite"),
        ([[0.5, 0.5, 0.0]], [[0.1, -0.1, 0.2]], "sigmas row 0"),
        ([1.0], [0.1], "D >= 2"),
    ],
)
def test_reestimate_bad_input(fractions, sigmas, match):
    with pytest.raises(DataError, match=match):
        reestimate_least_certain(fractions, sigmas)


def test_edx_sigma_falls_with_size():
    np.testing.assert_allclose(edx_sigma(np.array([20.0, 40.0, 200.0])), [0.02, 0.01, 0.002])
    assert float(edx_sigma(10.0, sigma_ref=0.05, radius_ref_nm=5.0)) == pytest.approx(0.025)
    with pytest.raises(DataError, match="radius_nm"):
        edx_sigma(0.0)
    with pytest.raises(ConfigError, match="sigma_ref"):
        edx_sigma(10.0, sigma_ref=0.0)


def test_observed_compositions_are_noisy_around_the_truth():
    true = sample_simplex(4000, 4, 1)
    radius = np.full(4000, 40.0)
    est = observe_compositions(true, radius, 2)
    np.testing.assert_allclose(est.fractions.sum(axis=1), 1.0)
    assert (est.fractions >= 0).all()
    assert (est.index == 3).all()
    np.testing.assert_allclose(est.uncertainty, 0.01 * np.sqrt(3))
    err = est.fractions[~est.negative, 0] - true[~est.negative, 0]
    assert abs(err.mean()) < 0.001 and err.std() == pytest.approx(0.01, rel=0.1)
    # Near the edges some rows go negative; they are flagged, not hidden.
    assert 0 < est.negative.sum() < 4000
    same = observe_compositions(true, radius, np.random.default_rng(2))
    np.testing.assert_array_equal(same.fractions, est.fractions)


def test_large_particles_are_read_more_precisely():
    true = np.tile([[0.2, 0.3, 0.5]], (2000, 1))
    small = observe_compositions(true, np.full(2000, 20.0), 0)
    large = observe_compositions(true, np.full(2000, 200.0), 0)
    assert large.fractions[:, 0].std() < 0.2 * small.fractions[:, 0].std()


def test_observe_rejects_bad_input():
    with pytest.raises(DataError, match="radius_nm must have shape"):
        observe_compositions([[0.5, 0.5]], np.array([10.0, 20.0]), 0)
    with pytest.raises(DataError, match="sums to"):
        observe_compositions([[0.5, 0.6]], np.array([10.0]), 0)
