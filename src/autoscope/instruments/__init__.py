"""Instruments: microscopes and their digital twins behind one protocol."""

from autoscope.instruments.base import Cost, Instrument, Measurement, check_instrument
from autoscope.instruments.replay import FaultInjection, ReplayInstrument

__all__ = [
    "INSTRUMENTS",
    "Cost",
    "FaultInjection",
    "Instrument",
    "Measurement",
    "ReplayInstrument",
    "check_instrument",
]


def _replay_example() -> ReplayInstrument:
    from autoscope.data.twins import ferroelectric_film

    twin = ferroelectric_film(size=24, seed=0)
    return ReplayInstrument(twin, seconds_per_point=2.0, noise_std=0.01)


INSTRUMENTS = {"replay": _replay_example}
"""Every instrument of the package: name -> factory of a small example instance.

The test suite runs :func:`check_instrument` on each entry, so a new
instrument is checked the moment it is registered here.
"""
