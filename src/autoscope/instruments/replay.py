"""A replay instrument: a digital twin over any :class:`SpectralImage`.

It shows the structure image for free and reveals a spectrum only when it is
measured, charging a configurable cost in seconds and dose. It can add
measurement noise and inject faults (timeouts, exceptions, NaN spectra) so
that campaigns can be tested against the failures of a real microscope.

Noise and faults are drawn from a generator keyed on ``(seed, row, col, n)``
where ``n`` counts earlier requests of that point, so they do not depend on the
order of other measurements. A resumed run tells the instrument which requests
an earlier session already made with :meth:`ReplayInstrument.replay_requests`
and then continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError, InstrumentError, InstrumentTimeout
from autoscope.instruments.base import Cost, Measurement

__all__ = ["FaultInjection", "ReplayInstrument"]


@dataclass(frozen=True)
class FaultInjection:
    """Probabilities of each fault per measurement attempt.

    Attributes:
        timeout: Probability that an attempt times out (raises
            :class:`~autoscope.errors.InstrumentTimeout` after ``timeout_seconds``).
        error: Probability that an attempt raises :class:`~autoscope.errors.InstrumentError`.
        nan: Probability that an attempt returns a spectrum full of NaN.
        timeout_seconds: Instrument time lost by a timed-out attempt.
    """

    timeout: float = 0.0
    error: float = 0.0
    nan: float = 0.0
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in ("timeout", "error", "nan"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise DataError(f"fault probability {name!r} must lie in [0, 1], got {p}")
        if self.timeout + self.error + self.nan > 1.0:
            raise DataError("fault probabilities must sum to at most 1")
        if self.timeout_seconds < 0:
            raise DataError(f"timeout_seconds must be >= 0, got {self.timeout_seconds}")

    @property
    def any(self) -> bool:
        """Whether any fault can happen."""
        return self.timeout + self.error + self.nan > 0


class ReplayInstrument:
    """Reveal the spectra of a :class:`SpectralImage` one point at a time.

    Args:
        image: The dataset to replay; must hold spectra.
        seconds_per_point: Instrument time charged per measured point.
        dose_per_point: Electron dose charged per measured point.
        noise_std: Standard deviation of added Gaussian noise, in spectrum units.
        poisson: Resample each spectrum as Poisson counts (for count data).
        faults: Fault probabilities; none by default.
        latency: Wall-clock seconds each ``measure`` call sleeps, to emulate a
            real instrument's pace in demonstrations and crash tests (the
            charged ``seconds_per_point`` is independent of it).
        seed: Seed of noise and faults.

    Example:
        >>> from autoscope.data.twins import ferroelectric_film
        >>> twin = ferroelectric_film(size=24, seed=0)
        >>> instrument = ReplayInstrument(twin, seconds_per_point=3.0)
        >>> instrument.measure(np.array([[2, 3]])).seconds.tolist()
        [3.0]
    """

    def __init__(
        self,
        image: SpectralImage,
        *,
        seconds_per_point: float = 1.0,
        dose_per_point: float = 0.0,
        noise_std: float = 0.0,
        poisson: bool = False,
        faults: FaultInjection | None = None,
        latency: float = 0.0,
        seed: int = 0,
    ) -> None:
        if image.spectra is None:
            raise DataError(f"ReplayInstrument needs spectra; {image.name!r} has none")
        for name, value in (
            ("seconds_per_point", seconds_per_point),
            ("dose_per_point", dose_per_point),
            ("noise_std", noise_std),
            ("latency", latency),
        ):
            if not (np.isfinite(value) and value >= 0):
                raise DataError(f"ReplayInstrument: {name} must be finite and >= 0, got {value}")
        if poisson and np.any(image.spectra < 0):
            raise DataError(
                f"poisson=True needs non-negative spectra; {image.name!r} has negatives"
            )
        self.image = image
        self.seconds_per_point = float(seconds_per_point)
        self.dose_per_point = float(dose_per_point)
        self.noise_std = float(noise_std)
        self.poisson = bool(poisson)
        self.faults = faults or FaultInjection()
        self.latency = float(latency)
        self.seed = int(seed)
        self._requests: Counter[tuple[int, int]] = Counter()

    def describe(self) -> dict[str, Any]:
        """Name, grid, spectral axis, cost model, noise and faults."""
        return {
            "name": f"replay:{self.image.name}",
            "grid_shape": list(self.image.spectrum_grid_shape),
            "n_channels": self.image.n_channels,
            "spectral_units": self.image.spectral_units,
            "signal_name": self.image.signal_name,
            "seconds_per_point": self.seconds_per_point,
            "dose_per_point": self.dose_per_point,
            "noise_std": self.noise_std,
            "poisson": self.poisson,
            "faults": vars(self.faults),
            "seed": self.seed,
        }

    def overview(self) -> SpectralImage:
        """The structure image with spectra and ground truth hidden."""
        return replace(self.image, spectra=None, ground_truth={})

    def _attempt_seconds(self) -> float:
        if self.faults.timeout > 0:
            return max(self.seconds_per_point, self.faults.timeout_seconds)
        return self.seconds_per_point

    def expected_cost(self, points: np.ndarray) -> Cost:
        """Worst-case cost of one attempt at ``points`` `(k, 2)`."""
        k = len(np.atleast_2d(points))
        return Cost(self._attempt_seconds() * k, self.dose_per_point * k)

    def _validate(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 2 or not np.issubdtype(points.dtype, np.integer):
            raise DataError(
                f"points must be an integer array (k, 2), got {points.dtype} {points.shape}"
            )
        h, w = self.image.spectrum_grid_shape
        outside = (
            (points[:, 0] < 0) | (points[:, 0] >= h) | (points[:, 1] < 0) | (points[:, 1] >= w)
        )
        if outside.any():
            raise DataError(
                f"point {points[np.argmax(outside)].tolist()} lies outside the grid {(h, w)} "
                f"of {self.image.name!r}"
            )
        return points

    def _rng(self, row: int, col: int) -> np.random.Generator:
        n = self._requests[(row, col)]
        return np.random.default_rng([self.seed, row, col, n])

    def replay_requests(self, points: Iterable[tuple[int, int]]) -> None:
        """Count requests made by an earlier session of a resumed run."""
        for row, col in points:
            self._requests[(int(row), int(col))] += 1

    def measure(self, points: np.ndarray) -> Measurement:
        """Return the (noisy) spectra at ``points`` `(k, 2)`.

        Raises:
            InstrumentTimeout: An injected timeout; ``err.seconds`` holds the time lost.
            InstrumentError: An injected failure; ``err.seconds`` holds the time charged.
        """
        points = self._validate(points)
        assert self.image.spectra is not None
        if self.latency > 0:
            time.sleep(self.latency)
        spectra = self.image.spectra[points[:, 0], points[:, 1]].copy()
        rngs = [self._rng(int(r), int(c)) for r, c in points]
        for r, c in points:
            self._requests[(int(r), int(c))] += 1
        for i, rng in enumerate(rngs):
            u = rng.random()
            f = self.faults
            if u < f.timeout:
                raise InstrumentTimeout(
                    f"{self.image.name}: no answer at point {points[i].tolist()}",
                    seconds=f.timeout_seconds * len(points),
                    dose=self.dose_per_point * len(points),
                )
            if u < f.timeout + f.error:
                raise InstrumentError(
                    f"{self.image.name}: acquisition failed at {points[i].tolist()}",
                    seconds=self.seconds_per_point * len(points),
                )
            if self.poisson:
                spectra[i] = rng.poisson(spectra[i])
            if self.noise_std > 0:
                spectra[i] = spectra[i] + rng.normal(0.0, self.noise_std, size=spectra.shape[1])
            if u < f.timeout + f.error + f.nan:
                spectra[i] = np.nan
        k = len(points)
        return Measurement(
            spectra=spectra,
            seconds=np.full(k, self.seconds_per_point),
            dose=np.full(k, self.dose_per_point),
        )
