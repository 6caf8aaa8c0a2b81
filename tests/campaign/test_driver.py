"""The driver against a faulty instrument: within budget, every failure recorded."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.campaign import Budget, Campaign, RetryPolicy, RunStore, run_campaign
from autoscope.data.pool import extract_patches
from autoscope.errors import ConfigError
from autoscope.instruments import FaultInjection, ReplayInstrument
from autoscope.policies import make_policy

from helpers import total, toy_image


def faulty_run(tmp_path, *, budget, faults, max_attempts=3, seed=0):
    image = toy_image(size=24)
    pool = extract_patches(image, window=6)
    store = RunStore.create(
        tmp_path / f"run{seed}", meta={"n_channels": image.n_channels},
        overview=image.image, pool_coords=pool.coords,
    )
    campaign = Campaign(
        pool, make_policy("random"), total, spectral_axis=image.spectral_axis,
        budget=budget, seed=seed, n_initial=2, store=store,
    )
    instrument = ReplayInstrument(image, seconds_per_point=1.0, faults=faults, seed=seed)
    summary = run_campaign(
        campaign, instrument, retry=RetryPolicy(max_attempts=max_attempts), progress=False
    )
    return campaign, store, summary


FAULTS = FaultInjection(timeout=0.1, error=0.1, nan=0.1, timeout_seconds=4.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_faulty_instrument_finishes_within_budget(tmp_path, seed):
    budget = Budget(measurements=60, seconds=90.0)
    campaign, store, summary = faulty_run(tmp_path, budget=budget, faults=FAULTS, seed=seed)
    events = list(store.events())
    attempts = [e for e in events if e.kind == "failed_attempt"]
    failed = [e for e in events if e.kind == "failed"]
    measured = [e for e in events if e.kind == "measured"]
    assert summary.stopped_by == "budget"
    assert campaign.spent["seconds"] <= 90.0
    assert campaign.spent["measurements"] <= 60
    assert summary.failed_attempts == len(attempts) > 0
    reasons = " ".join(e.info["reason"] for e in attempts)
    assert "InstrumentTimeout" in reasons and "InstrumentError" in reasons and "NaN" in reasons
    # every second charged is in the log: measurements plus failed attempts
    assert sum(e.seconds for e in events) == pytest.approx(campaign.spent["seconds"])
    # nothing is re-measured, and no point is tried more often than the retry policy allows
    indices = [e.index for e in measured]
    assert len(indices) == len(set(indices))
    per_point = np.bincount([e.index for e in attempts])
    assert per_point.max() <= 3
    for e in failed:
        assert e.info["attempts"] == 3 and e.index not in indices
    # a failed point is never suggested again
    suggested = [e.index for e in events if e.kind == "suggested"]
    assert len(suggested) == len(set(suggested))


def test_no_retry_gives_up_at_first_failure(tmp_path):
    campaign, store, _ = faulty_run(
        tmp_path, budget=Budget(measurements=30), faults=FaultInjection(error=0.3), max_attempts=1
    )
    events = list(store.events())
    n_attempts = sum(e.kind == "failed_attempt" for e in events)
    assert n_attempts == sum(e.kind == "failed" for e in events) > 0
    assert campaign.spent["measurements"] == 30


def test_always_failing_instrument_ends_without_measurements(tmp_path):
    campaign, store, summary = faulty_run(
        tmp_path, budget=Budget(seconds=20.0), faults=FaultInjection(error=1.0), max_attempts=2
    )
    assert campaign.spent["measurements"] == 0
    assert campaign.spent["seconds"] <= 20.0
    assert sum(e.kind == "failed" for e in store.events()) == 10


def test_bad_driver_options():
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
