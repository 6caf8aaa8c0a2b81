from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.outliers import find_outlier_pixels, outlier_summary, pixel_magnitude
from autoscope.errors import DataError


def _cube(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.0 + 0.1 * rng.standard_normal((12, 10, 16))


def test_flags_only_the_planted_outliers() -> None:
    spectra = _cube()
    spectra[3, 4] *= 1000.0
    spectra[7, 1] *= -500.0  # sign does not matter, magnitude does
    mask = find_outlier_pixels(spectra)
    assert mask.shape == (12, 10) and mask.dtype == bool
    assert sorted(map(tuple, np.argwhere(mask).tolist())) == [(3, 4), (7, 1)]


def test_low_pixels_are_not_outliers_and_nothing_is_changed() -> None:
    spectra = _cube()
    spectra[0, 0] = 0.0
    before = spectra.copy()
    assert not find_outlier_pixels(spectra).any()
    np.testing.assert_array_equal(spectra, before)


def test_threshold_controls_sensitivity() -> None:
    spectra = _cube()
    spectra[5, 5] *= 3.0
    assert find_outlier_pixels(spectra, threshold=5.0)[5, 5]
    assert not find_outlier_pixels(spectra, threshold=1000.0).any()
    with pytest.raises(DataError, match="threshold"):
        find_outlier_pixels(spectra, threshold=0.0)


def test_constant_and_sparse_cubes() -> None:
    assert not find_outlier_pixels(np.ones((4, 4, 3))).any()
    sparse = np.zeros((8, 8, 5))
    sparse[2, 3, 1] = 1.0  # more than half the pixels share one value: MAD is 0
    assert find_outlier_pixels(sparse).sum() == 1


def test_summary_is_json_friendly() -> None:
    spectra = _cube()
    spectra[1, 2] *= 1000.0
    summary = outlier_summary(spectra)
    assert summary["count"] == 1
    assert summary["positions"] == [[1, 2]]
    assert summary["max_over_median"] > 500
    assert "MAD" in summary["rule"]


def test_magnitude_rejects_wrong_rank() -> None:
    with pytest.raises(DataError, match=r"\(H, W, S\)"):
        pixel_magnitude(np.ones((4, 4)))
