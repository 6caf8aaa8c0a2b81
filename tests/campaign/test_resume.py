"""Kill a running campaign with SIGKILL, resume it, and compare with an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autoscope.campaign import RunStore
from autoscope.campaign.config import load_config
from autoscope.campaign.experiment import resume_run, start_run

CONFIG = """
[run]
name = "crash"
seed = 5
progress = false
synchronous = "NORMAL"

[data]
twin = "ferroelectric"
twin_options = {{ size = 28 }}

[pool]
window = 8

[scalarizer]
name = "loop-area"

[instrument]
seconds_per_point = 2.0
noise_std = 0.01
latency = {latency}
faults = {{ timeout = 0.05, error = 0.05, nan = 0.05, timeout_seconds = 3.0 }}

[policy]
name = "{policy}"
n_initial = 5

[budget]
measurements = 45

[metrics]
feature_space = false
patch_clusters = 20
"""


def write_config(tmp_path: Path, *, policy: str, latency: float) -> Path:
    path = tmp_path / f"{policy}-{latency}.toml"
    path.write_text(CONFIG.format(policy=policy, latency=latency))
    return path


def history(run_dir: Path) -> list[tuple]:
    """The run's measurements and failures, without sequence numbers."""
    with RunStore.open(run_dir) as store:
        return [
            (e.kind, e.index, e.target, e.seconds, _bytes(e.spectrum))
            for e in store.events()
            if e.kind in ("measured", "failed_attempt", "failed")
        ]


def _bytes(spectrum: np.ndarray | None) -> bytes | None:
    return None if spectrum is None else spectrum.tobytes()


def count_measured(run_dir: Path) -> int:
    database = run_dir / "events.sqlite"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as db:
            return db.execute("SELECT count(*) FROM events WHERE kind='measured'").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_and_kill(args: list[str], run_dir: Path, kill_at: int) -> None:
    """Start the CLI in a subprocess and SIGKILL it once ``kill_at`` points are measured."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = run_dir.parent / f"{run_dir.name}-{kill_at}.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "autoscope.cli", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        deadline = time.monotonic() + 120
        while count_measured(run_dir) < kill_at:
            if process.poll() is not None:
                raise AssertionError(f"run ended before the kill: {log.read_text()}")
            assert time.monotonic() < deadline, "run did not reach the kill point"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["space-filling", "random"])
def test_sigkill_and_resume_equals_uninterrupted_run(tmp_path, policy):
    reference = start_run(
        load_config(write_config(tmp_path, policy=policy, latency=0.0)),
        run_dir=tmp_path / "reference",
        progress=False,
    )
    expected = history(reference)
    assert sum(kind == "measured" for kind, *_ in expected) == 45
    assert any(kind == "failed_attempt" for kind, *_ in expected)

    config = write_config(tmp_path, policy=policy, latency=0.03)
    run_dir = tmp_path / "killed"
    run_and_kill(["run", str(config), "--out", str(run_dir), "--no-report", "--no-progress"],
                 run_dir, kill_at=8)
    run_and_kill(["resume", str(run_dir), "--no-report", "--no-progress"], run_dir, kill_at=25)
    assert count_measured(run_dir) < 45
    resume_run(run_dir, progress=False)

    resumed = history(run_dir)
    measured = [index for kind, index, *_ in resumed if kind == "measured"]
    assert len(measured) == len(set(measured)) == 45  # nothing lost, nothing repeated
    assert resumed == expected  # same choices, same spectra, same failures
    with RunStore.open(run_dir) as store, RunStore.open(reference) as ref:
        steps, metrics = store.metrics()
        ref_steps, ref_metrics = ref.metrics()
        assert steps.tolist() == ref_steps.tolist() == list(range(1, 46))
        np.testing.assert_allclose(
            metrics["coverage_patch"], ref_metrics["coverage_patch"], equal_nan=True
        )
