"""Classic mean/std acquisitions: expected improvement, UCB, maximum uncertainty.

Expected improvement is computed in the numerically stable log form of Ament
et al. (2023), "Unexpected Improvements to Expected Improvement for Bayesian
Optimization" (BoTorch's ``LogExpectedImprovement``): ``log EI = log h(z) +
log sigma`` with ``h(z) = phi(z) + z Phi(z)``, where ``log h`` uses
``log_ndtr``-free closed forms for ``z > -1`` and an ``erfcx``-based
``log(1 - exp(w))`` tail below, so it stays finite far below the incumbent
(where plain EI underflows to 0 and its log to ``-inf``). BoTorch implements
this on torch tensors for continuous inputs; this is the numpy version for a
finite pool.

All three read pending points through
:func:`~autoscope.acquisition.batch.pending_posterior` (the std shrinks around
pending points, and the scores there are locally penalised; see
:mod:`autoscope.acquisition.batch`) and take ``include_noise``: the latent posterior std
(default) or the predictive std of a new measurement (the BEACON-DKL authors'
code used the predictive one).
"""

from __future__ import annotations

import math
from abc import abstractmethod

import numpy as np
from scipy.special import erfcx, ndtr

from autoscope.acquisition.base import Acquisition, AcquisitionContext
from autoscope.acquisition.batch import pending_posterior
from autoscope.errors import ConfigError, DataError

__all__ = [
    "ExpectedImprovement",
    "LogExpectedImprovement",
    "MaximumUncertainty",
    "PosteriorAcquisition",
    "UpperConfidenceBound",
    "log_h",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)
_NEG_INV_SQRT_EPS = -1e6


def _log1mexp(w: np.ndarray) -> np.ndarray:
    """``log(1 - exp(w))`` for ``w < 0``, accurate on both sides of ``-log 2``."""
    return np.where(
        w > -math.log(2.0),
        np.log(-np.expm1(np.minimum(w, -1e-300))),
        np.log1p(-np.exp(np.minimum(w, -math.log(2.0)))),
    )


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, finite for any finite ``z`` below about 1e150.

    ``exp(log_h(z)) * sigma`` is the expected improvement at standardised
    improvement ``z = (mean - best_f) / sigma``.

    Args:
        z: Standardised improvements, any shape.

    Returns:
        ``log h(z)``, same shape.

    Example:
        >>> float(np.round(log_h(np.array(0.0)), 4))  # log(1 / sqrt(2 pi))
        -0.9189
        >>> bool(np.isfinite(log_h(np.array(-40.0))))
        True
    """
    z = np.asarray(z, dtype=np.float64)
    upper = np.maximum(z, -1.0)
    phi = np.exp(-0.5 * upper**2 - _LOG_SQRT_2PI)
    log_upper = np.log(phi + upper * ndtr(upper))
    lower = np.minimum(z, -1.0)
    moderate = np.maximum(lower, _NEG_INV_SQRT_EPS)
    # w = log(|z| Phi(z) / phi(z)) < 0, with Phi/phi = sqrt(pi/2) erfcx(-z/sqrt 2).
    w = np.log(erfcx(-moderate / math.sqrt(2.0)) * np.abs(moderate)) + _HALF_LOG_PI_OVER_2
    log_phi = -0.5 * lower**2 - _LOG_SQRT_2PI
    log_lower = log_phi + np.where(
        lower > _NEG_INV_SQRT_EPS, _log1mexp(w), -2.0 * np.log(np.abs(lower))
    )
    return np.where(z > -1.0, log_upper, log_lower)


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class PosteriorAcquisition(Acquisition):
    """Base of acquisitions that are a function of the posterior mean and std.

    Subclasses implement :meth:`score`; :meth:`__call__` fetches the (cached)
    posterior given the pending points, scores it and applies :meth:`penalise`.

    Args:
        include_noise: Use the predictive std (with observation noise) instead
            of the latent one.
        penalty_scale: Length of the pending-point penalty as a fraction of the
            median pending-to-pool distance (used only when the model cannot
            fantasise; see :mod:`autoscope.acquisition.batch`).

    Raises:
        ConfigError: An option is out of range.
    """

    def __init__(self, *, include_noise: bool = False, penalty_scale: float = 0.2) -> None:
        self.include_noise = _check_flag("include_noise", include_noise)
        if not (isinstance(penalty_scale, (int, float)) and penalty_scale > 0):
            raise ConfigError(f"penalty_scale must be a number > 0, got {penalty_scale!r}")
        self.penalty_scale = float(penalty_scale)

    @abstractmethod
    def score(self, mean: np.ndarray, std: np.ndarray, context: AcquisitionContext) -> np.ndarray:
        """Scores `(N,)` from the posterior ``mean`` `(N,)` and ``std`` `(N,)`."""

    def penalise(self, scores: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Scale ``scores`` `(N,)` by ``1 - rho`` `(N,)` above the lowest score."""
        floor = scores.min()
        return floor + (scores - floor) * (1.0 - rho)

    def __call__(self, context: AcquisitionContext) -> np.ndarray:
        """Scores `(N,)` of every pool candidate."""
        mean, std, rho = pending_posterior(
            context, include_noise=self.include_noise, penalty_scale=self.penalty_scale
        )
        scores = self.score(mean, std, context)
        return self.penalise(scores, rho) if len(context.pending) else scores


class ExpectedImprovement(PosteriorAcquisition):
    """Expected improvement over the incumbent, in log form by default.

    ``EI(x) = sigma * h(z)``, ``z = (mean - best_f - xi) / sigma``. The log form
    has the same argmax and stays finite where plain EI underflows. A std of 0
    (e.g. constant targets and a collapsed model) is floored at ``1e-12`` times
    the scale of the means and incumbent, so the scores stay finite and still
    rank by mean.

    Args:
        log: Return ``log EI`` (default) instead of EI.
        best_f: Incumbent; ``None`` takes the largest measured target and the
            largest value believed at a pending point.
        xi: Non-negative jitter subtracted from the improvement (more exploration).
        include_noise: See :class:`PosteriorAcquisition`.
        penalty_scale: See :class:`PosteriorAcquisition`.

    Raises:
        ConfigError: An option is out of range.
        DataError: (on call) ``best_f`` is ``None`` and nothing is measured or pending.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.array([0.0, 1.0]), np.array([1.0, 1.0])
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, 2))
        >>> context = AcquisitionContext(Fixed(), np.zeros((2, 1)), np.array([0]),
        ...                              np.array([0.0]))
        >>> np.round(ExpectedImprovement(log=False)(context), 4)
        array([0.3989, 1.0833])
    """

    name = "ei"

    def __init__(
        self,
        *,
        log: bool = True,
        best_f: float | None = None,
        xi: float = 0.0,
        include_noise: bool = False,
        penalty_scale: float = 0.2,
    ) -> None:
        super().__init__(include_noise=include_noise, penalty_scale=penalty_scale)
        self.log = _check_flag("log", log)
        if best_f is not None and not (isinstance(best_f, (int, float)) and math.isfinite(best_f)):
            raise ConfigError(f"best_f must be a finite number or None, got {best_f!r}")
        self.best_f = None if best_f is None else float(best_f)
        if not (isinstance(xi, (int, float)) and math.isfinite(xi) and xi >= 0):
            raise ConfigError(f"xi must be a finite number >= 0, got {xi!r}")
        self.xi = float(xi)

    def incumbent(self, context: AcquisitionContext) -> float:
        """``best_f``, or the best measured target or believed pending value."""
        if self.best_f is not None:
            return self.best_f
        values = np.concatenate([context.targets, context.believed_pending()])
        if values.size == 0:
            raise DataError("expected improvement needs a measured target or an explicit best_f")
        return float(values.max())

    def score(self, mean: np.ndarray, std: np.ndarray, context: AcquisitionContext) -> np.ndarray:
        """(Log) expected improvement `(N,)`."""
        best = self.incumbent(context) + self.xi
        scale = max(1.0, float(np.abs(mean).max()), abs(best))
        sigma = np.maximum(std, 1e-12 * scale)
        z = (mean - best) / sigma
        if self.log:
            return log_h(z) + np.log(sigma)
        return sigma * np.exp(log_h(z))

    def penalise(self, scores: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Multiply EI by ``1 - rho`` (add ``log(1 - rho)`` to log-EI), finitely."""
        if self.log:
            return scores + np.log(np.maximum(1.0 - rho, 1e-300))
        return scores * (1.0 - rho)


class LogExpectedImprovement(ExpectedImprovement):
    """Log expected improvement: :class:`ExpectedImprovement` with ``log=True`` fixed.

    Args:
        best_f: See :class:`ExpectedImprovement`.
        xi: See :class:`ExpectedImprovement`.
        include_noise: See :class:`PosteriorAcquisition`.
        penalty_scale: See :class:`PosteriorAcquisition`.

    Example:
        >>> LogExpectedImprovement(xi=0.01).log
        True
    """

    name = "logei"

    def __init__(
        self,
        *,
        best_f: float | None = None,
        xi: float = 0.0,
        include_noise: bool = False,
        penalty_scale: float = 0.2,
    ) -> None:
        super().__init__(
            log=True,
            best_f=best_f,
            xi=xi,
            include_noise=include_noise,
            penalty_scale=penalty_scale,
        )

    def get_params(self) -> dict[str, object]:
        """Constructor options (without the fixed ``log``)."""
        params = super().get_params()
        params.pop("log")
        return params


class UpperConfidenceBound(PosteriorAcquisition):
    """Upper confidence bound ``mean + sqrt(beta) * std``.

    Args:
        beta: Non-negative exploration weight (on the variance scale).
        include_noise: See :class:`PosteriorAcquisition`.
        penalty_scale: See :class:`PosteriorAcquisition`.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.array([0.0, 1.0]), np.array([1.0, 0.2])
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, 2))
        >>> context = AcquisitionContext(Fixed(), np.zeros((2, 1)), np.array([0]),
        ...                              np.array([0.0]))
        >>> UpperConfidenceBound(beta=4.0)(context)
        array([2. , 1.4])
    """

    name = "ucb"

    def __init__(
        self, *, beta: float = 4.0, include_noise: bool = False, penalty_scale: float = 0.2
    ) -> None:
        super().__init__(include_noise=include_noise, penalty_scale=penalty_scale)
        if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
            raise ConfigError(f"beta must be a finite number >= 0, got {beta!r}")
        self.beta = float(beta)

    def score(self, mean: np.ndarray, std: np.ndarray, context: AcquisitionContext) -> np.ndarray:
        """``mean + sqrt(beta) * std`` `(N,)`."""
        return mean + math.sqrt(self.beta) * std


class MaximumUncertainty(PosteriorAcquisition):
    """Maximum uncertainty: the posterior standard deviation.

    Args:
        include_noise: See :class:`PosteriorAcquisition`.
        penalty_scale: See :class:`PosteriorAcquisition`.

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.array([0.0, 1.0]), np.array([1.0, 0.2])
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, 2))
        >>> context = AcquisitionContext(Fixed(), np.zeros((2, 1)), np.array([0]),
        ...                              np.array([0.0]))
        >>> MaximumUncertainty()(context)
        array([1. , 0.2])
    """

    name = "mu"

    def score(self, mean: np.ndarray, std: np.ndarray, context: AcquisitionContext) -> np.ndarray:
        """The std `(N,)`."""
        return std.copy()
