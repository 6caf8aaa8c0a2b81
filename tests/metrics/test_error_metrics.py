import numpy as np
import pytest

from autoscope.errors import DataError
from autoscope.metrics import error_metrics


def test_errors_on_fixed_truth_scale():
    truth = np.array([0.0, 1.0, 2.0, 4.0])  # range 4
    prediction = np.array([1.0, 1.0, 0.0, 4.0])  # errors 1, 0, -2, 0 -> /4: .25, 0, -.5, 0
    std = np.array([0.1, 0.2, 0.3, 0.4])
    out = error_metrics(prediction, truth, measured=np.array([1, 3]), std=std)
    assert out["mae"] == pytest.approx(0.75 / 4)
    assert out["rmse"] == pytest.approx(np.sqrt((0.0625 + 0.25) / 4))
    assert out["mae_unmeasured"] == pytest.approx(0.75 / 2)
    assert out["rmse_unmeasured"] == pytest.approx(np.sqrt((0.0625 + 0.25) / 2))
    assert out["mean_prediction"] == pytest.approx(1.5)
    assert out["mean_std"] == pytest.approx(0.25)


def test_explicit_value_range_sets_the_scale():
    out = error_metrics(
        np.array([1.0, 1.0]), np.array([0.0, 1.0]), measured=[], value_range=(0.0, 10.0)
    )
    assert out["mae"] == pytest.approx(0.05)
    assert out["mae_unmeasured"] == pytest.approx(0.05)
    assert "mean_std" not in out


def test_nothing_unmeasured_gives_nan_and_constant_truth_scale_one():
    out = error_metrics(np.array([2.0, 4.0]), np.array([3.0, 3.0]), measured=np.array([0, 1, 1]))
    assert out["mae"] == pytest.approx(1.0)  # constant truth: scale 1, raw units
    assert np.isnan(out["mae_unmeasured"]) and np.isnan(out["rmse_unmeasured"])


def test_error_metrics_validate_input():
    with pytest.raises(DataError, match="prediction"):
        error_metrics(np.zeros(3), np.zeros(2), measured=[])
    with pytest.raises(DataError, match="measured"):
        error_metrics(np.zeros(2), np.zeros(2), measured=np.array([2]))
    with pytest.raises(DataError, match="finite"):
        error_metrics(np.array([np.nan, 0.0]), np.zeros(2), measured=[])
