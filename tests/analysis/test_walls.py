import numpy as np
import pytest
from skimage.draw import circle_perimeter, line

from autoscope.analysis import (
    edge_map,
    find_walls,
    hough_segments,
    path_length,
    skeleton_branches,
    wall_skeleton,
)
from autoscope.errors import ConfigError, DataError


def _is_connected_path(branch):
    steps = np.abs(np.diff(branch, axis=0))
    return bool((steps.max(axis=1) == 1).all())


def _stripes(shape=(96, 96), period=32, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = ((cols + 0.3 * rows) % period < period / 2).astype(float)
    return image + noise * rng.normal(size=shape)


def test_straight_line_is_one_ordered_branch():
    skeleton = np.zeros((20, 40), dtype=bool)
    skeleton[5, 3:30] = True
    branches = skeleton_branches(skeleton)
    assert len(branches) == 1
    branch = branches[0]
    assert branch.shape == (27, 2)
    assert branch.dtype.kind == "i"
    assert branch[0].tolist() == [5, 3]
    assert branch[-1].tolist() == [5, 29]
    assert path_length(branch) == pytest.approx(26.0)


def test_diagonal_line_length_counts_root_two_per_step():
    skeleton = np.zeros((30, 30), dtype=bool)
    rr, cc = line(2, 2, 22, 22)
    skeleton[rr, cc] = True
    (branch,) = skeleton_branches(skeleton)
    assert path_length(branch) == pytest.approx(20 * np.sqrt(2))


def test_semicircle_arc_length_is_close_to_pi_r():
    radius = 25
    skeleton = np.zeros((80, 80), dtype=bool)
    rr, cc = circle_perimeter(40, 40, radius)
    keep = rr <= 40
    skeleton[rr[keep], cc[keep]] = True
    branches = skeleton_branches(skeleton)
    assert len(branches) == 1
    assert _is_connected_path(branches[0])
    # The 8-neighbour chain length of a digitised circle is ~5 % long.
    assert path_length(branches[0]) == pytest.approx(np.pi * radius, rel=0.06)


def test_plus_shape_splits_into_four_branches_sharing_the_centre():
    skeleton = np.zeros((41, 41), dtype=bool)
    skeleton[20, 5:36] = True
    skeleton[5:36, 20] = True
    branches = skeleton_branches(skeleton)
    assert len(branches) == 4
    for branch in branches:
        assert _is_connected_path(branch)
        assert [20, 20] in (branch[0].tolist(), branch[-1].tolist())
        assert path_length(branch) == pytest.approx(15.0)


def test_diagonal_y_junction_gives_three_branches():
    skeleton = np.zeros((41, 41), dtype=bool)
    for end in [(5, 5), (5, 35), (38, 20)]:
        rr, cc = line(20, 20, *end)
        skeleton[rr, cc] = True
    branches = skeleton_branches(skeleton)
    assert len(branches) == 3
    assert sum(path_length(b) for b in branches) == pytest.approx(2 * 15 * np.sqrt(2) + 18)


def test_staircase_corner_is_not_a_junction():
    skeleton = np.zeros((10, 10), dtype=bool)
    skeleton[2, 1:5] = True
    skeleton[3, 4:8] = True  # (2, 4) and (3, 4) overlap: an L-shaped step
    branches = skeleton_branches(skeleton)
    assert len(branches) == 1
    assert len(branches[0]) == 8


def test_closed_circle_is_one_closed_branch():
    skeleton = np.zeros((60, 60), dtype=bool)
    rr, cc = circle_perimeter(30, 30, 20)
    skeleton[rr, cc] = True
    branches = skeleton_branches(skeleton)
    assert len(branches) == 1
    loop = branches[0]
    assert loop[0].tolist() == loop[-1].tolist()
    assert len(np.unique(loop[:-1], axis=0)) == skeleton.sum()
    assert path_length(loop) == pytest.approx(2 * np.pi * 20, rel=0.06)


def test_min_length_drops_short_branches_and_empty_skeleton_gives_none():
    skeleton = np.zeros((20, 20), dtype=bool)
    skeleton[2, 2:4] = True
    skeleton[10, 2:15] = True
    assert len(skeleton_branches(skeleton, min_length=1)) == 2
    assert len(skeleton_branches(skeleton, min_length=5)) == 1
    assert skeleton_branches(np.zeros((8, 8), dtype=bool)) == []


@pytest.mark.parametrize("method", ["sobel", "canny"])
def test_edge_detectors_find_stripe_walls(method):
    image = _stripes()
    edges = edge_map(image, method=method, sigma=2.0)
    assert edges.shape == image.shape
    if method == "sobel":
        assert edges.dtype == np.float64
        assert edges.min() >= 0.0
        assert edges.max() == pytest.approx(1.0)
    else:
        assert edges.dtype == bool
    walls = find_walls(image, method=method, sigma=2.0, min_length=10)
    assert walls
    total = sum(path_length(w) for w in walls)
    # Six walls crossing the 96-px image at a slight tilt.
    assert 6 * 96 * 0.8 < total < 6 * 96 * 1.4
    for wall in walls:
        assert _is_connected_path(wall)


def test_walls_are_deterministic():
    image = _stripes(seed=4)
    first = find_walls(image, sigma=1.5)
    second = find_walls(image, sigma=1.5)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_impossible_thresholds_give_empty_results():
    image = _stripes()
    assert not wall_skeleton(image, threshold=1.0).any()
    assert find_walls(image, threshold=1.0) == []
    assert find_walls(image, min_size=10**6) == []
    assert find_walls(image, method="canny", low=1.0, high=1.0) == []


def test_hough_finds_a_straight_segment_reproducibly():
    skeleton = np.zeros((40, 40), dtype=bool)
    skeleton[20, 5:35] = True
    segments = hough_segments(skeleton, seed=1)
    assert segments.shape == (1, 2, 2)
    rows = segments[0, :, 0]
    cols = sorted(segments[0, :, 1])
    assert (rows == 20).all()
    assert cols == [5, 34]
    np.testing.assert_array_equal(segments, hough_segments(skeleton, seed=1))
    assert hough_segments(np.zeros((20, 20), dtype=bool)).shape == (0, 2, 2)
    assert hough_segments(skeleton, line_length=100).shape == (0, 2, 2)


@pytest.mark.parametrize(
    "options",
    [
        {"method": "prewitt"},
        {"sigma": -1.0},
        {"threshold": 1.5},
        {"low": 0.5, "high": 0.2},
        {"min_size": -1},
        {"min_length": 0},
    ],
)
def test_bad_options_raise_config_error(options):
    with pytest.raises(ConfigError):
        find_walls(_stripes(), **options)


def test_bad_inputs_raise_data_error():
    with pytest.raises(DataError):
        find_walls(np.ones((32, 32)))
    with pytest.raises(DataError):
        skeleton_branches(np.full((8, 8), 2))
    with pytest.raises(DataError):
        path_length(np.zeros((4, 3)))
