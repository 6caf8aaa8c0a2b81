from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.spectra_prep import SpectrumScaling, check_spectra, crop_and_bin
from autoscope.errors import ConfigError, DataError


def spread_spectra(n=200, s=16, seed=0):
    """Loops whose amplitude spans four decades, like the BEPS file."""
    rng = np.random.default_rng(seed)
    shape = np.sin(np.linspace(0, 2 * np.pi, s))
    amplitude = 10.0 ** rng.uniform(-5, -1, size=(n, 1))
    return amplitude * (shape + 0.1 * rng.standard_normal((n, s)))


@pytest.mark.parametrize("kind", ["global", "robust", "per-spectrum"])
def test_scaling_round_trips(kind):
    spectra = spread_spectra()
    scaling = SpectrumScaling(kind).fit(spectra)
    scaled = scaling.transform(spectra)
    assert scaled.shape == spectra.shape and np.isfinite(scaled).all()
    restored = scaling.inverse_transform(scaled, reference=spectra)
    np.testing.assert_allclose(restored, spectra, rtol=1e-9, atol=1e-15)
    cube = spectra[:12].reshape(3, 4, -1)  # (H, W, S) works too
    np.testing.assert_allclose(scaling.transform(cube).reshape(12, -1), scaled[:12])
    summary = scaling.as_dict()
    assert summary["kind"] == kind and summary["n_channels"] == 16


def test_global_maps_to_unit_interval_and_robust_centres_the_bulk():
    spectra = spread_spectra()
    scaled = SpectrumScaling("global").fit_transform(spectra)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    robust = SpectrumScaling("robust").fit(spectra)
    values = robust.transform(spectra)
    q1, q3 = np.percentile(values, [25, 75])
    assert q3 - q1 == pytest.approx(1.0) and np.median(values) == pytest.approx(0.0)
    assert robust.n_outliers_ > 0  # the large loops are counted, not clipped
    assert np.abs(values).max() > 50


def test_per_spectrum_gives_every_point_the_same_weight():
    spectra = spread_spectra()
    scaled = SpectrumScaling("per-spectrum").fit_transform(spectra)
    np.testing.assert_allclose(scaled.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=1), 1.0)
    constant = np.vstack([spectra[:3], np.full((1, 16), 2.0)])
    scaling = SpectrumScaling("per-spectrum").fit(constant)
    assert scaling.n_constant_ == 1
    np.testing.assert_array_equal(scaling.transform(constant)[3], 0.0)


def test_degenerate_global_scale_is_unit():
    scaling = SpectrumScaling("global").fit(np.full((3, 4), 5.0))
    assert scaling.scale_ == 1.0 and scaling.scale_kind_ == "unit"
    np.testing.assert_array_equal(scaling.transform(np.full((1, 4), 5.0)), 0.0)


def test_scaling_misuse():
    spectra = spread_spectra(n=10)
    with pytest.raises(ConfigError, match="kind"):
        SpectrumScaling("log")
    with pytest.raises(ConfigError, match="not fitted"):
        SpectrumScaling().transform(spectra)
    scaling = SpectrumScaling("per-spectrum").fit(spectra)
    with pytest.raises(ConfigError, match="reference"):
        scaling.inverse_transform(spectra)
    with pytest.raises(DataError, match="reference has shape"):
        scaling.inverse_transform(spectra, reference=spectra[:5])
    with pytest.raises(DataError, match="fitted on 16"):
        scaling.transform(spectra[:, :8])
    with pytest.raises(DataError, match=r"\(N, S\)"):
        SpectrumScaling().fit(spectra[0])
    assert SpectrumScaling("robust").as_dict()["center"] is None


def test_crop_and_bin_sums_counts():
    rng = np.random.default_rng(0)
    axis = np.linspace(0.0, 20.47, 2048)  # keV, 10 eV channels
    counts = rng.poisson(50 / 2048, size=(5, 6, 2048)).astype(float)
    binned, centres = crop_and_bin(counts, axis, low=0.0, high=10.23, bin=8)
    assert binned.shape == (5, 6, 128) and centres.shape == (128,)
    assert binned.sum() == counts[..., :1024].sum()  # counts are kept, not averaged
    np.testing.assert_allclose(centres[0], axis[:8].mean())
    np.testing.assert_array_equal(binned[..., 1], counts[..., 8:16].sum(axis=-1))
    full, same_axis = crop_and_bin(counts, axis)
    np.testing.assert_array_equal(full, counts)
    np.testing.assert_array_equal(same_axis, axis)


def test_crop_and_bin_decreasing_axis_and_remainder():
    axis = np.arange(10.0)[::-1]
    spectra = np.arange(10.0)[None, :]
    binned, centres = crop_and_bin(spectra, axis, low=2.0, high=7.0, bin=3)
    np.testing.assert_array_equal(binned, [[2 + 3 + 4, 5 + 6 + 7]])
    np.testing.assert_array_equal(centres, [6.0, 3.0])
    with pytest.raises(DataError, match="not a multiple of bin=4"):
        crop_and_bin(spectra, axis, low=2.0, high=7.0, bin=4)
    binned, centres = crop_and_bin(spectra, axis, low=2.0, high=7.0, bin=4, remainder="drop")
    assert binned.tolist() == [[2 + 3 + 4 + 5]] and centres.tolist() == [5.5]


@pytest.mark.parametrize(
    ("axis", "kwargs", "match"),
    [
        (np.array([0.0, 1.0, 3.0, 2.0, 4.0]), {}, "not strictly monotonic"),
        (np.array([0.0, 1.0, 1.0, 2.0, 4.0]), {}, "not strictly monotonic"),
        (np.arange(5.0), {"low": -1.0}, "outside the spectral axis"),
        (np.arange(5.0), {"high": 4.5}, "outside the spectral axis"),
        (np.arange(5.0), {"low": 3.0, "high": 1.0}, "low <= high"),
        (np.arange(5.0), {"low": 1.2, "high": 1.8}, "holds no channel"),
        (np.arange(5.0), {"bin": 0}, "bin must be an integer >= 1"),
        (np.arange(5.0), {"bin": 1.5}, "bin must be an integer >= 1"),
        (np.arange(4.0), {}, "4 values but the spectra have 5 channels"),
    ],
)
def test_crop_and_bin_bad_input(axis, kwargs, match):
    with pytest.raises(DataError, match=match):
        crop_and_bin(np.ones((2, 5)), axis, **kwargs)


def test_crop_and_bin_bad_remainder_option():
    with pytest.raises(ConfigError, match="remainder"):
        crop_and_bin(np.ones((2, 4)), np.arange(4.0), bin=2, remainder="pad")


def test_check_spectra():
    out = check_spectra([[1, 2, 3], [4, 5, 6]], axis=[1.0, 2.0, 3.0])
    assert out.dtype == np.float64 and out.shape == (2, 3)
    with pytest.raises(DataError, match="different lengths: spectrum 0 has 3 channels, spectrum 2"):
        check_spectra([np.ones(3), np.ones(3), np.ones(2)])
    with pytest.raises(DataError, match="numeric"):
        check_spectra([["a", "b"]])
    with pytest.raises(DataError, match=r"1 NaN/inf values \(first at index \(1, 0\)\)"):
        check_spectra(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    with pytest.raises(DataError, match="non-empty"):
        check_spectra(np.zeros((3, 0)))
    with pytest.raises(DataError, match="not strictly monotonic"):
        check_spectra(np.ones((2, 3)), axis=[0.0, 2.0, 1.0])
    with pytest.raises(DataError, match="NaN/inf at index 1"):
        check_spectra(np.ones((2, 3)), axis=[0.0, np.nan, 1.0])
    with pytest.raises(DataError, match="2 values but the spectra have 3"):
        check_spectra(np.ones((2, 3)), axis=[0.0, 1.0])
