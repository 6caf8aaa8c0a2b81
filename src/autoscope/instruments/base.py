"""The instrument protocol and its public conformance check.

An instrument shows the structure of a sample for free (:meth:`overview`) and
reveals spectra point by point at a cost (:meth:`measure`). Anything with
these methods is an instrument: the replay twin, simulated worlds, the
particle-library simulator or a network client. :func:`check_instrument`
states the contract as code, in the spirit of Gymnasium's ``check_env`` and
scikit-learn's ``check_estimator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import InstrumentError

__all__ = ["Cost", "Instrument", "Measurement", "check_instrument"]


@dataclass(frozen=True)
class Cost:
    """What a measurement costs.

    Attributes:
        seconds: Instrument time in seconds.
        dose: Electron dose (e/Å², or the instrument's own unit in ``describe()``).
    """

    seconds: float = 0.0
    dose: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.seconds + other.seconds, self.dose + other.dose)


@dataclass(frozen=True)
class Measurement:
    """Spectra returned by :meth:`Instrument.measure`.

    Attributes:
        spectra: One spectrum per requested point, `(k, S)`.
        seconds: Time charged per point, `(k,)`.
        dose: Dose charged per point, `(k,)`.
        info: Optional JSON-serialisable record per point (e.g. the stage move
            that preceded it); the campaign stores it with the measurement.
    """

    spectra: np.ndarray
    seconds: np.ndarray
    dose: np.ndarray
    info: tuple[dict[str, Any], ...] = ()

    @property
    def total_cost(self) -> Cost:
        """Summed cost of all points."""
        return Cost(float(np.sum(self.seconds)), float(np.sum(self.dose)))


@runtime_checkable
class Instrument(Protocol):
    """What autoscope needs from a microscope or its digital twin.

    Points are integer `(row, col)` positions on the instrument's spectrum
    grid (``overview().spectrum_grid_shape``).
    """

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description: name, grid, spectral axis, units, cost model."""
        ...

    def overview(self) -> SpectralImage:
        """The structure image (no spectra, no ground truth), free of cost."""
        ...

    def expected_cost(self, points: np.ndarray) -> Cost:
        """Worst-case cost of one attempt to measure ``points`` `(k, 2)`."""
        ...

    def measure(self, points: np.ndarray) -> Measurement:
        """Measure the spectra at ``points`` `(k, 2)`.

        Raises:
            InstrumentError: The instrument failed; nothing was measured.
        """
        ...


def check_instrument(
    instrument: Any, *, n_points: int = 2, points: np.ndarray | None = None
) -> None:
    """Check that ``instrument`` obeys the :class:`Instrument` contract.

    Measures ``n_points`` points of the instrument (a real instrument spends
    their cost). Raises ``AssertionError`` naming the first broken rule.

    Args:
        instrument: The object to check.
        n_points: Number of random grid points to measure.
        points: Points `(k, 2)` to measure instead of random ones, for
            instruments where only some grid points are measurable (the
            particles of a library).

    Example:
        >>> from autoscope.data.twins import ferroelectric_film
        >>> from autoscope.instruments.replay import ReplayInstrument
        >>> check_instrument(ReplayInstrument(ferroelectric_film(size=24, seed=0)))
    """
    name = type(instrument).__name__
    assert isinstance(instrument, Instrument), (
        f"{name} lacks a method of the Instrument protocol "
        "(describe, overview, expected_cost, measure)"
    )
    description = instrument.describe()
    assert isinstance(description, dict), f"{name}.describe() must return a dict"
    for key in ("name", "grid_shape", "n_channels"):
        assert key in description, f"{name}.describe() lacks the key {key!r}"
    overview = instrument.overview()
    assert isinstance(overview, SpectralImage), f"{name}.overview() must return a SpectralImage"
    assert overview.spectra is None, f"{name}.overview() must not reveal spectra"
    assert not overview.ground_truth, f"{name}.overview() must not reveal ground truth"
    grid = tuple(description["grid_shape"])
    assert overview.spectrum_grid_shape == grid, (
        f"{name}: overview grid {overview.spectrum_grid_shape} differs from describe() {grid}"
    )
    if points is None:
        rng = np.random.default_rng(0)
        points = np.stack(
            [rng.integers(0, grid[0], n_points), rng.integers(0, grid[1], n_points)], axis=1
        )
    points = np.asarray(points, dtype=np.int64)
    n_points = len(points)
    expected = instrument.expected_cost(points)
    assert isinstance(expected, Cost), f"{name}.expected_cost() must return a Cost"
    result = instrument.measure(points)
    assert isinstance(result, Measurement), f"{name}.measure() must return a Measurement"
    n_channels = int(description["n_channels"])
    assert result.spectra.shape == (n_points, n_channels), (
        f"{name}.measure() returned spectra of shape {result.spectra.shape}, "
        f"expected {(n_points, n_channels)}"
    )
    assert result.seconds.shape == (n_points,) and result.dose.shape == (n_points,), (
        f"{name}.measure() must charge a cost per point"
    )
    assert not result.info or len(result.info) == n_points, (
        f"{name}.measure() must return one info record per point or none"
    )
    assert np.all(result.seconds >= 0) and np.all(result.dose >= 0), f"{name}: negative cost"
    total = result.total_cost
    assert total.seconds <= expected.seconds + 1e-9 and total.dose <= expected.dose + 1e-9, (
        f"{name}: measure() charged {total}, more than expected_cost() {expected}"
    )
    for bad in (np.array([[-1, 0]]), np.array([[grid[0], 0]]), np.array([[0, grid[1]]])):
        try:
            instrument.measure(bad)
        except (InstrumentError, ValueError):
            continue
        raise AssertionError(f"{name}.measure({bad.tolist()}) outside the grid did not raise")
    move = getattr(instrument, "move_stage", None)
    assert move is None or callable(move), f"{name}.move_stage must be callable"
