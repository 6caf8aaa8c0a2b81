"""Option checks shared by the gym's modules."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from autoscope.errors import ConfigError


def positive(name: str, value: Any) -> float:
    """``value`` as a float; a :class:`ConfigError` naming ``name`` unless it is a number > 0.

    Infinite values, NaN, booleans and strings are refused, not converted.

    Example:
        >>> positive("dose", 1e4)
        10000.0
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return number
