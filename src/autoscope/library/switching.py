"""Stay in the current region or switch to a new one.

Staying is worth ``V_stay = R * G``: the remaining opportunity
``R = 1 - n_measured / n_total`` times the best acquisition value ``G`` among
the region's unmeasured particles (:func:`stay_value`). Switching is worth the
expected best acquisition in an unseen region,

    E_gain = E[max_k a~(c_k)],  N ~ Poisson(rho * A),  c_k ~ prior,

estimated by Monte Carlo (:func:`expected_gain`), where ``rho`` is the particle
density learnt so far (:func:`density_estimate`) and ``a~`` is the acquisition
optionally boosted for novelty (:func:`novelty_acquisition`). A region without
particles contributes zero. The switch pays off when
``E_gain - C_switch > 0`` with ``C_switch = t_switch * V_stay / t_meas``
(:func:`should_switch`, :meth:`~autoscope.library.costs.MotionCost.switch_cost`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from autoscope.errors import ConfigError, DataError
from autoscope.library.simplex import _rng

__all__ = [
    "GainEstimate",
    "density_estimate",
    "expected_gain",
    "novelty_acquisition",
    "should_switch",
    "stay_value",
]

AcquisitionFn = Callable[[np.ndarray], np.ndarray]
PriorSampler = Callable[[int, np.random.Generator], np.ndarray]


def stay_value(n_measured: int, n_total: int, best_acquisition: float | None) -> float:
    """Value of staying in the current region, ``V_stay = R * G``.

    Args:
        n_measured: Particles of the region already measured.
        n_total: Particles found in the region.
        best_acquisition: ``G``, the best acquisition value among the region's
            unmeasured particles; ``None`` when none is left.

    Returns:
        ``(1 - n_measured / n_total) * G``; 0 when every particle is measured.

    Raises:
        DataError: ``n_total`` is zero (zero particles in a region: switch
            without asking), counts are negative or ``n_measured > n_total``,
            ``best_acquisition`` is not finite, or it is ``None`` while
            unmeasured particles remain.

    Example:
        >>> stay_value(3, 12, 0.4)
        0.30000000000000004
    """
    if n_total == 0:
        raise DataError(
            "zero particles in a region: V_stay is undefined; switch region instead of staying"
        )
    if n_measured < 0 or n_total < 0 or n_measured > n_total:
        raise DataError(
            f"need 0 <= n_measured <= n_total, got n_measured={n_measured}, n_total={n_total}"
        )
    if n_measured == n_total:
        return 0.0
    if best_acquisition is None:
        raise DataError(
            f"{n_total - n_measured} particles are unmeasured but best_acquisition is None"
        )
    if not math.isfinite(best_acquisition):
        raise DataError(f"best_acquisition must be finite, got {best_acquisition}")
    return (1.0 - n_measured / n_total) * float(best_acquisition)


def novelty_acquisition(
    acquisition: np.ndarray,
    compositions: np.ndarray,
    seen: np.ndarray | None,
    *,
    weight: float = 0.0,
    length: float = 0.1,
) -> np.ndarray:
    """Boost acquisition values of compositions far from what was measured.

    ``a~(c) = a(c) * (1 + weight * (1 - exp(-d(c) / length)))`` with ``d(c)``
    the Euclidean distance from ``c`` to the nearest seen composition
    (infinite when nothing was seen, so the factor is ``1 + weight``).

    Args:
        acquisition: `(M,)` acquisition values ``a(c)``.
        compositions: `(M, D)` compositions the values belong to.
        seen: `(K, D)` compositions already measured; ``None`` or `(0, D)` for none.
        weight: ``lambda_nov >= 0``; 0 returns the values unchanged.
        length: ``d_0 > 0``, distance over which the boost saturates.

    Returns:
        `(M,)` boosted values (a new array).

    Raises:
        ConfigError: ``weight < 0`` or ``length <= 0``.
        DataError: Shapes disagree or a value is not finite.

    Example:
        >>> novelty_acquisition(np.array([1.0]), np.array([[0.5, 0.5]]), None, weight=0.5)
        array([1.5])
    """
    if not (math.isfinite(weight) and weight >= 0):
        raise ConfigError(f"novelty weight must be finite and >= 0, got {weight}")
    if not (math.isfinite(length) and length > 0):
        raise ConfigError(f"novelty length must be finite and > 0, got {length}")
    a = np.asarray(acquisition, dtype=np.float64)
    c = np.asarray(compositions, dtype=np.float64)
    if a.ndim != 1 or c.ndim != 2 or c.shape[0] != a.shape[0]:
        raise DataError(
            f"acquisition must be (M,) and compositions (M, D); got {a.shape} and {c.shape}"
        )
    if not np.isfinite(c).all():
        raise DataError("compositions hold a non-finite value")
    if weight == 0:
        return a.copy()
    if seen is None or len(seen) == 0:
        return a * (1.0 + weight)
    s = np.asarray(seen, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != c.shape[1]:
        raise DataError(f"seen must be (K, {c.shape[1]}), got shape {s.shape}")
    if not np.isfinite(s).all():
        raise DataError("seen compositions hold a non-finite value")
    distance, _ = cKDTree(s).query(c, k=1)
    return a * (1.0 + weight * -np.expm1(-distance / length))


@dataclass(frozen=True)
class GainEstimate:
    """Monte Carlo estimate of the expected switch gain.

    Attributes:
        mean: ``E_gain``, the mean of the per-region best values.
        stderr: Standard error of ``mean``.
        n_samples: Number of simulated regions.
    """

    mean: float
    stderr: float
    n_samples: int


def expected_gain(
    acquisition_fn: AcquisitionFn,
    *,
    density_per_um2: float,
    region_area_um2: float,
    prior_sampler: PriorSampler,
    rng: np.random.Generator | int,
    n_samples: int = 256,
    novelty_weight: float = 0.0,
    novelty_length: float = 0.1,
    seen: np.ndarray | None = None,
    max_batch: int = 200_000,
) -> GainEstimate:
    """Expected best acquisition value in an unseen region, by Monte Carlo.

    Each of ``n_samples`` simulated regions holds ``N ~ Poisson(rho * A)``
    particles with compositions from ``prior_sampler``; its value is the
    largest (novelty-boosted) acquisition among them, or 0 when it is empty.
    All compositions are drawn at once and scored in calls of at most
    ``max_batch`` particles (whole regions per call).

    Args:
        acquisition_fn: Maps `(n, D)` compositions to `(n,)` acquisition values.
        density_per_um2: ``rho``, particles per µm² (>= 0).
        region_area_um2: ``A``, area of the new region in µm² (> 0).
        prior_sampler: ``prior_sampler(n, rng)`` draws `(n, D)` compositions.
        rng: A numpy Generator or an int seed.
        n_samples: Simulated regions (>= 2).
        novelty_weight: ``lambda_nov`` of :func:`novelty_acquisition`.
        novelty_length: ``d_0`` of :func:`novelty_acquisition`.
        seen: `(K, D)` compositions already measured, for the novelty boost.
        max_batch: Most particles per ``acquisition_fn`` call (>= 1).

    Returns:
        The mean, its standard error and the number of samples.

    Raises:
        ConfigError: An option is out of range.
        DataError: ``prior_sampler`` or ``acquisition_fn`` returns the wrong shape
            or a non-finite value.

    Example:
        >>> gain = expected_gain(lambda c: c[:, 0], density_per_um2=0.01,
        ...                      region_area_um2=100.0, rng=0,
        ...                      prior_sampler=lambda n, g: g.dirichlet([1, 1], n))
        >>> 0.4 < gain.mean < 0.8
        True
    """
    if not (math.isfinite(density_per_um2) and density_per_um2 >= 0):
        raise ConfigError(f"density_per_um2 must be finite and >= 0, got {density_per_um2}")
    if not (math.isfinite(region_area_um2) and region_area_um2 > 0):
        raise ConfigError(f"region_area_um2 must be finite and > 0, got {region_area_um2}")
    if int(n_samples) != n_samples or n_samples < 2:
        raise ConfigError(f"n_samples must be an integer >= 2, got {n_samples}")
    if int(max_batch) != max_batch or max_batch < 1:
        raise ConfigError(f"max_batch must be an integer >= 1, got {max_batch}")
    gen = _rng(rng)
    counts = gen.poisson(density_per_um2 * region_area_um2, size=int(n_samples))
    total = int(counts.sum())
    gains = np.zeros(int(n_samples))
    if total > 0:
        comps = np.asarray(prior_sampler(total, gen), dtype=np.float64)
        if comps.ndim != 2 or comps.shape[0] != total:
            raise DataError(
                f"prior_sampler({total}, rng) must return ({total}, D) compositions, "
                f"got shape {comps.shape}"
            )
        values = np.empty(total)
        ends = np.cumsum(counts)
        start = 0
        while start < total:
            # Whole regions per call: those ending within max_batch of start, or
            # the next region alone when it is larger than max_batch.
            within = int(np.searchsorted(ends, start + int(max_batch), side="right"))
            following = int(np.searchsorted(ends, start, side="right"))
            stop = int(ends[max(within - 1, following)])
            scored = np.asarray(acquisition_fn(comps[start:stop]), dtype=np.float64)
            if scored.shape != (stop - start,):
                raise DataError(
                    f"acquisition_fn must return ({stop - start},) values for "
                    f"({stop - start}, D) compositions, got shape {scored.shape}"
                )
            values[start:stop] = scored
            start = stop
        if not np.isfinite(values).all():
            raise DataError("acquisition_fn returned a non-finite value")
        values = novelty_acquisition(
            values, comps, seen, weight=novelty_weight, length=novelty_length
        )
        filled = counts > 0
        gains[filled] = np.maximum.reduceat(values, (ends - counts)[filled])
    mean = float(gains.mean())
    stderr = float(gains.std(ddof=1) / math.sqrt(len(gains)))
    return GainEstimate(mean=mean, stderr=stderr, n_samples=int(n_samples))


def density_estimate(n_particles_seen: int, area_seen_um2: float) -> float:
    """Particle density ``rho`` from the regions explored so far.

    Args:
        n_particles_seen: Particles found (>= 0).
        area_seen_um2: Area they were found in, µm² (> 0).

    Returns:
        Particles per µm².

    Raises:
        DataError: A negative count or an area that is not finite and positive.

    Example:
        >>> density_estimate(45, 900.0)
        0.05
    """
    if n_particles_seen < 0:
        raise DataError(f"n_particles_seen must be >= 0, got {n_particles_seen}")
    if not (math.isfinite(area_seen_um2) and area_seen_um2 > 0):
        raise DataError(
            f"area_seen_um2 must be finite and > 0 (explore a region first), got {area_seen_um2}"
        )
    return n_particles_seen / area_seen_um2


def should_switch(
    gain: float | GainEstimate, stay_value: float, t_switch: float, t_meas: float
) -> bool:
    """Whether switching region pays: ``E_gain - t_switch * V_stay / t_meas > 0``.

    Args:
        gain: ``E_gain`` (or the :class:`GainEstimate` whose mean it is).
        stay_value: ``V_stay`` of the current region.
        t_switch: Seconds a switch takes (> 0).
        t_meas: Seconds one measurement takes (> 0).

    Returns:
        True to switch, False to stay.

    Raises:
        ConfigError: A time is not finite and positive.
        DataError: ``gain`` or ``stay_value`` is not finite.

    Example:
        >>> should_switch(1.0, 0.05, 18.0, 1.0)  # C_switch = 0.9
        True
    """
    value = gain.mean if isinstance(gain, GainEstimate) else float(gain)
    for name, t in (("t_switch", t_switch), ("t_meas", t_meas)):
        if not (math.isfinite(t) and t > 0):
            raise ConfigError(f"{name} must be finite and > 0 seconds, got {t}")
    if not (math.isfinite(value) and math.isfinite(stay_value)):
        raise DataError(f"gain and stay_value must be finite, got {value} and {stay_value}")
    return value - t_switch * stay_value / t_meas > 0
