"""Instruments: microscopes and their digital twins behind one protocol."""

from autoscope.instruments.base import Cost, Instrument, Measurement, check_instrument
from autoscope.instruments.replay import FaultInjection, ReplayInstrument

__all__ = [
    "Cost",
    "FaultInjection",
    "Instrument",
    "Measurement",
    "ReplayInstrument",
    "check_instrument",
]
