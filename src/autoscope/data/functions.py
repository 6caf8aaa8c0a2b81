r"""Synthetic test functions as twins, for checks with a known answer.

A function twin places ``n`` quasi-random (Sobol) input points on a square
grid: the structure channels hold the inputs scaled to [0, 1] (one channel
per input dimension), and the single-channel "spectrum" at each grid point is
the function value there. A pool cut with ``window=1`` over all channels
therefore has the ``d``-dimensional inputs as features, and the
``channel-value`` scalarizer returns the function value.

Ackley (the benchmark of the original BEACON paper), on the standard domain
``[-32.768, 32.768]^d``:

``f(x) = -a exp(-b sqrt(mean(x_i^2))) - exp(mean(cos(c x_i))) + a + e``,
with ``a = 20``, ``b = 0.2``, ``c = 2π``; ``f ≥ 0`` with ``f(0) = 0``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import ConfigError

__all__ = ["ACKLEY_BOUND", "ackley", "ackley_twin"]

ACKLEY_BOUND = 32.768


def ackley(x: np.ndarray, *, a: float = 20.0, b: float = 0.2, c: float = 2 * math.pi) -> np.ndarray:
    """Ackley function of inputs `(N, d)`; returns `(N,)`.

    Example:
        >>> float(ackley(np.zeros((1, 4)))[0]) < 1e-12
        True
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    radial = -a * np.exp(-b * np.sqrt(np.mean(x**2, axis=1)))
    periodic = -np.exp(np.mean(np.cos(c * x), axis=1))
    return radial + periodic + a + math.e


def ackley_twin(*, size: int = 64, dim: int = 4, seed: int = 0) -> SpectralImage:
    """Ackley over a scrambled Sobol pool of ``size**2`` points in ``d`` dimensions.

    Args:
        size: Grid side; the pool has ``size**2`` candidates (64 -> 4 096).
        dim: Input dimension ``d``.
        seed: Scrambling seed of the Sobol sequence.

    Returns:
        A twin with structure `(d, s, s)` (inputs scaled to [0, 1]), spectra
        `(s, s, 1)` (the Ackley value) and ground truth ``"ackley"``.

    Example:
        >>> ackley_twin(size=8, dim=2).structure.shape
        (2, 8, 8)
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ConfigError(f"ackley twin: size must be an integer >= 8, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"ackley twin: seed must be a non-negative integer, got {seed!r}")
    side, n_points = size, size * size
    if dim < 1:
        raise ConfigError(f"ackley twin: dim must be >= 1, got {dim}")
    unit = qmc.Sobol(d=dim, scramble=True, seed=seed).random(n_points)
    x = (2 * unit - 1) * ACKLEY_BOUND
    value = ackley(x).reshape(side, side)
    return SpectralImage(
        np.moveaxis(unit.reshape(side, side, dim), -1, 0),
        spectra=value[..., None],
        spectral_axis=np.zeros(1),
        spectral_units="",
        name="twin:ackley",
        signal_name="Ackley f(x)",
        channel_names=tuple(f"x{i}" for i in range(dim)),
        provenance={
            "twin": "ackley",
            "size": size,
            "dim": dim,
            "seed": seed,
            "domain": [-ACKLEY_BOUND, ACKLEY_BOUND],
        },
        ground_truth={"ackley": value},
    )
