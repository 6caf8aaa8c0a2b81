"""Exceptions raised by autoscope.

Every error says what was wrong, where (file, field, index) and what was
expected. The CLI turns any :class:`AutoscopeError` into a one-line message and
a non-zero exit code instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "AutoscopeError",
    "BudgetError",
    "ConfigError",
    "DataError",
    "InstrumentError",
    "InstrumentTimeout",
    "RunStoreError",
]


class AutoscopeError(Exception):
    """Base class of every error autoscope raises on purpose."""


class DataError(AutoscopeError, ValueError):
    """A file, array or field does not hold what was expected."""


class ConfigError(AutoscopeError, ValueError):
    """A configuration value is missing, unknown or out of range."""


class BudgetError(AutoscopeError, ValueError):
    """A budget is invalid (e.g. zero) or an action would exceed it."""


class InstrumentError(AutoscopeError, RuntimeError):
    """An instrument failed to deliver a measurement.

    Args:
        message: What went wrong.
        seconds: Instrument time the failed attempt still consumed.
        dose: Electron dose the failed attempt still deposited.
    """

    def __init__(self, message: str = "", *, seconds: float = 0.0, dose: float = 0.0) -> None:
        super().__init__(message)
        self.seconds = float(seconds)
        self.dose = float(dose)


class InstrumentTimeout(InstrumentError, TimeoutError):
    """An instrument did not answer within its time limit."""


class RunStoreError(AutoscopeError, RuntimeError):
    """A run directory is missing, corrupt or inconsistent."""
