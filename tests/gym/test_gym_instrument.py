"""WorldInstrument: a gym world behind autoscope's Instrument protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.gym.instrument import CHANNELS, WorldInstrument
from autoscope.gym.world import make_world
from autoscope.instruments import Instrument, check_instrument


def world(material: str = "SrTiO3"):
    return make_world(material, "Easy", seed=0, shape=(128, 128))


@pytest.mark.parametrize("analyst", ["classical", "none"])
def test_check_instrument(analyst: str) -> None:
    instrument = WorldInstrument(world(), analyst=analyst)
    assert isinstance(instrument, Instrument)
    check_instrument(instrument, n_points=3)


def test_measure_scans_tiles_and_charges_dose_and_time() -> None:
    w = world()
    instrument = WorldInstrument(w, dose=1e4, beam_current_pA=50.0)
    assert instrument.describe()["grid_shape"] == [4, 4]
    assert instrument.overview().spectrum_grid_shape == (4, 4)
    assert not instrument.overview().image.any()  # nothing is seen for free
    points = np.array([[0, 0], [1, 2], [3, 3], [2, 1]])
    result = instrument.measure(points)
    assert result.spectra.shape == (4, len(CHANNELS))
    np.testing.assert_array_equal(result.dose, 1e4)
    electrons_per_pixel = 1e4 * w.info.pixel_size_A**2
    dwell = electrons_per_pixel * 1.602176634e-19 / 50e-12
    np.testing.assert_allclose(result.seconds, dwell * 32 * 32)
    assert instrument.expected_cost(points).dose == 4e4
    # Channel 0 is the tile's mean scattered fraction in the mosaic.
    mosaic = instrument.mosaic
    assert math.isclose(result.spectra[1, 0], float(mosaic[32:64, 64:96].mean()), rel_tol=1e-6)
    assert np.all(result.spectra[:, 0] > 0)
    assert np.all(result.spectra[:, 1] >= 0)
    assert result.info[1] == {"tile": 6, "bounds": [32, 64, 64, 96], "n_scans": 1}
    assert instrument.overview().image[40, 70] > 0
    again = instrument.measure(np.array([[1, 2]]))
    assert again.info[0]["n_scans"] == 2
    # Channel 1 counts the analyst's finds in the tile; an easy GaN world at a high
    # dose shows some defects.
    gan = WorldInstrument(world("GaN"), dose=5e4)
    everything = gan.measure(np.stack(np.divmod(np.arange(16), 4), axis=1))
    assert everything.spectra[:, 1].sum() > 0


def test_bad_input() -> None:
    instrument = WorldInstrument(world(), analyst="none")
    for bad in (np.array([[4, 0]]), np.array([[0, -1]]), np.array([[0.0, 1.0]]), np.zeros(2, int)):
        with pytest.raises(DataError):
            instrument.measure(bad)
    with pytest.raises(ConfigError, match="dose"):
        WorldInstrument(world(), dose=0.0)
    with pytest.raises(ConfigError, match="needs a World"):
        WorldInstrument(object())  # type: ignore[arg-type]


def test_nanoparticle_world_counts_particles() -> None:
    instrument = WorldInstrument(world("AuNP"), dose=1e4)
    grid = np.stack(np.divmod(np.arange(16), 4), axis=1)
    result = instrument.measure(grid)
    assert result.spectra[:, 1].sum() > 0
    assert len(instrument.findings.particle_centres_px) > 0


def test_a_campaign_drives_a_world() -> None:
    from autoscope.campaign import Budget, Campaign, run_campaign
    from autoscope.data.pool import CandidatePool
    from autoscope.policies import make_policy

    w = world("GaN")
    instrument = WorldInstrument(w, dose=5e4, seed=1)
    ny, nx = w.info.n_tiles_y, w.info.n_tiles_x
    coords = np.stack(np.divmod(np.arange(ny * nx), nx), axis=1)
    pool = CandidatePool(coords, {}, (ny, nx))
    campaign = Campaign(
        pool,
        make_policy("raster"),
        lambda spectra, axis: spectra[:, 1],  # the analyst's finds per tile
        spectral_axis=np.arange(len(CHANNELS), dtype=float),
        budget=Budget(measurements=6),
        seed=0,
        n_initial=0,
    )
    run_campaign(campaign, instrument, progress=False)
    assert len(campaign.measured) == 6
    assert campaign.spent["dose"] == pytest.approx(6 * 5e4)
    tiles = {tuple(int(v) for v in pool.coords[i]) for i in campaign.measured}
    assert tiles == {(0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (1, 2)}  # serpentine raster
    assert instrument.overview().image[32:64, 64:96].any()
