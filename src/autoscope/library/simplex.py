"""Compositions on the ``D``-component simplex and their EDX estimates.

A composition is a row of ``D >= 2`` non-negative fractions summing to one.
Only ``D - 1`` of them are free: :func:`free_coordinates` drops the last one,
which is what a Gaussian process over composition space sees.

EDX reads every fraction with an error. The least certain fraction is not
trusted; it is re-estimated from the simplex constraint
``c_k = 1 - sum_{i != k} c_i`` and its uncertainty becomes
``sigma_k = sqrt(sum_{i != k} sigma_i**2)``, the particle's compositional
uncertainty (:func:`reestimate_least_certain`). :func:`observe_compositions`
simulates that read-out for a library whose EDX noise falls with particle size
(:func:`edx_sigma`).

Clipping policy (never silent): when a fraction of an estimate comes out
negative (the re-estimated one, or a noisy measured one), every negative
fraction of that row is set to zero and the row is divided by its new sum so it
sums to one again; :attr:`SimplexEstimate.negative` flags the row. The
uncertainties are left as computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscope.errors import ConfigError, DataError

__all__ = [
    "SimplexEstimate",
    "check_compositions",
    "edx_sigma",
    "free_coordinates",
    "observe_compositions",
    "reestimate_least_certain",
    "sample_simplex",
]


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}")


def check_compositions(c: np.ndarray, *, atol: float = 1e-6) -> np.ndarray:
    """Check that every row of ``c`` is a composition on the simplex.

    Args:
        c: `(N, D)` fractions, ``D >= 2``.
        atol: Tolerance on negativity and on the row sums.

    Returns:
        `(N, D)` the fractions as float64 (not clipped or renormalised).

    Raises:
        DataError: ``c`` is not 2-D with ``D >= 2``, holds a non-finite value,
            a fraction below ``-atol`` or a row whose sum differs from one by
            more than ``atol``; the message names the first bad row.

    Example:
        >>> check_compositions([[0.2, 0.8], [0.5, 0.5]]).shape
        (2, 2)
    """
    arr = np.asarray(c, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise DataError(
            f"compositions must be an (N, D) array with D >= 2 components, got shape {arr.shape}"
        )
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise DataError(f"composition row {row} holds a non-finite value: {arr[row].tolist()}")
    negative = (arr < -atol).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise DataError(
            f"composition row {row} has a negative fraction {arr[row].min():.3g}; "
            f"fractions must be >= 0 (tolerance {atol})"
        )
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0) > atol
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise DataError(
            f"composition row {row} sums to {sums[row]:.6g}, not 1 (tolerance {atol}); "
            "divide each row by its sum"
        )
    return arr


def sample_simplex(n: int, n_components: int, rng: np.random.Generator | int) -> np.ndarray:
    """Draw compositions uniformly on the simplex (Dirichlet(1, …, 1)).

    Args:
        n: Number of compositions (>= 0).
        n_components: ``D >= 2``.
        rng: A numpy Generator or an int seed.

    Returns:
        `(n, D)` float64 compositions.

    Raises:
        ConfigError: ``n < 0``, ``n_components < 2`` or a bad ``rng``.

    Example:
        >>> sample_simplex(4, 3, 0).sum(axis=1)
        array([1., 1., 1., 1.])
    """
    if int(n) != n or n < 0:
        raise ConfigError(f"n must be an integer >= 0, got {n}")
    if int(n_components) != n_components or n_components < 2:
        raise ConfigError(f"n_components must be an integer >= 2, got {n_components}")
    return _rng(rng).dirichlet(np.ones(int(n_components)), size=int(n))


def free_coordinates(c: np.ndarray) -> np.ndarray:
    """The ``D - 1`` free coordinates of compositions (the last one is dropped).

    Args:
        c: `(N, D)` compositions.

    Returns:
        `(N, D-1)` the first ``D - 1`` fractions.

    Raises:
        DataError: ``c`` is not a valid composition array.

    Example:
        >>> free_coordinates([[0.2, 0.3, 0.5]])
        array([[0.2, 0.3]])
    """
    return check_compositions(c)[:, :-1].copy()


@dataclass(frozen=True)
class SimplexEstimate:
    """Compositions estimated under the simplex constraint.

    Attributes:
        fractions: `(N, D)` estimated compositions; each row sums to one.
        sigmas: `(N, D)` per-component uncertainties; column ``index[n]`` of
            row ``n`` holds the re-estimated ``sigma_k``.
        index: `(N,)` int, the re-estimated (least certain) component ``k``.
        uncertainty: `(N,)` ``sigma_k``, the particle's compositional uncertainty.
        negative: `(N,)` bool, True where a fraction came out negative and the
            row was clipped to zero and renormalised.

    Example:
        >>> est = reestimate_least_certain([0.5, 0.3, np.nan], [0.02, 0.03, 0.2])
        >>> est.fractions.round(3).tolist(), round(float(est.uncertainty[0]), 4)
        ([[0.5, 0.3, 0.2]], 0.0361)
    """

    fractions: np.ndarray
    sigmas: np.ndarray
    index: np.ndarray
    uncertainty: np.ndarray
    negative: np.ndarray


def reestimate_least_certain(fractions: np.ndarray, sigmas: np.ndarray) -> SimplexEstimate:
    """Re-estimate each row's least certain fraction from the simplex constraint.

    For each row the component ``k = argmax_i sigma_i`` is replaced by
    ``c_k = 1 - sum_{i != k} c_i`` with ``sigma_k = sqrt(sum_{i != k} sigma_i^2)``.
    Ties in ``sigma`` go to the *last* tied component, so with equal
    uncertainties the derived fraction is the last one, the same component
    :func:`free_coordinates` drops. A negative fraction (derived or measured)
    is clipped to zero and the row renormalised; the row is flagged in
    :attr:`SimplexEstimate.negative` (see the module docstring).

    Args:
        fractions: `(N, D)` or `(D,)` measured fractions; the least certain one
            may be NaN (unknown), all others must be finite.
        sigmas: Same shape, finite non-negative uncertainties.

    Returns:
        The estimate; a `(D,)` input gives `(1, D)` arrays.

    Raises:
        DataError: Shapes differ, ``D < 2``, a sigma is negative or not finite,
            or a fraction other than the least certain one is not finite.

    Example:
        >>> est = reestimate_least_certain([[0.5, 0.3, np.nan]], [[0.02, 0.03, 0.2]])
        >>> round(float(est.fractions[0, 2]), 12), int(est.index[0])
        (0.2, 2)
    """
    c = np.atleast_2d(np.asarray(fractions, dtype=np.float64)).copy()
    s = np.atleast_2d(np.asarray(sigmas, dtype=np.float64)).copy()
    if c.ndim != 2 or c.shape[1] < 2:
        raise DataError(
            f"fractions must be (N, D) or (D,) with D >= 2 components, got shape {c.shape}"
        )
    if s.shape != c.shape:
        raise DataError(f"sigmas must have the fractions' shape {c.shape}, got {s.shape}")
    bad_sigma = ~(np.isfinite(s) & (s >= 0)).all(axis=1)
    if bad_sigma.any():
        row = int(np.flatnonzero(bad_sigma)[0])
        raise DataError(f"sigmas row {row} must be finite and >= 0, got {s[row].tolist()}")
    n, d = c.shape
    rows = np.arange(n)
    # argmax over the reversed columns finds the last maximum.
    k = d - 1 - np.argmax(s[:, ::-1], axis=1)
    known = np.ones_like(c, dtype=bool)
    known[rows, k] = False
    bad_fraction = ~np.where(known, np.isfinite(c), True).all(axis=1)
    if bad_fraction.any():
        row = int(np.flatnonzero(bad_fraction)[0])
        raise DataError(
            f"fractions row {row} has a non-finite value outside its least certain "
            f"component {int(k[row])}: {c[row].tolist()}"
        )
    c[rows, k] = 1.0 - np.where(known, c, 0.0).sum(axis=1)
    s[rows, k] = np.sqrt(np.where(known, s**2, 0.0).sum(axis=1))
    negative = (c < 0).any(axis=1)
    if negative.any():
        clipped = np.clip(c[negative], 0.0, None)
        # Clipping only raises a row's sum (>= 1), so the division is safe.
        c[negative] = clipped / clipped.sum(axis=1, keepdims=True)
    return SimplexEstimate(
        fractions=c, sigmas=s, index=k, uncertainty=s[rows, k].copy(), negative=negative
    )


def edx_sigma(
    radius_nm: float | np.ndarray, *, sigma_ref: float = 0.02, radius_ref_nm: float = 20.0
) -> np.ndarray:
    """EDX error of one composition fraction, falling with particle size.

    ``sigma = sigma_ref * radius_ref_nm / r``: a particle of radius
    ``radius_ref_nm`` is read with error ``sigma_ref`` (a fraction, e.g. 0.02 =
    2 at.%); a larger particle gives more counts and a smaller error.

    Args:
        radius_nm: Particle radius in nm, scalar or any shape.
        sigma_ref: Error at the reference radius (> 0).
        radius_ref_nm: Reference radius in nm (> 0).

    Returns:
        The error, an array of the radius' shape.

    Raises:
        DataError: A radius is not finite and positive.
        ConfigError: ``sigma_ref`` or ``radius_ref_nm`` is not positive.

    Example:
        >>> float(edx_sigma(40.0))
        0.01
    """
    if not (np.isfinite(sigma_ref) and sigma_ref > 0):
        raise ConfigError(f"sigma_ref must be finite and > 0, got {sigma_ref}")
    if not (np.isfinite(radius_ref_nm) and radius_ref_nm > 0):
        raise ConfigError(f"radius_ref_nm must be finite and > 0, got {radius_ref_nm}")
    r = np.asarray(radius_nm, dtype=np.float64)
    if not (np.isfinite(r) & (r > 0)).all():
        raise DataError("radius_nm must be finite and > 0 (in nm) for every particle")
    return sigma_ref * radius_ref_nm / r


def observe_compositions(
    true: np.ndarray,
    radius_nm: np.ndarray,
    rng: np.random.Generator | int,
    *,
    sigma_ref: float = 0.02,
    radius_ref_nm: float = 20.0,
) -> SimplexEstimate:
    """Simulate EDX read-outs of particle compositions.

    Each fraction of particle ``n`` is read with independent Gaussian noise of
    the same standard deviation ``edx_sigma(radius_nm[n])`` for every
    component (a simplification: real EDX errors depend on the element and its
    fraction). With equal uncertainties the last component is the one
    re-estimated (:func:`reestimate_least_certain`), so its reported
    uncertainty is ``sqrt(D - 1)`` times the per-component one. Rows with a
    negative noisy fraction are clipped and renormalised, and flagged.

    Args:
        true: `(N, D)` true compositions.
        radius_nm: `(N,)` particle radii in nm.
        rng: A numpy Generator or an int seed.
        sigma_ref: EDX error at ``radius_ref_nm`` (see :func:`edx_sigma`).
        radius_ref_nm: Reference radius in nm.

    Returns:
        The estimated compositions with their uncertainties.

    Raises:
        DataError: ``true`` is not on the simplex or ``radius_nm`` is not `(N,)`
            positive.
        ConfigError: A bad noise option or ``rng``.

    Example:
        >>> true = np.array([[0.2, 0.3, 0.5]])
        >>> est = observe_compositions(true, np.array([50.0]), 0)
        >>> est.fractions.sum(axis=1).round(12), est.index
        (array([1.]), array([2]))
    """
    c = check_compositions(true)
    r = np.asarray(radius_nm, dtype=np.float64)
    if r.shape != (c.shape[0],):
        raise DataError(f"radius_nm must have shape ({c.shape[0]},), got {r.shape}")
    sigma = edx_sigma(r, sigma_ref=sigma_ref, radius_ref_nm=radius_ref_nm)
    sigmas = np.repeat(sigma[:, None], c.shape[1], axis=1)
    measured = c + _rng(rng).normal(size=c.shape) * sigmas
    return reestimate_least_certain(measured, sigmas)
