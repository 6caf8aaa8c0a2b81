from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import DataError, InstrumentError, InstrumentTimeout
from autoscope.instruments import (
    INSTRUMENTS,
    FaultInjection,
    Instrument,
    ReplayInstrument,
    check_instrument,
)

from helpers import toy_image


@pytest.mark.parametrize("name", sorted(INSTRUMENTS))
def test_every_registered_instrument_passes_check_instrument(name):
    check_instrument(INSTRUMENTS[name]())


def test_check_instrument_catches_a_broken_instrument():
    class Leaky(ReplayInstrument):
        def overview(self):
            return self.image  # reveals spectra

    with pytest.raises(AssertionError, match="must not reveal spectra"):
        check_instrument(Leaky(toy_image()))
    with pytest.raises(AssertionError, match="lacks a method"):
        check_instrument(object())


def test_replay_reveals_spectra_and_charges_cost():
    image = toy_image()
    instrument = ReplayInstrument(image, seconds_per_point=3.0, dose_per_point=7.0)
    assert isinstance(instrument, Instrument)
    assert instrument.overview().spectra is None
    result = instrument.measure(np.array([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(result.spectra, image.spectra[[1, 3], [2, 4]])
    assert result.total_cost.seconds == 6.0 and result.total_cost.dose == 14.0


def test_replay_noise_is_seeded_per_point_and_request():
    image = toy_image()
    a = ReplayInstrument(image, noise_std=0.1, seed=3)
    b = ReplayInstrument(image, noise_std=0.1, seed=3)
    first = a.measure(np.array([[1, 1]])).spectra
    b.measure(np.array([[5, 5]]))  # other points do not shift the noise
    np.testing.assert_array_equal(first, b.measure(np.array([[1, 1]])).spectra)
    assert not np.array_equal(first, a.measure(np.array([[1, 1]])).spectra)
    resumed = ReplayInstrument(image, noise_std=0.1, seed=3)
    resumed.replay_requests([(1, 1)])  # an earlier session measured (1, 1) once
    uninterrupted = ReplayInstrument(image, noise_std=0.1, seed=3)
    uninterrupted.measure(np.array([[1, 1]]))
    np.testing.assert_array_equal(
        resumed.measure(np.array([[1, 1]])).spectra,
        uninterrupted.measure(np.array([[1, 1]])).spectra,
    )


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (FaultInjection(timeout=1.0, timeout_seconds=9.0), InstrumentTimeout),
        (FaultInjection(error=1.0), InstrumentError),
    ],
)
def test_injected_exceptions_carry_their_cost(faults, error):
    instrument = ReplayInstrument(toy_image(), faults=faults, seconds_per_point=2.0)
    with pytest.raises(error) as info:
        instrument.measure(np.array([[0, 0]]))
    assert info.value.seconds == (9.0 if error is InstrumentTimeout else 2.0)
    assert instrument.expected_cost(np.array([[0, 0]])).seconds >= info.value.seconds


def test_injected_nan_spectra():
    instrument = ReplayInstrument(toy_image(), faults=FaultInjection(nan=1.0))
    assert np.isnan(instrument.measure(np.array([[0, 0]])).spectra).all()


@pytest.mark.parametrize(
    "points", [np.array([[-1, 0]]), np.array([[0, 20]]), np.array([[0.5, 1.0]]), np.array([1, 2])]
)
def test_bad_points_are_rejected(points):
    with pytest.raises(DataError):
        ReplayInstrument(toy_image()).measure(points)


@pytest.mark.parametrize(
    "kwargs", [{"seconds_per_point": -1.0}, {"noise_std": np.nan}, {"dose_per_point": np.inf}]
)
def test_bad_options(kwargs):
    with pytest.raises(DataError):
        ReplayInstrument(toy_image(), **kwargs)


def test_bad_fault_probabilities():
    with pytest.raises(DataError):
        FaultInjection(timeout=0.7, nan=0.7)
    with pytest.raises(DataError):
        FaultInjection(error=-0.1)
