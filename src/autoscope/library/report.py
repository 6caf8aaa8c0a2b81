"""The particle-library part of a benchmark report: error against instrument time.

The question a library sweep answers is how much instrument time a policy
needs to reach a given model error, so this section plots error and
uncertainty against the simulated clock (not only against the number of
measurements), tabulates the **time to error** of every policy with
bootstrap intervals, and tests each baseline against the reference policy,
paired by seed (the same library): Wilcoxon signed-rank on the time
differences, Holm-adjusted over the table. A run that never reaches the
error within its budget counts with its final time, a lower bound of the
truth (so the test is conservative for the policy that fails to reach it);
the table says how many runs reached it. The table is also written as
``<dataset>-time-to-error.csv`` in the sweep directory.

It also shows the region use (share of a region's particles measured,
region changes) and, for one seed, the stage path in real space and the
trajectory in composition space.
"""

from __future__ import annotations

import csv
import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from autoscope.bench.results import SweepData
from autoscope.bench.stats import bootstrap_ci, compare, holm
from autoscope.library.simulator import LibrarySpec, make_library
from autoscope.viz.report import figure_html, format_interval, format_or_dash, html_table

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TimeToError",
    "is_library_dataset",
    "library_section",
    "time_to_error",
    "time_to_error_rows",
    "write_time_to_error_csv",
]

#: Relative model errors (``mae_relative``) the time-to-error table reports.
DEFAULT_THRESHOLDS = (0.7, 0.5)


def is_library_dataset(data: SweepData, dataset: str) -> bool:
    """Whether ``dataset`` of the sweep is a simulated particle library."""
    task = next((t for t in data.tasks if t.dataset == dataset), None)
    return bool(task is not None and task.config.get("data", {}).get("library"))


def time_to_error(seconds: np.ndarray, error: np.ndarray, threshold: float) -> tuple[float, bool]:
    """Instrument time at which ``error`` first falls to ``threshold`` or below.

    Args:
        seconds: Cumulative instrument time after each step, `(T,)`.
        error: The error after each step, `(T,)` (NaN before a model exists).
        threshold: The error to reach.

    Returns:
        ``(time, reached)``; when never reached, the final time and ``False``.

    Example:
        >>> time_to_error(np.array([1.0, 2.0, 3.0]), np.array([0.9, 0.4, 0.3]), 0.5)
        (2.0, True)
    """
    seconds = np.asarray(seconds, dtype=float)
    hit = np.flatnonzero(np.asarray(error, dtype=float) <= threshold)
    if hit.size:
        return float(seconds[hit[0]]), True
    return float(seconds[-1]) if seconds.size else math.nan, False


@dataclass(frozen=True)
class TimeToError:
    """One row of the time-to-error table.

    Attributes:
        policy: Policy label.
        threshold: Relative error reached.
        median: Median time over seeds (s); NaN without runs.
        low: Lower bound of its bootstrap interval.
        high: Upper bound.
        reached: Runs that reached the threshold.
        n: Runs.
        difference: Median paired difference policy − reference (s).
        difference_low: Its bootstrap interval, lower bound.
        difference_high: Upper bound.
        ratio: Median paired ratio policy / reference.
        p_value: Wilcoxon signed-rank p-value (NaN for the reference).
        p_holm: Holm-adjusted over the table.
    """

    policy: str
    threshold: float
    median: float
    low: float
    high: float
    reached: int
    n: int
    difference: float = math.nan
    difference_low: float = math.nan
    difference_high: float = math.nan
    ratio: float = math.nan
    p_value: float = math.nan
    p_holm: float = math.nan


def _times(data: SweepData, dataset: str, policy: str, threshold: float) -> dict[int, tuple]:
    out = {}
    for seed in data.seeds(dataset, policy):
        metrics = data.results[(dataset, policy, seed)]["metrics"]
        if "seconds" in metrics and "mae_relative" in metrics:
            out[seed] = time_to_error(metrics["seconds"], metrics["mae_relative"], threshold)
    return out


def time_to_error_rows(
    data: SweepData,
    dataset: str,
    *,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    confidence: float = 0.95,
) -> list[TimeToError]:
    """The time-to-error table of one library dataset (every policy × threshold)."""
    reference = data.spec.reference
    rows: list[TimeToError] = []
    for threshold in thresholds:
        ref = _times(data, dataset, reference, threshold)
        for policy in data.spec.policies:
            times = _times(data, dataset, policy.label, threshold)
            if not times:
                continue
            values = np.array([t for t, _ in times.values()])
            ci = bootstrap_ci(
                values, statistic=np.median, confidence=confidence, n_boot=data.spec.n_boot, seed=0
            )
            row = dict(
                policy=policy.label,
                threshold=threshold,
                median=float(ci.estimate),
                low=float(ci.low),
                high=float(ci.high),
                reached=int(sum(r for _, r in times.values())),
                n=len(times),
            )
            common = sorted(set(times) & set(ref))
            if policy.label != reference and len(common) >= 2:
                a = np.array([times[s][0] for s in common])
                b = np.array([ref[s][0] for s in common])
                test = compare(
                    a, b, paired=True, confidence=confidence, n_boot=data.spec.n_boot, seed=0
                )
                row.update(
                    difference=test.median_difference,
                    difference_low=test.difference_low,
                    difference_high=test.difference_high,
                    ratio=float(np.median(a / b)),
                    p_value=test.p_value,
                )
            rows.append(TimeToError(**row))
    adjusted = holm([r.p_value for r in rows])
    return [
        TimeToError(**{**vars(r), "p_holm": float(p)}) for r, p in zip(rows, adjusted, strict=True)
    ]


def write_time_to_error_csv(path: Path, rows: list[TimeToError]) -> None:
    """Write the time-to-error table as CSV (one row per policy and threshold)."""
    fields = list(TimeToError.__dataclass_fields__)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for row in rows:
            writer.writerow([getattr(row, name) for name in fields])


def library_section(
    data: SweepData, dataset: str, figures: Path, *, confidence: float = 0.95
) -> list[str]:
    """HTML parts of the library section of ``dataset`` (figures written to ``figures``)."""
    esc = html.escape
    parts = [f"<h3>{esc('Particle library: error against instrument time')}</h3>"]
    parts.append(
        figure_html(
            _fig_time_curves(data, dataset, confidence),
            figures / f"{dataset}-library-time.png",
            alt="error against time",
            caption=(
                f"Mean over seeds and its {confidence:.0%} bootstrap band against the simulated "
                "instrument clock (log axis); each curve ends at the median final time of its "
                "runs. Relative error: mean |GP mean − field| over 2 000 reference compositions "
                "divided by the field's mean absolute deviation. Right: the first seed of each "
                "policy, with a tick at every move to another field of view."
            ),
        )
    )
    rows = time_to_error_rows(data, dataset, confidence=confidence)
    write_time_to_error_csv(figures.parent / f"{dataset}-time-to-error.csv", rows)
    parts.append(
        "<p>"
        + esc(
            f"Time to reach a relative error, median over seeds [{confidence:.0%} bootstrap CI]; "
            f"differences and ratios against {data.spec.reference!r} paired by seed (same "
            "library); Wilcoxon signed-rank, Holm-adjusted over the table. A run that never "
            "reaches the error counts with its final time (a lower bound)."
        )
        + "</p>"
    )
    parts.append(
        html_table(
            [
                "policy",
                "error ≤",
                "median time (s) [CI]",
                "reached",
                "Δ vs reference (s) [CI]",
                "ratio",
                "p",
                "p_Holm",
            ],
            [
                [
                    r.policy,
                    f"{r.threshold:g}",
                    f"{r.median:.0f} [{r.low:.0f}, {r.high:.0f}]",
                    f"{r.reached}/{r.n}",
                    format_interval(r.difference, r.difference_low, r.difference_high, "+.0f"),
                    format_or_dash(r.ratio, ".2f"),
                    format_or_dash(r.p_value, ".3g"),
                    format_or_dash(r.p_holm, ".3g"),
                ]
                for r in rows
            ],
        )
    )
    parts.append(
        figure_html(
            _fig_regions(data, dataset, confidence),
            figures / f"{dataset}-library-regions.png",
            alt="region use",
            caption=(
                "Region use against the number of measurements: share of the current region's "
                "particles measured, mean share over discovered regions, and region changes."
            ),
        )
    )
    parts.append(
        figure_html(
            _fig_paths(data, dataset),
            figures / f"{dataset}-library-paths.png",
            alt="trajectories",
            caption=(
                "One seed per policy. Top: particles (grey) and the stage path between "
                "field-of-view centres (line; dots: regions visited, coloured by order). "
                "Bottom: measured EDX compositions in the first two free coordinates, "
                "coloured by measurement number."
            ),
        )
    )
    return parts


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _on_time_grid(data: SweepData, dataset: str, policy: str, metric: str, grid: np.ndarray):
    rows, ends = [], []
    for seed in data.seeds(dataset, policy):
        metrics = data.results[(dataset, policy, seed)]["metrics"]
        seconds, values = metrics["seconds"], metrics[metric]
        where = np.searchsorted(seconds, grid, side="right") - 1
        row = np.where(where >= 0, values[np.maximum(where, 0)], np.nan)
        row[grid > seconds[-1]] = values[-1]
        rows.append(row)
        ends.append(seconds[-1])
    return np.array(rows), (float(np.median(ends)) if ends else math.nan)


def _fig_time_curves(data: SweepData, dataset: str, confidence: float) -> Figure:
    fig = Figure(figsize=(15, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    ends = [
        r["metrics"]["seconds"][-1]
        for (d, _, _), r in data.results.items()
        if d == dataset and "seconds" in r["metrics"]
    ]
    grid = np.geomspace(5.0, max(ends) if ends else 10.0, 200)
    for policy, colour in zip(data.spec.policies, _colours(len(data.spec.policies)), strict=True):
        for ax, metric in zip(axes[:2], ("mae_relative", "mean_std"), strict=True):
            if not data.seeds(dataset, policy.label):
                continue
            values, end = _on_time_grid(data, dataset, policy.label, metric, grid)
            keep = grid <= end
            if not np.isfinite(values[:, keep]).any():
                continue
            ci = bootstrap_ci(
                values[:, keep], confidence=confidence, n_boot=data.spec.n_boot, seed=0
            )
            ax.plot(grid[keep], ci.estimate, color=colour, lw=1.6, label=policy.label)
            ax.fill_between(grid[keep], ci.low, ci.high, color=colour, alpha=0.2, lw=0)
        seeds = data.seeds(dataset, policy.label)
        if seeds:
            metrics = data.results[(dataset, policy.label, seeds[0])]["metrics"]
            seconds, error = metrics["seconds"], metrics["mae_relative"]
            changed = np.flatnonzero(np.diff(metrics["region_changes"]) > 0) + 1
            axes[2].plot(seconds, error, color=colour, lw=1.2, label=policy.label)
            axes[2].plot(seconds[changed], error[changed], "|", color=colour, ms=9)
    titles = ("relative model error", "mean predictive σ", "one seed (|: region change)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("instrument time (s)")
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
    for threshold in DEFAULT_THRESHOLDS:
        axes[0].axhline(threshold, color="0.5", ls=":", lw=1)
    axes[0].legend(fontsize="small")
    return fig


def _fig_regions(data: SweepData, dataset: str, confidence: float) -> Figure:
    metrics = ("region_fraction", "mean_region_fraction", "region_changes")
    fig = Figure(figsize=(13, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for policy, colour in zip(data.spec.policies, _colours(len(data.spec.policies)), strict=True):
        for ax, metric in zip(axes, metrics, strict=True):
            steps, values = data.curves(dataset, policy.label, metric)
            if values.shape[0] == 0 or not np.isfinite(values).any():
                continue
            ci = bootstrap_ci(values, confidence=confidence, n_boot=data.spec.n_boot, seed=0)
            ax.plot(steps, ci.estimate, color=colour, lw=1.4, label=policy.label)
            ax.fill_between(steps, ci.low, ci.high, color=colour, alpha=0.2, lw=0)
    for ax, metric in zip(axes, metrics, strict=True):
        ax.set_title(metric, fontsize="medium")
        ax.set_xlabel("number of measurements")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return fig


def _fig_paths(data: SweepData, dataset: str) -> Figure | None:
    policies = [p.label for p in data.spec.policies if data.seeds(dataset, p.label)]
    if not policies:
        return None
    fig = Figure(figsize=(3.4 * len(policies), 6.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, len(policies), squeeze=False))
    library = None
    for j, label in enumerate(policies):
        seed = data.seeds(dataset, label)[0]
        task = data.task(dataset, label, seed)
        if library is None or library.seed != seed:
            spec = LibrarySpec.from_dict(task.config["data"]["library"])
            library = make_library(spec, seed=seed)
        index = data.results[(dataset, label, seed)]["index"]
        order = np.arange(len(index))
        top, bottom = axes[0, j], axes[1, j]
        top.scatter(library.positions_um[:, 1], library.positions_um[:, 0], s=1, c="0.75")
        centres = library.region_centres_um()[library.region[index]]
        keep = np.r_[True, np.any(np.diff(centres, axis=0) != 0, axis=1)]
        top.plot(centres[keep, 1], centres[keep, 0], color="0.3", lw=0.7)
        top.scatter(
            centres[keep, 1], centres[keep, 0], c=order[keep], cmap="viridis", s=12, zorder=3
        )
        top.set_title(f"{label} (seed {seed})", fontsize="small")
        top.set_aspect("equal")
        top.set_xlim(0, library.spec.area_um)
        top.set_ylim(library.spec.area_um, 0)
        top.set_xlabel("x (µm)")
        c = library.edx.fractions[index]
        bottom.scatter(library.edx.fractions[:, 0], library.edx.fractions[:, 1], s=1, c="0.85")
        bottom.scatter(c[:, 0], c[:, 1], c=order, cmap="viridis", s=10)
        bottom.set_xlabel("c₁")
        bottom.set_ylabel("c₂")
        bottom.set_aspect("equal")
    return fig
