import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.library.costs import MotionCost


def test_adjacent_fov_move_costs_about_eight():
    cost = MotionCost()
    assert cost.move_seconds(30.0) == pytest.approx(5.02 + 3.0)
    assert cost.move_cost(30.0) == pytest.approx(8.02)


def test_inside_fov_is_a_beam_shift():
    cost = MotionCost()
    assert cost.move_seconds(10.0) == pytest.approx(0.02)
    assert cost.move_cost(10.0) == 1.0
    # The instrument's tiling overrides the distance rule either way.
    assert cost.move_cost(25.0, inside_fov=True) == 1.0
    assert cost.move_seconds(1.0, inside_fov=False) == pytest.approx(5.02 + 0.1)


def test_vectorised_with_a_mask():
    cost = MotionCost(alpha=0.5)
    d = np.array([0.0, 15.0, 15.1, 100.0])
    np.testing.assert_allclose(cost.move_seconds(d), [0.02, 0.02, 5.02 + 1.51, 15.02])
    np.testing.assert_allclose(cost.move_cost(d), [1.0, 1.0, 0.5 * 6.53, 0.5 * 15.02])
    mask = np.array([True, False, True, False])
    np.testing.assert_allclose(cost.move_cost(d, inside_fov=mask), [1.0, 0.5 * 6.52, 1.0, 7.51])


def test_worked_switch_example():
    cost = MotionCost()
    assert cost.switch_seconds(30.0) == pytest.approx(18.0)
    assert cost.switch_cost(0.05, 30.0) == pytest.approx(18.0 * 0.05)
    assert cost.switch_cost(1.0, 30.0) == pytest.approx(18.0)
    np.testing.assert_allclose(cost.switch_seconds(np.array([0.0, 30.0])), [15.0, 18.0])


@pytest.mark.parametrize(
    "options",
    [
        {"fov_um": 0.0},
        {"stage_speed_um_s": -1.0},
        {"measure_seconds": np.inf},
        {"alpha": 0.0},
        {"retune_seconds": "5"},
    ],
)
def test_bad_parameters_raise(options):
    with pytest.raises(ConfigError, match="MotionCost"):
        MotionCost(**options)


def test_bad_distances_and_masks_raise():
    cost = MotionCost()
    with pytest.raises(DataError, match="distance_um"):
        cost.move_seconds(-1.0)
    with pytest.raises(DataError, match="inside_fov"):
        cost.move_cost(np.ones(3), inside_fov=np.array([1, 0, 1]))
    with pytest.raises(DataError, match="does not match"):
        cost.move_cost(np.ones(3), inside_fov=np.array([True, False]))
    with pytest.raises(DataError, match="stay_value"):
        cost.switch_cost(np.nan, 30.0)
