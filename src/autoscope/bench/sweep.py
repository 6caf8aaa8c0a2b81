"""Run a sweep on any :class:`concurrent.futures.Executor`, resuming what is done.

:func:`run_sweep` expands the spec into replications, skips those whose result
file exists (and was made from the same configuration), deletes incomplete run
directories and submits the rest to an executor: a local process pool by
default (``spawn`` start method, safe with torch), or a Dask distributed
cluster when a scheduler address is given. A replication that raises is
recorded (``error.txt`` in its run directory, and in the returned
:class:`SweepResult`) without stopping the others; running the sweep again
retries it.

The sweep directory holds ``spec.json`` (the spec it was run with, so
``autoscope bench --report-only SWEEP_DIR`` needs nothing else) and
``runs/<dataset>/<policy>/seed-<k>/`` (one run directory per replication,
each with its ``result.json``).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscope.bench.replication import ReplicationTask, run_replication
from autoscope.bench.spec import BenchSpec
from autoscope.errors import ConfigError

__all__ = ["SPEC_FILE", "SweepResult", "plan_sweep", "run_sweep"]

#: Name of the spec copy in a sweep directory.
SPEC_FILE = "spec.json"


@dataclass
class SweepResult:
    """What one call of :func:`run_sweep` did.

    Attributes:
        sweep_dir: The sweep directory.
        tasks: Every replication of the spec.
        ran: Replications run (successfully) by this call.
        skipped: Replications whose result already existed.
        failed: Replications that raised, each with its error message.
    """

    sweep_dir: Path
    tasks: list[ReplicationTask] = field(default_factory=list)
    ran: list[ReplicationTask] = field(default_factory=list)
    skipped: list[ReplicationTask] = field(default_factory=list)
    failed: list[tuple[ReplicationTask, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every replication has a result."""
        return not self.failed


def plan_sweep(
    spec: BenchSpec, *, sweep_dir: str | Path | None = None
) -> tuple[list[ReplicationTask], list[ReplicationTask]]:
    """Split the replications into those to run and those already done.

    A replication is done when its ``result.json`` exists and was made from
    the same merged configuration; a stale result (the spec changed since) is
    redone.

    Returns:
        ``(todo, done)``.
    """
    todo: list[ReplicationTask] = []
    done: list[ReplicationTask] = []
    for task in spec.tasks(sweep_dir):
        if task.result_path.exists() and _result_hash(task) == task.config_hash:
            done.append(task)
        else:
            todo.append(task)
    return todo, done


def run_sweep(
    spec: BenchSpec,
    *,
    sweep_dir: str | Path | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    run: Callable[[Any], Any] = run_replication,
) -> SweepResult:
    """Run every replication of ``spec`` that has no result yet.

    Args:
        spec: The sweep.
        sweep_dir: The sweep directory (default ``spec.output``).
        executor: Where replications run; it is used as given and not shut
            down. Default: a local process pool, or a Dask client's executor
            when ``scheduler`` is given.
        workers: Processes of the default pool (default: the number of cores).
        scheduler: Address of a Dask distributed scheduler (``tcp://host:8786``);
            needs the ``distributed`` package.
        progress: Show a progress bar over replications.
        run: The picklable function that runs one task and writes its result
            file. Any spec whose ``tasks(sweep_dir)`` yields objects with
            ``key``, ``out_dir``, ``result_path``, ``error_path`` and
            ``config_hash`` (the hash also stored in the result file) can be
            swept; the STEM gym's episodes are (:mod:`autoscope.gym.bench`).

    Returns:
        What ran, what was skipped and what failed.

    Raises:
        ConfigError: Both ``executor`` and ``scheduler`` are given, ``workers``
            is below 1, or ``distributed`` is missing for ``scheduler``.

    Example:
        >>> # result = run_sweep(load_spec("examples/bench/demo.toml"), workers=2)
        >>> # result.ok
    """
    if executor is not None and scheduler is not None:
        raise ConfigError("give either an executor or a scheduler address, not both")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    root = Path(spec.output if sweep_dir is None else sweep_dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=2))
    todo, done = plan_sweep(spec, sweep_dir=root)
    result = SweepResult(sweep_dir=root, tasks=done + todo, skipped=done)
    for task in todo:
        if Path(task.out_dir).exists():
            shutil.rmtree(task.out_dir)  # incomplete, failed or stale: redo from scratch
    if not todo:
        return result
    with _executor(executor, workers=workers, scheduler=scheduler, n_tasks=len(todo)) as pool:
        futures = {pool.submit(run, task): task for task in todo}
        bar = _progress(len(todo), enabled=progress, name=spec.name)
        try:
            for future in cf.as_completed(futures):
                task = futures[future]
                try:
                    future.result()
                except Exception as err:  # recorded; the other replications go on
                    message = f"{type(err).__name__}: {err}"
                    if not task.error_path.exists():
                        task.error_path.parent.mkdir(parents=True, exist_ok=True)
                        task.error_path.write_text(message + "\n")
                    result.failed.append((task, message))
                else:
                    result.ran.append(task)
                if bar is not None:
                    bar.set_postfix(failed=len(result.failed), refresh=False)
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
    order = {t.key: i for i, t in enumerate(spec.tasks(root))}
    result.tasks.sort(key=lambda t: order[t.key])
    result.ran.sort(key=lambda t: order[t.key])
    result.failed.sort(key=lambda item: order[item[0].key])
    return result


@contextmanager
def _executor(
    executor: cf.Executor | None, *, workers: int | None, scheduler: str | None, n_tasks: int
) -> Iterator[cf.Executor]:
    if executor is not None:
        yield executor
        return
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(
                "a Dask scheduler needs the 'distributed' package (pip install distributed)"
            ) from None
        with Client(scheduler) as client:
            pool = client.get_executor(pure=False)
            try:
                yield pool
            finally:
                pool.shutdown(wait=True)
        return
    n = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(n, n_tasks), mp_context=context) as pool:
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: drop what has not started
            raise


def _progress(total: int, *, enabled: bool, name: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"bench {name}", unit="run")


def _result_hash(task: ReplicationTask) -> str | None:
    try:
        return json.loads(task.result_path.read_text()).get("config_hash")
    except (OSError, ValueError):
        return None
