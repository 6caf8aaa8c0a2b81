"""Benchmarks: sweeps of datasets × policies × seeds, their statistics and report.

Modules:
    spec: the sweep spec (TOML), merged into one run configuration per replication.
    replication: one replication, a pure picklable function writing ``result.json``.
    sweep: runs the replications on any executor (process pool, Dask), resuming.
    stats: bootstrap intervals, Wilcoxon/Mann–Whitney comparisons, Holm, TOST.
    results: a sweep directory as arrays, and the policy-vs-reference table.
    report: the self-contained HTML report, ``results.csv`` and ``summary.json``.

Example:
    >>> from autoscope.bench import load_spec, run_sweep, write_bench_report
    >>> # spec = load_spec("examples/bench/demo.toml")
    >>> # result = run_sweep(spec, workers=2)
    >>> # write_bench_report(result.sweep_dir)
"""

from __future__ import annotations

from typing import Any

from autoscope.bench.replication import ReplicationTask, read_result, run_replication
from autoscope.bench.results import ResultRow, SweepData, compare_policies, load_sweep
from autoscope.bench.spec import BenchSpec, load_spec
from autoscope.bench.stats import bootstrap_ci, compare, holm, tost_paired
from autoscope.bench.sweep import SweepResult, run_sweep

__all__ = [
    "BenchSpec",
    "ReplicationTask",
    "ResultRow",
    "SweepData",
    "SweepResult",
    "bootstrap_ci",
    "compare",
    "compare_policies",
    "holm",
    "load_spec",
    "load_sweep",
    "read_result",
    "run_replication",
    "run_sweep",
    "tost_paired",
    "write_bench_report",
]


def __getattr__(name: str) -> Any:
    # The report pulls in matplotlib; sweep workers never need it.
    if name == "write_bench_report":
        from autoscope.bench.report import write_bench_report

        return write_bench_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
