import math

import numpy as np
import pytest
from scipy.stats import norm
from skimage.draw import circle_perimeter, disk, line, polygon

from autoscope.analysis.rewards import (
    MASK_PROPERTIES,
    GeometricError,
    circularity,
    continuity,
    count_reward,
    geometric_error,
    mask_properties,
    overlap,
    rectangularity,
    size_distribution_distance,
    straightness,
    wall_length,
)
from autoscope.errors import ConfigError, DataError

SPACING = 10.0


def square_lattice(n=12, spacing=SPACING):
    return np.stack(np.mgrid[0:n, 0:n], -1).reshape(-1, 2) * spacing + 5.0


def hexagonal_lattice(n=14, spacing=SPACING):
    i, j = np.mgrid[0:n, 0:n]
    rows = i * spacing * math.sqrt(3) / 2
    cols = (j + 0.5 * (i % 2)) * spacing
    return np.stack([rows, cols], -1).reshape(-1, 2) + 5.0


# ----------------------------------------------------------------------------- count


def test_count_reward():
    assert count_reward(100, 100.0) == 0.0
    assert count_reward(90, 100.0) == pytest.approx(-0.1)
    assert count_reward(110, 100.0) == pytest.approx(-0.1)
    assert count_reward(0, 50.0) == -1.0
    with pytest.raises(ConfigError, match="n_expected"):
        count_reward(3, 0.0)
    with pytest.raises(ConfigError, match="n_detected"):
        count_reward(-1, 10.0)


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("make", [square_lattice, hexagonal_lattice])
def test_geometric_error_perfect_lattices_are_zero(make):
    error = geometric_error(make(), spacing=SPACING)
    assert error == GeometricError(0.0, 0.0, 0.0, 0, 0.0, float(len(make())), True)


@pytest.mark.parametrize("make", [square_lattice, hexagonal_lattice])
def test_geometric_error_one_duplicate(make):
    sites = make()
    doubled = np.vstack([sites, sites[40] + [0.1 * SPACING * 0.6, 0.1 * SPACING * 0.8]])
    error = geometric_error(doubled, spacing=SPACING)
    assert error.n_duplicates == 1
    assert error.n_gaps == 0.0
    assert error.type_i == pytest.approx(1 / len(sites))
    assert error.type_ii == 0.0
    assert error.valid


@pytest.mark.parametrize("make", [square_lattice, hexagonal_lattice])
def test_geometric_error_one_missing_interior_atom(make):
    sites = make()
    centre = np.argmin(np.linalg.norm(sites - sites.mean(axis=0), axis=1))
    holed = np.delete(sites, centre, axis=0)
    error = geometric_error(holed, spacing=SPACING)
    assert error.n_duplicates == 0
    assert error.n_gaps == pytest.approx(1.0, abs=1e-9)
    assert error.n_sites == pytest.approx(len(sites), abs=1e-9)
    assert error.type_ii == pytest.approx(1 / len(sites))
    # With the image frame as the reference, the result is the same.
    framed = geometric_error(holed, spacing=SPACING, image_shape=(130, 130), border=20.0)
    assert framed.n_gaps == pytest.approx(1.0, abs=1e-9)


def test_geometric_error_sigma_column_and_positions_order_do_not_matter():
    sites = square_lattice()
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(np.vstack([sites, sites[7] + 0.5]))
    with_sigma = np.column_stack([shuffled, np.full(len(shuffled), 2.0)])
    assert geometric_error(with_sigma, spacing=SPACING) == geometric_error(
        shuffled, spacing=SPACING
    )


def test_geometric_error_degenerate_detections_give_the_worst_case():
    empty = geometric_error(np.empty((0, 3)), spacing=SPACING)
    assert (empty.type_i, empty.type_ii, empty.total, empty.valid) == (0.0, 1.0, 1.0, False)
    assert geometric_error([], spacing=SPACING).total == 1.0
    one = geometric_error([[5.0, 5.0]], spacing=SPACING)
    assert one.total == 1.0 and not one.valid
    # Everything at one place: 9 duplicates of a single site.
    same = geometric_error(np.full((10, 2), 3.0), spacing=SPACING)
    assert same.n_duplicates == 9 and same.total >= 1.0 and not same.valid
    # Scattered far apart: no neighbours at this spacing, so no lattice.
    sparse = geometric_error(square_lattice(6, spacing=50.0), spacing=SPACING)
    assert sparse.total == 1.0 and not sparse.valid
    # A small patch without interior detections.
    patch = geometric_error(square_lattice(3), spacing=SPACING)
    assert patch.total == 1.0 and not patch.valid


def test_geometric_error_validation():
    with pytest.raises(ConfigError, match="spacing"):
        geometric_error(square_lattice(), spacing=0.0)
    with pytest.raises(ConfigError, match="tolerance"):
        geometric_error(square_lattice(), spacing=SPACING, tolerance=1.5)
    with pytest.raises(ConfigError, match="image_shape"):
        geometric_error(square_lattice(), spacing=SPACING, image_shape=(10,))
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        geometric_error(np.zeros((4, 5)), spacing=SPACING)
    with pytest.raises(DataError, match="NaN"):
        geometric_error([[0.0, np.nan], [1.0, 1.0]], spacing=SPACING)


def test_rewards_never_fail_on_whatever_a_detector_returns():
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.integers(0, 40))
        layouts = [
            rng.uniform(0, 100, (n, 2)),
            np.repeat(rng.uniform(0, 100, (1, 2)), n, axis=0),
            np.stack([np.full(n, 5.0), np.arange(n) * 10.0], axis=1),
            np.column_stack([rng.uniform(0, 100, (n, 2)), rng.uniform(1, 3, n)]),
        ]
        shape = (100, 100) if trial % 2 else None
        error = geometric_error(layouts[trial % 4], spacing=rng.uniform(1, 20), image_shape=shape)
        values = [error.type_i, error.type_ii, error.total, error.n_gaps, error.n_sites]
        assert np.isfinite(values).all()
        masks = rng.random((int(rng.integers(0, 4)), 30, 30)) < rng.uniform(0, 0.05)
        props = mask_properties(masks)
        assert all(np.isfinite(v).all() for v in props.values())
        assert 0.0 <= overlap(masks) <= 1.0
        assert np.isfinite(size_distribution_distance(props["equivalent_diameter"], mean=5, std=1))
        branches = [rng.integers(0, 50, (int(rng.integers(0, 6)), 2)) for _ in range(trial % 4)]
        for reward in (wall_length, straightness, continuity):
            assert math.isfinite(reward(branches))


# ----------------------------------------------------------------------------- walls


def semicircle(radius, centre=100):
    rows, cols = circle_perimeter(centre, centre, radius)
    upper = rows <= centre
    rows, cols = rows[upper], cols[upper]
    order = np.argsort(np.arctan2(centre - rows, cols - centre))
    return np.stack([rows[order], cols[order]], axis=1)


def test_wall_length():
    assert wall_length([[(0, 0), (1, 1), (1, 2)]]) == pytest.approx(1 + math.sqrt(2))
    branches = [np.array([(0, k) for k in range(11)]), np.array([(5, 5)])]
    assert wall_length(branches, pixel_size=0.5) == pytest.approx(5.0)
    assert wall_length([]) == 0.0
    with pytest.raises(DataError, match="branch 0"):
        wall_length([np.zeros((3, 3))])
    with pytest.raises(DataError, match="wrap a single path"):
        wall_length(np.zeros((4, 2)))


def test_straightness():
    for angle in (0.0, 10.0, 22.5, 45.0, 70.0):
        t = math.radians(angle)
        rows, cols = line(10, 10, round(10 + 80 * math.sin(t)), round(10 + 80 * math.cos(t)))
        assert straightness([np.stack([rows, cols], 1)]) == pytest.approx(1.0, abs=0.01)
    for radius in (15, 40):
        assert straightness([semicircle(radius)]) == pytest.approx(2 / math.pi, rel=0.03)
    # Length-weighted: a long straight wall dominates a short semicircle.
    mixed = straightness([semicircle(10), np.array([(0, k) for k in range(300)])])
    assert 0.9 < mixed < 1.0
    assert straightness([]) == 0.0
    assert straightness([np.array([(3, 3)])]) == 0.0
    with pytest.raises(ConfigError, match="smoothing"):
        straightness([semicircle(10)], smoothing=-1.0)


def test_continuity():
    one = [np.array([(0, k) for k in range(20)])]
    assert continuity(one) == pytest.approx(1 / 20)
    broken = [np.array([(0, k) for k in range(10)]), np.array([(0, k) for k in range(11, 20)])]
    assert continuity(broken) > continuity(one)
    assert continuity([]) == 1.0
    assert continuity([], pixel_size=0.5) == 2.0
    assert continuity([np.array([(1, 1)]), np.array([(5, 5)])]) == 1.0


# ----------------------------------------------------------------------------- particles


def rotated_rectangle(width, height, angle_deg, shape=(100, 100)):
    t = math.radians(angle_deg)
    corners = np.array([[-height, -width], [-height, width], [height, width], [height, -width]]) / 2
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    vertices = corners @ rotation.T + np.array(shape) / 2 + 0.3
    mask = np.zeros(shape, bool)
    mask[polygon(vertices[:, 0], vertices[:, 1], shape)] = True
    return mask


@pytest.mark.parametrize("radius", [10.3, 15.0, 25.0])
def test_circularity_of_discs(radius):
    mask = np.zeros((80, 80), bool)
    mask[disk((40.2, 39.7), radius)] = True
    assert circularity(mask) == pytest.approx(1.0, abs=0.05)
    assert rectangularity(mask) == pytest.approx(math.pi / 4, abs=0.06)


@pytest.mark.parametrize("angle", [0.0, 12.0, 30.0, 45.0, 77.0])
def test_rectangularity_of_rotated_rectangles(angle):
    mask = rotated_rectangle(40, 20, angle)
    assert rectangularity(mask) == pytest.approx(1.0, abs=0.05)
    assert circularity(mask) < 0.85


def test_shape_helpers_on_degenerate_masks():
    empty = np.zeros((10, 10), bool)
    assert circularity(empty) == 0.0 and rectangularity(empty) == 0.0
    dot = empty.copy()
    dot[4, 4] = True
    assert rectangularity(dot) == 1.0
    assert 0.0 <= circularity(dot) <= 1.0
    diagonal = np.eye(10, dtype=bool)
    assert rectangularity(diagonal) == 1.0
    row = empty.copy()
    row[3, 2:8] = True
    assert rectangularity(row) == 1.0
    with pytest.raises(DataError, match=r"\(H, W\)"):
        circularity(np.zeros((2, 10, 10), bool))


def test_mask_properties():
    masks = np.zeros((3, 60, 60), bool)
    masks[0][disk((20.3, 20.6), 12)] = True
    masks[1, 40:50, 5:45] = True
    props = mask_properties(masks, pixel_size=0.5)
    assert set(props) == set(MASK_PROPERTIES)
    assert all(values.shape == (3,) for values in props.values())
    assert props["area"][1] == pytest.approx(400 * 0.25)
    assert props["equivalent_diameter"][1] == pytest.approx(2 * math.sqrt(100 / math.pi))
    assert props["equivalent_diameter"][0] == pytest.approx(12.0, rel=0.02)
    assert props["perimeter"][0] == pytest.approx(2 * math.pi * 12 * 0.5, rel=0.05)
    assert props["circularity"][0] == pytest.approx(1.0, abs=0.05)
    assert props["rectangularity"][1] == 1.0
    assert [values[2] for values in props.values()] == [0.0] * 5
    none = mask_properties(np.zeros((0, 8, 8), bool))
    assert all(values.shape == (0,) for values in none.values())
    with pytest.raises(DataError, match="mask\\[None\\]"):
        mask_properties(np.zeros((8, 8), bool))
    with pytest.raises(DataError, match="boolean"):
        mask_properties(np.full((1, 4, 4), 0.5))


def test_size_distribution_distance():
    mean, std = 20.0, 3.0
    n = 200
    quantiles = mean + std * norm.ppf((np.arange(n) + 0.5) / n)
    assert size_distribution_distance(quantiles, mean=mean, std=std) == pytest.approx(0, abs=1e-9)
    assert size_distribution_distance(quantiles + 2.5, mean=mean, std=std) == pytest.approx(2.5)
    rng = np.random.default_rng(1)
    sample = rng.normal(mean, std, 2000)
    near = size_distribution_distance(sample, mean=mean, std=std)
    far = size_distribution_distance(sample * 1.3, mean=mean, std=std)
    assert near < 0.3 < far
    lognormal = rng.lognormal(
        math.log(mean) - 0.5 * math.log1p((std / mean) ** 2),
        math.sqrt(math.log1p((std / mean) ** 2)),
        2000,
    )
    assert size_distribution_distance(lognormal, mean=mean, std=std, law="lognormal") < 0.3
    assert size_distribution_distance([], mean=mean, std=std) == mean
    with pytest.raises(ConfigError, match="law"):
        size_distribution_distance(sample, mean=mean, std=std, law="gamma")
    with pytest.raises(ConfigError, match="std"):
        size_distribution_distance(sample, mean=mean, std=-1.0)
    with pytest.raises(DataError, match="finite"):
        size_distribution_distance([1.0, np.nan], mean=mean, std=std)


def test_overlap():
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 0:10, 0:10] = True
    masks[1, 0:10, 5:15] = True
    # 50 shared pixels out of 150 covered.
    assert overlap(masks) == pytest.approx(50 / 150)
    masks[1] = False
    masks[1, 12:15, 12:15] = True
    assert overlap(masks) == 0.0
    assert overlap(np.zeros((0, 5, 5), bool)) == 0.0
    assert overlap(np.zeros((3, 5, 5), bool)) == 0.0
