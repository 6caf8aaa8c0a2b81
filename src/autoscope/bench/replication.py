"""One replication of a sweep: a pure, picklable function writing its own result file.

:func:`run_replication` runs one campaign (one dataset × policy × seed) into
its own run directory and then writes ``result.json`` there atomically
(temporary file + rename). A sweep skips every replication whose result file
exists, so it resumes after a crash; a run directory without a result file is
incomplete and is deleted and redone.

``result.json`` holds (NaN stored as ``null``)::

    {"schema": 1, "dataset": ..., "policy": ..., "seed": ..., "config_hash": ...,
     "metric_steps": [1, 2, ...],           # `(T,)`
     "metrics": {"coverage_patch": [...]},  # name -> `(T,)`
     "index": [...],                        # measured pool indices in order, `(M,)`
     "coords": [[row, col], ...],           # `(M, 2)`
     "targets": [...],                      # `(M,)`
     "final": {"coverage_patch": 0.41, ...},
     "n_measured": M, "n_failed": ..., "instrument_seconds": ..., "dose": ...,
     "wall_seconds": ...}

Everything but ``wall_seconds`` is a function of the task alone: the worker
pins torch and BLAS to one thread (which also keeps floating-point reductions
in the same order on every machine) and every random choice is seeded by the
task's seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autoscope
from autoscope.errors import AutoscopeError

__all__ = [
    "ERROR_FILE",
    "RESULT_FILE",
    "ReplicationFailed",
    "ReplicationTask",
    "config_hash",
    "limit_threads",
    "read_result",
    "run_replication",
]

#: Name of the result file in a replication's run directory.
RESULT_FILE = "result.json"
#: Name of the file holding the traceback of a failed replication.
ERROR_FILE = "error.txt"
RESULT_SCHEMA = 1
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


class ReplicationFailed(AutoscopeError, RuntimeError):
    """A replication raised; the message holds the original traceback."""


@dataclass(frozen=True)
class ReplicationTask:
    """Everything one replication needs (picklable: plain data only).

    Attributes:
        config: The fully merged run configuration (nested dicts, as
            :meth:`~autoscope.campaign.config.Config.from_dict` takes).
        dataset: Dataset label.
        policy: Policy label.
        seed: The seed (also ``config["run"]["seed"]``).
        out_dir: The replication's run directory
            (``<sweep>/runs/<dataset>/<policy>/seed-<seed>``).
    """

    config: dict[str, Any]
    dataset: str
    policy: str
    seed: int
    out_dir: Path

    @property
    def result_path(self) -> Path:
        """Path of the result file."""
        return Path(self.out_dir) / RESULT_FILE

    @property
    def error_path(self) -> Path:
        """Path of the error file of a failed attempt."""
        return Path(self.out_dir) / ERROR_FILE

    @property
    def key(self) -> tuple[str, str, int]:
        """``(dataset, policy, seed)``."""
        return (self.dataset, self.policy, self.seed)

    @property
    def config_hash(self) -> str:
        """Hash of :attr:`config` (see :func:`config_hash`)."""
        return config_hash(self.config)


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of a configuration's canonical JSON (sorted keys).

    ``[run] progress`` is left out: it does not change the result.
    """
    data = json.loads(json.dumps(config, sort_keys=True, default=str))
    data.get("run", {}).pop("progress", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def limit_threads() -> None:
    """Pin this process to one torch and one BLAS thread.

    Sets the thread environment variables (read by torch, OpenBLAS and MKL
    when they load later), calls ``torch.set_num_threads(1)`` when torch is
    already loaded (it is not imported just for this: a replication without a
    model never needs it, and importing it costs seconds per worker) and, when
    ``threadpoolctl`` is installed, limits the BLAS and OpenMP pools already
    loaded. On a small machine, oversubscribed torch threads make model fits
    many times slower.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(limits=1)


def run_replication(task: ReplicationTask) -> Path:
    """Run one replication and write its result file atomically.

    An existing run directory without a result file (an interrupted attempt)
    is deleted first. On failure the traceback is written to ``error.txt`` in
    the run directory (which a later sweep deletes and redoes).

    Args:
        task: The replication.

    Returns:
        Path of the result file.

    Raises:
        ReplicationFailed: The campaign raised; the message holds its traceback.
    """
    from autoscope.campaign.config import Config
    from autoscope.campaign.experiment import start_run
    from autoscope.campaign.store import RunStore

    limit_threads()
    out_dir = Path(task.out_dir)
    if task.result_path.exists():
        return task.result_path
    if out_dir.exists():
        shutil.rmtree(out_dir)
    start = time.perf_counter()
    try:
        config = Config.from_dict(task.config)
        start_run(config, run_dir=out_dir, progress=False)
        with RunStore.open(out_dir) as store:
            run = store.load()
        result = {
            "schema": RESULT_SCHEMA,
            "autoscope_version": autoscope.__version__,
            "dataset": task.dataset,
            "policy": task.policy,
            "seed": task.seed,
            "config_hash": task.config_hash,
            "metric_steps": run.metric_steps.tolist(),
            "metrics": {name: _floats(v) for name, v in sorted(run.metrics.items())},
            "index": run.index.tolist(),
            "coords": run.coords.tolist(),
            "targets": _floats(run.targets),
            "final": {name: _float(v[-1]) if len(v) else None for name, v in run.metrics.items()},
            "n_measured": len(run.index),
            "n_failed": len(run.failed),
            "instrument_seconds": float(np.sum(run.seconds)),
            "dose": float(np.sum(run.dose)),
            "wall_seconds": time.perf_counter() - start,
        }
        _write_atomic(task.result_path, json.dumps(result, allow_nan=False))
    except BaseException as err:
        text = traceback.format_exc()
        out_dir.mkdir(parents=True, exist_ok=True)
        task.error_path.write_text(text)
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        raise ReplicationFailed(
            f"{task.dataset}/{task.policy}/seed-{task.seed}: {type(err).__name__}: {err}\n\n{text}"
        ) from None
    return task.result_path


def read_result(path: str | Path) -> dict[str, Any]:
    """Read a result file; lists become arrays and ``null`` becomes NaN.

    Returns:
        The result dict with ``metric_steps`` `(T,)`, ``metrics`` (name ->
        `(T,)`), ``index`` `(M,)`, ``coords`` `(M, 2)` and ``targets`` `(M,)`
        as numpy arrays.
    """
    data = json.loads(Path(path).read_text())
    data["metric_steps"] = np.asarray(data["metric_steps"], dtype=np.int64)
    data["metrics"] = {k: _array(v) for k, v in data["metrics"].items()}
    data["index"] = np.asarray(data["index"], dtype=np.int64)
    data["coords"] = np.asarray(data["coords"], dtype=np.int64).reshape(-1, 2)
    data["targets"] = _array(data["targets"])
    data["final"] = {k: math.nan if v is None else float(v) for k, v in data["final"].items()}
    return data


def _float(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values: Any) -> list[float | None]:
    return [_float(v) for v in np.asarray(values, dtype=float)]


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
