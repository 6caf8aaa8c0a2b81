from __future__ import annotations

import numpy as np
import pytest

from autoscope.campaign import Event, RunStore
from autoscope.errors import RunStoreError


def new_store(tmp_path, name="run"):
    return RunStore.create(
        tmp_path / name,
        meta={"config": {"run": {"name": "t"}}, "grid_shape": [4, 4], "n_channels": 3},
        overview=np.zeros((4, 4)),
        pool_coords=np.array([[0, 0], [1, 1]]),
    )


def test_events_round_trip_exactly(tmp_path):
    store = new_store(tmp_path)
    spectrum = np.array([0.1, np.pi, -1e-300])
    store.append(Event("suggested", index=1, coords=(1, 1), batch=0, acquisition=0.5))
    stored = store.append(
        Event("measured", index=1, coords=(1, 1), target=2.0, seconds=1.5, spectrum=spectrum,
              info={"source": "initial"})
    )
    assert stored.seq == 2
    store.close()
    events = list(RunStore.open(tmp_path / "run").events())
    assert [e.kind for e in events] == ["suggested", "measured"]
    assert events[1].spectrum.tobytes() == spectrum.tobytes()
    assert events[1].info == {"source": "initial"}
    assert events[0].acquisition == 0.5


def test_create_refuses_existing_run(tmp_path):
    new_store(tmp_path).close()
    with pytest.raises(RunStoreError, match="already exists"):
        new_store(tmp_path)


def test_failed_create_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        RunStore.create(tmp_path / "run", meta={"bad": object()}, overview=np.zeros((2, 2)),
                        pool_coords=np.zeros((1, 2), int))
    assert list(tmp_path.iterdir()) == []


def test_open_rejects_non_runs_and_corrupt_stores(tmp_path):
    with pytest.raises(RunStoreError, match="not an autoscope run"):
        RunStore.open(tmp_path)
    new_store(tmp_path).close()
    (tmp_path / "run" / "events.sqlite-wal").unlink(missing_ok=True)
    (tmp_path / "run" / "events.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RunStoreError, match="corrupt"):
        RunStore.open(tmp_path / "run")


def test_append_many_is_atomic(tmp_path):
    store = new_store(tmp_path)
    with pytest.raises(RunStoreError):
        store.append_many([Event("suggested", index=0, coords=(0, 0)), Event("bogus")])
    assert list(store.events()) == []


def test_metrics_round_trip(tmp_path):
    store = new_store(tmp_path)
    store.write_metrics(1, {"a": 0.5})
    store.write_metrics(2, {"a": 0.75, "b": float("nan")})
    steps, metrics = store.metrics()
    assert steps.tolist() == [1, 2]
    assert metrics["a"].tolist() == [0.5, 0.75]
    assert np.isnan(metrics["b"]).all()
