import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.library.field import TargetField, reference_points

STEPS = 100
_IJ = np.array([(i, j) for i in range(STEPS + 1) for j in range(STEPS + 1 - i)])
GRID = np.column_stack([_IJ, STEPS - _IJ.sum(axis=1)]) / STEPS  # the 3-simplex, step 1/100
# The six grid neighbours: one step moved between two components.
MOVES = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]


def strict_local_maxima(values: np.ndarray) -> np.ndarray:
    """Interior grid points larger than all six neighbours."""
    padded = np.full((STEPS + 3, STEPS + 3), -np.inf)
    i, j = _IJ[:, 0] + 1, _IJ[:, 1] + 1
    padded[i, j] = values
    interior = (GRID > 0).all(axis=1)
    is_max = interior.copy()
    for di, dj in MOVES:
        is_max &= values > padded[i + di, j + dj]
    return GRID[is_max]


@pytest.mark.parametrize("seed", range(5))
def test_signed_field_is_multimodal(seed):
    values = TargetField(3, seed=seed)(GRID)
    assert len(strict_local_maxima(values)) >= 4
    assert values.min() < 0 < values.max()


@pytest.fixture(scope="module")
def hill():
    """The broad hill a positive field approximates (many Gaussians, little ripple)."""
    return TargetField(3, n_gaussians=20000, amplitudes="positive", seed=123)(GRID)


@pytest.mark.parametrize("seed", range(5))
def test_positive_field_is_one_broad_hill(seed, hill):
    # With 1000 Gaussians of width 0.1 the hill keeps small ripples (1-9 strict
    # maxima over 100 seeds), but every seed follows the same hill; signed
    # fields do not (correlation with the hill < 0.5 over 100 seeds).
    positive = TargetField(3, seed=seed, amplitudes="positive")(GRID)
    signed = TargetField(3, seed=seed)(GRID)
    assert (positive > 0).all()
    assert np.corrcoef(hill, positive)[0, 1] > 0.7
    assert abs(np.corrcoef(hill, signed)[0, 1]) < 0.5
    # The hill is high inside the triangle and low at the corners.
    assert GRID[np.argmax(positive)].min() > 0.1
    corners = (GRID == 1).any(axis=1)
    assert positive[corners].max() < 0.3 * positive.max()


def test_signed_fields_have_more_peaks_than_positive_ones_on_average():
    # Over 100 seeds: signed 2-9 strict maxima (mean 5.2), positive 1-9 (mean 3.7).
    seeds = range(20)
    signed = [len(strict_local_maxima(TargetField(3, seed=s)(GRID))) for s in seeds]
    positive = [
        len(strict_local_maxima(TargetField(3, seed=s, amplitudes="positive")(GRID))) for s in seeds
    ]
    assert min(signed) >= 2 and np.mean(signed) >= 4
    assert np.mean(signed) > np.mean(positive)


def test_matches_a_direct_sum_and_chunking_does_not_matter():
    field = TargetField(4, n_gaussians=300, width=0.15, seed=3)
    x = reference_points(4, n=257, seed=1)
    d2 = ((x[:, None, :] - field.centres_[None]) ** 2).sum(axis=-1)
    direct = np.exp(-d2 / (2 * 0.15**2)) @ field.amplitudes_
    np.testing.assert_allclose(field(x), direct, atol=1e-12)
    np.testing.assert_allclose(
        field(x, chunk_elements=37), field(x, chunk_elements=10**7), atol=1e-10
    )


def test_deterministic_under_seed():
    x = reference_points(3, n=50)
    np.testing.assert_array_equal(TargetField(3, seed=7)(x), TargetField(3, seed=7)(x))
    assert not np.allclose(TargetField(3, seed=7)(x), TargetField(3, seed=8)(x))


def test_amplitude_scaling():
    signed = TargetField(3, n_gaussians=400, seed=0)
    positive = TargetField(3, n_gaussians=400, amplitudes="positive", seed=0)
    # Same seed, same raw normal draws: signed / sqrt(n), positive |.| / n.
    np.testing.assert_allclose(positive.amplitudes_ * 400, np.abs(signed.amplitudes_) * 20)
    assert (signed.amplitudes_ * 20).std() == pytest.approx(1.0, abs=0.1)


def test_reference_points_fixed_and_on_the_simplex():
    a = reference_points(5)
    assert a.shape == (2000, 5)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_array_equal(a, reference_points(5))
    assert not np.array_equal(a, reference_points(5, seed=1))


def test_bad_input_raises():
    field = TargetField(3, n_gaussians=10)
    with pytest.raises(DataError, match="3 components"):
        field(reference_points(4, n=5))
    with pytest.raises(DataError, match="sums to"):
        field(np.array([[0.5, 0.5, 0.5]]))
    with pytest.raises(ConfigError, match="chunk_elements"):
        field(reference_points(3, n=5), chunk_elements=0)


@pytest.mark.parametrize(
    "options",
    [{"n_components": 1}, {"n_gaussians": 0}, {"width": 0.0}, {"amplitudes": "mixed"}],
)
def test_bad_options_raise(options):
    kwargs = {"n_components": 3, **options}
    with pytest.raises(ConfigError):
        TargetField(kwargs.pop("n_components"), **kwargs)
