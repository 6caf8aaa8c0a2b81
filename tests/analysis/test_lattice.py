import math
from pathlib import Path

import numpy as np
import pytest

from autoscope.analysis.lattice import (
    Lattice,
    estimate_lattice,
    expected_count,
    lattice_from_constants,
)
from autoscope.errors import ConfigError, DataError

SQRT3_2 = math.sqrt(3) / 2


def render_lattice(
    vectors,
    shape=(256, 256),
    *,
    sigma=1.5,
    basis=((0.0, 0.0),),
    amplitudes=(1.0,),
    counts=None,
    seed=0,
    origin=(3.3, 5.1),
):
    """Gaussian blobs on a lattice (rows a1, a2 as (d_row, d_col)), optionally Poisson noisy."""
    vectors = np.asarray(vectors, dtype=float)
    height, width = shape
    n = int(2 * max(shape) / math.sqrt(abs(np.linalg.det(vectors)))) + 4
    i, j = np.mgrid[-n : n + 1, -n : n + 1]
    half = int(math.ceil(4 * sigma))
    offsets = np.arange(-half, half + 1)
    image = np.zeros((height + 4 * half, width + 4 * half))
    for (u, v), amplitude in zip(basis, amplitudes, strict=True):
        sites = (i.reshape(-1, 1) + u) * vectors[0] + (j.reshape(-1, 1) + v) * vectors[1] + origin
        sites = sites[np.all((sites > -half) & (sites < np.array(shape) + half - 1), axis=1)]
        centre = np.rint(sites).astype(int)
        rows = centre[:, :1, None] + offsets[None, :, None]
        cols = centre[:, 1:, None] + offsets[None, None, :]
        blobs = amplitude * np.exp(
            -((rows - sites[:, :1, None]) ** 2 + (cols - sites[:, 1:, None]) ** 2) / (2 * sigma**2)
        )
        np.add.at(image, (rows + 2 * half, cols + 2 * half), blobs)
    image = image[2 * half : -2 * half, 2 * half : -2 * half]
    if counts is not None:
        rng = np.random.default_rng(seed)
        image = rng.poisson(image * counts + 0.1 * counts).astype(float)
    return image


LATTICES = {
    "square": [[0.0, 10.0], [10.0, 0.0]],
    "rectangular": [[0.0, 7.0], [12.0, 0.0]],
    "hexagonal": [[0.0, 9.0], [9.0 * SQRT3_2, 4.5]],
    "oblique": [[2.0, 11.0], [8.0, -3.0]],
    "rotated": [
        [10 * math.sin(0.3), 10 * math.cos(0.3)],
        [10 * math.cos(0.3), -10 * math.sin(0.3)],
    ],
}


def test_lattice_properties_and_validation():
    lattice = Lattice([[0.0, 10.0], [8.0, 0.0]])
    assert lattice.cell_area == pytest.approx(80.0)
    assert lattice.lengths == pytest.approx((10.0, 8.0))
    assert lattice.spacing == pytest.approx(8.0)
    assert lattice.angle_deg == pytest.approx(90.0)
    assert lattice.vectors @ lattice.reciprocal.T == pytest.approx(np.eye(2))
    # A non-reduced basis of the same square lattice: spacing is still the shortest vector.
    skewed = Lattice([[0.0, 10.0], [30.0, 30.0]])
    assert skewed.spacing == pytest.approx(10.0)
    assert skewed.reduced().lengths == pytest.approx((10.0, 30.0))
    with pytest.raises(ValueError):
        lattice.vectors[0, 0] = 1.0
    with pytest.raises(DataError, match="collinear"):
        Lattice([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(DataError, match=r"\(2, 2\)"):
        Lattice([1.0, 2.0])
    with pytest.raises(DataError, match="finite"):
        Lattice([[np.nan, 1.0], [1.0, 0.0]])


def test_lattice_from_constants():
    square = lattice_from_constants(0.4, 0.4, 90.0, pixel_size=0.01)
    assert square.spacing == pytest.approx(40.0)
    assert square.cell_area == pytest.approx(1600.0)
    hexagonal = lattice_from_constants(0.316, 0.316, 120.0, pixel_size=0.0127, rotation_deg=17.0)
    assert hexagonal.spacing == pytest.approx(0.316 / 0.0127)
    assert hexagonal.angle_deg == pytest.approx(120.0)
    assert hexagonal.cell_area == pytest.approx((0.316 / 0.0127) ** 2 * SQRT3_2)
    rotated = lattice_from_constants(1.0, 2.0, 90.0, pixel_size=0.1, rotation_deg=90.0)
    assert rotated.vectors == pytest.approx(np.array([[10.0, 0.0], [0.0, -20.0]]), abs=1e-12)
    with pytest.raises(ConfigError, match="gamma_deg"):
        lattice_from_constants(1.0, 1.0, 180.0, pixel_size=1.0)
    with pytest.raises(ConfigError, match="pixel_size"):
        lattice_from_constants(1.0, 1.0, 90.0, pixel_size=0.0)


def test_expected_count():
    lattice = Lattice([[0.0, 10.0], [10.0, 0.0]])
    assert expected_count((100, 120), lattice) == pytest.approx(120.0)
    assert expected_count((100, 120), lattice, atoms_per_cell=2, border=10) == pytest.approx(
        2 * 80 * 100 / 100
    )
    # A rendered 200 x 200 image of a 10 px square lattice holds exactly 400 sites.
    image_sites = np.stack(np.mgrid[5:200:10, 5:200:10], -1).reshape(-1, 2)
    assert len(image_sites) == expected_count((200, 200), lattice)
    with pytest.raises(ConfigError, match="border"):
        expected_count((100, 100), lattice, border=50)
    with pytest.raises(ConfigError, match="atoms_per_cell"):
        expected_count((100, 100), lattice, atoms_per_cell=0)
    with pytest.raises(ConfigError, match="image_shape"):
        expected_count((100,), lattice)


@pytest.mark.parametrize("name", sorted(LATTICES))
@pytest.mark.parametrize("counts", [None, 5])
def test_estimate_lattice_recovers_synthetic_lattices(name, counts):
    truth = Lattice(LATTICES[name])
    found = estimate_lattice(render_lattice(truth.vectors, counts=counts))
    assert found.spacing == pytest.approx(truth.spacing, rel=0.02)
    assert found.cell_area == pytest.approx(truth.cell_area, rel=0.02)
    assert found.angle_deg == pytest.approx(truth.reduced().angle_deg, abs=1.0)
    # The found vectors generate the true lattice: integer coordinates in the true basis.
    coords = found.vectors @ np.linalg.inv(truth.vectors)
    assert coords == pytest.approx(np.rint(coords), abs=0.03)


def test_estimate_lattice_sees_the_primitive_cell_of_a_basis():
    # Honeycomb (two equal atoms per hexagonal cell): the Bravais lattice, not the bond length.
    hexagonal = [[0.0, 12.0], [12.0 * SQRT3_2, 6.0]]
    image = render_lattice(
        hexagonal, basis=((0, 0), (1 / 3, 1 / 3)), amplitudes=(1.0, 0.5), counts=20
    )
    assert estimate_lattice(image).spacing == pytest.approx(12.0, rel=0.02)
    # SrTiO3 [110]-like: bright and dimmer columns alternating along the 41.9 px axis.
    rectangular = [[29.6, 0.0], [0.0, 41.9]]
    unequal = render_lattice(
        rectangular,
        (400, 380),
        sigma=3.0,
        basis=((0, 0), (0, 0.5)),
        amplitudes=(1.0, 0.6),
        counts=20,
    )
    assert estimate_lattice(unequal).lengths == pytest.approx((29.6, 41.9), rel=0.01)
    # Equal columns: the cell really is half as long.
    equal = render_lattice(
        rectangular,
        (400, 380),
        sigma=3.0,
        basis=((0, 0), (0, 0.5)),
        amplitudes=(1.0, 1.0),
        counts=20,
    )
    assert sorted(estimate_lattice(equal).lengths) == pytest.approx([20.95, 29.6], rel=0.01)


def test_estimate_lattice_rejects_images_without_a_lattice():
    rng = np.random.default_rng(3)
    with pytest.raises(DataError, match="no lattice peaks"):
        estimate_lattice(rng.poisson(10.0, (256, 256)).astype(float))
    with pytest.raises(DataError, match="constant"):
        estimate_lattice(np.ones((64, 64)))
    rows = np.mgrid[0:128, 0:128][0]
    with pytest.raises(DataError, match="collinear"):
        estimate_lattice(np.cos(2 * np.pi * rows / 8.0))
    with pytest.raises(ConfigError, match="min_spacing"):
        estimate_lattice(rows.astype(float), min_spacing=1.0)
    with pytest.raises(ConfigError, match="max_spacing"):
        estimate_lattice(rows.astype(float), min_spacing=10.0, max_spacing=5.0)
    # A lattice outside the searched spacings is not found.
    square = render_lattice(LATTICES["square"], (128, 128))
    with pytest.raises(DataError, match="no lattice peaks"):
        estimate_lattice(square, min_spacing=12.0)


def _read(path: Path) -> np.ndarray:
    pytest.importorskip("rsciio")
    from autoscope.data import read

    reader = "hspy" if path.suffix == ".hdf5" else None
    return read(path, reader=reader).structure[0]


def test_estimate_lattice_srtio3_adf(data_dir):
    """SrTiO3 [110] ADF (0.00933 nm/px).

    The projection of the cubic perovskite along [110] is a rectangular
    Bravais lattice a/sqrt(2) x a = 0.2761 x 0.3905 nm = 29.6 x 41.9 px: the
    a x a*sqrt(2) face of the cubic cell holds two projected cells. The FFT
    gives 29.44 x 41.95 px (0.2746 x 0.3914 nm, -0.6 % and +0.2 %), angle
    89.9 deg, with the [001] axis along the image columns.
    """
    image = _read(data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5")
    lattice = estimate_lattice(image)
    short, long = sorted(lattice.lengths)
    pixel_size, a = 0.00933, 0.3905
    assert short * pixel_size == pytest.approx(a / math.sqrt(2), rel=0.015)
    assert long * pixel_size == pytest.approx(a, rel=0.015)
    assert lattice.angle_deg == pytest.approx(90.0, abs=1.0)
    long_vector = lattice.vectors[np.argmax(np.linalg.norm(lattice.vectors, axis=1))]
    assert abs(long_vector[1]) > 0.99 * np.linalg.norm(long_vector)


def test_estimate_lattice_mos2_haadf(data_dir):
    """Se-implanted MoS2 HAADF (0.0127 nm/px, nominal a = 0.316 nm = 24.9 px).

    The FFT finds a slightly distorted hexagonal lattice: a1 = 23.0 px,
    a2 = 23.6 px, a1 - a2 = 24.3 px (mean 23.6 px = 0.300 nm), angle 62.9 deg.
    The lattice constant is 5 % below the nominal value and the cell is
    sheared by a few per cent, which is the image's calibration and scan
    distortion rather than the estimate: the three first-order periods
    (20.0, 20.5, 20.8 px) are visible as separate FFT peaks.
    """
    image = _read(data_dir / "haadf_mos2_se_implanted" / "example_Se_implanted_MoS2.dm3")
    lattice = estimate_lattice(image)
    a1, a2 = lattice.vectors
    mean_a = np.mean([np.linalg.norm(a1), np.linalg.norm(a2), np.linalg.norm(a1 - a2)])
    assert mean_a * 0.0127 == pytest.approx(0.316, rel=0.08)
    assert mean_a == pytest.approx(23.6, abs=0.5)
    assert lattice.angle_deg == pytest.approx(60.0, abs=4.0)
    assert lattice.cell_area == pytest.approx(mean_a**2 * SQRT3_2, rel=0.03)
