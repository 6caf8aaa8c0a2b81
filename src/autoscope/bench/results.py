"""A finished (or partly finished) sweep as arrays, and its comparison table.

:func:`load_sweep` reads a sweep directory (its ``spec.json`` and every
``result.json``) into :class:`SweepData`; :func:`compare_policies` turns it
into one :class:`ResultRow` per dataset × step × metric × policy: mean over
seeds with a 95 % bootstrap interval and, for every policy but the reference,
the test against the reference with its Holm-adjusted p-value (see
:mod:`autoscope.bench.stats`). The report and ``results.csv`` print these rows.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.bench.replication import ReplicationTask, read_result
from autoscope.bench.spec import BenchSpec
from autoscope.bench.stats import Comparison, bootstrap_ci, compare, holm
from autoscope.bench.sweep import SPEC_FILE
from autoscope.errors import RunStoreError

__all__ = ["ResultRow", "SweepData", "compare_policies", "load_sweep"]


@dataclass
class SweepData:
    """The results of a sweep directory.

    Attributes:
        sweep_dir: The sweep directory.
        spec: The spec the sweep was run with.
        tasks: Every replication of the spec.
        results: ``(dataset, policy, seed)`` -> result (see
            :func:`~autoscope.bench.replication.read_result`).
        errors: ``(dataset, policy, seed)`` -> error text of failed replications.
    """

    sweep_dir: Path
    spec: BenchSpec
    tasks: list[ReplicationTask]
    results: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    errors: dict[tuple[str, str, int], str] = field(default_factory=dict)

    @property
    def missing(self) -> list[tuple[str, str, int]]:
        """Replications with neither a result nor an error (not run yet)."""
        return [t.key for t in self.tasks if t.key not in self.results and t.key not in self.errors]

    def task(self, dataset: str, policy: str, seed: int) -> ReplicationTask:
        """The replication ``(dataset, policy, seed)``."""
        for task in self.tasks:
            if task.key == (dataset, policy, seed):
                return task
        raise KeyError((dataset, policy, seed))

    def seeds(self, dataset: str, policy: str) -> list[int]:
        """Seeds of ``(dataset, policy)`` that have a result, in spec order."""
        return [s for s in self.spec.seeds if (dataset, policy, s) in self.results]

    def metric_names(self, dataset: str) -> list[str]:
        """Metrics recorded by any replication of ``dataset``, sorted."""
        names: set[str] = set()
        for (d, _, _), result in self.results.items():
            if d == dataset:
                names.update(result["metrics"])
        return sorted(names)

    def step_grid(self, dataset: str) -> np.ndarray:
        """Union of the metric steps of every replication of ``dataset``, `(T,)`."""
        steps = [r["metric_steps"] for (d, _, _), r in self.results.items() if d == dataset]
        if not steps:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(steps))

    def final_step(self, dataset: str) -> int | None:
        """Last step that every finished replication of ``dataset`` reached."""
        ends = [
            int(r["metric_steps"][-1])
            for (d, _, _), r in self.results.items()
            if d == dataset and len(r["metric_steps"])
        ]
        return min(ends) if ends else None

    def compared_steps(self, dataset: str) -> list[int]:
        """The spec's ``steps``, or the final step of ``dataset``."""
        if self.spec.steps:
            return list(self.spec.steps)
        final = self.final_step(dataset)
        return [] if final is None else [final]

    def compared_metrics(self, dataset: str) -> list[str]:
        """The spec's ``metrics``, or every recorded metric of ``dataset``."""
        return list(self.spec.metrics) or self.metric_names(dataset)

    def curves(self, dataset: str, policy: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-seed curves of one metric on the dataset's step grid.

        Returns:
            ``(steps, values)``: steps `(T,)` and values `(n_seeds, T)`, one row
            per seed of :meth:`seeds`, NaN where a replication has no value.
        """
        grid = self.step_grid(dataset)
        rows = []
        for seed in self.seeds(dataset, policy):
            result = self.results[(dataset, policy, seed)]
            row = np.full(grid.shape, np.nan)
            if metric in result["metrics"]:
                row[np.searchsorted(grid, result["metric_steps"])] = result["metrics"][metric]
            rows.append(row)
        return grid, np.array(rows, dtype=float).reshape(len(rows), grid.size)

    def values_at(self, dataset: str, policy: str, metric: str, step: int) -> np.ndarray:
        """One value per seed of :meth:`seeds` at ``step`` (NaN where not reached), `(n,)`."""
        out = []
        for seed in self.seeds(dataset, policy):
            result = self.results[(dataset, policy, seed)]
            where = np.flatnonzero(result["metric_steps"] == step)
            values = result["metrics"].get(metric)
            out.append(float(values[where[0]]) if values is not None and where.size else math.nan)
        return np.array(out, dtype=float)


@dataclass(frozen=True)
class ResultRow:
    """One cell group of the results table: a policy on one metric at one step.

    Attributes:
        dataset: Dataset name.
        step: Number of measurements.
        metric: Metric name.
        policy: Policy label.
        reference: Reference policy label.
        n: Seeds with a value.
        mean: Mean over seeds.
        ci_low: Lower bound of the bootstrap CI of the mean.
        ci_high: Upper bound.
        median: Median over seeds.
        comparison: Test against the reference (``None`` for the reference).
        p_holm: Holm-adjusted p-value (NaN for the reference).
        significant: ``p_holm < alpha``.
    """

    dataset: str
    step: int
    metric: str
    policy: str
    reference: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    median: float
    comparison: Comparison | None
    p_holm: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        """Flat dict (the columns of ``results.csv``)."""
        c = self.comparison
        nan = math.nan
        return {
            "dataset": self.dataset,
            "step": self.step,
            "metric": self.metric,
            "policy": self.policy,
            "reference": self.reference,
            "n": self.n,
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "median": self.median,
            "test": c.test if c else "",
            "statistic": c.statistic if c else nan,
            "p_value": c.p_value if c else nan,
            "p_holm": self.p_holm,
            "significant": self.significant,
            "median_difference": c.median_difference if c else nan,
            "difference_ci_low": c.difference_low if c else nan,
            "difference_ci_high": c.difference_high if c else nan,
            "rank_biserial": c.rank_biserial if c else nan,
        }


def load_sweep(sweep_dir: str | Path) -> SweepData:
    """Read a sweep directory written by :func:`~autoscope.bench.sweep.run_sweep`.

    Raises:
        RunStoreError: ``sweep_dir`` has no ``spec.json`` or a result file is unreadable.
    """
    root = Path(sweep_dir)
    try:
        spec = BenchSpec.from_json(json.loads((root / SPEC_FILE).read_text()))
    except OSError:
        raise RunStoreError(
            f"{root} is not a sweep directory (no {SPEC_FILE}); run `autoscope bench SPEC.toml`"
        ) from None
    tasks = spec.tasks(root)
    data = SweepData(sweep_dir=root, spec=spec, tasks=tasks)
    for task in tasks:
        if task.result_path.exists():
            try:
                data.results[task.key] = read_result(task.result_path)
            except (OSError, ValueError, KeyError) as err:
                raise RunStoreError(f"{task.result_path} is unreadable: {err}") from None
        elif task.error_path.exists():
            data.errors[task.key] = task.error_path.read_text()
    return data


def compare_policies(data: SweepData, *, confidence: float = 0.95) -> list[ResultRow]:
    """Every policy against the reference, per dataset, step and metric.

    The mean over seeds gets a percentile bootstrap interval; each non-reference
    policy is tested against the reference with
    :func:`~autoscope.bench.stats.compare`: paired (Wilcoxon signed-rank) when
    both have results for exactly the same seeds, else unpaired (Mann–Whitney U).
    p-values are Holm-adjusted over the family set by the spec's ``correction``.

    Args:
        data: The sweep.
        confidence: Coverage of every interval.

    Returns:
        Rows ordered dataset, step, metric, then policy in spec order.
    """
    spec = data.spec
    n_boot = spec.n_boot
    rows: list[dict[str, Any]] = []
    for d in spec.datasets:
        ref_seeds = data.seeds(d.name, spec.reference)
        for step in data.compared_steps(d.name):
            for metric in data.compared_metrics(d.name):
                ref = data.values_at(d.name, spec.reference, metric, step)
                for p in spec.policies:
                    values = data.values_at(d.name, p.label, metric, step)
                    key = f"{d.name}/{p.label}/{metric}/{step}"
                    seed = zlib.crc32(key.encode())
                    ci = bootstrap_ci(values, confidence=confidence, n_boot=n_boot, seed=seed)
                    comparison = None
                    if p.label != spec.reference:
                        paired = data.seeds(d.name, p.label) == ref_seeds
                        comparison = compare(
                            values,
                            ref,
                            paired=paired,
                            confidence=confidence,
                            n_boot=n_boot,
                            seed=seed,
                        )
                    finite = values[np.isfinite(values)]
                    rows.append(
                        {
                            "dataset": d.name,
                            "step": step,
                            "metric": metric,
                            "policy": p.label,
                            "reference": spec.reference,
                            "n": int(finite.size),
                            "mean": float(ci.estimate),
                            "ci_low": float(ci.low),
                            "ci_high": float(ci.high),
                            "median": float(np.median(finite)) if finite.size else math.nan,
                            "comparison": comparison,
                        }
                    )
    families: dict[tuple[Any, ...], list[int]] = {}
    for i, row in enumerate(rows):
        if row["comparison"] is None:
            continue
        if spec.correction == "sweep":
            family: tuple[Any, ...] = ()
        elif spec.correction == "dataset":
            family = (row["dataset"],)
        else:
            family = (row["dataset"], row["metric"], row["step"])
        families.setdefault(family, []).append(i)
    p_holm = [math.nan] * len(rows)
    for members in families.values():
        adjusted = holm([rows[i]["comparison"].p_value for i in members])
        for i, value in zip(members, adjusted, strict=True):
            p_holm[i] = float(value)
    return [
        ResultRow(**row, p_holm=p, significant=bool(p < spec.alpha))
        for row, p in zip(rows, p_holm, strict=True)
    ]
