"""Scalarizers: turn spectra `(k, S)` into scalar targets `(k,)`.

A scalarizer is the bridge between a measured spectrum and the single number a
policy optimises or a model learns (loop area, coercive bias, line intensity,
...). Each one is a small class with keyword-only options, validated once in
the constructor; calling it on spectra `(k, S)` and the spectral axis `(S,)`
returns `(k,)` floats. They are registered by name in :data:`SCALARIZERS` so a
configuration file or the CLI can pick one with :func:`make_scalarizer`.

Two families live here:

* Hysteresis-loop scalarizers (``loop-area``, ``loop-height``,
  ``coercive-positive``, ``coercive-negative``) for switching spectroscopy
  (BEPS, SS-PFM). Their axis is a *closed* voltage cycle and is non-monotonic
  by nature; :func:`bipolar_branches` splits it into the ascending and
  descending branch.
* Window scalarizers (``window-integral``, ``edx-line``,
  ``eels-edge-ratio``) for energy-like axes. They need a strictly monotonic
  axis (increasing or decreasing) and raise :class:`~autoscope.errors.DataError`
  otherwise.

Everything is plain NumPy written here: the formulas are one-liners that no
well-kept library exposes with this calling convention (HyperSpy/exSpy do
line and edge integration on their own signal objects).

Example:
    >>> import numpy as np
    >>> scalarizer = make_scalarizer("window-integral", start=1.0, stop=3.0)
    >>> axis = np.linspace(0.0, 4.0, 9)
    >>> scalarizer(np.ones((2, 9)), axis)
    array([2., 2.])
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from autoscope.errors import ConfigError, DataError

__all__ = [
    "SCALARIZERS",
    "CoerciveNegative",
    "CoercivePositive",
    "EdxLine",
    "EelsEdgeRatio",
    "LoopArea",
    "LoopHeight",
    "Scalarizer",
    "WindowIntegral",
    "bipolar_branches",
    "make_scalarizer",
    "register_scalarizer",
]


class Scalarizer:
    """Base class: spectra `(k, S)` + axis `(S,)` → scalar targets `(k,)`.

    Subclasses declare their options as keyword-only constructor arguments,
    store them under the same attribute names, validate them in the
    constructor and implement :meth:`_compute`. :meth:`__call__` checks the
    inputs (2-D finite spectra whose last dimension matches a finite 1-D axis)
    before delegating.

    Attributes:
        name: Registry name (``"loop-area"``).
        units: Short description of the output units (``"signal·V"``).
        description: One line saying what the number is.

    Example:
        >>> import numpy as np
        >>> scalarizer = make_scalarizer("loop-area")
        >>> scalarizer.get_params()
        {'absolute': True}
    """

    name: ClassVar[str] = ""
    units: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Names of the keyword-only options of the constructor."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def get_params(self) -> dict[str, Any]:
        """The options this scalarizer was built with (to store with a run)."""
        return {key: getattr(self, key) for key in self.option_names()}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({options})"

    def __call__(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        """Scalarize spectra.

        Args:
            spectra: Spectra `(k, S)`, finite.
            axis: Spectral axis `(S,)`, finite.

        Returns:
            Scalar targets `(k,)`, float64.

        Raises:
            DataError: On shape mismatch, NaN/inf values, or an axis this
                scalarizer cannot use.
        """
        spectra, axis = _check_inputs(spectra, axis, self.name)
        return np.asarray(self._compute(spectra, axis), dtype=np.float64)

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        raise NotImplementedError


SCALARIZERS: dict[str, type[Scalarizer]] = {}
"""Registered scalarizer classes by name."""


def register_scalarizer(cls: type[Scalarizer]) -> type[Scalarizer]:
    """Class decorator adding ``cls`` to :data:`SCALARIZERS` under ``cls.name``.

    Args:
        cls: A :class:`Scalarizer` subclass with a unique, non-empty ``name``.

    Returns:
        ``cls`` unchanged.

    Raises:
        ConfigError: If the name is empty or already registered to another class.
    """
    if not cls.name:
        raise ConfigError(f"scalarizer class {cls.__name__} has no name")
    if cls.name in SCALARIZERS and SCALARIZERS[cls.name] is not cls:
        raise ConfigError(f"scalarizer name {cls.name!r} is already registered")
    SCALARIZERS[cls.name] = cls
    return cls


def make_scalarizer(name: str, **options: Any) -> Scalarizer:
    """Build a registered scalarizer by name.

    Args:
        name: A key of :data:`SCALARIZERS`.
        **options: The scalarizer's keyword-only options.

    Returns:
        The scalarizer instance.

    Raises:
        ConfigError: Unknown name, unknown option, missing required option or
            an invalid option value.

    Example:
        >>> make_scalarizer("edx-line", energy=6.4, width=0.3)
        EdxLine(energy=6.4, width=0.3, background_width=None)
    """
    if name not in SCALARIZERS:
        raise ConfigError(
            f"unknown scalarizer {name!r}; available: {', '.join(sorted(SCALARIZERS))}"
        )
    cls = SCALARIZERS[name]
    allowed = cls.option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"scalarizer {name!r} got unknown option(s) {unknown}; "
            f"allowed: {list(allowed) or 'none'}"
        )
    signature = inspect.signature(cls.__init__)
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
        and p.default is inspect.Parameter.empty
        and p.name not in options
    ]
    if missing:
        raise ConfigError(f"scalarizer {name!r} needs option(s) {missing}")
    return cls(**options)


# --------------------------------------------------------------------------- input checks


def _check_inputs(spectra: Any, axis: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    where = f"scalarizer {name!r}"
    spectra = np.asarray(spectra)
    axis = np.asarray(axis)
    if spectra.ndim != 2:
        raise DataError(f"{where}: spectra must be (k, S), got shape {spectra.shape}")
    if axis.ndim != 1 or axis.shape[0] != spectra.shape[1]:
        raise DataError(
            f"{where}: axis has shape {axis.shape}, expected ({spectra.shape[1]},) "
            f"to match spectra {spectra.shape}"
        )
    if not np.issubdtype(spectra.dtype, np.number) or not np.issubdtype(axis.dtype, np.number):
        raise DataError(f"{where}: spectra and axis must be numeric")
    spectra = spectra.astype(np.float64, copy=False)
    axis = axis.astype(np.float64, copy=False)
    bad = ~np.isfinite(spectra)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise DataError(
            f"{where}: {rows.size} spectra contain NaN/inf (first row {int(rows[0])}); "
            "clean or drop them explicitly"
        )
    if not np.all(np.isfinite(axis)):
        raise DataError(f"{where}: axis contains NaN/inf")
    return spectra, axis


def _increasing(axis: np.ndarray, spectra: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (axis, spectra) ordered by increasing axis; axis must be strictly monotonic."""
    step = np.diff(axis)
    if axis.size >= 2 and np.all(step > 0):
        return axis, spectra
    if axis.size >= 2 and np.all(step < 0):
        return axis[::-1], spectra[:, ::-1]
    raise DataError(
        f"scalarizer {name!r}: needs a strictly monotonic spectral axis "
        f"(got {axis.size} values, not monotonic)"
    )


def _window_mask(axis: np.ndarray, lo: float, hi: float, name: str, what: str) -> np.ndarray:
    """Boolean mask of axis values in ``[lo, hi]``; window must lie inside the axis."""
    if lo < axis[0] or hi > axis[-1]:
        raise DataError(
            f"scalarizer {name!r}: {what} window [{lo:g}, {hi:g}] lies outside the axis "
            f"range [{axis[0]:g}, {axis[-1]:g}]"
        )
    return (axis >= lo) & (axis <= hi)


def _positive_float(value: Any, option: str, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scalarizer {name!r}: option {option!r} must be a number") from exc
    if not (np.isfinite(number) and number > 0):
        raise ConfigError(f"scalarizer {name!r}: option {option!r} must be > 0, got {value!r}")
    return number


def _finite_float(value: Any, option: str, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scalarizer {name!r}: option {option!r} must be a number") from exc
    if not np.isfinite(number):
        raise ConfigError(f"scalarizer {name!r}: option {option!r} must be finite, got {value!r}")
    return number


# --------------------------------------------------------------------------- hysteresis loops


def bipolar_branches(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a closed voltage cycle into its ascending and descending branch.

    The axis is read as one closed cycle (the last point connects back to the
    first), e.g. the bipolar triangle 0 → +Vmax → 0 → −Vmax → 0 of BEPS. It is
    rotated to start at its first minimum; from there to the first maximum is
    the ascending branch, and from the maximum back round to the minimum the
    descending branch. Both turning points belong to both branches.

    Args:
        axis: Voltages `(S,)`, finite.

    Returns:
        ``(ascending, descending)`` index arrays into ``axis``; voltages are
        strictly increasing along ``ascending`` and strictly decreasing along
        ``descending``.

    Raises:
        DataError: If the axis is not one closed cycle with two strictly
            monotonic branches of at least 3 points each (a monotonic sweep,
            a repeated cycle or a dwell at constant voltage).

    Example:
        >>> import numpy as np
        >>> up, down = bipolar_branches(np.array([0.0, 1, 2, 1, 0, -1, -2, -1]))
        >>> up.tolist(), down.tolist()
        ([6, 7, 0, 1, 2], [2, 3, 4, 5, 6])
    """
    axis = np.asarray(axis, dtype=np.float64)
    n = axis.size
    if axis.ndim != 1 or n < 4:
        raise DataError(f"a voltage cycle needs a 1-D axis of >= 4 points, got shape {axis.shape}")
    start = int(np.argmin(axis))
    order = np.roll(np.arange(n), -start)
    rolled = axis[order]
    top = int(np.argmax(rolled))
    ascending = order[: top + 1]
    descending = np.concatenate([order[top:], order[:1]])
    if (
        ascending.size < 3
        or descending.size < 3
        or not np.all(np.diff(axis[ascending]) > 0)
        or not np.all(np.diff(axis[descending]) < 0)
    ):
        raise DataError(
            "loop scalarizers need a closed voltage cycle with one strictly ascending and one "
            "strictly descending branch (e.g. 0 → +Vmax → 0 → −Vmax → 0); "
            f"got an axis of {n} points from {axis.min():g} to {axis.max():g} that is not"
        )
    return ascending, descending


def _interp_matrix(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear-interpolation matrix `(G, n)` mapping values at increasing ``x`` to ``grid``."""
    right = np.clip(np.searchsorted(x, grid, side="right"), 1, x.size - 1)
    left = right - 1
    t = (grid - x[left]) / (x[right] - x[left])
    matrix = np.zeros((grid.size, x.size))
    rows = np.arange(grid.size)
    matrix[rows, left] = 1.0 - t
    matrix[rows, right] += t
    return matrix


def _branch_gap(spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Descending minus ascending branch `(k, G)` on the common voltage grid."""
    up, down = bipolar_branches(axis)
    v_up = axis[up]
    v_down = axis[down][::-1]
    lo, hi = max(v_up[0], v_down[0]), min(v_up[-1], v_down[-1])
    grid = np.union1d(v_up, v_down)
    grid = grid[(grid >= lo) & (grid <= hi)]
    r_up = spectra[:, up] @ _interp_matrix(v_up, grid).T
    r_down = spectra[:, down][:, ::-1] @ _interp_matrix(v_down, grid).T
    return r_down - r_up


def _mid_crossing(values: np.ndarray, voltages: np.ndarray) -> np.ndarray:
    """Mean voltage `(k,)` where each row of ``values`` `(k, n)` crosses its mid level."""
    mid = 0.5 * (values.max(axis=1) + values.min(axis=1))
    d = values - mid[:, None]
    d0, d1 = d[:, :-1], d[:, 1:]
    crossing = ((d0 < 0) & (d1 >= 0)) | ((d0 > 0) & (d1 <= 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(crossing, d0 / (d0 - d1), 0.0)
    v0, v1 = voltages[:-1], voltages[1:]
    where = v0 + frac * (v1 - v0)
    count = crossing.sum(axis=1)
    total = np.where(crossing, where, 0.0).sum(axis=1)
    out = np.full(values.shape[0], np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


@register_scalarizer
class LoopArea(Scalarizer):
    """Area enclosed by a hysteresis loop (shoelace formula).

    The loop is the closed polygon through the points `(V_i, R_i)` in
    acquisition order, closed from the last point back to the first:

    ``A = ½ Σ_i (V_i R_{i+1} − V_{i+1} R_i)``, indices modulo ``S``.

    ``A > 0`` for a counter-clockwise loop in the `(V, R)` plane, i.e. the
    usual ferroelectric loop whose descending branch lies above the
    ascending one. A self-intersecting (figure-of-eight) loop gives the net
    signed area. The axis must be one closed voltage cycle
    (:func:`bipolar_branches`); the sum itself does not depend on where the
    cycle starts.

    Args:
        absolute: Return ``|A|`` (default) instead of the signed area.

    Units: response × volts (``signal·V``).

    Example:
        >>> import numpy as np
        >>> v = np.array([0.0, 1, 0, -1])
        >>> LoopArea(absolute=False)(np.array([[-1.0, 1, 1, -1]]), v)
        array([2.])
    """

    name = "loop-area"
    units = "signal·V"
    description = "area enclosed by the hysteresis loop (shoelace formula)"

    def __init__(self, *, absolute: bool = True) -> None:
        if not isinstance(absolute, (bool, np.bool_)):
            raise ConfigError(f"scalarizer 'loop-area': absolute must be a bool, got {absolute!r}")
        self.absolute = bool(absolute)

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        bipolar_branches(axis)
        v_next = np.roll(axis, -1)
        area = 0.5 * (np.roll(spectra, -1, axis=1) @ axis - spectra @ v_next)
        return np.abs(area) if self.absolute else area


@register_scalarizer
class LoopHeight(Scalarizer):
    """Largest vertical opening of a hysteresis loop.

    Both branches are linearly interpolated onto a common voltage grid (the
    union of their voltages inside the range both cover). With the gap
    ``g(V) = R_down(V) − R_up(V)`` (descending minus ascending branch), the
    height is the value of ``g`` with the largest magnitude; ``|g|`` of it
    when ``absolute``. For a ferroelectric loop this is the saturated
    opening, ``2 R_s`` for an ideal square loop; it is positive when the
    descending branch is above the ascending one.

    Args:
        absolute: Return the magnitude (default) instead of the signed gap.

    Units: response units (``signal``).

    Example:
        >>> import numpy as np
        >>> v = np.array([0.0, 1, 2, 1, 0, -1, -2, -1])
        >>> r = np.array([[-1.0, -1, 1, 1, 1, 1, -1, -1]])
        >>> LoopHeight()(r, v)
        array([2.])
    """

    name = "loop-height"
    units = "signal"
    description = "largest vertical gap between descending and ascending branch"

    def __init__(self, *, absolute: bool = True) -> None:
        if not isinstance(absolute, (bool, np.bool_)):
            raise ConfigError(
                f"scalarizer 'loop-height': absolute must be a bool, got {absolute!r}"
            )
        self.absolute = bool(absolute)

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        gap = _branch_gap(spectra, axis)
        extreme = gap[np.arange(gap.shape[0]), np.argmax(np.abs(gap), axis=1)]
        return np.abs(extreme) if self.absolute else extreme


class _Coercive(Scalarizer):
    _branch: ClassVar[int] = 0

    def __init__(self) -> None:
        pass

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        branch = bipolar_branches(axis)[self._branch]
        return _mid_crossing(spectra[:, branch], axis[branch])


@register_scalarizer
class CoercivePositive(_Coercive):
    """Coercive voltage of the ascending branch.

    Along the ascending branch (voltage increasing from −Vmax to +Vmax, see
    :func:`bipolar_branches`) the mid level is ``m = ½(max R + min R)`` of
    that branch. Every segment where ``R − m`` changes sign gives a crossing
    voltage by linear interpolation,
    ``V* = V_j + (V_{j+1} − V_j)·(R_j − m)/(R_j − R_{j+1})``; the result is the
    mean of these crossings (one for a clean loop, a few close ones for a
    noisy loop). A flat branch (max = min) has no crossing and gives NaN.
    For a tanh loop ``R_s tanh((V − V_c − V_imp)/w)`` this is
    ``V_c + V_imp``.

    Units: volts of the axis (``V``).

    Example:
        >>> import numpy as np
        >>> v = np.array([0.0, 1, 2, 1, 0, -1, -2, -1])
        >>> r = np.array([[-1.0, 1, 1, 1, 1, -1, -1, -1]])
        >>> CoercivePositive()(r, v)
        array([0.5])
    """

    name = "coercive-positive"
    units = "V"
    description = "voltage where the ascending branch crosses its mid level"
    _branch = 0


@register_scalarizer
class CoerciveNegative(_Coercive):
    """Coercive voltage of the descending branch.

    As :class:`CoercivePositive`, along the descending branch (voltage
    decreasing from +Vmax to −Vmax). For a tanh loop
    ``R_s tanh((V + V_c − V_imp)/w)`` this is ``−V_c + V_imp``.

    Units: volts of the axis (``V``).

    Example:
        >>> import numpy as np
        >>> v = np.array([0.0, 1, 2, 1, 0, -1, -2, -1])
        >>> r = np.array([[-1.0, 1, 1, 1, 1, -1, -1, -1]])
        >>> CoerciveNegative()(r, v)
        array([-0.5])
    """

    name = "coercive-negative"
    units = "V"
    description = "voltage where the descending branch crosses its mid level"
    _branch = 1


# --------------------------------------------------------------------------- windows


@register_scalarizer
class WindowIntegral(Scalarizer):
    """Trapezoid integral of the spectrum over ``[start, stop]``.

    ``I = ∫_start^stop s(E) dE`` with the trapezoid rule over the axis samples
    inside the window plus the two window edges, whose values are linearly
    interpolated (so a constant ``c`` integrates to exactly
    ``c·(stop − start)``). The axis must be strictly monotonic (a decreasing
    axis is reversed), the window must lie inside the axis range and hold at
    least 2 samples.

    Args:
        start: Lower window edge, axis units.
        stop: Upper window edge, axis units (``> start``).

    Units: signal × axis units (``signal·axis``).

    Example:
        >>> import numpy as np
        >>> WindowIntegral(start=0.5, stop=2.5)(np.ones((1, 4)), np.arange(4.0))
        array([2.])
    """

    name = "window-integral"
    units = "signal·axis"
    description = "trapezoid integral of the spectrum over [start, stop]"

    def __init__(self, *, start: float, stop: float) -> None:
        self.start = _finite_float(start, "start", self.name)
        self.stop = _finite_float(stop, "stop", self.name)
        if not self.stop > self.start:
            raise ConfigError(
                f"scalarizer {self.name!r}: stop ({stop!r}) must be greater than start ({start!r})"
            )

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        axis, spectra = _increasing(axis, spectra, self.name)
        inside = _window_mask(axis, self.start, self.stop, self.name, "integration")
        if inside.sum() < 2:
            raise DataError(
                f"scalarizer {self.name!r}: window [{self.start:g}, {self.stop:g}] holds "
                f"{int(inside.sum())} axis sample(s); need at least 2"
            )
        grid = np.unique(np.concatenate([[self.start], axis[inside], [self.stop]]))
        values = spectra @ _interp_matrix(axis, grid).T
        return 0.5 * (values[:, 1:] + values[:, :-1]) @ np.diff(grid)


@register_scalarizer
class ChannelValue(Scalarizer):
    """The value of one spectral channel (e.g. a single-channel signal or a function twin).

    Args:
        channel: Channel index (negative counts from the end).

    Units: signal.

    Example:
        >>> import numpy as np
        >>> ChannelValue(channel=1)(np.array([[1.0, 2.0, 3.0]]), np.arange(3.0))
        array([2.])
    """

    name = "channel-value"
    units = "signal"
    description = "the value of one spectral channel"

    def __init__(self, *, channel: int = 0) -> None:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise ConfigError(
                f"scalarizer {self.name!r}: channel must be an integer, got {channel!r}"
            )
        self.channel = int(channel)

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        if not -spectra.shape[1] <= self.channel < spectra.shape[1]:
            raise DataError(
                f"scalarizer {self.name!r}: channel {self.channel} outside the "
                f"{spectra.shape[1]} channels of the spectra"
            )
        return spectra[:, self.channel].copy()


@register_scalarizer
class EdxLine(Scalarizer):
    """Background-subtracted EDX line intensity.

    Channels with energy in the peak window ``[E − w/2, E + w/2]`` are summed
    (counts per channel, so a sum rather than an integral). The background is
    the straight line through the two side windows
    ``[E − w/2 − b, E − w/2)`` and ``(E + w/2, E + w/2 + b]``, each reduced to
    its (mean energy, mean counts) point; its values at the peak-window
    channels are summed and subtracted:

    ``I = Σ_peak c_j − Σ_peak B(E_j)``, ``B`` linear through the side means.

    The axis must be strictly monotonic and all three windows must lie inside
    it with at least one channel each.

    Args:
        energy: Line energy ``E``, axis units (keV).
        width: Peak window width ``w``, axis units (> 0).
        background_width: Side-window width ``b``; ``None`` means ``width / 2``.

    Units: counts (``counts``).

    Example:
        >>> import numpy as np
        >>> axis = np.linspace(5.0, 8.0, 31)
        >>> line = make_scalarizer("edx-line", energy=6.4, width=0.4)
        >>> line(np.full((1, 31), 3.0), axis).round(6)
        array([0.])
    """

    name = "edx-line"
    units = "counts"
    description = "counts in energy ± width/2 minus a linear side-window background"

    def __init__(
        self, *, energy: float, width: float, background_width: float | None = None
    ) -> None:
        self.energy = _finite_float(energy, "energy", self.name)
        self.width = _positive_float(width, "width", self.name)
        self.background_width = (
            None
            if background_width is None
            else _positive_float(background_width, "background_width", self.name)
        )

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        axis, spectra = _increasing(axis, spectra, self.name)
        half = 0.5 * self.width
        side = self.width / 2 if self.background_width is None else self.background_width
        lo, hi = self.energy - half, self.energy + half
        _window_mask(axis, lo - side, hi + side, self.name, "peak + background")
        peak = (axis >= lo) & (axis <= hi)
        left = (axis >= lo - side) & (axis < lo)
        right = (axis > hi) & (axis <= hi + side)
        for mask, what in ((peak, "peak"), (left, "left background"), (right, "right background")):
            if not mask.any():
                raise DataError(
                    f"scalarizer {self.name!r}: the {what} window holds no channel; widen "
                    f"width/background_width (channel spacing {np.median(np.diff(axis)):g})"
                )
        e_left, e_right = axis[left].mean(), axis[right].mean()
        c_left, c_right = spectra[:, left].mean(axis=1), spectra[:, right].mean(axis=1)
        slope = (c_right - c_left) / (e_right - e_left)
        background = c_left[:, None] + slope[:, None] * (axis[peak] - e_left)[None, :]
        return spectra[:, peak].sum(axis=1) - background.sum(axis=1)


@register_scalarizer
class EelsEdgeRatio(Scalarizer):
    """EELS edge jump ratio.

    Pre-edge window ``[onset − pre, onset)``, post-edge window
    ``[onset, onset + post]`` (eV). With ``background="none"`` (default) the
    ratio is ``mean(post) / mean(pre)``: 1 without an edge, larger for a
    stronger edge. With ``background="power-law"`` a power law
    ``A·E^(−r)`` is fitted to the pre-edge window (least squares in log-log,
    needs positive energies and counts) and extrapolated under the post-edge
    window; the ratio is ``mean(post) / mean(extrapolated background)``, which
    removes the falling background of a real spectrum. The axis must be
    strictly monotonic, both windows inside it with at least 2 channels each,
    and the denominator positive.

    Args:
        onset: Edge onset energy, axis units (eV).
        pre: Pre-edge window width (> 0).
        post: Post-edge window width (> 0).
        background: ``"none"`` or ``"power-law"``.

    Units: dimensionless ratio (``1``).

    Example:
        >>> import numpy as np
        >>> axis = np.arange(400.0, 600.0)
        >>> step = np.where(axis < 500, 1.0, 3.0)[None]
        >>> EelsEdgeRatio(onset=500.0, pre=50.0, post=50.0)(step, axis)
        array([3.])
    """

    name = "eels-edge-ratio"
    units = "1"
    description = "post-edge mean over pre-edge (or extrapolated background) mean"

    _BACKGROUNDS: ClassVar[tuple[str, ...]] = ("none", "power-law")

    def __init__(self, *, onset: float, pre: float, post: float, background: str = "none") -> None:
        self.onset = _finite_float(onset, "onset", self.name)
        self.pre = _positive_float(pre, "pre", self.name)
        self.post = _positive_float(post, "post", self.name)
        if background not in self._BACKGROUNDS:
            raise ConfigError(
                f"scalarizer {self.name!r}: background must be one of {list(self._BACKGROUNDS)}, "
                f"got {background!r}"
            )
        self.background = background

    def _compute(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        axis, spectra = _increasing(axis, spectra, self.name)
        _window_mask(axis, self.onset - self.pre, self.onset + self.post, self.name, "edge")
        pre = (axis >= self.onset - self.pre) & (axis < self.onset)
        post = (axis >= self.onset) & (axis <= self.onset + self.post)
        for mask, what in ((pre, "pre-edge"), (post, "post-edge")):
            if mask.sum() < 2:
                raise DataError(
                    f"scalarizer {self.name!r}: the {what} window holds {int(mask.sum())} "
                    "channel(s); need at least 2"
                )
        if self.background == "none":
            denominator = spectra[:, pre].mean(axis=1)
        else:
            counts = spectra[:, pre]
            if np.any(axis[pre] <= 0) or np.any(counts <= 0):
                raise DataError(
                    f"scalarizer {self.name!r}: a power-law background needs positive energies "
                    "and counts in the pre-edge window"
                )
            log_e = np.log(axis[pre])
            log_e0 = log_e - log_e.mean()
            log_c = np.log(counts)
            slope = (log_c @ log_e0) / (log_e0 @ log_e0)
            intercept = log_c.mean(axis=1) - slope * log_e.mean()
            fitted = np.exp(intercept[:, None] + slope[:, None] * np.log(axis[post])[None, :])
            denominator = fitted.mean(axis=1)
        if np.any(denominator <= 0):
            row = int(np.argmax(denominator <= 0))
            raise DataError(
                f"scalarizer {self.name!r}: pre-edge level is <= 0 for spectrum {row}; "
                "the jump ratio is undefined"
            )
        return spectra[:, post].mean(axis=1) / denominator
