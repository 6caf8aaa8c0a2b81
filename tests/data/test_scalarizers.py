"""Scalarizers: hand-computed values, registry contract, bad input, real BEPS loops."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.scalarizers import (
    SCALARIZERS,
    CoercivePositive,
    LoopArea,
    Scalarizer,
    bipolar_branches,
    make_scalarizer,
)
from autoscope.errors import ConfigError, DataError


def triangle_axis(v_max: float, n: int) -> np.ndarray:
    """Bipolar triangle 0 → +v_max → 0 → −v_max → 0 with n steps (n divisible by 4)."""
    t = 4.0 * np.arange(n) / n
    return v_max * np.interp(t, [0, 1, 3, 4], [0, 1, -1, 0])


def square_loop(axis: np.ndarray) -> np.ndarray:
    """−1 on the ascending branch, +1 on the descending branch (turning points: +1 at +Vmax)."""
    up, down = bipolar_branches(axis)
    r = np.empty_like(axis)
    r[up] = -1.0
    r[down] = 1.0
    return r


LOOP_AXIS = triangle_axis(2.0, 16)  # steps of dv = 0.5 V
ENERGY_AXIS = np.linspace(0.0, 10.0, 101)

# One valid configuration per registered scalarizer: (options, axis).
EXAMPLES: dict[str, tuple[dict, np.ndarray]] = {
    "loop-area": ({}, LOOP_AXIS),
    "loop-height": ({}, LOOP_AXIS),
    "coercive-positive": ({}, LOOP_AXIS),
    "coercive-negative": ({}, LOOP_AXIS),
    "window-integral": ({"start": 2.0, "stop": 4.0}, ENERGY_AXIS),
    "channel-value": ({"channel": 3}, ENERGY_AXIS),
    "edx-line": ({"energy": 5.0, "width": 1.0, "background_width": 0.5}, ENERGY_AXIS),
    "eels-edge-ratio": ({"onset": 5.0, "pre": 2.0, "post": 2.0}, ENERGY_AXIS),
}


def test_examples_cover_registry() -> None:
    assert set(EXAMPLES) == set(SCALARIZERS)


@pytest.mark.parametrize("name", sorted(SCALARIZERS))
class TestRegistryContract:
    def test_output_shape_and_params(self, name: str) -> None:
        options, axis = EXAMPLES[name]
        scalarizer = make_scalarizer(name, **options)
        assert isinstance(scalarizer, Scalarizer)
        assert scalarizer.name == name and scalarizer.units and scalarizer.description
        params = scalarizer.get_params()
        assert set(options) <= set(params)
        assert type(scalarizer)(**params).get_params() == params
        rng = np.random.default_rng(0)
        spectra = 1.0 + rng.random((5, axis.size))
        out = scalarizer(spectra, axis)
        assert out.shape == (5,) and out.dtype == np.float64 and np.all(np.isfinite(out))

    def test_nan_and_shape_errors(self, name: str) -> None:
        options, axis = EXAMPLES[name]
        scalarizer = make_scalarizer(name, **options)
        spectra = np.ones((3, axis.size))
        spectra[1, 2] = np.nan
        with pytest.raises(DataError, match="NaN"):
            scalarizer(spectra, axis)
        with pytest.raises(DataError, match="axis has shape"):
            scalarizer(np.ones((3, axis.size + 1)), axis)
        with pytest.raises(DataError, match=r"\(k, S\)"):
            scalarizer(np.ones(axis.size), axis)

    def test_unknown_option(self, name: str) -> None:
        options, _ = EXAMPLES[name]
        with pytest.raises(ConfigError, match="unknown option"):
            make_scalarizer(name, **options, bogus=1)


def test_unknown_name_lists_available() -> None:
    with pytest.raises(ConfigError, match="loop-area") as info:
        make_scalarizer("loop-volume")
    assert "window-integral" in str(info.value)


def test_missing_required_option() -> None:
    with pytest.raises(ConfigError, match="stop"):
        make_scalarizer("window-integral", start=1.0)


# --------------------------------------------------------------------------- loops


def test_bipolar_branches_of_beps_like_axis() -> None:
    up, down = bipolar_branches(LOOP_AXIS)
    assert LOOP_AXIS[up][0] == -2.0 and LOOP_AXIS[up][-1] == 2.0
    assert LOOP_AXIS[down][0] == 2.0 and LOOP_AXIS[down][-1] == -2.0
    assert up.size == down.size == 9


@pytest.mark.parametrize(
    "axis", [np.linspace(-1, 1, 9), np.tile(triangle_axis(1.0, 8), 2), np.array([0.0, 1, 1, 0, -1])]
)
def test_loop_needs_single_closed_cycle(axis: np.ndarray) -> None:
    with pytest.raises(DataError, match="closed voltage cycle"):
        LoopArea()(np.ones((1, axis.size)), axis)


def test_square_loop_area_and_height() -> None:
    # Polygon: bottom edge R=-1 from V=-2 to 1.5, rise to (2, +1), top edge back to V=-1.5,
    # fall to (-2, -1): a parallelogram with horizontal sides 2*Vmax - dv = 3.5 and height 2.
    r = square_loop(LOOP_AXIS)[None]
    assert LoopArea(absolute=False)(r, LOOP_AXIS)[0] == pytest.approx(7.0)
    assert LoopArea(absolute=False)(-r, LOOP_AXIS)[0] == pytest.approx(-7.0)
    assert LoopArea()(-r, LOOP_AXIS)[0] == pytest.approx(7.0)
    assert make_scalarizer("loop-height")(r, LOOP_AXIS)[0] == pytest.approx(2.0)
    assert make_scalarizer("loop-height", absolute=False)(-r, LOOP_AXIS)[0] == pytest.approx(-2.0)


def test_loop_area_independent_of_cycle_start() -> None:
    r = square_loop(LOOP_AXIS)
    for shift in (3, 8, 13):
        area = LoopArea()(np.roll(r, shift)[None], np.roll(LOOP_AXIS, shift))
        assert area[0] == pytest.approx(7.0)


def test_parallelogram_loop_area_height_coercive() -> None:
    # R = V - c on the ascending and V + c on the descending branch, turning points on R = V.
    v = triangle_axis(4.0, 64)  # dv = 0.25 V
    up, down = bipolar_branches(v)
    c = 1.0
    r = np.empty_like(v)
    r[up] = v[up] - c
    r[down] = v[down] + c
    r[np.argmax(v)], r[np.argmin(v)] = 4.0, -4.0
    # A band of height 2c over V in [-3.75, 3.75] (area 15) plus two end triangles of
    # vertical base 2c and width dv (area 0.25 each).
    assert LoopArea()(r[None], v)[0] == pytest.approx(15.5)
    # Ascending branch: min -4.75 (V = -3.75), max 4 (V = 4) → mid level -0.375, reached
    # where V - 1 = -0.375, i.e. V = 0.625. Descending: mirror image, V = -0.625.
    assert make_scalarizer("coercive-positive")(r[None], v)[0] == pytest.approx(0.625)
    assert make_scalarizer("coercive-negative")(r[None], v)[0] == pytest.approx(-0.625)
    assert make_scalarizer("loop-height")(r[None], v)[0] == pytest.approx(2 * c)


def test_coercive_of_shifted_tanh_loop() -> None:
    v = triangle_axis(8.0, 128)
    up, down = bipolar_branches(v)
    vc, imprint, w = 2.5, 0.7, 0.5
    r = np.empty_like(v)
    r[up] = np.tanh((v[up] - vc - imprint) / w)
    r[down] = np.tanh((v[down] + vc - imprint) / w)
    assert CoercivePositive()(r[None], v)[0] == pytest.approx(vc + imprint, abs=0.01)
    assert make_scalarizer("coercive-negative")(r[None], v)[0] == pytest.approx(
        -vc + imprint, abs=0.01
    )


def test_coercive_of_flat_branch_is_nan() -> None:
    out = CoercivePositive()(np.zeros((2, LOOP_AXIS.size)), LOOP_AXIS)
    assert np.all(np.isnan(out))


def test_loop_scalarizers_on_real_beps(beps_path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(beps_path, "r") as f:
        loops = f["Channel_000/generic/generic"][()]
        voltage = f["Channel_000/generic/Voltage"][()]
    assert loops.shape == (50, 50, 64)
    spectra = loops.reshape(-1, 64)
    area = make_scalarizer("loop-area")(spectra, voltage)
    assert area.shape == (2500,)
    assert np.all(np.isfinite(area)) and np.all(area >= 0)
    assert np.std(area) > 0 and np.unique(area).size > 2000
    for name in ("loop-height", "coercive-positive", "coercive-negative"):
        out = make_scalarizer(name)(spectra, voltage)
        assert np.all(np.isfinite(out)) and np.std(out) > 0
    coercive = make_scalarizer("coercive-positive")(spectra, voltage)
    assert np.all(np.abs(coercive) <= np.abs(voltage).max())


# --------------------------------------------------------------------------- windows


def test_window_integral_of_constant_and_line() -> None:
    axis = np.linspace(0.0, 10.0, 41)
    scalarizer = make_scalarizer("window-integral", start=2.1, stop=7.3)
    assert scalarizer(np.full((1, 41), 3.0), axis)[0] == pytest.approx(3.0 * 5.2)
    # a linear spectrum is integrated exactly by the trapezoid rule: ∫ x dx = (b² − a²)/2
    assert scalarizer(axis[None], axis)[0] == pytest.approx((7.3**2 - 2.1**2) / 2)
    # a decreasing axis gives the same integral
    assert scalarizer(axis[None, ::-1], axis[::-1])[0] == pytest.approx((7.3**2 - 2.1**2) / 2)


def test_window_integral_bad_windows() -> None:
    axis = np.linspace(0.0, 10.0, 11)
    with pytest.raises(DataError, match="outside the axis"):
        make_scalarizer("window-integral", start=-1.0, stop=3.0)(np.ones((1, 11)), axis)
    with pytest.raises(DataError, match="at least 2"):
        make_scalarizer("window-integral", start=2.2, stop=3.5)(np.ones((1, 11)), axis)
    with pytest.raises(ConfigError, match="greater than start"):
        make_scalarizer("window-integral", start=3.0, stop=3.0)
    with pytest.raises(DataError, match="monotonic"):
        make_scalarizer("window-integral", start=0.0, stop=1.0)(np.ones((1, 16)), LOOP_AXIS)


def test_edx_line_gaussian_on_linear_background() -> None:
    axis = np.arange(0.0, 20.0, 0.01)  # keV, 10 eV channels
    energy, sigma, amplitude = 6.4, 0.06, 500.0
    gaussian = amplitude * np.exp(-0.5 * ((axis - energy) / sigma) ** 2)
    background = 100.0 - 3.0 * axis
    width = 10 * sigma
    line = make_scalarizer("edx-line", energy=energy, width=width, background_width=0.2)
    window = (axis >= energy - width / 2) & (axis <= energy + width / 2)
    expected = gaussian[window].sum()  # ≈ amplitude·σ·√(2π)/Δ = 7519.9
    assert expected == pytest.approx(amplitude * sigma * np.sqrt(2 * np.pi) / 0.01, rel=1e-3)
    out = line(np.stack([gaussian + background, background, 2 * gaussian + background]), axis)
    assert out[0] == pytest.approx(expected, rel=1e-4)
    assert out[1] == pytest.approx(0.0, abs=1e-8)
    assert out[2] == pytest.approx(2 * expected, rel=1e-4)


def test_edx_line_bad_options_and_windows() -> None:
    with pytest.raises(ConfigError, match="width"):
        make_scalarizer("edx-line", energy=6.4, width=-0.1)
    axis = np.linspace(5.0, 8.0, 31)
    with pytest.raises(DataError, match="outside"):
        make_scalarizer("edx-line", energy=7.9, width=0.4)(np.ones((1, 31)), axis)
    with pytest.raises(DataError, match="no channel"):
        make_scalarizer("edx-line", energy=6.4, width=0.04)(np.ones((1, 31)), axis)


def test_eels_edge_ratio_on_step() -> None:
    axis = np.arange(400.0, 700.0, 0.5)
    step = np.where(axis < 532.0, 2.0, 5.0)
    ratio = make_scalarizer("eels-edge-ratio", onset=532.0, pre=30.0, post=40.0)
    assert ratio(np.stack([step, np.full_like(axis, 7.0)]), axis) == pytest.approx([2.5, 1.0])
    # a constant pre-edge fits a flat power law: same answer with background subtraction
    power = make_scalarizer(
        "eels-edge-ratio", onset=532.0, pre=30.0, post=40.0, background="power-law"
    )
    assert power(step[None], axis)[0] == pytest.approx(2.5)
    # a pure power-law background with no edge has ratio 1 after extrapolation, > 1 without
    falling = 1e9 * axis**-3.0
    assert power(falling[None], axis)[0] == pytest.approx(1.0)
    assert ratio(falling[None], axis)[0] < 1.0


def test_eels_edge_ratio_bad_inputs() -> None:
    axis = np.arange(400.0, 700.0, 0.5)
    ratio = make_scalarizer("eels-edge-ratio", onset=532.0, pre=30.0, post=40.0)
    with pytest.raises(DataError, match="undefined"):
        ratio(np.zeros((1, axis.size)), axis)
    with pytest.raises(DataError, match="outside"):
        make_scalarizer("eels-edge-ratio", onset=690.0, pre=30.0, post=40.0)(
            np.ones((1, axis.size)), axis
        )
    with pytest.raises(ConfigError, match="background"):
        make_scalarizer("eels-edge-ratio", onset=532.0, pre=30.0, post=40.0, background="spline")
    shuffled = axis.copy()
    shuffled[[10, 11]] = shuffled[[11, 10]]
    with pytest.raises(DataError, match="monotonic"):
        ratio(np.ones((1, axis.size)), shuffled)
