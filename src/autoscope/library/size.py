"""How many particles a random library holds, and how many components it can span.

A random library is a TEM grid covered with particles whose radii have mean
``mu`` and standard deviation ``sd_fraction * mu``. A fraction ``coverage`` of
the usable part of a square grid of side ``grid_side_mm`` is covered, so the
covered area is ``A_c = coverage * usable_fraction * side**2`` and, since a
particle of random radius ``r`` covers ``pi * E[r**2] = pi * (mu**2 + sigma**2)``
on average, the expected number of particles is::

    E[N] = A_c / (pi * (mu**2 + sigma**2))

With about ``points_per_dimension`` (10) samples per compositional axis, a
``D``-component space needs ``E[N] >= points_per_dimension**D`` particles. With
the defaults: ``mu = 500 nm`` gives 1.56e6 particles (6 components), 150 nm
gives 1.73e7 (7) and 50 nm gives 1.56e8 (8).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from autoscope.errors import ConfigError, DataError

__all__ = ["expected_particle_count", "max_components", "plot_library_size"]

_NM_PER_MM = 1.0e6


def _check_options(
    sd_fraction: float, coverage: float, grid_side_mm: float, usable_fraction: float
) -> None:
    if not (math.isfinite(sd_fraction) and sd_fraction >= 0):
        raise ConfigError(f"sd_fraction must be finite and >= 0, got {sd_fraction}")
    if not 0 < coverage <= 1:
        raise ConfigError(f"coverage must be in (0, 1], got {coverage}")
    if not (math.isfinite(grid_side_mm) and grid_side_mm > 0):
        raise ConfigError(f"grid_side_mm must be finite and > 0, got {grid_side_mm}")
    if not 0 < usable_fraction <= 1:
        raise ConfigError(f"usable_fraction must be in (0, 1], got {usable_fraction}")


def _check_radii(mean_radius_nm: float | np.ndarray) -> np.ndarray:
    radii = np.asarray(mean_radius_nm, dtype=float)
    bad = ~(np.isfinite(radii) & (radii > 0))
    if np.any(bad):
        first = radii.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]]
        raise DataError(f"mean_radius_nm must be finite and > 0 (in nm), got {first}")
    return radii


def expected_particle_count(
    mean_radius_nm: float | np.ndarray,
    *,
    sd_fraction: float = 0.3,
    coverage: float = 0.5,
    grid_side_mm: float = 2.0,
    usable_fraction: float = 2.0 / 3.0,
) -> float | np.ndarray:
    """Expected number of particles on a grid, ``A_c / (pi (mu^2 + sigma^2))``.

    Args:
        mean_radius_nm: Mean particle radius ``mu`` in nm, a scalar or an
            array of any shape.
        sd_fraction: Radius standard deviation as a fraction of the mean.
        coverage: Fraction of the usable area covered by particles, in ``(0, 1]``.
        grid_side_mm: Side of the square grid in mm.
        usable_fraction: Fraction of the grid area that is usable, in ``(0, 1]``.

    Returns:
        The expected count: a float for a scalar radius, else an array of the
        radius array's shape.

    Raises:
        DataError: A radius is not finite and positive.
        ConfigError: An option is out of range.

    Example:
        >>> round(expected_particle_count(500.0) / 1e6, 2)
        1.56
    """
    _check_options(sd_fraction, coverage, grid_side_mm, usable_fraction)
    radii = _check_radii(mean_radius_nm)
    covered_nm2 = coverage * usable_fraction * (grid_side_mm * _NM_PER_MM) ** 2
    count = covered_nm2 / (math.pi * radii**2 * (1.0 + sd_fraction**2))
    return float(count) if count.ndim == 0 else count


def max_components(
    mean_radius_nm: float | np.ndarray,
    *,
    points_per_dimension: float = 10.0,
    **kwargs: float,
) -> int | np.ndarray:
    """Largest number of components ``D`` with ``E[N] >= points_per_dimension**D``.

    Args:
        mean_radius_nm: Mean particle radius in nm, a scalar or an array.
        points_per_dimension: Samples wanted along each compositional axis (> 1).
        **kwargs: Options of :func:`expected_particle_count`.

    Returns:
        ``D`` as an int for a scalar radius, else an int array of the radius
        array's shape (0 when the library cannot even span one axis).

    Raises:
        ConfigError: ``points_per_dimension <= 1`` or a bad option.
        DataError: A radius is not finite and positive.

    Example:
        >>> max_components(150.0)
        7
    """
    if not (math.isfinite(points_per_dimension) and points_per_dimension > 1):
        raise ConfigError(f"points_per_dimension must be > 1, got {points_per_dimension}")
    count = np.asarray(expected_particle_count(mean_radius_nm, **kwargs))
    # A relative slack of 1e-12 keeps an exact power (e.g. E[N] = 1e6) from
    # losing a component to rounding in the logarithm.
    dims = np.floor(np.log(count) / math.log(points_per_dimension) + 1e-12)
    dims = np.maximum(dims, 0).astype(int)
    return int(dims) if dims.ndim == 0 else dims


def plot_library_size(
    radii_nm: np.ndarray | None = None,
    *,
    max_components: int = 9,
    points_per_dimension: float = 10.0,
    ax: Axes | None = None,
    **kwargs: float,
) -> Figure:
    """Draw ``E[N]`` against the mean radius with the ``10^D`` thresholds.

    Both axes are logarithmic; a dashed horizontal line at
    ``points_per_dimension**D`` is labelled ``"D = …"`` for each
    ``D = 1 … max_components``.

    Args:
        radii_nm: `(R,)` mean radii in nm; default 200 log-spaced radii from 5 nm
            to 2 µm.
        max_components: Highest ``D`` whose threshold line is drawn (>= 1).
        points_per_dimension: Base of the thresholds.
        ax: Axes to draw on; default a new :class:`~matplotlib.figure.Figure`
            (Agg canvas, no pyplot state).
        **kwargs: Options of :func:`expected_particle_count`.

    Returns:
        The figure holding the axes.

    Raises:
        ConfigError: ``max_components < 1`` or a bad option.
        DataError: A radius is not finite and positive.

    Example:
        >>> fig = plot_library_size()
        >>> fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
        ('log', 'log')
    """
    if int(max_components) != max_components or max_components < 1:
        raise ConfigError(f"max_components must be an integer >= 1, got {max_components}")
    radii = np.geomspace(5.0, 2000.0, 200) if radii_nm is None else np.asarray(radii_nm, float)
    if radii.ndim != 1 or radii.size == 0:
        raise DataError(f"radii_nm must be a non-empty 1-D array, got shape {radii.shape}")
    counts = np.asarray(expected_particle_count(radii, **kwargs))
    if ax is None:
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    ax.plot(radii, counts, color="C0", label="expected particles")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for dim in range(1, int(max_components) + 1):
        level = points_per_dimension**dim
        ax.axhline(level, color="0.5", linestyle="--", linewidth=0.8)
        ax.text(radii.max(), level, f"D = {dim}", ha="right", va="bottom", fontsize=8)
    ax.set_xlabel("mean particle radius (nm)")
    ax.set_ylabel("expected number of particles")
    ax.set_title("Random library size")
    return fig
