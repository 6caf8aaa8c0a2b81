"""The acquisition interface: one score per candidate, higher is better.

An :class:`Acquisition` turns a fitted :class:`~autoscope.models.base.Surrogate`
and what was measured into a score for every candidate of the pool. Everything
it may look at travels in one frozen :class:`AcquisitionContext`, which also
caches the expensive parts of a step (the posterior mean and standard deviation
over the whole pool, one posterior draw per sampler), so several acquisitions
and a greedy batch selection share them.

Pending points (suggested, not yet measured) are part of the context. Each
acquisition says how it treats them (see :mod:`autoscope.acquisition.batch`);
a caller masks the scores of measured and pending candidates itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from autoscope.errors import DataError

if TYPE_CHECKING:  # importing autoscope.models would pull in torch
    from autoscope.models.base import SampleMethod, Surrogate

__all__ = ["Acquisition", "AcquisitionContext", "SupportsFantasize"]

SAMPLE_METHODS: tuple[str, ...] = ("marginal", "joint", "pathwise")


@runtime_checkable
class SupportsFantasize(Protocol):
    """A surrogate that can condition on imagined observations without refitting.

    ``fantasize(x)`` returns a copy of the model conditioned on observations at
    the features ``x`` `(P, ...)` equal to its own posterior mean there (the
    "kriging believer"): the mean is unchanged and the standard deviation
    shrinks around ``x``. Mean/std acquisitions use it for pending points when a
    model offers it.
    """

    def fantasize(self, x: np.ndarray) -> Surrogate:
        """A copy conditioned on its own posterior mean at ``x`` `(P, ...)`."""
        ...


def _indices(name: str, values: Any, n: int) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"{name} must be a 1-D integer array of pool indices, got {array!r}")
    bad = array[(array < 0) | (array >= n)]
    if bad.size:
        raise DataError(f"{name} holds indices outside the pool of {n}: {bad.tolist()}")
    return array.astype(np.int64)


@dataclass(frozen=True, eq=False)
class AcquisitionContext:
    """Everything an acquisition may look at in one step.

    The posterior over the pool is computed lazily, once per context (the model
    predicts in memory-bounded chunks itself), and so is one posterior draw per
    sampler; :meth:`with_pending` derives the context of the next greedy pick,
    sharing the posterior but drawing afresh.

    Attributes:
        model: The fitted surrogate.
        features: Pool features `(N, ...)`, as the model takes them.
        measured: Pool indices of the measured candidates `(M,)`.
        targets: Measured scalar targets `(M,)`; must be finite.
        pending: Pool indices suggested but not yet measured `(P,)`.
        rng: Generator for posterior draws.
        pending_values: Values believed at the pending points `(P,)` (a
            fantasised observation, e.g. the Thompson draw that picked the
            point), NaN where unknown; ``None`` means all unknown. Unknown
            values are believed to equal the posterior mean.

    Raises:
        DataError: Shapes disagree, an index is outside the pool, or a target
            is not finite (the message names the pool indices).

    Example:
        >>> import numpy as np
        >>> from autoscope.acquisition import AcquisitionContext, UpperConfidenceBound
        >>> from autoscope.models.base import Surrogate
        >>> class Fixed(Surrogate):
        ...     def fit(self, x, y): return self
        ...     def predict(self, x, *, include_noise=False):
        ...         return np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.1, 0.5])
        ...     def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        ...         return np.zeros((n_samples, 3))
        >>> context = AcquisitionContext(Fixed(), np.zeros((3, 1)), np.array([1]),
        ...                              np.array([1.0]), rng=np.random.default_rng(0))
        >>> context.std
        array([1. , 0.1, 0.5])
        >>> UpperConfidenceBound(beta=4.0)(context)
        array([2. , 1.2, 1.5])
    """

    model: Surrogate
    features: np.ndarray
    measured: np.ndarray
    targets: np.ndarray
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    pending_values: np.ndarray | None = None
    _cache: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        features = np.asarray(self.features)
        if features.ndim < 1 or len(features) == 0:
            raise DataError(f"features must be a non-empty `(N, ...)` array, got {features.shape}")
        n = len(features)
        measured = _indices("measured", self.measured, n)
        targets = np.asarray(self.targets, dtype=np.float64).reshape(-1)
        if targets.shape != measured.shape:
            raise DataError(
                f"targets {targets.shape} and measured {measured.shape} must have the same length"
            )
        bad = ~np.isfinite(targets)
        if bad.any():
            raise DataError(
                f"targets must be finite; not finite at pool indices {measured[bad].tolist()}"
            )
        pending = _indices("pending", self.pending, n)
        values = self.pending_values
        if values is not None:
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.shape != pending.shape:
                raise DataError(
                    f"pending_values {values.shape} and pending {pending.shape} must have the "
                    "same length"
                )
        if not isinstance(self.rng, np.random.Generator):
            raise DataError(f"rng must be a numpy Generator, got {type(self.rng).__name__}")
        for name, value in (
            ("features", features),
            ("measured", measured),
            ("targets", targets),
            ("pending", pending),
            ("pending_values", values),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_candidates(self) -> int:
        """Pool size `N`."""
        return len(self.features)

    def posterior(self, *, include_noise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation over the pool, `(N,)` each, cached.

        Args:
            include_noise: Predictive variance of a new measurement (latent
                variance plus noise) instead of the latent function's.

        Raises:
            DataError: The model returned the wrong shape or a non-finite or
                negative value.
        """
        key = ("posterior", bool(include_noise))
        if key not in self._cache:
            mean, std = self.model.predict(self.features, include_noise=include_noise)
            mean = np.asarray(mean, dtype=np.float64)
            std = np.asarray(std, dtype=np.float64)
            n = self.n_candidates
            if mean.shape != (n,) or std.shape != (n,):
                raise DataError(
                    f"model.predict returned mean {mean.shape} and std {std.shape}; "
                    f"expected ({n},) each"
                )
            if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all()):
                raise DataError(
                    "model.predict returned a non-finite mean or a non-finite or negative std"
                )
            self._cache[key] = (mean, std)
        mean, std = self._cache[key]
        return mean, std

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean over the pool `(N,)`."""
        return self.posterior()[0]

    @property
    def std(self) -> np.ndarray:
        """Latent posterior standard deviation over the pool `(N,)`."""
        return self.posterior()[1]

    def sample(self, method: SampleMethod = "pathwise") -> np.ndarray:
        """One posterior function draw over the pool `(N,)`, cached per method.

        Raises:
            DataError: The model returned the wrong shape or a non-finite value.
        """
        if method not in SAMPLE_METHODS:
            raise DataError(f"unknown sample method {method!r}; expected one of {SAMPLE_METHODS}")
        key = ("sample", method)
        if key not in self._cache:
            draw = np.asarray(
                self.model.sample(self.features, n_samples=1, rng=self.rng, method=method),
                dtype=np.float64,
            )
            if draw.shape != (1, self.n_candidates):
                raise DataError(
                    f"model.sample returned {draw.shape}; expected (1, {self.n_candidates})"
                )
            if not np.isfinite(draw).all():
                raise DataError(f"model.sample({method!r}) returned non-finite values")
            self._cache[key] = draw[0]
        return self._cache[key]

    def believed_pending(self) -> np.ndarray:
        """Values believed at the pending points `(P,)`: given ones, else the posterior mean."""
        if len(self.pending) == 0:
            return np.zeros(0)
        means = self.mean[self.pending]
        if self.pending_values is None:
            return means
        return np.where(np.isnan(self.pending_values), means, self.pending_values)

    def with_pending(self, indices: Any, values: Any = None) -> AcquisitionContext:
        """The context after adding ``indices`` `(k,)` to the pending points.

        Args:
            indices: Pool indices to add.
            values: Values believed there `(k,)`; ``None`` (or NaN) means the
                posterior mean.

        Returns:
            A new context sharing this one's cached posterior; posterior draws
            are made afresh from the same generator.
        """
        indices = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        if values is None:
            values = np.full(len(indices), np.nan)
        values = np.atleast_1d(np.asarray(values, dtype=np.float64))
        old = (
            np.full(len(self.pending), np.nan)
            if self.pending_values is None
            else self.pending_values
        )
        new = replace(
            self,
            pending=np.concatenate([self.pending, indices]),
            pending_values=np.concatenate([old, values]),
        )
        for key, value in self._cache.items():
            if key[0] == "posterior":
                new._cache[key] = value
        return new


class Acquisition(ABC):
    """Base class of acquisition functions.

    Subclasses store and validate keyword-only options in ``__init__`` and
    implement :meth:`__call__`. A subclass that fantasises something other than
    the posterior mean at a picked point (e.g. the Thompson draw that picked it)
    overrides :meth:`fantasy`.
    """

    name: ClassVar[str] = "acquisition"

    @abstractmethod
    def __call__(self, context: AcquisitionContext) -> np.ndarray:
        """Scores `(N,)` of every pool candidate; higher is better, always finite."""

    def fantasy(self, context: AcquisitionContext, index: int) -> float:
        """The value to believe at candidate ``index`` once it is picked.

        The default is the posterior mean (the "kriging believer").
        """
        return float(context.mean[index])

    def get_params(self) -> dict[str, Any]:
        """Constructor options, recorded with a run."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({options})"
