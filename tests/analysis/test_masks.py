import sys

import numpy as np
import pytest
from skimage.draw import disk

from autoscope.analysis import (
    MASK_GENERATORS,
    FelzenszwalbMasks,
    MaskGenerator,
    SAMMasks,
    SLICMasks,
    ThresholdWatershed,
    labels_to_masks,
    make_mask_generator,
    masks_to_labels,
)
from autoscope.errors import ConfigError, DataError

CENTRES = [(20, 20), (20, 70), (60, 30), (100, 100), (95, 40)]


def _discs(centres=CENTRES, radius=8, shape=(128, 128), noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    image = np.full(shape, 0.2)
    for centre in centres:
        rr, cc = disk(centre, radius, shape=shape)
        image[rr, cc] = 1.0
    return image + noise * rng.normal(size=shape)


def _areas(masks):
    return masks.sum(axis=(1, 2))


def test_threshold_watershed_counts_discs():
    masks = ThresholdWatershed()(_discs())
    assert masks.shape == (len(CENTRES), 128, 128)
    assert masks.dtype == bool
    assert np.all(np.abs(_areas(masks) - np.pi * 64) < 30)
    assert masks.sum(axis=0).max() == 1  # disjoint


def test_watershed_splits_two_touching_discs():
    centres = [(60, 48), (60, 63)]  # radius 8, 15 px apart: they overlap
    image = _discs(centres=centres)
    masks = ThresholdWatershed(min_distance=5)(image)
    assert len(masks) == 2
    for centre in centres:
        assert sum(mask[centre] for mask in masks) == 1
    assert not any(mask[centres[0]] and mask[centres[1]] for mask in masks)


def test_watershed_dark_foreground_and_fixed_threshold():
    image = _discs()
    bright = ThresholdWatershed(threshold=0.5)(image)
    dark = ThresholdWatershed(threshold=0.5, foreground="dark")(1.0 - image)
    assert len(bright) == len(dark) == len(CENTRES)
    np.testing.assert_array_equal(bright, dark)


def test_threshold_above_everything_gives_empty_stack():
    masks = ThresholdWatershed(threshold=1.0)(_discs())
    assert masks.shape == (0, 128, 128)
    assert masks.dtype == bool
    assert ThresholdWatershed(min_area=10**6)(_discs()).shape == (0, 128, 128)


@pytest.mark.parametrize(
    "generator",
    [
        SLICMasks(n_segments=300),
        SLICMasks(n_segments=300, merge=False),
        SLICMasks(n_segments=100, foreground="all"),
        SLICMasks(foreground="dark"),
        FelzenszwalbMasks(),
        FelzenszwalbMasks(foreground="all"),
    ],
)
def test_segment_generators_return_bool_stacks(generator):
    image = _discs()
    masks = generator(image)
    assert masks.ndim == 3
    assert masks.shape[1:] == image.shape
    assert masks.dtype == bool
    assert len(masks) > 0
    assert masks.sum(axis=0).max() <= 1  # partitions give disjoint masks
    assert (_areas(masks) >= generator.min_area).all()
    np.testing.assert_array_equal(masks, generator(image))  # deterministic


@pytest.mark.parametrize("generator", [SLICMasks(n_segments=300), FelzenszwalbMasks()])
def test_bright_segments_cover_the_discs(generator):
    image = _discs()
    masks = generator(image)
    assert len(masks) == len(CENTRES)
    union = masks.any(axis=0)
    for centre in CENTRES:
        assert union[centre]
    assert union.sum() < 1.3 * len(CENTRES) * np.pi * 64


def test_protocol_accepts_any_callable_class_and_the_builtins():
    class Everything:
        def __call__(self, image: np.ndarray) -> np.ndarray:
            return np.ones((1, *image.shape), dtype=bool)

    assert isinstance(Everything(), MaskGenerator)
    assert isinstance(ThresholdWatershed(), MaskGenerator)
    assert not isinstance(object(), MaskGenerator)


def test_labels_and_masks_round_trip():
    labels = np.array([[0, 0, 3], [1, 1, 3], [0, 5, 5]])
    masks = labels_to_masks(labels)
    assert masks.shape == (3, 3, 3)
    assert [int(m.sum()) for m in masks] == [2, 2, 2]
    relabelled = masks_to_labels(masks)
    assert relabelled.tolist() == [[0, 0, 2], [1, 1, 2], [0, 3, 3]]
    assert labels_to_masks(np.zeros((4, 5), dtype=int)).shape == (0, 4, 5)
    assert masks_to_labels(np.zeros((0, 4, 5), dtype=bool)).shape == (4, 5)


def test_later_masks_win_on_overlap():
    masks = np.zeros((2, 3, 4), dtype=bool)
    masks[0, :, :3] = True
    masks[1, :, 2:] = True
    assert masks_to_labels(masks).tolist() == [[1, 1, 2, 2]] * 3


def test_label_conversions_reject_bad_input():
    with pytest.raises(DataError):
        labels_to_masks(np.array([[0.5, 1.0], [1.0, 0.0]]))
    with pytest.raises(DataError):
        labels_to_masks(np.array([[-1, 0], [1, 0]]))
    with pytest.raises(DataError):
        labels_to_masks(np.zeros((2, 2, 2), dtype=int))
    with pytest.raises(DataError):
        masks_to_labels(np.zeros((4, 4), dtype=bool))


def test_registry_builds_generators_and_rejects_unknown_names_and_options():
    assert set(MASK_GENERATORS) == {"threshold-watershed", "slic", "felzenszwalb", "sam"}
    generator = make_mask_generator("threshold-watershed", threshold=0.4, min_distance=3)
    assert isinstance(generator, ThresholdWatershed)
    assert generator.threshold == 0.4
    with pytest.raises(ConfigError, match="felzenszwalb"):
        make_mask_generator("cellpose")
    with pytest.raises(ConfigError):
        make_mask_generator("slic", n_segment=10)


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (ThresholdWatershed, {"threshold": "mean"}),
        (ThresholdWatershed, {"threshold": 1.5}),
        (ThresholdWatershed, {"min_distance": 0}),
        (ThresholdWatershed, {"foreground": "all"}),
        (SLICMasks, {"n_segments": 0}),
        (SLICMasks, {"compactness": 0.0}),
        (SLICMasks, {"merge": "yes"}),
        (FelzenszwalbMasks, {"scale": -1.0}),
        (FelzenszwalbMasks, {"min_size": 0}),
        (FelzenszwalbMasks, {"foreground": "grey"}),
    ],
)
def test_bad_options_raise_config_error(cls, options):
    with pytest.raises(ConfigError):
        cls(**options)


@pytest.mark.parametrize("name", ["threshold-watershed", "slic", "felzenszwalb"])
@pytest.mark.parametrize(
    "image",
    [np.ones((32, 32)), np.full((32, 32), np.nan), np.ones((1, 50)), np.ones((32, 32, 3))],
)
def test_bad_images_raise_data_error(name, image):
    with pytest.raises(DataError):
        make_mask_generator(name)(image)


def test_sam_missing_checkpoint_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint not found"):
        SAMMasks(tmp_path / "sam_vit_b.pth")


def test_sam_without_the_package_names_the_install_command(tmp_path, monkeypatch):
    checkpoint = tmp_path / "sam_vit_b.pth"
    checkpoint.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "segment_anything", None)  # import fails
    generator = SAMMasks(checkpoint, points_per_side=8)
    assert isinstance(generator, MaskGenerator)
    with pytest.raises(ConfigError, match="pip install"):
        generator(_discs())


def test_sam_options_are_validated(tmp_path):
    checkpoint = tmp_path / "sam.pth"
    checkpoint.write_bytes(b"")
    with pytest.raises(ConfigError):
        SAMMasks(checkpoint, model_type="vit_x")
    with pytest.raises(ConfigError):
        SAMMasks(checkpoint, pred_iou_thresh=2.0)


@pytest.mark.parametrize("cls", [SLICMasks, FelzenszwalbMasks])
def test_all_segments_partition_the_image(cls):
    image = _discs()
    masks = cls(foreground="all", min_area=0)(image)
    np.testing.assert_array_equal(masks.sum(axis=0), np.ones(image.shape, dtype=int))


def test_oversized_mask_stack_is_refused_before_allocation(monkeypatch):
    import autoscope.analysis.masks as masks_module

    monkeypatch.setattr(masks_module, "MAX_MASK_BYTES", 3 * 128 * 128)
    with pytest.raises(ConfigError, match="raise min_area"):
        ThresholdWatershed()(_discs())
