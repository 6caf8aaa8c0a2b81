"""The campaign driver: the loop that does the I/O.

``run_campaign`` asks the campaign for points, measures them on the
instrument with a retry policy, tells the results, records metrics and shows
progress. A failed point is recorded as failed (never silently dropped) and
re-measured no more often than the retry policy allows; an attempt that would
exceed the budget is never started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from autoscope.campaign.core import Campaign
from autoscope.errors import ConfigError, InstrumentError
from autoscope.instruments.base import Instrument
from autoscope.policies.base import Suggestion

__all__ = ["RetryPolicy", "RunSummary", "run_campaign"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing point is tried before it is given up.

    Attributes:
        max_attempts: Attempts per point (1 = no retry).
    """

    max_attempts: int = 3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be >= 1, got {self.max_attempts}")


@dataclass(frozen=True)
class RunSummary:
    """What a call of :func:`run_campaign` did.

    Attributes:
        measured: Successful measurements in this call.
        failed_attempts: Failed attempts in this call.
        stopped_by: ``"budget"``, ``"pool"`` (no candidate left) or ``"max_steps"``.
        spent: Measurements, seconds and dose spent by the whole run.
    """

    measured: int
    failed_attempts: int
    stopped_by: str
    spent: dict[str, float]


class _Monitor:
    """The part of :class:`~autoscope.metrics.monitor.MetricsMonitor` the driver uses."""

    def update(self, new_indices: Any, *, prediction: Any = None) -> dict[str, float]: ...


def _measure(
    campaign: Campaign,
    instrument: Instrument,
    suggestion: Suggestion,
    retry: RetryPolicy,
) -> tuple[str, int]:
    """Measure one pending suggestion; returns (outcome, failed attempts)."""
    point = np.array([suggestion.coords], dtype=np.int64)
    failures = 0
    while True:
        if not campaign.can_afford(instrument.expected_cost(point)):
            return "budget", failures
        final = campaign.attempts(suggestion.index) + 1 >= retry.max_attempts
        try:
            result = instrument.measure(point)
        except InstrumentError as err:
            failures += 1
            reason = f"{type(err).__name__}: {err}"
            campaign.fail(suggestion.index, reason, seconds=err.seconds, dose=err.dose, final=final)
            if final:
                return "failed", failures
            continue
        spectrum = np.asarray(result.spectra[0], dtype=np.float64)
        seconds, dose = float(result.seconds[0]), float(result.dose[0])
        if not np.all(np.isfinite(spectrum)):
            failures += 1
            reason = f"non-finite spectrum ({int(np.sum(~np.isfinite(spectrum)))} NaN/inf values)"
            campaign.fail(suggestion.index, reason, seconds=seconds, dose=dose, final=final)
            if final:
                return "failed", failures
            continue
        info = result.info[0] if result.info else None
        campaign.tell(suggestion.index, spectrum, seconds=seconds, dose=dose, info=info)
        return "measured", failures


def run_campaign(
    campaign: Campaign,
    instrument: Instrument,
    *,
    batch_size: int = 1,
    retry: RetryPolicy | None = None,
    monitor: _Monitor | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    on_measured: Callable[[Campaign], None] | None = None,
) -> RunSummary:
    """Run ``campaign`` on ``instrument`` until the budget or the pool is spent.

    Pending suggestions left by a killed session are measured first, so a
    resumed run continues exactly where it stopped.

    Args:
        campaign: The campaign (with a store for a durable run).
        instrument: Where the spectra come from.
        batch_size: Points per ``ask``.
        retry: Attempts per point; 3 by default.
        monitor: Records metrics after each measurement (and writes them to the
            campaign's store).
        max_steps: Stop after this many measurements in this call.
        progress: Show a progress bar.
        on_measured: Called after every successful measurement.

    Returns:
        A summary of this call.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    retry = retry or RetryPolicy()
    measured = failures = 0
    total = campaign.budget.measurements
    bar = tqdm(
        total=total,
        initial=int(campaign.spent["measurements"]),
        desc="measuring",
        unit="pt",
        disable=None if progress else True,  # None: only on a terminal
        leave=False,
    )
    stopped_by = "pool"
    try:
        while True:
            if max_steps is not None and measured >= max_steps:
                stopped_by = "max_steps"
                break
            batch = campaign.pending or campaign.ask(batch_size)
            if not batch:
                stopped_by = (
                    "budget" if campaign.exhausted and not _pool_empty(campaign) else "pool"
                )
                break
            for suggestion in batch:
                outcome, n_failed = _measure(campaign, instrument, suggestion, retry)
                failures += n_failed
                if outcome == "budget":
                    stopped_by = "budget"
                    return RunSummary(measured, failures, stopped_by, campaign.spent)
                if outcome == "measured":
                    measured += 1
                    bar.update(1)
                    _record_metrics(campaign, monitor, suggestion.index)
                    if on_measured is not None:
                        on_measured(campaign)
                bar.set_postfix(failed=failures, seconds=f"{campaign.spent['seconds']:.0f}")
    finally:
        bar.close()
    return RunSummary(measured, failures, stopped_by, campaign.spent)


def _pool_empty(campaign: Campaign) -> bool:
    return not campaign.state().available().any()


def _record_metrics(campaign: Campaign, monitor: _Monitor | None, index: int) -> None:
    if monitor is None:
        return
    state = campaign.state()
    values = dict(monitor.update(np.array([index]), prediction=campaign.policy.predict(state)))
    values.update(campaign.policy.diagnostics())
    values.update(seconds=campaign.spent["seconds"], dose=campaign.spent["dose"])
    if campaign.store is not None:
        campaign.store.write_metrics(int(campaign.spent["measurements"]), values)
