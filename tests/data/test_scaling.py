"""robust_scale: median/IQR scaling that reports, never removes, outliers."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.scaling import robust_scale
from autoscope.errors import ConfigError, DataError


def test_median_iqr_and_outlier_report() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 1000.0, -900.0])
    scaled, info = robust_scale(values)
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    assert info.center == med and info.scale == q3 - q1 and info.scale_kind == "iqr"
    assert np.allclose(scaled, (values - med) / (q3 - q1))
    assert info.n_outliers == 2 and sorted(info.outlier_indices.tolist()) == [5, 6]
    assert scaled.shape == values.shape  # nothing dropped
    assert np.allclose(info.inverse(scaled), values)
    assert np.allclose(info.transform(values), scaled)
    assert info.as_dict()["n_outliers"] == 2


def test_fallbacks_when_iqr_is_zero() -> None:
    _, info = robust_scale(np.array([1.0] * 6 + [5.0]))
    assert info.scale_kind == "std" and info.scale == pytest.approx(np.std([1.0] * 6 + [5.0]))
    scaled, info = robust_scale(np.full(5, 3.0))
    assert info.scale_kind == "unit" and np.all(scaled == 0)


def test_bad_input() -> None:
    with pytest.raises(DataError, match="NaN"):
        robust_scale(np.array([1.0, np.nan]))
    with pytest.raises(DataError, match="1-D"):
        robust_scale(np.ones((2, 2)))
    with pytest.raises(ConfigError):
        robust_scale(np.ones(3), outlier_iqr=0.0)
