import numpy as np
import pytest
from scipy.spatial import cKDTree

from autoscope.analysis import find_atoms
from autoscope.errors import ConfigError, DataError


def _lattice(sigma=2.0, shape=(96, 96), spacing=18, seed=0, noise=0.0):
    """Gaussian blobs on a jittered square grid; true positions (N, 2)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    truth = []
    for r0 in range(12, shape[0] - 6, spacing):
        for c0 in range(12, shape[1] - 6, spacing):
            r, c = r0 + rng.uniform(-0.5, 0.5), c0 + rng.uniform(-0.5, 0.5)
            truth.append((r, c))
            image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    image += noise * rng.normal(size=shape)
    return image, np.array(truth)


def _errors(found, truth):
    distance, _ = cKDTree(truth).query(found[:, :2])
    return distance


@pytest.mark.parametrize("method", ["log", "dog"])
@pytest.mark.parametrize("refine", ["quadratic", "centroid"])
@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_subpixel_positions_are_recovered(method, refine, sigma):
    image, truth = _lattice(sigma=sigma)
    found = find_atoms(
        image, method=method, refine=refine, sigma_min=sigma / 2, sigma_max=2 * sigma
    )
    assert found.shape == (len(truth), 3)
    assert _errors(found, truth).max() < 0.1


def test_unrefined_peaks_are_integer_pixels():
    image, truth = _lattice()
    found = find_atoms(image, refine=None)
    assert len(found) == len(truth)
    np.testing.assert_array_equal(found[:, :2], np.round(found[:, :2]))
    assert _errors(found, truth).max() <= np.sqrt(0.5) + 1e-9


def test_sigma_column_tracks_blob_size():
    for sigma in (2.0, 4.0):
        image, _ = _lattice(sigma=sigma, shape=(120, 120), spacing=30)
        found = find_atoms(image, sigma_min=1.0, sigma_max=6.0, num_sigma=11)
        assert np.median(found[:, 2]) == pytest.approx(sigma, abs=0.5)


def test_result_is_sorted_and_deterministic():
    image, _ = _lattice(noise=0.05, seed=3)
    first = find_atoms(image)
    second = find_atoms(image)
    np.testing.assert_array_equal(first, second)
    assert (np.diff(first[:, 0]) >= 0).all()


def test_threshold_above_everything_gives_empty_result():
    image, _ = _lattice()
    for method in ("log", "dog"):
        for refine in ("quadratic", "centroid", None):
            found = find_atoms(image, method=method, threshold=10.0, refine=refine)
            assert found.shape == (0, 3)


def test_exclude_border_drops_edge_blobs():
    image, truth = _lattice(shape=(64, 64), spacing=20)
    rows, cols = np.mgrid[:64, :64]
    image += np.exp(-((rows - 1) ** 2 + (cols - 40) ** 2) / 8.0)
    assert len(find_atoms(image)) == len(truth) + 1
    assert len(find_atoms(image, exclude_border=4)) == len(truth)


def test_blob_at_the_border_is_refined_without_crashing():
    rows, cols = np.mgrid[:32, :32]
    image = np.exp(-((rows - 0.0) ** 2 + (cols - 15.3) ** 2) / 8.0)
    # The quadratic fit reflects the image at the border (no shift across it);
    # the centroid of a truncated blob is pulled inwards, but stays within its radius.
    for refine, tolerance in (("quadratic", 1e-9), ("centroid", 1.0)):
        found = find_atoms(image, refine=refine)
        assert len(found) == 1
        assert found[0, 0] == pytest.approx(0.0, abs=tolerance)
        assert found[0, 1] == pytest.approx(15.3, abs=0.1)


@pytest.mark.parametrize(
    "options",
    [
        {"sigma_min": 0.0},
        {"sigma_min": -1.0},
        {"sigma_min": 3.0, "sigma_max": 2.0},
        {"method": "doh"},
        {"refine": "gaussian"},
        {"num_sigma": 0},
        {"threshold": -0.1},
        {"overlap": 1.5},
        {"exclude_border": -1},
    ],
)
def test_bad_options_raise_config_error(options):
    image, _ = _lattice()
    with pytest.raises(ConfigError):
        find_atoms(image, **options)


def test_bad_image_raises_data_error():
    with pytest.raises(DataError, match="constant"):
        find_atoms(np.zeros((32, 32)))


def test_real_srtio3_columns_form_a_lattice(data_dir):
    pytest.importorskip("rsciio")
    from autoscope.data.readers import read

    folder = data_dir / "stem_adf_abf_srtio3"
    image = read(folder / "test_ADF_cropped.hdf5", reader="hspy").image
    found = find_atoms(image)
    # About 19 x 14 cation columns ~21 px apart (row) and ~29 px (col) in 400 x 380 px.
    assert 230 <= len(found) <= 300
    spacing, _ = cKDTree(found[:, :2]).query(found[:, :2], k=2)
    nearest = spacing[:, 1]
    assert np.median(nearest) == pytest.approx(20.8, abs=1.5)
    assert np.percentile(nearest, 5) > 15.0
    assert np.median(found[:, 2]) == pytest.approx(4.0, abs=1.0)
