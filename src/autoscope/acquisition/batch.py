"""Greedy batch selection (q > 1) and how each acquisition treats pending points.

:func:`select_batch` picks ``q`` candidates one at a time. After each pick the
candidate joins the context's pending points together with a *fantasised*
value (:meth:`~autoscope.acquisition.base.Acquisition.fantasy`), and the
acquisition is scored again. What keeps a batch from crowding is how each
family reads pending points:

- **EI, UCB, maximum uncertainty** (mean/std acquisitions) see pending points
  through :func:`pending_posterior`, which returns the posterior given them and
  each candidate's overlap ``rho`` in [0, 1] with them. When the model can
  condition on imagined observations without refitting
  (:class:`~autoscope.acquisition.base.SupportsFantasize`), its own conditioned
  posterior is used ("kriging believer": it believes its mean at the pending
  points) and ``rho = sqrt(1 - std_conditioned**2 / std**2)`` is the share of
  the std the pending points explain. Otherwise ``rho(x) = exp(-d(x)**2 /
  (2 l**2))``, with ``d(x)`` the Euclidean feature distance from ``x`` to its
  nearest pending point and ``l = penalty_scale`` (default 0.2) times the
  median distance between pending points and the pool, and the std is shrunk
  by ``sqrt(1 - rho**2)``, as a GP with a squared-exponential kernel would do
  (one `(N, P)` distance matrix, no refit). The scores are computed from that
  posterior and then locally penalised (Gonzalez et al. 2016): multiplied by
  ``1 - rho`` above a floor (EI: ``EI * (1 - rho)``, log-EI: ``+ log(1 - rho)``,
  UCB and MU: ``floor + (score - floor) * (1 - rho)`` with the floor the lowest
  score of the pool). The std shrink alone leaves exploitative batches (UCB
  with a small std, EI near the incumbent) crowded around one optimum, because
  the believed mean does not change; the penalty removes that. EI also counts
  the believed values in its incumbent.
- **BEACON** appends the value believed at each pending point (for a batch
  pick: the Thompson draw that picked it) to its archive, so the next pick
  must be novel with respect to it too: this is what makes BEACON batches
  diverse.
- **Thompson sampling** draws a fresh posterior sample for every pick
  (standard batch Thompson sampling) and ignores pending points otherwise.

No library offers this for arbitrary numpy surrogates over a finite pool
(BoTorch's sequential greedy optimisation works on continuous inputs and
torch models), so it is written here.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np

from autoscope.acquisition.base import Acquisition, AcquisitionContext, SupportsFantasize
from autoscope.acquisition.selection import select_top
from autoscope.errors import ConfigError, DataError

__all__ = ["pending_posterior", "select_batch"]

_CHUNK = 4096


def _nearest_pending_distance(context: AcquisitionContext) -> tuple[np.ndarray, float]:
    """Distance of every candidate to its nearest pending point `(N,)`, and the median."""
    features = context.features
    n = len(features)
    pending = np.asarray(features[context.pending], dtype=np.float64).reshape(
        len(context.pending), -1
    )
    pending_sq = (pending**2).sum(axis=1)
    distances = np.empty((n, len(pending)))
    for start in range(0, n, _CHUNK):
        chunk = np.asarray(features[start : start + _CHUNK], dtype=np.float64).reshape(
            -1, pending.shape[1]
        )
        d2 = (chunk**2).sum(axis=1)[:, None] - 2.0 * chunk @ pending.T + pending_sq[None, :]
        distances[start : start + len(chunk)] = np.sqrt(np.maximum(d2, 0.0))
    return distances.min(axis=1), float(np.median(distances))


def pending_posterior(
    context: AcquisitionContext, *, include_noise: bool = False, penalty_scale: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and std given the pending points, and each candidate's overlap with them.

    Args:
        context: The step's context; without pending points its posterior is
            returned unchanged, with zero overlap.
        include_noise: Return the predictive (with noise) instead of the latent
            std; the noise part is not shrunk.
        penalty_scale: Kernel length as a fraction of the median distance
            between pending points and the pool (feature-space fallback only).

    Returns:
        ``(mean, std, rho)``, each `(N,)`. When the model supports
        :class:`SupportsFantasize`, its conditioned posterior and
        ``rho = sqrt(1 - std_conditioned**2 / std**2)`` (the fraction of the
        latent std explained by the pending points). Otherwise the posterior
        mean, ``rho = exp(-d**2 / (2 l**2))`` (see the module docstring) and
        the latent std shrunk by ``sqrt(1 - rho**2)``. ``rho`` is 1 on a
        pending point and 0 far away.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Flat(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.zeros(len(x)), np.ones(len(x))
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, len(x)))
        >>> features = np.arange(5.0)[:, None]
        >>> context = AcquisitionContext(Flat(), features, np.array([0]), np.array([0.0]),
        ...                              pending=np.array([2]))
        >>> mean, std, rho = pending_posterior(context, penalty_scale=1.0)
        >>> np.round(std, 2), np.round(rho, 2)
        (array([0.99, 0.8 , 0.  , 0.8 , 0.99]), array([0.14, 0.61, 1.  , 0.61, 0.14]))
    """
    mean, latent = context.posterior()
    noise_var = 0.0
    if include_noise:
        noise_var = np.maximum(context.posterior(include_noise=True)[1] ** 2 - latent**2, 0.0)
    n = context.n_candidates
    if len(context.pending) == 0:
        return mean, np.sqrt(latent**2 + noise_var), np.zeros(n)
    model = context.model
    if isinstance(model, SupportsFantasize):
        conditioned = model.fantasize(context.features[context.pending])
        mean, shrunk = conditioned.predict(context.features)
        mean = np.asarray(mean, dtype=np.float64)
        shrunk = np.asarray(shrunk, dtype=np.float64)
        if mean.shape != (n,) or shrunk.shape != (n,):
            raise DataError(
                f"fantasized model.predict returned {mean.shape} and {shrunk.shape}; "
                f"expected ({n},) each"
            )
        ratio = np.divide(shrunk, latent, out=np.ones(n), where=latent > 0)
        rho = np.sqrt(np.clip(1.0 - ratio**2, 0.0, 1.0))
    else:
        nearest, median = _nearest_pending_distance(context)
        length = penalty_scale * median
        if length > 0:
            rho = np.exp(-0.5 * (nearest / length) ** 2)
        else:  # every candidate sits on a pending point: only exact duplicates overlap
            rho = (nearest == 0).astype(np.float64)
        shrunk = latent * np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0))
    return mean, np.sqrt(shrunk**2 + noise_var), rho


@overload
def select_batch(
    acquisition: Acquisition,
    context: AcquisitionContext,
    q: int,
    *,
    available: np.ndarray,
    rng: np.random.Generator,
    return_scores: Literal[False] = False,
) -> np.ndarray: ...


@overload
def select_batch(
    acquisition: Acquisition,
    context: AcquisitionContext,
    q: int,
    *,
    available: np.ndarray,
    rng: np.random.Generator,
    return_scores: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def select_batch(
    acquisition: Acquisition,
    context: AcquisitionContext,
    q: int,
    *,
    available: np.ndarray,
    rng: np.random.Generator,
    return_scores: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Pick ``q`` distinct available candidates greedily, one fantasy at a time.

    Each pick takes the best available score (ties broken at random under
    ``rng``, never by index), then joins the pending points with the value
    :meth:`Acquisition.fantasy` believes there, and the acquisition is scored
    again on that context (see the module docstring for what each family
    does with pending points).

    Args:
        acquisition: The acquisition to maximise.
        context: The step's context (its pending points are respected).
        q: Batch size, at least 1.
        available: Boolean mask `(N,)` of candidates that may be picked.
        rng: Breaks ties.
        return_scores: Also return the score of each pick at the time it was picked.

    Returns:
        Pool indices `(min(q, available.sum()),)` in pick order: when fewer
        candidates are available than asked for, all of them are returned.
        With ``return_scores``, also their scores `(same,)`.

    Raises:
        ConfigError: ``q`` is below 1.
        DataError: ``available`` has the wrong shape, or the acquisition
            returned the wrong shape or NaN at an available candidate.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext, UpperConfidenceBound
        >>> from autoscope.models.base import Surrogate
        >>> class Bump(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.exp(-x[:, 0] ** 2), np.full(len(x), 0.1)
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, len(x)))
        >>> features = np.linspace(-3, 3, 61)[:, None]
        >>> context = AcquisitionContext(Bump(), features, np.array([0]), np.array([0.0]))
        >>> picks = select_batch(UpperConfidenceBound(), context, 3,
        ...                      available=np.ones(61, bool), rng=np.random.default_rng(0))
        >>> len(set(picks.tolist()))
        3
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
        raise ConfigError(f"batch size q must be an integer >= 1, got {q!r}")
    n = context.n_candidates
    available = np.asarray(available)
    if available.shape != (n,) or available.dtype != bool:
        raise DataError(
            f"available must be a boolean mask of shape ({n},), got {available.dtype} "
            f"{available.shape}"
        )
    left = available.copy()
    picks: list[int] = []
    values: list[float] = []
    for _ in range(min(int(q), int(left.sum()))):
        scores = np.asarray(acquisition(context), dtype=np.float64)
        if scores.shape != (n,):
            raise DataError(f"{acquisition!r} returned scores {scores.shape}; expected ({n},)")
        nan = np.flatnonzero(np.isnan(scores) & left)
        if nan.size:
            raise DataError(f"{acquisition!r} returned NaN at candidates {nan[:10].tolist()}")
        pick = int(select_top(scores, left, 1, rng)[0])
        picks.append(pick)
        values.append(float(scores[pick]))
        left[pick] = False
        context = context.with_pending([pick], [acquisition.fantasy(context, pick)])
    indices = np.asarray(picks, dtype=np.int64)
    if return_scores:
        return indices, np.asarray(values)
    return indices
