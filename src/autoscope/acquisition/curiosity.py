"""Curiosity-driven acquisition for structure→property learning (Im2spec).

The rules of Vatsavai et al. (2025, "Curiosity driven exploration to optimize
structure-property learning in microscopy", Digital Discovery): an error model
predicts where an Im2spec model is wrong, and the next spectra are measured
where that predicted error says the most can be learned.

- Workflow 1 (:func:`error_acquisition`): with the predicted error ``L``
  min–max normalised to [0, 1], ``A_j = 1 - exp(-lam |L_j - (1 - beta)|)``.
  ``beta = 1`` prefers the highest predicted error (curiosity), ``beta = 0``
  the lowest (conservative), ``beta = 0.5`` both extremes.
- Workflow 2 (:func:`mixed_acquisition`): ``A = w C + (1 - w) E`` mixes a
  curiosity term ``C`` (predicted error) with the latent exploration reward
  ``E`` of :func:`exploration_reward`; the weight ``w`` of
  :func:`curiosity_weight` grows from 0 (pure exploration) towards 1 with the
  number of measurements ``n``. The paper writes ``w = 1 - exp(-lam n)``; the
  published code uses ``w = 1 - exp(-lam n / N)`` with the budget ``N`` (and
  ``lam = 2``). Both are offered as ``schedule="paper"`` and ``"code"``.
- :func:`kmeans_initial`: the first measurements, one per k-means cluster of
  the latent space.
- :func:`choose_indices`: picks from scores with the published top-k and
  epsilon-greedy randomisation, but never an unavailable index. (The published
  code checked only the first of its top 10 against the measured points, so it
  could measure a point twice.)
- :class:`TrapGuard`: an addition of ours. A point whose spectrum is pure noise
  keeps a high error whatever is measured, so a curious policy would spend the
  whole budget around it; the guard blocks the neighbourhood of measured points
  whose loss stays high and stops decreasing.

These are plain functions over arrays; a policy combines them with its models.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
from scipy.spatial.distance import cdist

from autoscope.errors import ConfigError, DataError

__all__ = [
    "KMEANS_N_INIT",
    "TrapGuard",
    "choose_indices",
    "curiosity_weight",
    "error_acquisition",
    "exploration_reward",
    "kmeans_initial",
    "mixed_acquisition",
    "normalise_errors",
]

Schedule = Literal["paper", "code"]

#: k-means restarts in :func:`kmeans_initial`; fixed so that a seed fully
#: determines the result.
KMEANS_N_INIT = 5

# Largest distance block (candidates x measured points) held in memory at once.
_BLOCK = 1 << 22


# --------------------------------------------------------------------- checks
def _vector(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{name} must be a 1-D array (N,), got shape {array.shape}")
    return array


def _finite_vector(name: str, values: Any) -> np.ndarray:
    array = _vector(name, values)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise DataError(f"{name} must be finite; entry {int(bad[0])} is {array[bad[0]]}")
    return array


def _latents(name: str, values: Any, d: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (N, d), got shape {array.shape}")
    if d is not None and array.shape[1] != d:
        raise DataError(f"{name} has {array.shape[1]} latent dimensions, expected {d}")
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad.size:
        raise DataError(f"{name} must be finite; row {int(bad[0])} holds NaN or inf")
    return array


def _real(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def _positive(name: str, value: Any) -> float:
    number = _real(name, value)
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# --------------------------------------------------------------- workflow 1
def normalise_errors(errors: np.ndarray) -> np.ndarray:
    """Min–max normalise errors to [0, 1].

    Args:
        errors: Errors (or any scores) `(N,)`, finite.

    Returns:
        ``(errors - min) / (max - min)`` `(N,)`; all zeros when the errors are
        constant (or ``N <= 1``).

    Raises:
        DataError: ``errors`` is not 1-D or holds NaN or inf.

    Example:
        >>> normalise_errors(np.array([1.0, 2.0, 5.0]))
        array([0.  , 0.25, 1.  ])
    """
    errors = _finite_vector("errors", errors)
    if errors.size == 0:
        return errors.copy()
    low, span = errors.min(), np.ptp(errors)
    if span == 0:
        return np.zeros_like(errors)
    return (errors - low) / span


def error_acquisition(
    predicted_error: np.ndarray, *, beta: float, lam: float = 0.1, normalise: bool = True
) -> np.ndarray:
    """Workflow 1: ``A_j = 1 - exp(-lam |L_j - (1 - beta)|)``.

    Args:
        predicted_error: Predicted Im2spec error per candidate `(N,)`.
        beta: In [0, 1]. 1 prefers the highest error (curiosity), 0 the lowest
            (conservative), 0.5 both extremes.
        lam: Sharpness, > 0. The ranking does not depend on it; the score scale
            does.
        normalise: Min–max normalise the error to [0, 1] first (as the paper
            does). With ``False`` the values are used as given and should
            already lie in [0, 1].

    Returns:
        Acquisition values `(N,)` in [0, 1), higher is better.

    Raises:
        ConfigError: ``beta`` is outside [0, 1] or ``lam`` is not > 0.
        DataError: ``predicted_error`` is not 1-D or not finite.

    Example:
        >>> error_acquisition(np.array([0.0, 1.0]), beta=1.0, lam=1.0).round(4)
        array([0.    , 0.6321])
    """
    beta_value = _real("beta", beta)
    if not 0.0 <= beta_value <= 1.0:
        raise ConfigError(f"beta must lie in [0, 1], got {beta!r}")
    lam = _positive("lam", lam)
    error = _finite_vector("predicted_error", predicted_error)
    if normalise:
        error = normalise_errors(error)
    return -np.expm1(-lam * np.abs(error - (1.0 - beta_value)))


# --------------------------------------------------------------- workflow 2
def exploration_reward(
    latents: np.ndarray, measured_latents: np.ndarray, *, eps: float = 1e-12
) -> np.ndarray:
    """Latent exploration reward ``E_j = (sum_i 1 / |l_i - l_j|)^-1``.

    The sum runs over the measured points ``i``; ``|.|`` is the Euclidean
    distance in latent space. ``E`` is the harmonic mean of the distances
    divided by ``M``: large far from every measured point, small near any of
    them, and 0 at a measured point. It is computed in blocks of candidates,
    so a pool of 16 000 against 300 measured points needs no `(N, M, d)` array.

    Args:
        latents: Candidate latent vectors `(N, d)`.
        measured_latents: Latent vectors of the measured points `(M, d)`. With
            ``M = 0`` (nothing measured) every candidate gets 1: no candidate
            is preferred.
        eps: A candidate within ``eps`` of a measured point counts as that
            point and gets 0.

    Returns:
        Rewards `(N,)`, >= 0.

    Raises:
        ConfigError: ``eps`` is negative.
        DataError: An array is not 2-D, the latent sizes differ, or a value is
            NaN or inf.

    Example:
        >>> measured = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> exploration_reward(np.array([[0.0, 4.0], [0.0, 0.0]]), measured).round(4)
        array([1.7143, 0.    ])
    """
    eps_value = _real("eps", eps)
    if not eps_value >= 0:
        raise ConfigError(f"eps must be >= 0, got {eps!r}")
    latents = _latents("latents", latents)
    measured = np.asarray(measured_latents, dtype=np.float64)
    if measured.size == 0:
        return np.ones(len(latents))
    measured = _latents("measured_latents", measured, latents.shape[1])
    reward = np.empty(len(latents))
    size = max(1, _BLOCK // len(measured))
    for start in range(0, len(latents), size):
        block = latents[start : start + size]
        distance = cdist(block, measured)
        with np.errstate(divide="ignore", over="ignore"):
            inverse_sum = (1.0 / distance).sum(axis=1)
            value = 1.0 / inverse_sum
        value[(distance <= eps_value).any(axis=1)] = 0.0
        reward[start : start + len(block)] = value
    return reward


def curiosity_weight(
    n: float, *, lam: float, budget: int | None = None, schedule: Schedule = "paper"
) -> float:
    """Weight ``w`` of the curiosity term in ``A = w C + (1 - w) E``.

    - ``schedule="paper"``: ``w = 1 - exp(-lam n)``.
    - ``schedule="code"`` (the published code, with ``lam = 2``):
      ``w = 1 - exp(-lam n / budget)``.

    Args:
        n: Measurements made so far, >= 0.
        lam: Rate, > 0.
        budget: Total measurement budget ``N``, > 0; needed by ``"code"``,
            ignored by ``"paper"``.
        schedule: ``"paper"`` or ``"code"``.

    Returns:
        ``w`` in [0, 1): 0 at ``n = 0`` (pure exploration), towards 1 later.

    Raises:
        ConfigError: An option is out of range, unknown or missing.

    Example:
        >>> round(curiosity_weight(5, lam=0.1), 4)
        0.3935
        >>> round(curiosity_weight(100, lam=2.0, budget=200, schedule="code"), 4)
        0.6321
    """
    steps = _real("n", n)
    if not (math.isfinite(steps) and steps >= 0):
        raise ConfigError(f"n (measurements so far) must be >= 0, got {n!r}")
    rate = _positive("lam", lam)
    if schedule == "code":
        if budget is None:
            raise ConfigError('schedule="code" needs the measurement budget; pass budget=N')
        rate /= _positive("budget", budget)
    elif schedule != "paper":
        raise ConfigError(f"schedule must be 'paper' or 'code', got {schedule!r}")
    return float(-math.expm1(-rate * steps))


def mixed_acquisition(
    curiosity: np.ndarray,
    exploration: np.ndarray,
    *,
    n: float,
    lam: float,
    budget: int | None = None,
    schedule: Schedule = "paper",
    normalise: bool = True,
) -> np.ndarray:
    """Workflow 2: ``A = w C + (1 - w) E`` with ``w`` from :func:`curiosity_weight`.

    Args:
        curiosity: Curiosity term ``C`` `(N,)`, e.g. the predicted error.
        exploration: Exploration term ``E`` `(N,)`, e.g.
            :func:`exploration_reward`.
        n: Measurements made so far.
        lam: Rate of the schedule.
        budget: Measurement budget, for ``schedule="code"``.
        schedule: ``"paper"`` or ``"code"``; see :func:`curiosity_weight`.
        normalise: Min–max normalise ``C`` and ``E`` to [0, 1] each before
            mixing (:func:`normalise_errors`; a constant term becomes 0), so
            that ``w`` alone sets their balance whatever their units. With
            ``False`` they are mixed as given.

    Returns:
        Acquisition values `(N,)`, higher is better.

    Raises:
        ConfigError: A schedule option is invalid.
        DataError: The terms are not 1-D arrays of one length, or not finite.

    Example:
        >>> mixed_acquisition(np.array([0.0, 2.0]), np.array([1.0, 0.0]), n=0, lam=0.1)
        array([1., 0.])
    """
    weight = curiosity_weight(n, lam=lam, budget=budget, schedule=schedule)
    c = _finite_vector("curiosity", curiosity)
    e = _finite_vector("exploration", exploration)
    if c.shape != e.shape:
        raise DataError(
            f"curiosity {c.shape} and exploration {e.shape} must score the same candidates"
        )
    if normalise:
        c, e = normalise_errors(c), normalise_errors(e)
    return weight * c + (1.0 - weight) * e


# ----------------------------------------------------------------- selection
def choose_indices(
    scores: np.ndarray,
    available: np.ndarray,
    *,
    n: int = 1,
    rng: np.random.Generator,
    top_k: int = 1,
    epsilon: float = 0.0,
) -> np.ndarray:
    """Pick up to ``n`` distinct available candidates, top-k and epsilon-greedy.

    Each pick is independent: with probability ``epsilon`` a uniformly random
    available candidate, otherwise one of the ``top_k`` highest-scoring
    available candidates, uniformly. A pick is removed before the next, so a
    batch never repeats a candidate, and an unavailable candidate is never
    returned. NaN scores count as ``-inf``; ties are broken at random.

    Args:
        scores: One score per candidate `(N,)`; higher is better.
        available: Boolean mask `(N,)`; False for measured, pending or blocked
            candidates.
        n: How many to pick, >= 0.
        rng: Source of every random choice.
        top_k: Size of the set each greedy pick draws from, >= 1 (1 = argmax).
        epsilon: Probability of a uniformly random pick, in [0, 1].

    Returns:
        Pool indices `(min(n, available.sum()),)` int64, in pick order.

    Raises:
        ConfigError: An option is out of range or ``rng`` is not a Generator.
        DataError: ``scores`` and ``available`` are not 1-D arrays of one
            length, or ``available`` is not boolean.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> choose_indices(np.array([3.0, 9.0, 5.0]), np.array([True, False, True]),
        ...                n=3, rng=rng)
        array([2, 0])
    """
    n = _count("n", n, 0)
    top_k = _count("top_k", top_k, 1)
    epsilon_value = _real("epsilon", epsilon)
    if not 0.0 <= epsilon_value <= 1.0:
        raise ConfigError(f"epsilon must lie in [0, 1], got {epsilon!r}")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    values = _vector("scores", scores)
    mask = np.asarray(available)
    if mask.dtype != np.bool_ or mask.shape != values.shape:
        raise DataError(
            f"available must be a boolean mask shaped like scores {values.shape}, "
            f"got {mask.dtype} {mask.shape}"
        )
    candidates = np.flatnonzero(mask)
    ranked = np.where(np.isnan(values[candidates]), -np.inf, values[candidates])
    order = candidates[np.lexsort((rng.random(len(candidates)), -ranked))]
    free = np.ones(len(order), dtype=bool)
    picks = np.empty(min(n, len(order)), dtype=np.int64)
    for i in range(len(picks)):
        remaining = np.flatnonzero(free)
        pool = len(remaining) if rng.random() < epsilon_value else min(top_k, len(remaining))
        position = remaining[rng.integers(pool)]
        free[position] = False
        picks[i] = order[position]
    return picks


def _seed(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an int or numpy.random.Generator, got {seed!r}")
    return int(seed)


def kmeans_initial(latents: np.ndarray, k: int, *, seed: int | np.random.Generator) -> np.ndarray:
    """First measurements: the points nearest the ``k`` k-means centroids.

    scikit-learn's :class:`~sklearn.cluster.KMeans` runs with
    :data:`KMEANS_N_INIT` restarts and a seed, so the result is deterministic.
    Centroids claim their nearest point in order of that distance (closest
    pair first); a centroid whose nearest point is taken gets its nearest
    unused point, so the indices are distinct even when latents repeat (the
    warning k-means gives about fewer distinct clusters than ``k`` is
    silenced for that reason).

    Args:
        latents: Candidate latent vectors `(N, d)`.
        k: Points to choose, 1 <= k <= N.
        seed: Seed of k-means (an int, or a Generator to draw one from).

    Returns:
        Distinct pool indices `(k,)` int64; entry ``c`` belongs to cluster ``c``.

    Raises:
        ConfigError: ``k`` or ``seed`` is invalid.
        DataError: ``latents`` is not 2-D or not finite.

    Example:
        >>> x = np.array([[0.0], [0.1], [10.0], [10.2]])
        >>> sorted(kmeans_initial(x, 2, seed=0).tolist()) in ([0, 2], [0, 3], [1, 2], [1, 3])
        True
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    latents = _latents("latents", latents)
    k = _count("k", k, 1)
    if k > len(latents):
        raise ConfigError(f"k = {k} exceeds the {len(latents)} candidates")
    kmeans = KMeans(n_clusters=k, n_init=KMEANS_N_INIT, random_state=_seed(seed))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        kmeans.fit(latents)
    distance = cdist(kmeans.cluster_centers_, latents)
    used = np.zeros(len(latents), dtype=bool)
    chosen = np.empty(k, dtype=np.int64)
    for centre in np.argsort(distance.min(axis=1), kind="stable"):
        row = np.where(used, np.inf, distance[centre])
        chosen[centre] = int(np.argmin(row))
        used[chosen[centre]] = True
    return chosen


# ---------------------------------------------------------------- trap guard
class TrapGuard:
    """Blocks candidates near measured points whose loss stays high and stagnant.

    Curiosity chases high error. Where the spectra are pure noise the error
    stays high whatever is measured, and a curious policy would spend its
    budget there. Each step the guard is told the model's current loss at
    every measured point and keeps the last ``patience + 1`` losses of each.

    Rule, evaluated at every :meth:`update` from the losses it received: a
    measured point is *trapped* when all of

    1. it has a loss from ``patience`` updates ago (it has been seen in at
       least ``patience + 1`` updates);
    2. it is stagnant: its loss decreased by at most ``min_improvement``
       since then, ``loss[t - patience] - loss[t] <= min_improvement``;
    3. it is high: its current loss exceeds the median current loss of all
       measured points by more than ``min_improvement``,
       ``loss[t] > median + min_improvement``.

    In words: the point could still improve by more than ``min_improvement``
    (a typical measured point does better) but has not done so in
    ``patience`` updates. One tolerance serves both tests on purpose: it is
    the loss change that counts as real rather than noise. Set it above the
    noise of the losses (e.g. their step-to-step range); with 0, condition 3
    is "above the median", and learned points that merely fluctuate around
    their floor would be trapped about half the time.

    The median needs a reference population: start the campaign with points
    spread over the latent space (e.g. :func:`kmeans_initial`). If every
    measured point is a noise point, none stands above the others.

    :meth:`allowed` blocks every candidate within ``radius`` (Euclidean latent
    distance) of a trapped point. Nothing is sticky: a point whose loss falls
    again is released at the next update.

    Measured points are identified by their row: each update must pass the
    same points as before, in the same order, with new ones appended.

    Args:
        radius: Blocking radius in latent units, > 0.
        patience: Updates over which the loss must decrease, >= 1.
        min_improvement: Loss change that counts as real, >= 0: the decrease
            needed to count as learning and the excess over the median
            needed to count as high.

    Raises:
        ConfigError: An option is out of range.

    Example:
        >>> guard = TrapGuard(0.5, patience=1)
        >>> measured = np.array([[0.0], [5.0], [9.0]])
        >>> guard.update(0, measured, np.array([1.0, 0.9, 0.1]))
        >>> guard.update(1, measured, np.array([1.0, 0.5, 0.05]))
        >>> guard.trapped.tolist()
        [True, False, False]
        >>> guard.allowed(np.array([[0.3], [1.0], [5.1]])).tolist()
        [False, True, True]
    """

    def __init__(self, radius: float, *, patience: int = 3, min_improvement: float = 0.0) -> None:
        self.radius = _positive("radius", radius)
        self.patience = _count("patience", patience, 1)
        improvement = _real("min_improvement", min_improvement)
        if not (math.isfinite(improvement) and improvement >= 0):
            raise ConfigError(
                f"min_improvement must be a finite number >= 0, got {min_improvement!r}"
            )
        self.min_improvement = improvement
        self.step: int | None = None
        self.latents = np.zeros((0, 0))
        self.history = np.zeros((0, self.patience + 1))

    @property
    def trapped(self) -> np.ndarray:
        """Which measured points are trapped after the last update `(M,)` bool."""
        if len(self.history) == 0:
            return np.zeros(0, dtype=bool)
        past, current = self.history[:, 0], self.history[:, -1]
        seen = ~np.isnan(past)
        stagnant = np.zeros(len(past), dtype=bool)
        stagnant[seen] = past[seen] - current[seen] <= self.min_improvement
        return stagnant & (current > np.median(current) + self.min_improvement)

    def update(self, step: int, measured_latents: np.ndarray, measured_losses: np.ndarray) -> None:
        """Record the current loss at every measured point.

        Args:
            step: Step number; must increase from one update to the next.
            measured_latents: Latent vectors of all measured points `(M, d)`:
                those of the previous update first, unchanged, then new ones.
            measured_losses: The model's current loss at each of them `(M,)`.

        Raises:
            ConfigError: ``step`` is not an integer >= 0.
            DataError: The step does not increase, the points do not extend
                the previous ones, or the losses are not finite or misshapen.
        """
        step = _count("step", step, 0)
        if self.step is not None and step <= self.step:
            raise DataError(f"step must increase: got {step} after {self.step}")
        old = len(self.latents)
        latents = _latents("measured_latents", measured_latents, self.latents.shape[1] or None)
        losses = _finite_vector("measured_losses", measured_losses)
        if len(losses) != len(latents):
            raise DataError(
                f"measured_losses has {len(losses)} entries for {len(latents)} measured points"
            )
        if len(latents) < old or (old and not np.array_equal(latents[:old], self.latents)):
            raise DataError(
                f"measured_latents must start with the {old} points of the previous update, "
                "unchanged and in order; append new points at the end"
            )
        history = np.full((len(latents), self.patience + 1), np.nan)
        history[:old, :-1] = self.history[:, 1:]
        history[:, -1] = losses
        self.step, self.latents, self.history = step, latents.copy(), history

    def allowed(self, candidate_latents: np.ndarray) -> np.ndarray:
        """Which candidates lie farther than ``radius`` from every trapped point.

        Args:
            candidate_latents: Candidate latent vectors `(N, d)`.

        Returns:
            Boolean mask `(N,)`; all True before the first trap.

        Raises:
            DataError: ``candidate_latents`` is not 2-D, not finite, or its
                latent size differs from the measured points'.
        """
        trapped = self.latents[self.trapped] if len(self.latents) else self.latents
        candidates = _latents("candidate_latents", candidate_latents, self.latents.shape[1] or None)
        mask = np.ones(len(candidates), dtype=bool)
        if len(trapped) == 0:
            return mask
        size = max(1, _BLOCK // len(trapped))
        for start in range(0, len(candidates), size):
            block = candidates[start : start + size]
            mask[start : start + len(block)] = (cdist(block, trapped) > self.radius).all(axis=1)
        return mask

    def state_dict(self) -> dict[str, Any]:
        """A copy of the guard's state: last step, measured latents, loss history.

        Example:
            >>> sorted(TrapGuard(1.0).state_dict())
            ['history', 'latents', 'step']
        """
        return {
            "step": self.step,
            "latents": self.latents.copy(),
            "history": self.history.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`; the options stay this guard's.

        Raises:
            ConfigError: The state was saved with another ``patience``.
            DataError: The state is incomplete or inconsistent.
        """
        try:
            step, latents, history = state["step"], state["latents"], state["history"]
        except KeyError as err:
            raise DataError(f"trap-guard state lacks {err}") from None
        latents = np.array(latents, dtype=np.float64, ndmin=2)
        history = np.array(history, dtype=np.float64, ndmin=2)
        if history.shape[1] != self.patience + 1:
            raise ConfigError(
                f"the state keeps {history.shape[1] - 1} past losses per point but this guard "
                f"has patience={self.patience}; build the guard with the saved patience"
            )
        if len(history) != len(latents):
            raise DataError(
                f"trap-guard state has {len(latents)} points but {len(history)} loss histories"
            )
        self.step = None if step is None else int(step)
        self.latents, self.history = latents, history


def near_any(points: np.ndarray, centres: np.ndarray, *, radius: float) -> np.ndarray:
    """Whether each of ``points`` `(N, d)` lies within ``radius`` of any of ``centres`` `(K, d)`.

    Returns:
        `(N,)` bool; all ``False`` when there is no centre.
    """
    p = _latents("points", points)
    if len(centres) == 0:
        return np.zeros(len(p), dtype=bool)
    c = _latents("centres", centres, p.shape[1])
    r = _positive("radius", radius)
    out = np.zeros(len(p), dtype=bool)
    step = max(1, 4_000_000 // max(len(c), 1))
    for start in range(0, len(p), step):
        block = p[start : start + step]
        d2 = ((block[:, None, :] - c[None, :, :]) ** 2).sum(axis=-1)
        out[start : start + step] = (d2 <= r * r).any(axis=1)
    return out


def stagnant_neighbourhoods(
    measured_latents: np.ndarray,
    fresh_errors: np.ndarray,
    *,
    radius: float,
    patience: int = 3,
    min_drop: float = 0.0,
) -> np.ndarray:
    """Measured points whose latent neighbourhood has stopped getting easier to predict.

    ``fresh_errors[i]`` is the model's error on measured point ``i`` *before*
    it was trained on it (a held-out error). In a learnable neighbourhood new
    points keep being predicted better than any before them; in pure noise
    the error reaches a floor and stays there. The rule is early stopping
    with patience, per neighbourhood: a measured point is flagged when its
    neighbourhood (the measured points within ``radius``, itself included, in
    measurement order) holds more than ``patience`` points and none of the
    latest ``patience`` set a new low, i.e. their smallest fresh error is
    above ``(1 − min_drop)`` times the smallest one before them. Candidates
    near flagged points should not be chosen again (the trap guard of the
    curiosity policies, with :func:`near_any`).

    Args:
        measured_latents: Latents of the measured points in measurement order, `(M, d)`.
        fresh_errors: Their held-out errors, `(M,)`.
        radius: Neighbourhood radius in latent units.
        patience: Points without a new low before a neighbourhood counts as stagnant.
        min_drop: Relative improvement a new low must make to count.

    Returns:
        `(M,)` bool: flagged points.

    Example:
        >>> z = np.zeros((6, 2))
        >>> bool(stagnant_neighbourhoods(z, np.array([1.0, 0.5, 0.6, 0.7, 0.55, 0.9]),
        ...                              radius=0.1).all())
        True
        >>> bool(stagnant_neighbourhoods(z, np.array([1.0, 0.9, 0.8, 0.6, 0.4, 0.3]),
        ...                              radius=0.1).any())
        False
    """
    z = _latents("measured_latents", measured_latents)
    e = _finite_vector("fresh_errors", fresh_errors)
    if len(e) != len(z):
        raise DataError(f"fresh_errors has {len(e)} values for {len(z)} measured latents")
    r = _positive("radius", radius)
    k = _count("patience", patience, 1)
    if not 0.0 <= min_drop < 1.0:
        raise ConfigError(f"min_drop must be in [0, 1), got {min_drop}")
    flagged = np.zeros(len(z), dtype=bool)
    for i in range(len(z)):
        members = np.flatnonzero(((z - z[i]) ** 2).sum(axis=1) <= r * r)
        if len(members) <= k:
            continue
        before, recent = e[members[:-k]], e[members[-k:]]
        flagged[i] = recent.min() > (1.0 - min_drop) * before.min()
    return flagged
