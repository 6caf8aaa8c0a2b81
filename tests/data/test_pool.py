"""extract_patches and CandidatePool: geometry, borders, normalisation, growth, errors."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.pool import CandidatePool, extract_patches
from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError

from helpers import toy_image


def ramp_image(h: int = 50, w: int = 50, name: str = "ramp") -> SpectralImage:
    """A structure image whose every pixel value is unique (``r * w + c``)."""
    return SpectralImage(np.arange(h * w, dtype=float).reshape(h, w), name=name)


# -- extract_patches: geometry --------------------------------------------------------------


@pytest.mark.parametrize("window", [4, 5, 16, 17])
def test_patch_is_the_hand_cut_block_centred_on_the_candidate(window: int) -> None:
    image = toy_image(size=30)
    pool = extract_patches(image, window=window, normalization="none")
    patches = pool.feature("patches")
    assert patches.shape == (len(pool), window, window) and patches.dtype == np.float32
    for i in [0, len(pool) // 3, len(pool) // 2, len(pool) - 1]:
        r, c = pool.coords[i]
        top, left = r - window // 2, c - window // 2
        block = image.image[top : top + window, left : left + window]
        np.testing.assert_array_equal(patches[i], block.astype(np.float32))


def test_valid_border_keeps_only_full_patches() -> None:
    pool = extract_patches(ramp_image(50, 50), window=16, border="valid")
    assert len(pool) == 35 * 35 == 1225
    rows, cols = np.unique(pool.coords[:, 0]), np.unique(pool.coords[:, 1])
    np.testing.assert_array_equal(rows, np.arange(8, 43))
    np.testing.assert_array_equal(cols, np.arange(8, 43))
    assert pool.grid_shape == (50, 50)


def test_valid_border_counts_odd_window_and_non_square_image() -> None:
    pool = extract_patches(ramp_image(20, 30), window=5, border="valid")
    assert len(pool) == (20 - 4) * (30 - 4)


@pytest.mark.parametrize("border", ["reflect", "constant"])
def test_padded_borders_keep_every_grid_point(border: str) -> None:
    image = ramp_image(50, 50)
    pool = extract_patches(image, window=16, border=border, normalization="none")
    assert len(pool) == 2500
    np.testing.assert_array_equal(pool.coords, np.argwhere(np.ones((50, 50), dtype=bool)))
    mode = "reflect" if border == "reflect" else "constant"
    padded = np.pad(image.image, 8, mode=mode)
    for r, c in [(0, 0), (0, 49), (49, 0), (25, 3), (49, 49)]:
        [i] = pool.index_of(np.array([[r, c]]))
        np.testing.assert_array_equal(
            pool.feature("patches")[i], padded[r : r + 16, c : c + 16].astype(np.float32)
        )


def test_constant_border_pads_with_zeros() -> None:
    image = SpectralImage(np.ones((10, 10)), name="ones")
    pool = extract_patches(image, window=4, border="constant", normalization="none")
    [corner] = pool.index_of(np.array([[0, 0]]))
    patch = pool.feature("patches")[corner]
    assert (patch[:2] == 0).all() and (patch[:, :2] == 0).all() and (patch[2:, 2:] == 1).all()


def test_stride_samples_every_kth_grid_point() -> None:
    pool = extract_patches(ramp_image(20, 20), window=4, stride=3, border="reflect")
    assert len(pool) == 7 * 7
    assert set(np.unique(pool.coords).tolist()) == {0, 3, 6, 9, 12, 15, 18}
    assert pool.spec["stride"] == 3 and pool.spec["window"] == 4


def test_stride_with_valid_border() -> None:
    pool = extract_patches(ramp_image(50, 50), window=16, stride=5, border="valid")
    rows = np.unique(pool.coords[:, 0])
    np.testing.assert_array_equal(rows, [10, 15, 20, 25, 30, 35, 40])


def test_all_channels_when_channel_is_none() -> None:
    structure = np.stack([np.arange(100.0).reshape(10, 10), -np.arange(100.0).reshape(10, 10)])
    image = SpectralImage(structure, name="two")
    pool = extract_patches(image, window=3, channel=None, normalization="none")
    patches = pool.feature("patches")
    assert patches.shape == (64, 2, 3, 3)
    np.testing.assert_array_equal(patches[:, 1], -patches[:, 0])
    second = extract_patches(image, window=3, channel=1, normalization="none")
    np.testing.assert_array_equal(second.feature("patches"), patches[:, 1])


# -- extract_patches: normalisation ---------------------------------------------------------


def test_global_normalization_scales_the_image_to_unit_range() -> None:
    image = toy_image(size=24)
    pool = extract_patches(image, window=6, border="reflect", normalization="global")
    patches = pool.feature("patches")
    assert patches.min() == pytest.approx(0.0, abs=1e-7)
    assert patches.max() == pytest.approx(1.0, abs=1e-6)
    raw = extract_patches(image, window=6, border="reflect", normalization="none")
    lo, hi = image.image.min(), image.image.max()
    np.testing.assert_allclose(patches, (raw.feature("patches") - lo) / (hi - lo), atol=1e-6)


def test_global_is_the_default_normalization() -> None:
    image = toy_image(size=24)
    default = extract_patches(image, window=6)
    explicit = extract_patches(image, window=6, normalization="global")
    np.testing.assert_array_equal(default.feature("patches"), explicit.feature("patches"))


def test_per_patch_normalization_is_zero_mean_unit_std() -> None:
    pool = extract_patches(toy_image(size=24), window=7, normalization="per_patch")
    patches = pool.feature("patches").astype(np.float64)
    np.testing.assert_allclose(patches.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(patches.std(axis=(1, 2)), 1.0, atol=1e-4)


@pytest.mark.parametrize("normalization", ["global", "per_patch", "none"])
def test_constant_patches_give_no_nan(normalization: str) -> None:
    structure = np.full((16, 16), 3.0)
    structure[:, 12:] = np.arange(16.0)[:, None] * np.ones(4)  # a few non-constant patches
    for values in (structure, np.full((16, 16), 3.0)):
        pool = extract_patches(
            SpectralImage(values, name="flat"), window=4, normalization=normalization
        )
        patches = pool.feature("patches")
        assert np.isfinite(patches).all()
    if normalization != "none":
        assert (patches == 0).all()  # the fully constant image


# -- extract_patches: spectra binning -------------------------------------------------------


def test_binned_spectra_get_their_own_block() -> None:
    structure = np.arange(64 * 64, dtype=float).reshape(64, 64)
    image = SpectralImage(
        structure,
        spectra=np.ones((2, 2, 3)),
        spectral_axis=np.arange(3.0),
        spectra_binning=32,
        name="binned",
    )
    pool = extract_patches(image, window=32, normalization="none")
    assert len(pool) == 4 and pool.grid_shape == (2, 2)
    np.testing.assert_array_equal(pool.coords, [[0, 0], [0, 1], [1, 0], [1, 1]])
    for i, (r, c) in enumerate(pool.coords):
        block = structure[32 * r : 32 * r + 32, 32 * c : 32 * c + 32]
        np.testing.assert_array_equal(pool.feature("patches")[i], block.astype(np.float32))


# -- extract_patches: errors ----------------------------------------------------------------


def test_window_larger_than_image_names_the_image_and_the_limit() -> None:
    with pytest.raises(DataError, match=r"'small'.*window <= 12"):
        extract_patches(ramp_image(12, 20, name="small"), window=13)


@pytest.mark.parametrize(("window", "stride"), [(0, 1), (-3, 1), (4, 0), (4, -1)])
def test_window_and_stride_must_be_positive(window: int, stride: int) -> None:
    with pytest.raises(DataError, match=">= 1"):
        extract_patches(ramp_image(10, 10), window=window, stride=stride)


def test_unknown_border_and_normalization() -> None:
    with pytest.raises(DataError, match="unknown border 'wrap'"):
        extract_patches(ramp_image(10, 10), window=3, border="wrap")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unknown normalization 'zscore'"):
        extract_patches(ramp_image(10, 10), window=3, normalization="zscore")  # type: ignore[arg-type]


def test_no_valid_candidate() -> None:
    image = SpectralImage(
        np.zeros((64, 64)),
        spectra=np.ones((2, 2, 3)),
        spectral_axis=np.arange(3.0),
        spectra_binning=32,
        name="binned",
    )
    with pytest.raises(DataError, match=r"no candidate of 'binned'.*reflect"):
        extract_patches(image, window=64, border="valid")
    assert len(extract_patches(image, window=64, border="reflect")) == 4


# -- CandidatePool --------------------------------------------------------------------------


def small_pool() -> CandidatePool:
    coords = np.array([[0, 0], [0, 1], [1, 0]])
    return CandidatePool(coords, {"x": np.arange(6.0).reshape(3, 2)}, (3, 3))


def test_append_keeps_old_indices_and_returns_the_new_ones() -> None:
    pool = small_pool()
    before_coords, before_x = pool.coords.copy(), pool.feature("x").copy()
    new = pool.append(np.array([[2, 2], [1, 1]]), {"x": np.array([[10.0, 11.0], [12.0, 13.0]])})
    np.testing.assert_array_equal(new, [3, 4])
    assert len(pool) == 5
    np.testing.assert_array_equal(pool.coords[:3], before_coords)
    np.testing.assert_array_equal(pool.feature("x")[:3], before_x)
    np.testing.assert_array_equal(pool.coords[3:], [[2, 2], [1, 1]])
    np.testing.assert_array_equal(pool.feature("x")[3:], [[10.0, 11.0], [12.0, 13.0]])
    np.testing.assert_array_equal(pool.index_of(np.array([[1, 1], [0, 1]])), [4, 1])
    again = pool.append(np.array([[2, 0]]), {"x": np.zeros((1, 2))})
    np.testing.assert_array_equal(again, [5])


def test_append_mismatched_features_raises() -> None:
    pool = small_pool()
    with pytest.raises(DataError, match="differ"):
        pool.append(np.array([[2, 2]]), {"y": np.zeros((1, 2))})
    with pytest.raises(DataError, match="differ"):
        pool.append(np.array([[2, 2]]), {"x": np.zeros((1, 2)), "y": np.zeros((1, 2))})
    with pytest.raises(DataError, match="shape"):
        pool.append(np.array([[2, 2]]), {"x": np.zeros((1, 3))})
    with pytest.raises(DataError, match="shape"):
        pool.append(np.array([[2, 2]]), {"x": np.zeros((2, 2))})
    assert len(pool) == 3  # nothing appended by a failed call


def test_out_of_bounds_coords_raise() -> None:
    with pytest.raises(DataError, match="outside the grid"):
        CandidatePool(np.array([[0, 0], [3, 0]]), None, (3, 3))
    with pytest.raises(DataError, match="outside the grid"):
        CandidatePool(np.array([[0, -1]]), None, (3, 3))
    pool = small_pool()
    with pytest.raises(DataError, match=r"outside the grid \(3, 3\)"):
        pool.append(np.array([[0, 3]]), {"x": np.zeros((1, 2))})
    assert len(pool) == 3


def test_constructor_validates_coords_and_features() -> None:
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        CandidatePool(np.zeros((3, 3), dtype=int))
    with pytest.raises(DataError, match="integers"):
        CandidatePool(np.zeros((3, 2)))
    with pytest.raises(DataError, match="first dimension"):
        CandidatePool(np.zeros((3, 2), dtype=int), {"x": np.zeros((2, 4))})
    with pytest.raises(DataError, match="no feature 'y'"):
        small_pool().feature("y")


def test_grid_shape_defaults_to_the_coords_extent() -> None:
    pool = CandidatePool(np.array([[0, 0], [4, 2]]))
    assert pool.grid_shape == (5, 3)


def test_index_of() -> None:
    pool = small_pool()
    np.testing.assert_array_equal(pool.index_of(np.array([[1, 0], [0, 0], [2, 2]])), [2, 0, -1])
    np.testing.assert_array_equal(pool.index_of(np.array([0, 1])), [1])


def test_coords_view_is_read_only() -> None:
    pool = small_pool()
    coords = pool.coords
    with pytest.raises(ValueError, match="read-only"):
        coords[0, 0] = 2
    np.testing.assert_array_equal(pool.coords[0], [0, 0])
    assert pool.coords.dtype == np.int64


def test_features_mapping_is_a_copy() -> None:
    pool = small_pool()
    features = pool.features
    features["y"] = np.zeros(3)  # type: ignore[index]
    assert set(pool.features) == {"x"}
    np.testing.assert_array_equal(pool.flat_features("x").shape, (3, 2))
    assert pool.flat_features("x").dtype == np.float64


def test_per_patch_standardisation_survives_a_large_offset():
    image = 1e6 + np.random.default_rng(0).normal(size=(20, 20)) * 0.01
    patches = extract_patches(
        SpectralImage(image, name="offset"), window=4, normalization="per_patch"
    ).feature("patches")
    assert np.unique(patches[0]).size == 16
    np.testing.assert_allclose(patches.std(axis=(1, 2)), 1.0, rtol=1e-4)


def test_append_rejects_non_integer_or_misshapen_coords():
    pool = CandidatePool(np.array([[0, 0]]), {"x": np.zeros((1, 1))}, (3, 3))
    with pytest.raises(DataError, match="integers"):
        pool.append(np.array([[1.9, 2.7]]), {"x": np.zeros((1, 1))})
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        pool.append(np.array([1, 1, 2, 2]), {"x": np.zeros((2, 1))})


def test_empty_pool_is_a_data_error():
    with pytest.raises(DataError, match="at least one candidate"):
        CandidatePool(np.zeros((0, 2), dtype=int))


def test_pool_arrays_cannot_be_changed_from_outside():
    features = np.zeros((1, 2))
    pool = CandidatePool(np.array([[0, 0]]), {"x": features}, (2, 2))
    with pytest.raises(ValueError):
        pool.coords.flags.writeable = True
    features[0, 0] = 5.0
    assert pool.feature("x")[0, 0] == 0.0


def test_bin_spectra_sums_blocks_and_keeps_registration():
    rng = np.random.default_rng(0)
    image = SpectralImage(rng.random((8, 8)), spectra=rng.poisson(3.0, (8, 8, 5)).astype(float),
                          ground_truth={"t": np.arange(64.0).reshape(8, 8)})
    binned = image.bin_spectra(4)
    assert binned.spectra.shape == (2, 2, 5) and binned.spectra_binning == 4
    np.testing.assert_array_equal(binned.spectra[1, 0], image.spectra[4:8, 0:4].sum(axis=(0, 1)))
    assert binned.ground_truth["t"][0, 0] == pytest.approx(image.ground_truth["t"][:4, :4].mean())
    pool = extract_patches(binned, window=4)
    expected = (image.image[4:8, 4:8] - image.image.min()) / np.ptp(image.image)
    np.testing.assert_allclose(pool.feature("patches")[3], expected, rtol=1e-6)
    with pytest.raises(DataError, match="divide"):
        image.bin_spectra(3)
