"""The durable run store: an append-only event log in SQLite (WAL mode).

A run directory holds:

* ``run.json`` — configuration, seeds, versions, instrument and pool descriptions;
* ``overview.npz`` — the structure image the campaign saw and the pool coordinates;
* ``events.sqlite`` — every event (suggested, measured, failed attempt, failed,
  rejected, attached, budget changed), each committed before the next decision,
  and the per-step metrics.

The state of a campaign is rebuilt by replaying the events, so a run killed at
any point (``kill -9`` included) resumes with nothing lost and nothing measured
twice. Run directories are created atomically: everything is written to a
temporary sibling that is renamed into place, so bad input never leaves a
partial run directory behind.

SQLite is used directly (standard library): it is an embedded transactional
store with exactly the guarantees needed and no extra dependency.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.campaign.rundata import RunData
from autoscope.errors import RunStoreError

__all__ = ["EVENT_KINDS", "Event", "RunStore"]

EVENT_KINDS = (
    "suggested",
    "measured",
    "failed_attempt",
    "failed",
    "rejected",
    "attached",
    "budget_changed",
    "checkpoint",
)
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    batch INTEGER,
    pool_index INTEGER,
    row INTEGER,
    col INTEGER,
    target REAL,
    seconds REAL NOT NULL DEFAULT 0,
    dose REAL NOT NULL DEFAULT 0,
    acquisition REAL,
    mean REAL,
    std REAL,
    spectrum BLOB,
    info TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE checkpoints (
    batch INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE metrics (
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (step, name)
);
"""


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@dataclass(frozen=True)
class Event:
    """One entry of the run's event log.

    Attributes:
        kind: One of :data:`EVENT_KINDS`.
        index: Pool index the event is about (``None`` for run-level events).
        coords: `(row, col)` on the spectrum grid.
        batch: Number of the ``ask`` call that produced a suggestion.
        target: Scalar target of a measurement.
        seconds: Instrument time charged by this event.
        dose: Dose charged by this event.
        acquisition: Acquisition value of a suggestion.
        mean: Model mean at the point when suggested.
        std: Model std at the point when suggested.
        spectrum: The measured spectrum `(S,)`.
        info: Anything else (reason of a failure, source, new budget, ...).
        seq: Position in the log, assigned when stored.
    """

    kind: str
    index: int | None = None
    coords: tuple[int, int] | None = None
    batch: int | None = None
    target: float | None = None
    seconds: float = 0.0
    dose: float = 0.0
    acquisition: float | None = None
    mean: float | None = None
    std: float | None = None
    spectrum: np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None


class RunStore:
    """Read and append the event log of one run directory.

    Use :meth:`create` for a new run and :meth:`open` for an existing one.

    Args:
        run_dir: The run directory.
        synchronous: SQLite ``synchronous`` level. ``"FULL"`` (default) makes
            every commit survive a power loss; ``"NORMAL"`` survives a killed
            process, which is all a crash test needs, and is faster.
    """

    DATABASE = "events.sqlite"
    META = "run.json"
    OVERVIEW = "overview.npz"

    def __init__(self, run_dir: str | Path, *, synchronous: str = "FULL") -> None:
        self.run_dir = Path(run_dir)
        database = self.run_dir / self.DATABASE
        if not database.exists() or not (self.run_dir / self.META).exists():
            raise RunStoreError(
                f"{self.run_dir} is not an autoscope run directory "
                f"(expected {self.DATABASE} and {self.META})"
            )
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise RunStoreError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        try:
            self._db = sqlite3.connect(database, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("SELECT count(*) FROM events").fetchone()
        except sqlite3.DatabaseError as err:
            raise RunStoreError(f"{database} is corrupt or not a run store: {err}") from None
        try:
            self.meta: dict[str, Any] = json.loads((self.run_dir / self.META).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RunStoreError(f"{self.run_dir / self.META} is unreadable: {err}") from None

    @classmethod
    def create(
        cls,
        run_dir: str | Path,
        *,
        meta: Mapping[str, Any],
        overview: np.ndarray,
        pool_coords: np.ndarray,
        truth_map: np.ndarray | None = None,
        synchronous: str = "FULL",
    ) -> RunStore:
        """Create a new run directory atomically.

        Args:
            run_dir: Where the run goes; must not exist or be an empty folder.
            meta: JSON-serialisable configuration, seeds and descriptions.
            overview: The structure image `(H, W)` (or `(C, H, W)`).
            pool_coords: Candidate coordinates `(N, 2)`.
            truth_map: Ground-truth target on the spectrum grid `(H', W')`, if known.
            synchronous: See :class:`RunStore`.

        Raises:
            RunStoreError: ``run_dir`` exists and is not empty.
        """
        run_dir = Path(run_dir)
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise RunStoreError(
                f"{run_dir} already exists; resume it with `autoscope resume {run_dir}` "
                "or choose another output folder"
            )
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=run_dir.parent))
        try:
            text = json.dumps({"schema": SCHEMA_VERSION, **meta}, indent=2, default=_json_default)
            (staging / cls.META).write_text(text)
            arrays = {"overview": overview, "pool_coords": pool_coords}
            if truth_map is not None:
                arrays["truth_map"] = truth_map
            np.savez(staging / cls.OVERVIEW, **arrays)
            db = sqlite3.connect(staging / cls.DATABASE)
            db.executescript(_SCHEMA)
            db.execute("PRAGMA journal_mode=WAL")
            db.commit()
            db.close()
            if run_dir.exists():
                run_dir.rmdir()
            os.replace(staging, run_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return cls(run_dir, synchronous=synchronous)

    @classmethod
    def open(cls, run_dir: str | Path, *, synchronous: str = "FULL") -> RunStore:
        """Open an existing run directory."""
        return cls(run_dir, synchronous=synchronous)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, event: Event) -> Event:
        """Commit ``event`` durably and return it with its ``seq``."""
        if event.kind not in EVENT_KINDS:
            raise RunStoreError(f"unknown event kind {event.kind!r}; expected one of {EVENT_KINDS}")
        spectrum = None
        if event.spectrum is not None:
            spectrum = np.ascontiguousarray(event.spectrum, dtype="<f8").tobytes()
        row, col = event.coords if event.coords is not None else (None, None)
        cursor = self._db.execute(
            "INSERT INTO events (kind, batch, pool_index, row, col, target, seconds, dose, "
            "acquisition, mean, std, spectrum, info) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                event.kind,
                event.batch,
                event.index,
                row,
                col,
                _nan_to_none(event.target),
                float(event.seconds),
                float(event.dose),
                _nan_to_none(event.acquisition),
                _nan_to_none(event.mean),
                _nan_to_none(event.std),
                spectrum,
                json.dumps(dict(event.info), default=_json_default),
            ),
        )
        return replace(event, seq=cursor.lastrowid)

    def append_many(
        self, events: list[Event], *, checkpoint: tuple[int, bytes] | None = None
    ) -> list[Event]:
        """Commit several events in one transaction (all or none).

        Args:
            events: The events, in order.
            checkpoint: ``(batch, data)``: the policy's learned state when it
                made the suggestions of ``batch``, committed with them.
        """
        self._db.execute("BEGIN")
        try:
            stored = [self.append(event) for event in events]
            if checkpoint is not None:  # only the latest is kept: resume needs no other
                self._db.execute("DELETE FROM checkpoints")
                self._db.execute("INSERT INTO checkpoints (batch, data) VALUES (?, ?)", checkpoint)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return stored

    def events(self) -> Iterator[Event]:
        """All events in log order."""
        rows = self._db.execute(
            "SELECT seq, kind, batch, pool_index, row, col, target, seconds, dose, acquisition, "
            "mean, std, spectrum, info FROM events ORDER BY seq"
        )
        for (
            seq,
            kind,
            batch,
            index,
            row,
            col,
            target,
            sec,
            dose,
            acq,
            mean,
            std,
            blob,
            info,
        ) in rows:
            yield Event(
                kind=kind,
                index=index,
                coords=None if row is None else (row, col),
                batch=batch,
                target=math.nan if target is None and kind in ("measured", "attached") else target,
                seconds=sec,
                dose=dose,
                acquisition=acq,
                mean=mean,
                std=std,
                spectrum=None if blob is None else np.frombuffer(blob, dtype="<f8").copy(),
                info=json.loads(info),
                seq=seq,
            )

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The most recent ``(batch, data)`` policy checkpoint, if any."""
        row = self._db.execute(
            "SELECT batch, data FROM checkpoints ORDER BY batch DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def write_metrics(self, step: int, values: Mapping[str, float]) -> None:
        """Store the metric ``values`` recorded after ``step`` measurements."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO metrics (step, name, value) VALUES (?, ?, ?)",
            [(int(step), name, _nan_to_none(float(v))) for name, v in values.items()],
        )
        self._db.execute("COMMIT")

    def metrics(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Steps `(T,)` and metric name -> values `(T,)` (NaN where missing)."""
        rows = self._db.execute("SELECT step, name, value FROM metrics ORDER BY step").fetchall()
        steps = np.array(sorted({r[0] for r in rows}), dtype=np.int64)
        position = {s: i for i, s in enumerate(steps)}
        out: dict[str, np.ndarray] = {}
        for step, name, value in rows:
            column = out.setdefault(name, np.full(len(steps), np.nan))
            column[position[step]] = np.nan if value is None else value
        return steps, out

    def metric_steps(self) -> set[int]:
        """Steps for which metrics are stored."""
        return {r[0] for r in self._db.execute("SELECT DISTINCT step FROM metrics")}

    def load(self) -> RunData:
        """Everything in the run as arrays (see :class:`RunData`)."""
        with np.load(self.run_dir / self.OVERVIEW) as arrays:
            overview, pool_coords = arrays["overview"], arrays["pool_coords"]
            truth_map = arrays["truth_map"] if "truth_map" in arrays else None
        measured = [e for e in self.events() if e.kind in ("measured", "attached")]
        failed = [
            {"index": e.index, "coords": e.coords, **e.info}
            for e in self.events()
            if e.kind == "failed"
        ]
        rejected = [
            {"index": e.index, "coords": e.coords, **e.info}
            for e in self.events()
            if e.kind == "rejected"
        ]
        n_channels = int(self.meta.get("n_channels", 0))
        steps, metrics = self.metrics()
        return RunData(
            run_dir=self.run_dir,
            config=self.meta.get("config", {}),
            meta=self.meta,
            overview=overview if overview.ndim == 2 else overview[0],
            spectra_binning=int(self.meta.get("spectra_binning", 1)),
            pool_coords=pool_coords,
            grid_shape=tuple(self.meta.get("grid_shape", pool_coords.max(axis=0) + 1)),
            index=np.array([e.index for e in measured], dtype=np.int64),
            coords=np.array([e.coords for e in measured], dtype=np.int64).reshape(-1, 2),
            targets=np.array([e.target for e in measured], dtype=np.float64),
            spectra=(
                np.stack([e.spectrum for e in measured]) if measured else np.zeros((0, n_channels))
            ),
            seconds=np.array([e.seconds for e in measured], dtype=np.float64),
            dose=np.array([e.dose for e in measured], dtype=np.float64),
            source=np.array([e.info.get("source", "policy") for e in measured], dtype=object),
            spectral_axis=np.asarray(self.meta.get("spectral_axis", np.arange(n_channels))),
            spectral_units=str(self.meta.get("spectral_units", "")),
            failed=failed,
            rejected=rejected,
            metric_steps=steps,
            metrics=metrics,
            truth_map=truth_map,
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in run metadata")
