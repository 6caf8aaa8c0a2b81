"""Time and unitless costs of moving the beam, the stage, and switching region.

Inside the current field of view (FoV) the beam is moved by beam shift, which
takes ``t_BS`` (default 0.02 s). A target outside it needs a stage move at
speed ``v`` plus a retune, ``t_move(d) = t_0 + d / v`` with
``t_0 = t_retune + t_BS``. The unitless move cost used by cost-aware
acquisition is ``C_move = 1`` inside the FoV and ``alpha * t_move(d)``
(seconds taken as numbers) outside; for the adjacent FoV (``d = 30 µm``) that
is ``5.02 + 3 = 8.02``.

Switching to a new region costs ``t_switch = d / v + t_retune + t_EDX``: travel,
retune and one EDX frame of the new FoV to learn its compositions (beam shift
is negligible there and left out: adjacent region, ``3 + 5 + 10 = 18 s``). In
units of the opportunity given up, ``C_switch = t_switch * V_stay / t_meas``:
the value per measurement of staying, times the measurements the switch time
would have bought.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np

from autoscope.errors import ConfigError, DataError

__all__ = ["MotionCost"]


def _distances(distance_um: float | np.ndarray) -> np.ndarray:
    d = np.asarray(distance_um, dtype=np.float64)
    if not (np.isfinite(d) & (d >= 0)).all():
        raise DataError("distance_um must be finite and >= 0 (in µm) for every target")
    return d


def _scalar_or_array(values: np.ndarray) -> float | np.ndarray:
    return float(values) if values.ndim == 0 else values


@dataclass(frozen=True)
class MotionCost:
    """Motion and measurement times of a STEM exploring a random library.

    Args:
        fov_um: Side of the beam-shift field of view in µm.
        beam_shift_seconds: ``t_BS``, one beam shift inside the FoV.
        retune_seconds: ``t_retune``, refocus/retune after a stage move.
        stage_speed_um_s: ``v``, stage speed in µm/s.
        edx_frame_seconds: ``t_EDX``, an EDX frame of a whole new FoV.
        measure_seconds: ``t_meas``, the property measurement (EELS) of one particle.
        alpha: Weight of a stage move's seconds in ``C_move``.

    Raises:
        ConfigError: A value is not finite and positive.

    Example:
        >>> cost = MotionCost()
        >>> round(cost.move_cost(30.0), 2), cost.switch_seconds(30.0)
        (8.02, 18.0)
    """

    fov_um: float = 30.0
    beam_shift_seconds: float = 0.02
    retune_seconds: float = 5.0
    stage_speed_um_s: float = 10.0
    edx_frame_seconds: float = 10.0
    measure_seconds: float = 1.0
    alpha: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"MotionCost.{f.name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"MotionCost.{f.name} must be finite and > 0, got {value}")

    @property
    def stage_overhead_seconds(self) -> float:
        """``t_0 = t_retune + t_BS``, the fixed part of a stage move."""
        return self.retune_seconds + self.beam_shift_seconds

    def _inside(self, d: np.ndarray, inside_fov: bool | np.ndarray | None) -> np.ndarray:
        if inside_fov is None:
            return d <= self.fov_um / 2.0
        inside = np.asarray(inside_fov)
        if inside.dtype != bool:
            raise DataError(f"inside_fov must be bool (or a bool array), got dtype {inside.dtype}")
        try:
            return np.broadcast_to(inside, np.broadcast_shapes(inside.shape, d.shape))
        except ValueError:
            raise DataError(
                f"inside_fov of shape {inside.shape} does not match distance_um of shape {d.shape}"
            ) from None

    def move_seconds(
        self, distance_um: float | np.ndarray, *, inside_fov: bool | np.ndarray | None = None
    ) -> float | np.ndarray:
        """Time to bring the beam to a target, ``t_BS`` or ``t_0 + d / v``.

        Args:
            distance_um: Distance to the target in µm, scalar or any shape.
            inside_fov: Whether each target lies in the current FoV (the
                instrument knows its tiling). ``None`` takes a target within
                ``d_BS = fov_um / 2`` as inside.

        Returns:
            Seconds, a float for scalar input else an array.

        Raises:
            DataError: A negative or non-finite distance, or ``inside_fov`` of
                the wrong type or shape.
        """
        d = _distances(distance_um)
        stage = self.stage_overhead_seconds + d / self.stage_speed_um_s
        return _scalar_or_array(
            np.where(self._inside(d, inside_fov), self.beam_shift_seconds, stage)
        )

    def move_cost(
        self, distance_um: float | np.ndarray, *, inside_fov: bool | np.ndarray | None = None
    ) -> float | np.ndarray:
        """Unitless move cost: 1 inside the FoV, ``alpha (t_0 + d / v)`` outside.

        Args:
            distance_um: Distance to the target in µm, scalar or any shape.
            inside_fov: As in :meth:`move_seconds`.

        Returns:
            The cost, a float for scalar input else an array.

        Raises:
            DataError: As in :meth:`move_seconds`.
        """
        d = _distances(distance_um)
        stage = self.alpha * (self.stage_overhead_seconds + d / self.stage_speed_um_s)
        return _scalar_or_array(np.where(self._inside(d, inside_fov), 1.0, stage))

    def switch_seconds(self, distance_um: float | np.ndarray) -> float | np.ndarray:
        """Time to switch region, ``d / v + t_retune + t_EDX`` (beam shift left out).

        Args:
            distance_um: Stage travel to the new region in µm.

        Returns:
            Seconds, a float for scalar input else an array.

        Raises:
            DataError: A negative or non-finite distance.
        """
        d = _distances(distance_um)
        seconds = d / self.stage_speed_um_s + self.retune_seconds + self.edx_frame_seconds
        return _scalar_or_array(seconds)

    def switch_cost(self, stay_value: float, distance_um: float | np.ndarray) -> float | np.ndarray:
        """Opportunity cost of switching, ``C_switch = t_switch V_stay / t_meas``.

        Args:
            stay_value: ``V_stay`` of the current region (see
                :func:`~autoscope.library.switching.stay_value`).
            distance_um: Stage travel to the new region in µm.

        Returns:
            The cost, a float for scalar distance else an array.

        Raises:
            DataError: A non-finite ``stay_value`` or a bad distance.
        """
        if not math.isfinite(stay_value):
            raise DataError(f"stay_value must be finite, got {stay_value}")
        seconds = np.asarray(self.switch_seconds(distance_um))
        return _scalar_or_array(seconds * stay_value / self.measure_seconds)
