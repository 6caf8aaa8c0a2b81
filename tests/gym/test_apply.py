"""Gym analysts on real images (resample, calibrate, analyse) and on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.data.readers import read
from autoscope.errors import ConfigError
from autoscope.gym.analysts import make_analyst
from autoscope.gym.apply import analyse_image
from autoscope.gym.world import make_world


def test_simulated_world_roundtrip_keeps_positions():
    world = make_world("GaN", "Easy", seed=3, shape=(128, 128))
    image = world.render_clean()
    result = analyse_image(image, world.info.pixel_size_A, analyst=make_analyst("classical"),
                           material="GaN")  # fmt: skip
    assert result.scale == pytest.approx((1.0, 1.0))
    truth_px = np.asarray(world.truth.atom_positions_nm) * 10 / world.info.pixel_size_A
    d = np.min(np.hypot(*(result.atoms_px[:, None, :] - truth_px[None, :, :]).transpose(2, 0, 1)),
               axis=1)  # fmt: skip
    assert len(result.atoms_px) > 50
    assert np.median(d) < 0.5


def test_transpose_maps_positions_back():
    world = make_world("GaN", "Easy", seed=3, shape=(128, 128))
    image = world.render_clean()
    plain = analyse_image(image, 0.2, analyst=make_analyst("classical"), material="GaN")
    turned = analyse_image(image.T, 0.2, analyst=make_analyst("classical"), material="GaN",
                           transpose=True)  # fmt: skip
    # The analyst saw the same image; positions come back in the frame of image.T.
    back = turned.atoms_px[:, ::-1]
    a = plain.atoms_px[np.lexsort(plain.atoms_px.T)]
    b = back[np.lexsort(back.T)]
    np.testing.assert_allclose(a, b)


def test_real_srtio3_110_adf(data_dir):
    """SrTiO3 [110] ADF, 0.00933 nm/px: nearest cation columns a/2 = 0.195 nm apart."""
    image = read(data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5", reader="hspy").image
    analyst = make_analyst("classical")
    result = analyse_image(
        np.asarray(image, dtype=float), 0.0933, analyst=analyst, material="SrTiO3", transpose=True
    )
    atoms = result.atoms_px
    assert atoms[:, 0].max() < image.shape[0] and atoms[:, 1].max() < image.shape[1]
    d = np.sort(np.hypot(*(atoms[:, None, :] - atoms[None, :, :]).transpose(2, 0, 1)), axis=1)
    spacing_nm = np.median(d[:, 1]) * 0.00933
    assert spacing_nm == pytest.approx(0.1953, rel=0.05)
    phase = result.findings.phase_map
    assert np.mean(phase == result.info.phase_names.index("[110]")) > 0.9


@pytest.mark.parametrize(
    ("image", "pixel", "match"),
    [
        (np.zeros((10, 10, 3)), 0.2, "2-D"),
        (np.full((100, 100), np.nan), 0.2, "finite"),
        (np.ones((100, 100)), -1.0, "pixel_size"),
        (np.ones((40, 40)), 0.2, "at least"),
        (np.ones((100, 100)), 0.2, "constant"),
    ],
)
def test_bad_input(image, pixel, match):
    with pytest.raises(ConfigError, match=match):
        analyse_image(image, pixel, analyst=make_analyst("classical"))
