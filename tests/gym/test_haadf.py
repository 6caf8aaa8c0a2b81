"""Physics and behaviour of the HAADF image model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from autoscope.errors import ConfigError
from autoscope.gym.haadf import (
    SRTIO3_BASIS,
    Columns,
    Probe,
    column_intensity,
    electron_wavelength,
    haadf_image,
    simulate_lattice_image,
    synthetic_lattice,
)

PX = 0.2


def _fwhm(intensity: np.ndarray, pixel_size: float) -> float:
    """Diameter of the disc with the area of the region above half maximum."""
    area = np.count_nonzero(intensity >= intensity.max() / 2) * pixel_size**2
    return float(2 * np.sqrt(area / np.pi))


def _single(position_px, z=(38,) * 5, shape=(48, 48), **kw):
    cols = Columns.from_atoms(np.array([position_px], dtype=float) * PX, [list(z)])
    return haadf_image(cols, shape=shape, pixel_size_A=PX, **kw)


def _gauss2d(coords, amp, y0, x0, s, off):
    y, x = coords
    return amp * np.exp(-((y - y0) ** 2 + (x - x0) ** 2) / (2 * s**2)) + off


def _fit_peak(image: np.ndarray, around: tuple[int, int], half: int = 3) -> np.ndarray:
    r0, c0 = around
    win = image[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
    yy, xx = np.mgrid[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
    p0 = (win.max(), r0, c0, 1.5, win.min())
    popt, _ = curve_fit(_gauss2d, (yy.ravel(), xx.ravel()), win.ravel(), p0=p0)
    return popt[1:3]


@pytest.mark.parametrize(("kv", "expected"), [(200.0, 0.02508), (300.0, 0.01969), (80.0, 0.04176)])
def test_electron_wavelength(kv, expected):
    assert electron_wavelength(kv) == pytest.approx(expected, abs=5e-6)


def test_probe_normalised_and_centred():
    for shape in [(64, 64), (65, 48)]:
        img = Probe(cs_mm=0.5, defocus_A=-300).intensity(shape, 0.1)
        assert img.shape == shape
        assert img.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.unravel_index(int(img.argmax()), shape) == (shape[0] // 2, shape[1] // 2)
        assert np.all(img >= 0)


def test_probe_width_physics():
    shape, px = (256, 256), 0.05
    widths = [_fwhm(Probe(convergence_mrad=a).intensity(shape, px), px) for a in (15, 21, 30)]
    assert widths[0] > widths[1] > widths[2]
    # Airy disc: FWHM ≈ 0.51 λ/α.
    assert widths[1] == pytest.approx(0.514 * electron_wavelength(200) / 0.021, rel=0.05)
    focused = _fwhm(Probe().intensity(shape, px), px)
    for df in (-100.0, 100.0):
        assert _fwhm(Probe(defocus_A=df).intensity(shape, px), px) > 1.2 * focused
    # Negative defocus partly balances positive Cs (Scherzer-like): a sign-convention check.
    cs = Probe(convergence_mrad=12, cs_mm=1.0)
    scherzer = Probe(convergence_mrad=12, cs_mm=1.0, defocus_A=-float(np.sqrt(1.5e7 * 0.02508)))
    over = Probe(convergence_mrad=12, cs_mm=1.0, defocus_A=+float(np.sqrt(1.5e7 * 0.02508)))
    peak = {p: p.intensity(shape, px).max() for p in (cs, scherzer, over)}
    assert peak[scherzer] > peak[cs] > peak[over]


@pytest.mark.parametrize("pos", [(24.0, 24.0), (20.3, 27.65), (23.5, 24.5)])
def test_column_peak_sits_at_its_position(pos):
    img = _single(pos, thermal_sigma_A=0.08).image
    r, c = np.unravel_index(int(img.argmax()), img.shape)
    assert abs(r - pos[0]) <= 0.5 + 1e-9 and abs(c - pos[1]) <= 0.5 + 1e-9
    fit = _fit_peak(img, (int(round(pos[0])), int(round(pos[1]))))
    np.testing.assert_allclose(fit, pos, atol=0.05)


def test_integer_and_half_pixel_positions_are_symmetric():
    img = _single((24.0, 24.0)).image
    np.testing.assert_allclose(img[24, 24 - 5 : 24], img[24, 25:30][::-1], rtol=1e-9)
    np.testing.assert_allclose(img[24 - 5 : 24, 24], img[25:30, 24][::-1], rtol=1e-9)
    half = _single((24.0, 24.5)).image
    assert half[24, 24] == pytest.approx(half[24, 25], rel=1e-9)


def test_no_wraparound_and_out_of_frame_columns_contribute():
    # A column just outside the left edge lights the edge, not the right side of the frame,
    # and the frame shows the same as the matching part of a much wider frame.
    img = _single((24.0, -2.0), background=0.0).image
    wide = _single((24.0, 146.0), shape=(48, 296), background=0.0).image
    peak = _single((24.0, 24.0), background=0.0).image.max()
    assert img[24, 0] > 0.2 * peak
    assert img[24, -1] < 1e-4 * peak
    np.testing.assert_allclose(img, wide[:, 148:196], atol=0.01 * peak)


def test_intensity_follows_z_power():
    kw = dict(shape=(128, 128), background=0.0)
    sr = _single((64, 64), z=(38,), **kw).image.sum()
    ti = _single((64, 64), z=(22,), **kw).image.sum()
    assert sr / ti == pytest.approx((38 / 22) ** 1.7, rel=1e-6)
    # Integrated scattered fraction over probe positions (density 1/px²) = the
    # column's cross-section, up to the probe tails leaving the frame.
    assert sr * PX**2 == pytest.approx(5e-6 * 38**1.7, rel=0.02)


def test_thermal_smearing_lowers_the_peak():
    sharp = _single((24, 24), thermal_sigma_A=0.0).image
    smeared = _single((24, 24), thermal_sigma_A=0.2).image
    assert smeared.max() < 0.9 * sharp.max()
    assert smeared.sum() == pytest.approx(sharp.sum(), rel=1e-3)


def test_coarse_pixels_are_oversampled_consistently():
    # At 0.5 Å/px the probe's band exceeds Nyquist; the model renders finer and samples.
    pos_a = np.array([[10.0, 10.0]])
    cols = Columns(pos_a, column_intensity([[79] * 3]))
    coarse = haadf_image(cols, shape=(40, 40), pixel_size_A=0.5).image
    fine = haadf_image(cols, shape=(200, 200), pixel_size_A=0.1).image
    np.testing.assert_allclose(coarse, fine[::5, ::5], rtol=1e-6, atol=1e-9)


def test_dose_scaling_and_poisson_statistics():
    cols = synthetic_lattice((64, 64), pixel_size_A=PX, a_A=3.905, basis=SRTIO3_BASIS, seed=2)
    lo = haadf_image(cols, shape=(64, 64), pixel_size_A=PX, dose_e_per_A2=1e3, poisson=False)
    hi = haadf_image(cols, shape=(64, 64), pixel_size_A=PX, dose_e_per_A2=1e4, poisson=False)
    frac = haadf_image(cols, shape=(64, 64), pixel_size_A=PX).image
    np.testing.assert_allclose(hi.image, 10 * lo.image, rtol=1e-12)
    np.testing.assert_allclose(lo.image, 1e3 * PX**2 * frac, rtol=1e-12)
    # Poisson: on a flat field the variance equals the mean.
    empty = Columns(np.zeros((0, 2)), np.zeros(0))
    flat = haadf_image(
        empty, shape=(200, 200), pixel_size_A=PX, dose_e_per_A2=1e6, background=0.01, seed=5
    ).image
    expected = 1e6 * PX**2 * 0.01
    assert flat.mean() == pytest.approx(expected, rel=0.01)
    assert flat.var() == pytest.approx(expected, rel=0.05)
    assert np.all(flat == np.round(flat))
    # Mean counts of a noisy image scale with dose.
    noisy = [
        simulate_lattice_image((96, 96), dose_e_per_A2=d, seed=1).image.mean() for d in (1e4, 1e5)
    ]
    assert noisy[1] / noisy[0] == pytest.approx(10, rel=0.05)


def test_seeds_reproduce_and_differ():
    a = simulate_lattice_image((64, 64), dose_e_per_A2=1e4, scan_jitter_px=0.3, seed=7)
    b = simulate_lattice_image((64, 64), dose_e_per_A2=1e4, scan_jitter_px=0.3, seed=7)
    c = simulate_lattice_image((64, 64), dose_e_per_A2=1e4, scan_jitter_px=0.3, seed=8)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.positions_px, b.positions_px)
    assert not np.array_equal(a.image, c.image)
    # The same seed images the same crystal at every dose.
    d = simulate_lattice_image((64, 64), dose_e_per_A2=1e2, seed=7)
    np.testing.assert_array_equal(a.positions_px, d.positions_px)
    gen = simulate_lattice_image((32, 32), seed=np.random.default_rng(3))
    assert gen.image.shape == (32, 32)


def _line_of_columns(axis: int, at: float, n: int = 12) -> Columns:
    pos = np.zeros((n, 2))
    pos[:, axis] = np.linspace(4.0, 44.0, n) * PX
    pos[:, 1 - axis] = at * PX
    return Columns(pos, np.full(n, 5 * 79**1.7))


def _row_peaks(img: np.ndarray, centres: np.ndarray, half: int = 8) -> np.ndarray:
    """Centroid of each row in a window of +-half pixels around the row's expected centre."""
    out = np.empty(img.shape[0])
    for i, c in enumerate(np.round(centres).astype(int)):
        cols = np.arange(c - half, c + half + 1)
        win = img[i, cols] - img.min()
        out[i] = (win * cols).sum() / win.sum()
    return out


def test_drift_and_jitter_displace_rows():
    cols = _line_of_columns(axis=0, at=24.0)
    kw = dict(shape=(48, 48), pixel_size_A=PX, background=0.0, thermal_sigma_A=0.3)
    clean = haadf_image(cols, **kw)
    np.testing.assert_array_equal(clean.scan_offsets_A, 0.0)
    base = _row_peaks(clean.image, np.full(48, 24.0))
    drift = haadf_image(cols, drift_A_per_line=0.01, **kw)
    np.testing.assert_allclose(drift.scan_offsets_A[:, 1], 0.01 * np.arange(48))
    # Line i samples x + i * drift, so the column appears i * drift / px pixels to the left.
    expected = -0.01 * np.arange(48) / PX
    shift = _row_peaks(drift.image, 24.0 + expected) - base
    np.testing.assert_allclose(shift, expected, atol=0.05)
    jit = haadf_image(cols, scan_jitter_px=0.5, seed=3, **kw)
    assert np.std(jit.scan_offsets_A[:, 1]) > 0.05
    expected = -jit.scan_offsets_A[:, 1] / PX
    shift = _row_peaks(jit.image, 24.0 + expected) - base
    np.testing.assert_allclose(shift, expected, atol=0.05)
    np.testing.assert_array_equal(jit.positions_px, clean.positions_px)


def test_slow_scan_drift_stretches_rows():
    cols = Columns(np.array([[8.0, 5.0], [32.0, 5.0]]) * PX, np.full(2, 5 * 79**1.7))
    img = haadf_image(
        cols, shape=(64, 12), pixel_size_A=PX, drift_A_per_line=(0.02, 0.0), background=0.0
    ).image
    # Row i images y = i (px + 0.02): the columns appear at y / 0.22 Å.
    for y in (8.0, 32.0):
        row = y * PX / (PX + 0.02)
        r0 = int(round(row))
        prof = img[r0 - 3 : r0 + 4, 5]
        prof = prof - prof.min()
        centroid = (prof * np.arange(r0 - 3, r0 + 4)).sum() / prof.sum()
        assert centroid == pytest.approx(row, abs=0.15)


def test_synthetic_lattice_geometry_and_defects():
    shape = (128, 128)
    cols = synthetic_lattice(
        shape, pixel_size_A=PX, a_A=4.0, basis=SRTIO3_BASIS, origin_A=(1.0, 2.0), seed=0
    )
    assert np.all(cols.positions >= 0) and np.all(cols.positions <= 127 * PX)
    # Square lattice, 2 columns per cell: nearest neighbours at a / sqrt(2).
    d = np.linalg.norm(cols.positions[:, None] - cols.positions[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(d.min(axis=1), 4.0 / np.sqrt(2), rtol=1e-9)
    sr, tio = 5 * 38**1.7, 5 * (22**1.7 + 8**1.7)
    assert set(np.round(cols.z_sum, 6)) == {round(sr, 6), round(tio, 6)}
    assert np.any(np.all(np.isclose(cols.positions, [1.0, 2.0]), axis=1))

    defect = synthetic_lattice(
        shape,
        pixel_size_A=PX,
        a_A=4.0,
        vacancy_fraction=0.3,
        substitution_fraction=0.2,
        substitution_Z=56,
        seed=4,
    )
    lab = defect.labels
    assert 0.15 < np.mean(lab == 1) < 0.45 and 0.07 < np.mean(lab == 2) < 0.35
    np.testing.assert_allclose(defect.z_sum[lab == 1], 4 * 38**1.7)
    np.testing.assert_allclose(defect.z_sum[lab == 2], 4 * 38**1.7 + 56**1.7)
    np.testing.assert_allclose(defect.z_sum[lab == 0], 5 * 38**1.7)
    again = synthetic_lattice(
        shape,
        pixel_size_A=PX,
        a_A=4.0,
        vacancy_fraction=0.3,
        substitution_fraction=0.2,
        substitution_Z=56,
        seed=4,
    )
    np.testing.assert_array_equal(again.labels, lab)

    rotated = synthetic_lattice(
        shape, pixel_size_A=PX, a_A=3.0, b_A=5.0, gamma_deg=70.0, rotation_deg=25.0, margin_A=2.0
    )
    assert np.all(rotated.positions >= 2.0) and np.all(rotated.positions <= 127 * PX - 2.0)
    cell = 3.0 * 5.0 * np.sin(np.radians(70.0))
    assert len(rotated) == pytest.approx((127 * PX - 4.0) ** 2 / cell, rel=0.3)


def test_default_lattice_image_resolves_columns():
    sim = simulate_lattice_image((128, 128))
    assert sim.image.shape == (128, 128) and sim.dose is None
    assert sim.pixel_size_A == 0.2
    # Every column is a local maximum of the noiseless image, well above the midpoint.
    idx = np.round(sim.positions_px).astype(int)
    inner = np.all((idx >= 2) & (idx <= 125), axis=1)
    img = sim.image
    for r, c in idx[inner]:
        assert img[r, c] == img[r - 2 : r + 3, c - 2 : c + 3].max()
    mid = 0.5 * (img[idx[inner, 0], idx[inner, 1]].min() + img.min())
    assert np.mean(img > mid) < 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pixel_size_A": 0.0}, "pixel_size_A"),
        ({"pixel_size_A": -1.0}, "pixel_size_A"),
        ({"shape": (0, 10)}, "shape"),
        ({"dose_e_per_A2": 0.0}, "dose"),
        ({"dose_e_per_A2": float("nan")}, "dose"),
        ({"thermal_sigma_A": -0.1}, "thermal"),
        ({"background": -1.0}, "background"),
        ({"cross_section_A2": 0.0}, "cross_section"),
        ({"scan_jitter_px": -1.0}, "jitter"),
        ({"drift_A_per_line": (1.0, 2.0, 3.0)}, "drift"),
        ({"drift_A_per_line": (-0.5, 0.0)}, "drift"),
        ({"probe": "probe"}, "Probe"),
    ],
)
def test_haadf_bad_options(kwargs, match):
    cols = Columns(np.array([[1.0, 1.0]]), np.array([100.0]))
    options = {"shape": (16, 16), "pixel_size_A": 0.2} | kwargs
    with pytest.raises(ConfigError, match=match):
        haadf_image(cols, **options)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Probe(voltage_kv=0.0),
        lambda: Probe(convergence_mrad=-1.0),
        lambda: Probe(defocus_A=float("inf")),
        lambda: electron_wavelength(-5.0),
        lambda: Probe().intensity((16, 16), 0.0),
        lambda: Columns(np.zeros((3, 3)), np.zeros(3)),
        lambda: Columns(np.zeros((3, 2)), np.zeros(2)),
        lambda: Columns(np.zeros((1, 2)), np.array([-1.0])),
        lambda: Columns(np.zeros((1, 2)), np.ones(1), np.array([0.5])),
        lambda: column_intensity([[38, -1]]),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=0.0),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, gamma_deg=180.0),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, basis=()),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, basis=((0, 0, 0),)),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, column_atoms=0),
        lambda: synthetic_lattice(
            (32, 32), pixel_size_A=0.2, a_A=3.0, vacancy_fraction=0.7, substitution_fraction=0.5
        ),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, defect_sites=(3,)),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, margin_A=10.0),
        lambda: synthetic_lattice((32, 32), pixel_size_A=0.2, a_A=3.0, basis=(("x", 0, 38),)),
        lambda: simulate_lattice_image((32, 32), vacancy=0.1),
    ],
)
def test_bad_model_options_raise(make):
    with pytest.raises(ConfigError):
        make()


def test_columns_are_read_only():
    cols = Columns(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(ValueError):
        cols.positions[0, 0] = 1.0
