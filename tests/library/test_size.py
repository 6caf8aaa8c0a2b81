import numpy as np
import pytest
from matplotlib.figure import Figure

from autoscope.errors import ConfigError, DataError
from autoscope.library.size import expected_particle_count, max_components, plot_library_size

HAND = [(500.0, 1.56e6, 6), (150.0, 1.73e7, 7), (50.0, 1.56e8, 8)]


@pytest.mark.parametrize(("radius", "count", "dims"), HAND)
def test_hand_checked_counts_and_components(radius, count, dims):
    assert expected_particle_count(radius) == pytest.approx(count, rel=0.01)
    assert max_components(radius) == dims


def test_vectorised_over_radius_matches_scalars():
    radii = np.array([500.0, 150.0, 50.0])
    counts = expected_particle_count(radii)
    assert counts.shape == (3,)
    np.testing.assert_allclose(counts, [expected_particle_count(r) for r in radii])
    np.testing.assert_array_equal(max_components(radii), [6, 7, 8])


def test_count_falls_with_radius_squared_and_rises_with_coverage():
    assert expected_particle_count(100.0) == pytest.approx(4 * expected_particle_count(200.0))
    assert expected_particle_count(100.0, coverage=1.0) == pytest.approx(
        2 * expected_particle_count(100.0)
    )
    # Fewer points per axis allow more components.
    assert max_components(500.0, points_per_dimension=5) > 6


@pytest.mark.parametrize("radius", [0.0, -5.0, np.nan, np.inf, [10.0, -1.0]])
def test_bad_radius_raises(radius):
    with pytest.raises(DataError, match="mean_radius_nm"):
        expected_particle_count(radius)


@pytest.mark.parametrize(
    "options",
    [
        {"coverage": 0.0},
        {"coverage": 1.5},
        {"grid_side_mm": -2.0},
        {"usable_fraction": 0.0},
        {"sd_fraction": -0.1},
    ],
)
def test_bad_options_raise(options):
    with pytest.raises(ConfigError):
        expected_particle_count(100.0, **options)


def test_bad_points_per_dimension_raises():
    with pytest.raises(ConfigError, match="points_per_dimension"):
        max_components(100.0, points_per_dimension=1.0)


def test_plot_has_log_axes_and_threshold_labels():
    fig = plot_library_size(max_components=8)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"D = {d}" for d in range(1, 9)]


def test_plot_draws_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_library_size(np.array([20.0, 200.0]), ax=ax) is fig
    with pytest.raises(ConfigError, match="max_components"):
        plot_library_size(max_components=0)
