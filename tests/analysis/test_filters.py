import numpy as np
import pytest

from autoscope.analysis import deconvolve, gaussian, gaussian_psf, normalize, prefilter
from autoscope.errors import ConfigError, DataError


def _spots(shape=(48, 48), sigma=2.5):
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    for r, c in [(12, 12), (12, 30), (30, 20), (36, 38)]:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    return image


def test_gaussian_zero_sigma_is_a_copy_and_positive_sigma_smooths():
    image = np.random.default_rng(0).random((32, 32))
    same = gaussian(image, sigma=0.0)
    np.testing.assert_array_equal(same, image)
    assert same is not image
    smooth = gaussian(image, sigma=2.0)
    assert smooth.std() < image.std()
    assert smooth.mean() == pytest.approx(image.mean(), rel=1e-2)


def test_gaussian_psf_is_odd_normalised_and_about_six_sigma_wide():
    for sigma in (0.4, 1.0, 2.3):
        psf = gaussian_psf(sigma)
        assert psf.shape[0] == psf.shape[1]
        assert psf.shape[0] % 2 == 1
        assert abs(psf.shape[0] - (6 * sigma + 1)) <= 3
        assert psf.sum() == pytest.approx(1.0)
        assert np.unravel_index(psf.argmax(), psf.shape) == (psf.shape[0] // 2,) * 2


def test_deconvolution_sharpens_blurred_spots():
    sharp = _spots(sigma=1.0)
    blurred = gaussian(sharp, sigma=2.0)
    restored = deconvolve(blurred, probe_sigma=2.0, iterations=30)
    assert restored.shape == blurred.shape
    assert np.isfinite(restored).all()
    peak = (12, 12)

    def contrast(a):
        return a[peak] / a.mean()

    assert contrast(restored) > 1.5 * contrast(blurred / blurred.max())


def test_deconvolution_keeps_a_flat_background_flat_up_to_the_border():
    sharp = _spots(sigma=1.0) + 1.0
    sharp[24, 24] = 0.0  # a dark pixel, so the background is not the normalised zero
    image = gaussian(sharp, sigma=2.0)
    restored = deconvolve(image, probe_sigma=2.0, iterations=20)
    # Zero padding would darken the border rows; reflective padding does not.
    background = restored[20:28, :8].mean()
    assert restored[0, :8].mean() == pytest.approx(background, rel=0.05)
    assert restored[:, 0].min() > 0.8 * background


def test_deconvolve_zero_sigma_or_iterations_returns_normalised_input():
    image = _spots()
    for kwargs in ({"probe_sigma": 0.0}, {"probe_sigma": 1.0, "iterations": 0}):
        out = deconvolve(image, **kwargs)
        np.testing.assert_allclose(out, normalize(image))


def test_prefilter_outputs_unit_range_for_all_combinations():
    image = _spots() + np.random.default_rng(1).normal(0, 0.05, (48, 48))
    for sigma in (0.0, 1.5):
        for deconvolve_sigma in (0.0, 1.0):
            out = prefilter(image, sigma=sigma, deconvolve_sigma=deconvolve_sigma, iterations=5)
            assert out.shape == image.shape
            assert out.min() == pytest.approx(0.0)
            assert out.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda im: gaussian(im, sigma=-1.0), ConfigError),
        (lambda im: gaussian(im, sigma=float("nan")), ConfigError),
        (lambda im: deconvolve(im, probe_sigma=-0.5), ConfigError),
        (lambda im: deconvolve(im, probe_sigma=1.0, iterations=-1), ConfigError),
        (lambda im: deconvolve(im, probe_sigma=1.0, iterations=2.5), ConfigError),
        (lambda im: prefilter(im, sigma="big"), ConfigError),
        (lambda im: prefilter(np.ones((16, 16))), DataError),
    ],
)
def test_bad_options_raise(call, error):
    with pytest.raises(error):
        call(_spots())
