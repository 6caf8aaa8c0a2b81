import numpy as np
import pytest

from autoscope.analysis import as_image, normalize
from autoscope.errors import ConfigError, DataError


def test_as_image_returns_float64_copy():
    source = np.arange(100, dtype=np.uint8).reshape(10, 10)
    out = as_image(source)
    assert out.dtype == np.float64
    assert out.shape == (10, 10)
    out[0, 0] = 99.0
    assert source[0, 0] == 0


def test_float16_input_is_accepted():
    out = as_image(np.linspace(0, 1, 64, dtype=np.float16).reshape(8, 8))
    assert out.dtype == np.float64


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.ones((16, 16)), "constant"),
        (np.full((16, 16), np.nan), "all NaN"),
        (np.ones((1, 50)), "only 1 pixel"),
        (np.ones((50, 1)), "only 1 pixel"),
        (np.random.default_rng(0).random((16, 16, 3)), "RGB"),
        (np.random.default_rng(0).random((1, 16, 16)), "squeeze"),
        (np.random.default_rng(0).random(64), "2-D"),
        (np.array([["a", "b"], ["c", "d"]]), "numbers"),
        (np.ones((8, 8)) * (1 + 1j), "real"),
    ],
)
def test_bad_images_raise_specific_data_errors(image, message):
    with pytest.raises(DataError, match=message):
        as_image(image)


def test_partial_nan_names_the_first_bad_pixel():
    image = np.random.default_rng(1).random((12, 12))
    image[3, 4] = np.inf
    image[7, 1] = np.nan
    with pytest.raises(DataError, match=r"2 NaN/inf pixel\(s\).*\(3, 4\)"):
        as_image(image, name="haadf")


def test_min_size_is_configurable_and_validated():
    assert as_image([[0.0, 1.0], [2.0, 3.0]], min_size=2).shape == (2, 2)
    with pytest.raises(DataError, match="at least 8"):
        as_image([[0.0, 1.0], [2.0, 3.0]])
    with pytest.raises(ConfigError):
        as_image(np.eye(8), min_size=0)


def test_normalize_spans_zero_to_one():
    image = np.random.default_rng(2).normal(5.0, 3.0, (20, 30))
    out = normalize(image)
    assert out.min() == 0.0
    assert out.max() == 1.0
    np.testing.assert_allclose(out, (image - image.min()) / np.ptp(image))
    with pytest.raises(DataError):
        normalize(np.zeros((10, 10)))
