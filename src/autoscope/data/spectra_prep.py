"""Spectrum preparation for full-spectrum models: checks, scaling, cropping and binning.

How spectra are scaled decides which points a full-spectrum loss listens to,
so it is a documented choice, not a hidden step. On the BEPS PbTiO3 file
(2 500 loops × 64 voltages) the per-pixel response spans four decades: the
median loop amplitude is 2e-4, the largest 0.097, and the 200 largest loops
(8 % of the pixels) hold 96 % of the variance. The three scalings of
:class:`SpectrumScaling`:

- ``"global"``: one ``(min, max)`` over every value, mapped to ``[0, 1]``.
  Keeps the physical amplitudes; after it the median loop has a standard
  deviation of 5e-4, and an MSE is decided by the few hundred large loops.
- ``"robust"``: one median and interquartile range over every value (the
  same statistics as :func:`~autoscope.data.scaling.robust_scale` for scalar
  targets): the bulk of the values becomes O(1) (median loop std ≈ 1 on BEPS),
  the outliers land far outside (±1 000 on BEPS) and are counted, never
  clipped. Like ``"global"`` it is one affine map, so it changes the units,
  *not* which points dominate an MSE.
- ``"per-spectrum"``: every spectrum to zero mean and unit standard
  deviation on its own. Every point weighs the same in a loss, and the model
  learns loop *shapes*; amplitudes are lost unless kept separately.

Per-spectrum scaling is point-wise: ``transform`` needs each spectrum itself,
and nothing per point is stored. It is applied to the ground truth; a model
is trained on, and predicts, scaled spectra, and losses compare predictions
with the scaled truth. Mapping a prediction back to physical units needs the
raw spectrum it stands for (``inverse_transform(..., reference=raw)``),
which only exists where a point was measured.

:func:`crop_and_bin` cuts an energy window and sums neighbouring channels
(an EDX pixel holds ~50 counts over 2 048 channels; a sum keeps counts
Poisson, a mean would not). :func:`check_spectra` is the shared validation.

Example:
    >>> import numpy as np
    >>> spectra = np.array([[0.0, 1.0, 2.0], [0.0, 10.0, 20.0]])
    >>> SpectrumScaling("global").fit(spectra).transform(spectra)[1]
    array([0. , 0.5, 1. ])
    >>> SpectrumScaling("per-spectrum").fit(spectra).transform(spectra).round(3)
    array([[-1.225,  0.   ,  1.225],
           [-1.225,  0.   ,  1.225]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from autoscope.data.scaling import robust_scale
from autoscope.errors import ConfigError, DataError

__all__ = ["SpectrumScaling", "check_spectra", "crop_and_bin"]

ScalingKind = Literal["global", "per-spectrum", "robust"]
_KINDS = ("global", "per-spectrum", "robust")


def _check_axis(axis: np.ndarray | Sequence[float], n_channels: int | None) -> np.ndarray:
    """A finite, strictly monotonic 1-D axis `(S,)` (float64)."""
    axis = np.asarray(axis, dtype=np.float64)
    if axis.ndim != 1 or axis.size == 0:
        raise DataError(f"spectral axis must be a non-empty 1-D array (S,), got shape {axis.shape}")
    if n_channels is not None and axis.size != n_channels:
        raise DataError(
            f"spectral axis has {axis.size} values but the spectra have {n_channels} channels"
        )
    if not np.isfinite(axis).all():
        raise DataError(f"spectral axis has NaN/inf at index {int(np.argmax(~np.isfinite(axis)))}")
    if axis.size > 1:
        step = np.diff(axis)
        if not ((step > 0).all() or (step < 0).all()):
            sign = np.sign(step[0]) if step[0] != 0 else 1.0
            bad = int(np.argmax(np.sign(step) != sign))
            raise DataError(
                f"spectral axis is not strictly monotonic: axis[{bad}] = {axis[bad]:g}, "
                f"axis[{bad + 1}] = {axis[bad + 1]:g}; sort the channels or drop repeated ones"
            )
    return axis


def check_spectra(
    spectra: np.ndarray | Sequence[Sequence[float]],
    axis: np.ndarray | Sequence[float] | None = None,
) -> np.ndarray:
    """Validate spectra and, optionally, their spectral axis.

    Args:
        spectra: Spectra `(..., S)`: one `(S,)`, a stack `(N, S)`, a cube
            `(H, W, S)`, or a list of equal-length spectra.
        axis: Spectral axis `(S,)`; must be finite and strictly monotonic
            (increasing or decreasing).

    Returns:
        The spectra as a float64 array `(..., S)`.

    Raises:
        DataError: Spectra of different lengths, not numeric, empty, or with
            NaN/inf; an axis of the wrong length, not finite or not monotonic.

    Example:
        >>> check_spectra([[1, 2], [3, 4]], axis=[0.5, 1.5]).dtype
        dtype('float64')
    """
    if isinstance(spectra, (list, tuple)):
        try:
            lengths = [np.shape(s)[-1] if np.ndim(s) else None for s in spectra]
        except ValueError:  # a ragged element: np.asarray below reports it
            lengths = []
        if any(n != lengths[0] for n in lengths):
            first = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise DataError(
                f"spectra have different lengths: spectrum 0 has {lengths[0]} channels, "
                f"spectrum {first} has {lengths[first]}; crop or resample them onto one axis"
            )
    try:
        arr = np.asarray(spectra, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"spectra must be a numeric array (..., S): {err}") from None
    if arr.ndim == 0 or arr.size == 0:
        raise DataError(f"spectra must be a non-empty array (..., S), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"spectra have {int(bad.sum())} NaN/inf values (first at index {where}); "
            "drop or re-measure those points"
        )
    if axis is not None:
        _check_axis(axis, arr.shape[-1])
    return arr


class SpectrumScaling:
    """Scale spectra before a full-spectrum model sees them (see the module docstring).

    Args:
        kind: ``"global"`` (one min/max over every value, to ``[0, 1]``),
            ``"robust"`` (one median/IQR over every value, with the fallbacks of
            :func:`~autoscope.data.scaling.robust_scale`), or ``"per-spectrum"``
            (each spectrum to zero mean, unit std; a constant spectrum becomes zeros).

    Attributes:
        n_channels_: Channels ``S`` seen by :meth:`fit`.
        center_: Value subtracted (``"global"``: the minimum; ``"robust"``: the
            median; ``None`` for ``"per-spectrum"``).
        scale_: Divisor (range or IQR, 1 when degenerate; ``None`` for ``"per-spectrum"``).
        scale_kind_: Which statistic gave ``scale_`` (``"range"``, ``"unit"``,
            or :func:`~autoscope.data.scaling.robust_scale`'s kinds).
        n_outliers_: Values beyond 10 IQR of the quartiles (``"robust"`` only, else 0).
        n_constant_: Constant spectra at fit time (they scale to zeros under
            ``"per-spectrum"``).

    Example:
        >>> import numpy as np
        >>> spectra = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
        >>> scaling = SpectrumScaling("robust").fit(spectra)
        >>> bool(np.allclose(scaling.inverse_transform(scaling.transform(spectra)), spectra))
        True
    """

    def __init__(self, kind: ScalingKind = "global") -> None:
        if kind not in _KINDS:
            raise ConfigError(f"SpectrumScaling kind must be one of {_KINDS}, got {kind!r}")
        self.kind = kind

    def fit(self, spectra: np.ndarray) -> SpectrumScaling:
        """Learn the scaling from spectra `(N, S)` (the pool's ground truth, or training spectra).

        Returns:
            ``self``.

        Raises:
            DataError: If ``spectra`` is not a finite `(N, S)` array.
        """
        x = check_spectra(spectra)
        if x.ndim != 2:
            raise DataError(f"fit needs spectra (N, S), got shape {x.shape}")
        self.n_channels_ = int(x.shape[1])
        self.n_constant_ = int(np.sum(np.ptp(x, axis=1) == 0))
        self.n_outliers_ = 0
        self.center_: float | None = None
        self.scale_: float | None = None
        self.scale_kind_ = "per-spectrum"
        if self.kind == "global":
            lo, hi = float(x.min()), float(x.max())
            self.center_ = lo
            self.scale_, self.scale_kind_ = (hi - lo, "range") if hi > lo else (1.0, "unit")
        elif self.kind == "robust":
            _, info = robust_scale(x.ravel())
            self.center_, self.scale_ = info.center, info.scale
            self.scale_kind_, self.n_outliers_ = info.scale_kind, info.n_outliers
        return self

    def _checked(self, spectra: np.ndarray, what: str) -> np.ndarray:
        if not hasattr(self, "n_channels_"):
            raise ConfigError(f"SpectrumScaling({self.kind!r}) is not fitted; call fit() first")
        x = check_spectra(spectra)
        if x.shape[-1] != self.n_channels_:
            raise DataError(
                f"{what} have {x.shape[-1]} channels but the scaling was fitted on "
                f"{self.n_channels_}"
            )
        return x

    @staticmethod
    def _row_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of each spectrum, `(..., 1)`; std 0 stays 0."""
        return x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)

    def transform(self, spectra: np.ndarray) -> np.ndarray:
        """Scale spectra `(..., S)`; returns float64 `(..., S)`.

        Raises:
            ConfigError: Not fitted.
            DataError: Wrong number of channels, or NaN/inf.
        """
        x = self._checked(spectra, "spectra")
        if self.kind == "per-spectrum":
            mean, std = self._row_stats(x)
            return np.divide(x - mean, std, out=np.zeros_like(x), where=std > 0)
        assert self.center_ is not None and self.scale_ is not None
        return (x - self.center_) / self.scale_

    def fit_transform(self, spectra: np.ndarray) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` the same spectra `(N, S)`."""
        return self.fit(spectra).transform(spectra)

    def inverse_transform(
        self, scaled: np.ndarray, *, reference: np.ndarray | None = None
    ) -> np.ndarray:
        """Map scaled spectra `(..., S)` (e.g. predictions) back to physical units.

        Args:
            scaled: Scaled spectra `(..., S)`.
            reference: Only for ``"per-spectrum"`` (ignored otherwise): the raw
                spectra `(..., S)` whose mean and std each scaled spectrum
                stands for, same shape as ``scaled``.

        Raises:
            ConfigError: Not fitted, or ``"per-spectrum"`` without ``reference``.
            DataError: Wrong number of channels, NaN/inf, or a ``reference``
                of another shape.
        """
        y = self._checked(scaled, "scaled spectra")
        if self.kind != "per-spectrum":
            assert self.center_ is not None and self.scale_ is not None
            return y * self.scale_ + self.center_
        if reference is None:
            raise ConfigError(
                "per-spectrum scaling keeps no per-point statistics: pass reference= the raw "
                "spectra (same shape) whose mean and std to restore"
            )
        ref = self._checked(reference, "reference spectra")
        if ref.shape != y.shape:
            raise DataError(
                f"reference has shape {ref.shape} but the scaled spectra have {y.shape}"
            )
        mean, std = self._row_stats(ref)
        return y * std + mean

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (to store with a run); ``None`` values before fit."""
        return {
            "kind": self.kind,
            "n_channels": getattr(self, "n_channels_", None),
            "center": getattr(self, "center_", None),
            "scale": getattr(self, "scale_", None),
            "scale_kind": getattr(self, "scale_kind_", None),
            "n_outliers": getattr(self, "n_outliers_", None),
            "n_constant": getattr(self, "n_constant_", None),
        }

    def __repr__(self) -> str:
        return f"SpectrumScaling(kind={self.kind!r})"


def crop_and_bin(
    spectra: np.ndarray,
    axis: np.ndarray,
    *,
    low: float | None = None,
    high: float | None = None,
    bin: int = 1,
    remainder: Literal["error", "drop"] = "error",
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the channels with ``low <= axis <= high`` and sum every ``bin`` of them.

    Summing (not averaging) keeps counts as counts, so binned EDX/EELS spectra
    stay Poisson and a Poisson loss still applies.

    Args:
        spectra: Spectra `(..., S)`.
        axis: Spectral axis `(S,)`, strictly increasing or decreasing.
        low: Lower end of the window in axis units (default: the axis minimum);
            must lie within the axis.
        high: Upper end (default: the axis maximum); must lie within the axis.
        bin: Channels summed into one (``1``: crop only).
        remainder: What to do when the cropped channels are not a multiple of
            ``bin``: ``"error"`` (default, nothing is dropped silently) or
            ``"drop"`` (drop the last channels that do not fill a bin).

    Returns:
        ``(binned, binned_axis)``: spectra `(..., S')` with ``S' = n // bin``
        for the ``n`` cropped channels, and the mean axis value of each bin `(S',)`.

    Raises:
        DataError: Bad spectra or axis (see :func:`check_spectra`), a window
            outside the axis or holding no channel, ``bin < 1``, or a remainder
            with ``remainder="error"``.
        ConfigError: Unknown ``remainder``.

    Example:
        >>> spectra = np.arange(12.0).reshape(2, 6)
        >>> crop_and_bin(spectra, np.arange(6.0), low=1.0, high=4.0, bin=2)
        (array([[ 3.,  7.],
               [15., 19.]]), array([1.5, 3.5]))
    """
    if remainder not in ("error", "drop"):
        raise ConfigError(f"remainder must be 'error' or 'drop', got {remainder!r}")
    if isinstance(bin, bool) or int(bin) != bin or bin < 1:
        raise DataError(f"bin must be an integer >= 1 (channels summed into one), got {bin!r}")
    bin = int(bin)
    x = check_spectra(spectra)
    ax = _check_axis(axis, x.shape[-1])
    lo_ax, hi_ax = float(ax.min()), float(ax.max())
    low = lo_ax if low is None else float(low)
    high = hi_ax if high is None else float(high)
    if low > high:
        raise DataError(f"crop window needs low <= high, got low={low:g}, high={high:g}")
    if low < lo_ax or high > hi_ax:
        raise DataError(
            f"crop window [{low:g}, {high:g}] is outside the spectral axis "
            f"[{lo_ax:g}, {hi_ax:g}]; choose low and high within it"
        )
    keep = np.flatnonzero((ax >= low) & (ax <= high))
    if keep.size == 0:
        raise DataError(f"crop window [{low:g}, {high:g}] holds no channel of the axis")
    n_extra = keep.size % bin
    if n_extra:
        if remainder == "error":
            raise DataError(
                f"{keep.size} channels in [{low:g}, {high:g}] are not a multiple of bin={bin} "
                f"({n_extra} left over); move high to {ax[keep[-1 - n_extra]]:g} or pass "
                "remainder='drop'"
            )
        keep = keep[: keep.size - n_extra]
        if keep.size == 0:
            raise DataError(f"crop window [{low:g}, {high:g}] holds fewer channels than bin={bin}")
    n_out = keep.size // bin
    cropped = x[..., keep]
    binned = cropped.reshape(*x.shape[:-1], n_out, bin).sum(axis=-1)
    return binned, ax[keep].reshape(n_out, bin).mean(axis=1)
