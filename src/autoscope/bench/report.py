"""The self-contained HTML report of a sweep, with ``results.csv`` and ``summary.json``.

:func:`write_bench_report` reads a sweep directory and writes, beside it:

* ``report.html`` — per dataset: curves against the number of measurements
  (mean over seeds ± 95 % bootstrap interval, one line per policy) for the
  coverage, error and surrogate metrics that were recorded; the trajectory of
  one seed per policy (:func:`autoscope.viz.plot_trajectory`); and the results
  table (mean [CI] per policy and metric at the compared steps, with the
  Holm-adjusted p-value and effect against the reference; significant cells
  in bold with a ``*``). Every PNG is embedded as a base64 ``data:`` URI.
* ``figures/*.png`` — the same figures, for slides.
* ``results.csv`` — one row per dataset × step × metric × policy (the columns
  of :meth:`~autoscope.bench.results.ResultRow.to_dict`).
* ``summary.json`` — the spec, the counts of finished and failed
  replications, the failures and the rows of ``results.csv``.

Figures use :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot).
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from autoscope.bench.results import ResultRow, SweepData, compare_policies, load_sweep
from autoscope.bench.stats import bootstrap_ci
from autoscope.campaign.store import RunStore
from autoscope.errors import AutoscopeError
from autoscope.viz import plot_trajectory
from autoscope.viz.report import (
    ERROR_METRICS,
    SURROGATE_METRICS,
    figure_html,
    format_number,
    html_table,
)

__all__ = ["CURVE_METRICS", "curve_metrics", "write_bench_report"]

#: Metrics drawn as curves by default, in this order, when recorded (plus any
#: ``coverage_target_<bins>`` and the spec's own ``metrics``).
CURVE_METRICS = ("coverage_patch", "coverage_feature", *ERROR_METRICS[:2], *SURROGATE_METRICS)
_TARGET_COVERAGE = re.compile(r"^coverage_target_\d+$")
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.sig { background: #eef6ee; font-weight: bold; } td.ref { background: #f7f7fb; }
small { color: #555; font-weight: normal; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
p.note { color: #777; font-style: italic; }
"""


def curve_metrics(names: Sequence[str], *, extra: Sequence[str] = ()) -> list[str]:
    """The metrics drawn as curves: defaults that were recorded, then ``extra``.

    Args:
        names: Recorded metric names.
        extra: Metrics asked for explicitly (the spec's ``metrics``).

    Returns:
        :data:`CURVE_METRICS` and every ``coverage_target_<bins>`` among
        ``names``, then the recorded ``extra`` metrics not already listed.
    """
    recorded = set(names)
    targets = sorted((n for n in recorded if _TARGET_COVERAGE.match(n)), key=_bins)
    ordered = [*CURVE_METRICS[:2], *targets, *CURVE_METRICS[2:], *extra]
    out: list[str] = []
    for name in ordered:
        if name in recorded and name not in out:
            out.append(name)
    return out


def write_bench_report(sweep_dir: str | Path, *, confidence: float = 0.95) -> Path:
    """Write ``report.html``, ``results.csv`` and ``summary.json`` of a sweep.

    Works on a partly finished sweep: failed or missing replications are
    listed, and statistics use the results there are.

    Args:
        sweep_dir: A sweep directory written by :func:`~autoscope.bench.sweep.run_sweep`.
        confidence: Coverage of every interval.

    Returns:
        Path of ``report.html`` (in ``sweep_dir``).

    Raises:
        RunStoreError: ``sweep_dir`` is not a sweep directory.

    Example:
        >>> # write_bench_report("bench/demo-bench")
    """
    from autoscope.bench.curiosity import curiosity_section, is_curiosity_dataset
    from autoscope.library.report import is_library_dataset, library_section

    root = Path(sweep_dir)
    data = load_sweep(root)
    rows = compare_policies(data, confidence=confidence)
    figures = root / "figures"
    figures.mkdir(exist_ok=True)
    for stale in figures.glob("*.png"):
        stale.unlink()
    _write_csv(root / "results.csv", rows)
    _write_summary(root / "summary.json", data, rows)

    spec = data.spec
    esc = html.escape
    n_done, n_failed, n_missing = len(data.results), len(data.errors), len(data.missing)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(f'autoscope bench: {spec.name}')}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(f'Benchmark {spec.name}')}</h1>",
        f'<p class="sub">{esc(_subtitle(data))}</p>',
        f'<p class="sub">{esc(f"sweep directory: {root}")}</p>',
        f"<p>{n_done} of {len(data.tasks)} replications finished"
        + (f", <b>{n_failed} failed</b>" if n_failed else "")
        + (f", {n_missing} not run yet" if n_missing else "")
        + ". "
        + esc(
            f"Intervals: {confidence:.0%} percentile bootstrap over seeds "
            f"({spec.n_boot} resamples). Tests against {spec.reference!r}: Wilcoxon "
            "signed-rank paired by seed (Mann–Whitney U when the seeds differ), "
            f"Holm-adjusted over each {spec.correction}"
            + (" (every comparison of the sweep)" if spec.correction == "sweep" else "")
            + f"; * marks p_Holm < {spec.alpha:g}. Effects are policy − reference: "
            "median difference [CI] and rank-biserial r."
        )
        + "</p>",
    ]
    for dataset in spec.datasets:
        name = dataset.name
        parts.append(f"<h2>{esc(f'Dataset {name}')}</h2>")
        if not any(d == name for d, _, _ in data.results):
            parts.append('<p class="note">No finished replication of this dataset.</p>')
            continue
        parts.append(
            _figure(
                _fig_curves(data, name, confidence),
                figures,
                f"{name}-curves",
                (
                    f"Mean over seeds (line) and its {confidence:.0%} bootstrap interval (band) "
                    "against the number of measurements; dashed line: end of the initial points."
                ),
            )
        )
        parts.append(
            _figure(
                _fig_trajectories(data, name),
                figures,
                f"{name}-trajectories",
                ("Measured points of one seed per policy, coloured by measurement number."),
            )
        )
        if is_library_dataset(data, name):
            parts += library_section(data, name, figures, confidence=confidence)
        if is_curiosity_dataset(data, name):
            parts += curiosity_section(data, name, figures, confidence=confidence)
        dataset_rows = [r for r in rows if r.dataset == name]
        for step in data.compared_steps(name):
            step_rows = [r for r in dataset_rows if r.step == step]
            parts.append(f"<h3>{esc(f'Results after {step} measurements')}</h3>")
            parts.append(_results_table(data, step_rows))
    if data.errors:
        parts.append("<h2>Failed replications</h2>")
        parts.append(
            html_table(
                ["dataset", "policy", "seed", "error"],
                [[d, p, str(s), _last_line(t)] for (d, p, s), t in sorted(data.errors.items())],
            )
        )
        parts.append(
            '<p class="note">Full tracebacks: error.txt in each run directory. '
            "Running the sweep again retries them.</p>"
        )
    parts += [
        "<h2>Spec</h2>",
        f"<pre>{esc(json.dumps(spec.to_dict(), indent=2))}</pre>",
        "</body></html>",
    ]
    path = root / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _subtitle(data: SweepData) -> str:
    spec = data.spec
    return (
        f"{len(spec.datasets)} dataset(s) × {len(spec.policies)} policies × "
        f"{len(spec.seeds)} seeds · reference: {spec.reference}"
    )


def _fig_curves(data: SweepData, dataset: str, confidence: float) -> Figure | None:
    names = curve_metrics(data.metric_names(dataset), extra=data.spec.metrics)
    if not names:
        return None
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.3 * ncols, 3.3 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    n_initial = _n_initial(data, dataset)
    colours = _colours(len(data.spec.policies))
    for ax, metric in zip(axes, names, strict=False):
        for policy, colour in zip(data.spec.policies, colours, strict=True):
            steps, values = data.curves(dataset, policy.label, metric)
            if values.shape[0] == 0 or not np.isfinite(values).any():
                continue
            ci = bootstrap_ci(values, confidence=confidence, n_boot=data.spec.n_boot, seed=0)
            label = f"{policy.label} (n={values.shape[0]})"
            ax.plot(steps, ci.estimate, color=colour, lw=1.6, label=label)
            ax.fill_between(steps, ci.low, ci.high, color=colour, alpha=0.2, lw=0)
        if n_initial:
            ax.axvline(n_initial, color="0.4", ls="--", lw=1)
        ax.set_title(metric, fontsize="medium")
        ax.set_xlabel("number of measurements")
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    return fig


def _fig_trajectories(data: SweepData, dataset: str) -> Figure | None:
    runs = []
    for policy in data.spec.policies:
        seeds = data.seeds(dataset, policy.label)
        if not seeds:
            continue
        task = data.task(dataset, policy.label, seeds[0])
        try:
            with RunStore.open(task.out_dir) as store:
                runs.append((policy.label, seeds[0], store.load()))
        except AutoscopeError:
            continue  # run directory removed by hand: the table still has its result
    if not runs:
        return None
    ncols = min(3, len(runs))
    nrows = math.ceil(len(runs) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 4.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, (label, seed, run) in zip(axes, runs, strict=False):
        plot_trajectory(ax, run, marker_size=22.0)
        ax.set_title(f"{label} (seed {seed})", fontsize="medium")
    for ax in axes[len(runs) :]:
        ax.set_visible(False)
    return fig


def _figure(fig: Figure | None, folder: Path, stem: str, caption: str) -> str:
    if fig is None:
        return f'<p class="note">{html.escape(f"No data for {stem}.")}</p>'
    return figure_html(fig, folder / f"{stem}.png", alt=stem, caption=caption)


def _results_table(data: SweepData, rows: list[ResultRow]) -> str:
    esc = html.escape
    metrics = list(dict.fromkeys(r.metric for r in rows))
    by_key = {(r.policy, r.metric): r for r in rows}
    head = "".join(f"<th>{esc(m)}</th>" for m in metrics)
    body = []
    for policy in data.spec.policies:
        is_ref = policy.label == data.spec.reference
        label = esc(policy.label) + (" <small>(reference)</small>" if is_ref else "")
        cells = [f"<th>{label}</th>"]
        for metric in metrics:
            row = by_key.get((policy.label, metric))
            if row is None:
                cells.append("<td></td>")
                continue
            cls = "num ref" if is_ref else ("num sig" if row.significant else "num")
            cells.append(f'<td class="{cls}">{_cell(row)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<div class="scroll"><table><thead><tr><th>policy</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _cell(row: ResultRow) -> str:
    esc = html.escape
    text = f"{_num(row.mean)} [{_num(row.ci_low)}, {_num(row.ci_high)}]"
    lines = [esc(text) + f" <small>n={row.n}</small>"]
    c = row.comparison
    if c is not None:
        star = " *" if row.significant else ""
        lines.append(
            "<small>"
            + esc(
                f"p_Holm={_p(row.p_holm)}{star} · Δ={_num(c.median_difference)} "
                f"[{_num(c.difference_low)}, {_num(c.difference_high)}] · "
                f"r={_num(c.rank_biserial)}" + (" (unpaired)" if not c.paired else "")
            )
            + "</small>"
        )
    return "<br>".join(lines)


def _write_csv(path: Path, rows: list[ResultRow]) -> None:
    records = [r.to_dict() for r in rows]
    columns = list(ResultRow.__dataclass_fields__)
    columns = list(records[0]) if records else columns
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


def _write_summary(path: Path, data: SweepData, rows: list[ResultRow]) -> None:
    summary = {
        "spec": data.spec.to_dict(),
        "sweep_dir": str(data.sweep_dir),
        "replications": len(data.tasks),
        "finished": len(data.results),
        "failed": [
            {"dataset": d, "policy": p, "seed": s, "error": _last_line(t)}
            for (d, p, s), t in sorted(data.errors.items())
        ],
        "not_run": [{"dataset": d, "policy": p, "seed": s} for d, p, s in data.missing],
        "wall_seconds": float(sum(r.get("wall_seconds", 0.0) for r in data.results.values())),
        "compared_steps": {d.name: data.compared_steps(d.name) for d in data.spec.datasets},
        "results": [_json_safe(r.to_dict()) for r in rows],
    }
    path.write_text(json.dumps(summary, indent=2, allow_nan=False))


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()
    }


def _n_initial(data: SweepData, dataset: str) -> int:
    task = data.task(dataset, data.spec.reference, data.spec.seeds[0])
    return int(task.config.get("policy", {}).get("n_initial", 0))


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _bins(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def _num(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else format_number(value)


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
