"""The ask/tell campaign: pool, policy, scalarizer, budget, seeds and pending points.

The campaign is event-sourced: every action (``ask``, ``tell``, ``fail``,
``attach``, ``reject``, budget changes) becomes an :class:`~autoscope.campaign.store.Event`
that is committed to the run store *before* the in-memory state changes, and
the in-memory state is nothing but the replay of those events. A resumed
campaign replays the log and continues exactly where the killed one stopped.

Learned state: after a model-based policy chooses, its ``state_dict()`` is
pickled and committed in the same transaction as its suggestions; a resumed
campaign loads the latest one, so a warm-started model continues exactly as
in an uninterrupted run. (The checkpoint is the run's own file; pickle is
used for tensors, so open only run directories you trust.)

Randomness: the generator handed to the policy at the ``t``-th ``ask`` is
``numpy.random.default_rng([seed, t])``, so the same seed gives the same
trajectory, across a resume too.
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autoscope.campaign.store import Event, RunStore
from autoscope.data.pool import CandidatePool
from autoscope.errors import BudgetError, DataError, RunStoreError
from autoscope.instruments.base import Cost
from autoscope.policies.base import CampaignState, Policy, Suggestion

__all__ = ["Budget", "Campaign"]

Scalarizer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Budget:
    """Limits of a campaign; ``None`` means unlimited, at least one must be set.

    Attributes:
        measurements: Successful measurements (initial and attached points included).
        seconds: Instrument seconds, failed attempts included.
        dose: Electron dose, failed attempts included.

    Example:
        >>> Budget(measurements=100, seconds=600.0).measurements
        100
    """

    measurements: int | None = None
    seconds: float | None = None
    dose: float | None = None

    def __post_init__(self) -> None:
        if self.measurements is None and self.seconds is None and self.dose is None:
            raise BudgetError("a budget needs at least one of measurements, seconds or dose")
        if self.measurements is not None:
            if int(self.measurements) != self.measurements or self.measurements <= 0:
                raise BudgetError(
                    f"budget measurements must be a positive integer, got {self.measurements}"
                )
            object.__setattr__(self, "measurements", int(self.measurements))
        for name in ("seconds", "dose"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise BudgetError(f"budget {name} must be positive and finite, got {value}")

    def as_dict(self) -> dict[str, Any]:
        """The limits as a dict (``None`` for unlimited)."""
        return {"measurements": self.measurements, "seconds": self.seconds, "dose": self.dose}


class Campaign:
    """An ask/tell campaign over a candidate pool.

    Args:
        pool: The candidates.
        policy: Chooses points after the initial ones.
        scalarizer: Maps spectra `(k, S)` and the spectral axis `(S,)` to targets `(k,)`.
        spectral_axis: Spectral axis values `(S,)`.
        budget: Limits in count, seconds and dose.
        seed: Seed of every random choice.
        n_initial: Number of initial points chosen by ``initial_policy``.
        initial_policy: Chooses the initial points (random by default).
        store: Run store that makes every event durable; ``None`` keeps the
            campaign in memory (for notebooks and tests).

    Example:
        >>> from autoscope.policies import make_policy
        >>> pool = CandidatePool(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
        >>> campaign = Campaign(pool, make_policy("raster"), lambda s, a: s.sum(axis=1),
        ...                     spectral_axis=np.arange(3.0), budget=Budget(measurements=2))
        >>> [s] = campaign.ask()
        >>> campaign.tell(s.index, np.ones(3), seconds=1.0)
        3.0
    """

    def __init__(
        self,
        pool: CandidatePool,
        policy: Policy,
        scalarizer: Scalarizer,
        *,
        spectral_axis: np.ndarray,
        budget: Budget,
        seed: int = 0,
        n_initial: int = 0,
        initial_policy: Policy | None = None,
        store: RunStore | None = None,
    ) -> None:
        if n_initial < 0:
            raise BudgetError(f"n_initial must be >= 0, got {n_initial}")
        if budget.measurements is not None and n_initial > budget.measurements:
            raise BudgetError(
                f"n_initial ({n_initial}) exceeds the measurement budget ({budget.measurements})"
            )
        if n_initial > len(pool):
            raise BudgetError(f"n_initial ({n_initial}) exceeds the pool size ({len(pool)})")
        if initial_policy is None:
            from autoscope.policies import make_policy

            initial_policy = make_policy("random")
        self.pool = pool
        self.policy = policy
        self.initial_policy = initial_policy
        self.scalarizer = scalarizer
        self.spectral_axis = np.asarray(spectral_axis, dtype=np.float64)
        self.budget = budget
        self.seed = int(seed)
        self.n_initial = int(n_initial)
        self.store = store
        self._order: list[int] = []  # every measured index, in order
        # Kept incrementally so that state() costs O(1) in the history, not O(M).
        self._valid = _GrowingArray(np.int64)
        self._valid_targets = _GrowingArray(np.float64)
        self._valid_spectra = _GrowingRows(len(self.spectral_axis))
        self._taken = np.zeros(len(pool), dtype=bool)  # measured, pending or excluded
        self._sources: list[str] = []
        self._targets: dict[int, float] = {}
        self._pending: dict[int, Suggestion] = {}
        self._pending_sources: dict[int, str] = {}
        self._excluded: set[int] = set()
        self._attempts: Counter[int] = Counter()
        self._attempted_points: list[tuple[int, int]] = []
        self._n_asks = 0
        self._seconds = 0.0
        self._dose = 0.0
        if store is not None:
            for event in store.events():
                self._apply(event)
            checkpoint = store.latest_checkpoint()
            if checkpoint is not None:
                self.policy.load_state_dict(pickle.loads(checkpoint[1]))

    # -- state -------------------------------------------------------------------------------
    @property
    def measured(self) -> np.ndarray:
        """Every measured pool index in order (attached points included), `(M,)`."""
        return np.array(self._order, dtype=np.int64)

    @property
    def sources(self) -> list[str]:
        """``"initial"``, ``"policy"`` or ``"attached"`` per measured point."""
        return list(self._sources)

    @property
    def pending(self) -> list[Suggestion]:
        """Suggestions not yet told, failed or rejected, oldest first."""
        return list(self._pending.values())

    @property
    def attempted_points(self) -> list[tuple[int, int]]:
        """Coordinates of every instrument attempt logged so far, in order."""
        return list(self._attempted_points)

    @property
    def spent(self) -> dict[str, float]:
        """Measurements, seconds and dose spent so far."""
        return {"measurements": len(self._order), "seconds": self._seconds, "dose": self._dose}

    def attempts(self, index: int) -> int:
        """Failed attempts logged for pool ``index``."""
        return self._attempts[index]

    def state(self) -> CampaignState:
        """What the policy sees at the next ``ask``."""
        return CampaignState(
            pool=self.pool,
            measured=self._valid.copy(),
            targets=self._valid_targets.copy(),
            pending=np.fromiter(self._pending, dtype=np.int64, count=len(self._pending)),
            excluded=np.array(sorted(self._excluded), dtype=np.int64),
            step=self._n_asks,
            rng=np.random.default_rng([self.seed, self._n_asks]),
            spectra=self._valid_spectra.copy(),
            seed=self.seed,
        )

    def can_afford(self, cost: Cost, *, extra_measurements: int = 1) -> bool:
        """Whether one more attempt of ``cost`` stays within the budget."""
        b = self.budget
        if b.measurements is not None and len(self._order) + extra_measurements > b.measurements:
            return False
        if b.seconds is not None and self._seconds + cost.seconds > b.seconds + 1e-9:
            return False
        return not (b.dose is not None and self._dose + cost.dose > b.dose + 1e-9)

    @property
    def exhausted(self) -> bool:
        """No budget left for another measurement, or no candidate left."""
        b = self.budget
        if b.measurements is not None and len(self._order) >= b.measurements:
            return True
        if b.seconds is not None and self._seconds >= b.seconds - 1e-9:
            return True
        if b.dose is not None and self._dose >= b.dose - 1e-9:
            return True
        return not self._pending and int(self._taken_mask().sum()) >= len(self.pool)

    def _taken_mask(self) -> np.ndarray:
        if len(self._taken) < len(self.pool):  # the pool grew
            self._taken = np.concatenate(
                [self._taken, np.zeros(len(self.pool) - len(self._taken), dtype=bool)]
            )
        return self._taken

    # -- actions -----------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Suggestion]:
        """Suggest up to ``n`` new points and record them as pending.

        Returns fewer (or none) when the budget or the pool runs out.
        """
        if n < 1:
            raise BudgetError(f"ask needs n >= 1, got {n}")
        if self.budget.measurements is not None:
            n = min(n, self.budget.measurements - len(self._order) - len(self._pending))
        if n <= 0 or self.exhausted:
            return []
        n_started = len(self._order) + len(self._pending)
        if n_started < self.n_initial:
            policy, source = self.initial_policy, "initial"
            n = min(n, self.n_initial - n_started)
        else:
            policy, source = self.policy, "policy"
        state = self.state()
        suggestions = policy.ask(state, n)
        available = state.available()
        seen: set[int] = set()
        for s in suggestions:
            if not (0 <= s.index < len(self.pool)) or not available[s.index] or s.index in seen:
                raise RuntimeError(
                    f"policy {policy.name!r} suggested pool index {s.index}, which is not "
                    "available (measured, pending, excluded, duplicated or out of range)"
                )
            seen.add(s.index)
        events = [
            Event(
                kind="suggested",
                index=s.index,
                coords=s.coords,
                batch=self._n_asks,
                acquisition=s.acquisition,
                mean=s.mean,
                std=s.std,
                seconds=0.0,
                info={"source": source, "policy": policy.name, "payload": dict(s.payload)},
            )
            for s in suggestions
        ]
        checkpoint = None
        if source == "policy" and self.store is not None:
            learned = policy.state_dict()
            if learned:
                checkpoint = (self._n_asks, pickle.dumps(learned, protocol=pickle.HIGHEST_PROTOCOL))
        self._commit(events, checkpoint=checkpoint)
        return suggestions

    def tell(
        self,
        index: int,
        spectrum: np.ndarray,
        *,
        seconds: float = 0.0,
        dose: float = 0.0,
        info: Mapping[str, Any] | None = None,
    ) -> float:
        """Record the spectrum measured at the pending point ``index``.

        Returns:
            The scalar target. When the scalarizer cannot score the spectrum the
            target is NaN, the spectrum is kept with the scalarizer's error, and
            the point is never suggested again.

        Raises:
            DataError: ``index`` is not pending, or the spectrum has the wrong
                shape or non-finite values (use :meth:`fail` for those).
        """
        suggestion = self._require_pending(index, "tell")
        spectrum = self._check_spectrum(spectrum, f"spectrum told for pool index {index}")
        target, note = self._scalarize(spectrum)
        self._commit(
            [
                Event(
                    kind="measured",
                    index=index,
                    coords=suggestion.coords,
                    target=target,
                    seconds=float(seconds),
                    dose=float(dose),
                    spectrum=spectrum,
                    info={"source": self._pending_source(index), **note, **(info or {})},
                )
            ]
        )
        return target

    def fail(
        self,
        index: int,
        reason: str,
        *,
        seconds: float = 0.0,
        dose: float = 0.0,
        final: bool = False,
    ) -> None:
        """Record a failed attempt at the pending point ``index``.

        Args:
            index: The pending pool index.
            reason: What went wrong (stored in the log).
            seconds: Instrument time the attempt consumed.
            dose: Dose the attempt deposited.
            final: Give the point up: it is recorded as failed and never suggested again.
        """
        suggestion = self._require_pending(index, "fail")
        events = [
            Event(
                kind="failed_attempt",
                index=index,
                coords=suggestion.coords,
                seconds=float(seconds),
                dose=float(dose),
                info={"reason": reason, "attempt": self._attempts[index] + 1},
            )
        ]
        if final:
            events.append(
                Event(
                    kind="failed",
                    index=index,
                    coords=suggestion.coords,
                    info={"reason": reason, "attempts": self._attempts[index] + 1},
                )
            )
        self._commit(events)

    def reject(self, index: int, reason: str) -> None:
        """Drop the pending suggestion ``index``; it is never suggested again."""
        suggestion = self._require_pending(index, "reject")
        self._commit(
            [Event(kind="rejected", index=index, coords=suggestion.coords, info={"reason": reason})]
        )

    def attach(
        self,
        coords: tuple[int, int] | Iterable[int],
        spectrum: np.ndarray,
        *,
        seconds: float = 0.0,
        dose: float = 0.0,
        note: str = "",
    ) -> float:
        """Add a point chosen by a person or measured before the campaign.

        Args:
            coords: `(row, col)` of a pool candidate.
            spectrum: Its spectrum `(S,)`.
            seconds: Instrument time to charge (0 for earlier measurements).
            dose: Dose to charge.
            note: Who or why, stored in the log.

        Returns:
            The scalar target of the attached point.

        Raises:
            DataError: The coordinates are not a pool candidate, or are already measured.
        """
        row, col = (int(v) for v in coords)
        [index] = self.pool.index_of(np.array([[row, col]]))
        if index < 0:
            raise DataError(f"attached point {(row, col)} is not a candidate of the pool")
        if index in self._targets:
            raise DataError(f"attached point {(row, col)} (pool index {index}) is already measured")
        spectrum = self._check_spectrum(spectrum, f"spectrum attached at {(row, col)}")
        target, error = self._scalarize(spectrum)
        self._commit(
            [
                Event(
                    kind="attached",
                    index=int(index),
                    coords=(row, col),
                    target=target,
                    seconds=float(seconds),
                    dose=float(dose),
                    spectrum=spectrum,
                    info={"source": "attached", "note": note, **error},
                )
            ]
        )
        return target

    def set_budget(self, budget: Budget, *, reason: str = "") -> None:
        """Change the budget (e.g. a person extends a run); logged."""
        self._commit([Event(kind="budget_changed", info={**budget.as_dict(), "reason": reason})])

    # -- internals ---------------------------------------------------------------------------
    def _commit(self, events: list[Event], *, checkpoint: tuple[int, bytes] | None = None) -> None:
        if self.store is not None:
            events = self.store.append_many(events, checkpoint=checkpoint)
        for event in events:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        kind, index = event.kind, event.index
        self._seconds += event.seconds
        self._dose += event.dose
        if kind == "suggested":
            assert index is not None and event.coords is not None
            self._pending[index] = Suggestion(
                index=index,
                coords=(int(event.coords[0]), int(event.coords[1])),
                acquisition=math.nan if event.acquisition is None else event.acquisition,
                mean=math.nan if event.mean is None else event.mean,
                std=math.nan if event.std is None else event.std,
                payload=dict(event.info.get("payload", {})),
            )
            self._pending_sources[index] = str(event.info.get("source", "policy"))
            self._taken_mask()[index] = True
            self._n_asks = max(self._n_asks, int(event.batch or 0) + 1)
        elif kind in ("measured", "attached"):
            assert index is not None
            self._pending.pop(index, None)
            self._order.append(index)
            self._sources.append(str(event.info.get("source", "policy")))
            target = math.nan if event.target is None else float(event.target)
            self._targets[index] = target
            self._taken_mask()[index] = True
            if math.isfinite(target):
                self._valid.append(index)
                self._valid_targets.append(target)
                self._valid_spectra.append(self._event_spectrum(event))
            else:
                self._excluded.add(index)
            if kind == "measured" and event.coords is not None:
                self._attempted_points.append((int(event.coords[0]), int(event.coords[1])))
        elif kind == "failed_attempt":
            assert index is not None and event.coords is not None
            self._attempts[index] += 1
            self._attempted_points.append((int(event.coords[0]), int(event.coords[1])))
        elif kind in ("failed", "rejected"):
            assert index is not None
            self._pending.pop(index, None)
            self._excluded.add(index)
            self._taken_mask()[index] = True
        elif kind == "budget_changed":
            self.budget = Budget(
                measurements=event.info.get("measurements"),
                seconds=event.info.get("seconds"),
                dose=event.info.get("dose"),
            )

    def _event_spectrum(self, event: Event) -> np.ndarray:
        """The spectrum `(S,)` a measured/attached event carries, checked against the axis."""
        spectrum = event.spectrum
        if spectrum is None or np.shape(spectrum) != self.spectral_axis.shape:
            got = None if spectrum is None else np.shape(spectrum)
            raise RunStoreError(
                f"{event.kind} event for pool index {event.index} carries spectrum shape {got}, "
                f"expected {self.spectral_axis.shape}; resume with the spectral axis of the "
                "run that wrote the log"
            )
        return spectrum

    def _pending_source(self, index: int) -> str:
        return self._pending_sources.get(index, "policy")

    def _require_pending(self, index: int, action: str) -> Suggestion:
        try:
            return self._pending[int(index)]
        except KeyError:
            raise DataError(
                f"cannot {action} pool index {index}: it is not a pending suggestion "
                f"(pending: {sorted(self._pending)[:10]}); use attach() for unsolicited points"
            ) from None

    def _check_spectrum(self, spectrum: np.ndarray, what: str) -> np.ndarray:
        spectrum = np.asarray(spectrum, dtype=np.float64)
        if spectrum.shape != self.spectral_axis.shape:
            raise DataError(
                f"{what} has shape {spectrum.shape}, expected {self.spectral_axis.shape}"
            )
        if not np.all(np.isfinite(spectrum)):
            raise DataError(
                f"{what} has {int(np.sum(~np.isfinite(spectrum)))} NaN/inf values; "
                "record it with fail() instead"
            )
        return spectrum

    def _scalarize(self, spectrum: np.ndarray) -> tuple[float, dict[str, str]]:
        """Target of ``spectrum``: NaN and a note when the scalarizer fails."""
        try:
            value = np.asarray(self.scalarizer(spectrum[None, :], self.spectral_axis), dtype=float)
        except (ValueError, ArithmeticError) as err:
            return math.nan, {"target_error": f"{type(err).__name__}: {err}"}
        if value.shape != (1,):
            return math.nan, {
                "target_error": f"scalarizer returned shape {value.shape}, expected (1,)"
            }
        if not math.isfinite(value[0]):
            return math.nan, {"target_error": "scalarizer returned a non-finite value"}
        return float(value[0]), {}


class _GrowingArray:
    """An append-only 1-D array with amortised O(1) appends."""

    def __init__(self, dtype: type) -> None:
        self._data = np.zeros(64, dtype=dtype)
        self._size = 0

    def append(self, value: float) -> None:
        if self._size == len(self._data):
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._size] = value
        self._size += 1

    def copy(self) -> np.ndarray:
        return self._data[: self._size].copy()


class _GrowingRows:
    """An append-only `(M, S)` float64 array with amortised O(1) row appends."""

    def __init__(self, n_columns: int) -> None:
        self._data = np.zeros((64, n_columns), dtype=np.float64)
        self._size = 0

    def append(self, row: np.ndarray) -> None:
        if self._size == len(self._data):
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._size] = row
        self._size += 1

    def copy(self) -> np.ndarray:
        return self._data[: self._size].copy()
