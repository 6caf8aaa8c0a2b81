"""The self-contained HTML report of one run.

:func:`write_report` renders the figures of :mod:`autoscope.viz.plots` to PNG
files and writes ``report.html`` beside them with every PNG embedded as a
base64 ``data:`` URI, so the HTML file alone can be mailed, attached to an
electronic lab notebook or opened offline. The PNGs stay on disk for slides.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas (no pyplot, no display), so reports can be written from worker
processes of a sweep. The HTML is written by hand with :func:`html.escape`: a
template engine would be one more dependency for one page.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autoscope.campaign.rundata import RunData
from autoscope.viz.plots import (
    NO_MEASUREMENTS,
    plot_metric_curves,
    plot_revealed_vs_truth,
    plot_spectra,
    plot_trajectory,
)

__all__ = [
    "CSS",
    "ERROR_METRICS",
    "SURROGATE_METRICS",
    "figure_html",
    "format_interval",
    "format_number",
    "format_or_dash",
    "html_table",
    "json_text",
    "write_report",
]

#: Error metrics drawn in the error/uncertainty figure, when present.
ERROR_METRICS = ("mae", "rmse", "mae_unmeasured", "rmse_unmeasured")
#: Surrogate-model summaries drawn in the error/uncertainty figure, when present.
SURROGATE_METRICS = ("mean_prediction", "mean_std")
_COVERAGE_GROUPS = ("patch", "feature", "target")
_DPI = 110

#: Style sheet of the HTML pages (run, analysis).
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
p.note { color: #777; font-style: italic; }
"""


def format_number(value: Any) -> str:
    """Format a summary number the way the report prints it.

    Integers print in full, other numbers with four significant digits.

    Args:
        value: A number (Python or numpy scalar).

    Returns:
        The text written in the report.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.4g}"


def format_or_dash(value: float, spec: str) -> str:
    """``format(value, spec)``, or an em dash for a missing (NaN) value.

    Example:
        >>> format_or_dash(0.01234, ".3g"), format_or_dash(float("nan"), ".3g")
        ('0.0123', '—')
    """
    value = float(value)
    return "—" if math.isnan(value) else format(value, spec)


def format_interval(value: float, low: float, high: float, spec: str) -> str:
    """``"value [low, high]"`` in ``spec``, or an em dash when ``value`` is NaN.

    Example:
        >>> format_interval(12.0, 10.0, 15.5, "+.0f")
        '+12 [+10, +16]'
    """
    if math.isnan(float(value)):
        return "—"
    return f"{format(value, spec)} [{format(low, spec)}, {format(high, spec)}]"


def _lookup(run: RunData, key: str) -> str | None:
    """Find a descriptive value (``name``, ``dataset``, ``policy``) in config or meta.

    Looks at the top level of ``run.config`` and ``run.meta`` first, then one
    level down (e.g. ``config["campaign"]["policy"]``). A table value is
    described by its ``name``, ``kind``, ``type`` or ``path`` entry.
    """
    sources = [s for s in (run.config, run.meta) if isinstance(s, dict)]
    found: Any = None
    for source in sources:
        if key in source:
            found = source[key]
            break
    if found is None:
        for source in sources:
            for value in source.values():
                if isinstance(value, dict) and key in value:
                    found = value[key]
                    break
            if found is not None:
                break
    if isinstance(found, dict):
        for sub in ("name", "kind", "type", "path"):
            if found.get(sub) is not None:
                return str(found[sub])
        return None
    return None if found is None else str(found)


def _summary(run: RunData) -> list[tuple[str, str]]:
    """Rows ``(quantity, formatted value)`` of the summary table."""
    source = np.asarray(run.source).astype(str)
    rows: list[tuple[str, str]] = [
        ("measurements", format_number(len(run.targets))),
        ("initial points", format_number(run.n_initial)),
        ("policy points", format_number(int(np.sum(source == "policy")))),
        ("attached points", format_number(int(np.sum(source == "attached")))),
        ("failures", format_number(len(run.failed))),
        ("rejections", format_number(len(run.rejected))),
        ("instrument time (s)", format_number(float(np.sum(run.seconds)))),
        ("dose", format_number(float(np.sum(run.dose)))),
    ]
    for name, values in run.metrics.items():
        values = np.asarray(values, dtype=float)
        final = values[-1] if values.size else float("nan")
        rows.append((f"final {name}", format_number(final)))
    return rows


def figure_html(fig: Figure, path: Path, *, alt: str, caption: str) -> str:
    """Save ``fig`` as a PNG at ``path``; return an HTML ``<figure>`` embedding it.

    The PNG is embedded as a base64 ``data:`` URI, so the page stays
    self-contained; the file is kept beside the page for reuse.
    """
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=_DPI)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt, quote=True)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fig_trajectory(run: RunData) -> Figure:
    h, w = np.asarray(run.overview).shape[-2:]
    width = 7.0
    fig = Figure(
        figsize=(width, min(9.0, max(4.0, width * h / max(w, 1) + 0.8))), layout="constrained"
    )
    plot_trajectory(fig.add_subplot(), run)
    return fig


def _fig_revealed(run: RunData) -> Figure:
    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    plot_revealed_vs_truth(fig.subplots(1, 2), run, target_label=_target_label(run))
    return fig


def _target_label(run: RunData) -> str:
    name = _lookup(run, "scalarizer") or "target"
    units = _lookup(run, "target_units")
    return f"{name} ({units})" if units else name


def _coverage_groups(run: RunData) -> dict[str, list[str]]:
    """Coverage metric names grouped by space (patch, feature, target, then others)."""
    groups: dict[str, list[str]] = {}
    for name in run.metrics:
        if not name.startswith("coverage_"):
            continue
        group = name.removeprefix("coverage_").split("_", 1)[0] or "other"
        groups.setdefault(group, []).append(name)
    order = [g for g in _COVERAGE_GROUPS if g in groups] + sorted(
        g for g in groups if g not in _COVERAGE_GROUPS
    )
    return {g: groups[g] for g in order}


def _fig_coverage(run: RunData) -> Figure | None:
    groups = _coverage_groups(run)
    if not groups:
        return None
    fig = Figure(figsize=(min(4.2 * len(groups), 13.0), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    for ax, (group, names) in zip(axes, groups.items(), strict=True):
        labels = [n.removeprefix("coverage_") for n in names]
        plot_metric_curves(
            ax, run, names, labels=labels, ylabel="coverage (fraction)", title=f"{group} space"
        )
    for ax in axes[1:]:
        ax.set_ylabel("")
    values = np.concatenate([np.asarray(run.metrics[n], float) for g in groups.values() for n in g])
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0 and finite.max() <= 1:
        axes[0].set_ylim(0, 1.02)  # fractions: show the whole range, so groups compare
    return fig


def _fig_errors(run: RunData) -> Figure | None:
    panels = [
        (names, ylabel, title)
        for names, ylabel, title in (
            (
                [n for n in ERROR_METRICS if n in run.metrics],
                "error (target units)",
                "Surrogate error",
            ),
            (
                [n for n in SURROGATE_METRICS if n in run.metrics],
                "value (target units)",
                "Surrogate mean and uncertainty",
            ),
        )
        if names
    ]
    if not panels:
        return None
    fig = Figure(figsize=(5.2 * len(panels), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (names, ylabel, title) in zip(axes, panels, strict=True):
        plot_metric_curves(ax, run, names, ylabel=ylabel, title=title)
    return fig


def _fig_spectra(run: RunData) -> Figure:
    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    plot_spectra(fig.add_subplot(), run, n=5)
    return fig


_FIGURES: Sequence[tuple[str, str, str, Callable[[RunData], Figure | None]]] = (
    (
        "trajectory",
        "Trajectory",
        "Overview image with the measured points in order (colour = measurement number); "
        "squares: initial points, stars: attached by a person, red crosses: failures.",
        _fig_trajectory,
    ),
    (
        "revealed_vs_truth",
        "Revealed map and ground truth",
        "Scalar target measured so far (blank = not measured) beside the ground truth, "
        "on one colour scale.",
        _fig_revealed,
    ),
    (
        "coverage",
        "Coverage",
        "Coverage in patch, feature and target space against the number of measurements; "
        "dashed line: end of the initial points.",
        _fig_coverage,
    ),
    (
        "errors",
        "Error and uncertainty",
        "Surrogate error and its mean prediction and uncertainty against the number of "
        "measurements; dashed line: end of the initial points.",
        _fig_errors,
    ),
    (
        "spectra",
        "Example spectra",
        "Measured spectra spread evenly over the run, coloured by measurement number.",
        _fig_spectra,
    ),
)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0) -> str:
    """An HTML table; the last ``numeric`` columns are right-aligned. Text is escaped."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if i >= len(row) - numeric else ""
            cells.append(f"<td{cls}>{esc(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _events_table(run: RunData) -> str:
    rows = []
    for kind, events in (("failed", run.failed), ("rejected", run.rejected)):
        for event in events:
            event = event if isinstance(event, dict) else {"reason": event}
            coords = event.get("coords")
            if coords is not None:
                coords = "(" + ", ".join(format_number(v) for v in np.ravel(coords)) + ")"
            rows.append(
                [
                    kind,
                    format_number(event["index"]) if event.get("index") is not None else "",
                    coords or "",
                    format_number(event["attempts"]) if event.get("attempts") is not None else "",
                    str(event.get("reason", "")),
                ]
            )
    if not rows:
        return '<p class="note">No failures and no rejections.</p>'
    return html_table(["event", "pool index", "coords (row, col)", "attempts", "reason"], rows)


def json_text(value: Any) -> str:
    """``value`` as indented JSON; numpy arrays and scalars become lists and numbers."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        return str(obj)

    return json.dumps(value, indent=2, default=default)


def write_report(run: RunData, out_dir: Path | None = None) -> Path:
    """Write the HTML report of a run, with its figures as PNG files beside it.

    The HTML embeds every PNG as a base64 ``data:`` URI, so ``report.html`` is
    self-contained. Figures without data (e.g. no coverage metrics) are left
    out with a note; a run with no measurements yet still gets a report.

    Args:
        run: The run.
        out_dir: Output folder (created if needed); default ``run.run_dir / "report"``.

    Returns:
        Path of ``report.html``.

    Example:
        >>> # path = write_report(store.load())  # doctest: +SKIP
    """
    out = Path(run.run_dir) / "report" if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    esc = html.escape

    name = _lookup(run, "name") or Path(run.run_dir).name or "run"
    dataset = _lookup(run, "dataset")
    policy = _lookup(run, "policy")
    subtitle = " · ".join(
        f"{label}: {value}" for label, value in (("dataset", dataset), ("policy", policy)) if value
    )

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(f'autoscope run: {name}')}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(f'Run {name}')}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="sub">{esc(subtitle)}</p>')
    parts.append(f'<p class="sub">{esc(f"run directory: {run.run_dir}")}</p>')
    if len(run.targets) == 0:
        parts.append(f'<p class="note">{esc(NO_MEASUREMENTS)}.</p>')
    parts += ["<h2>Summary</h2>", html_table(["quantity", "value"], _summary(run), numeric=1)]

    for stem, heading, caption, build in _FIGURES:
        parts.append(f"<h2>{esc(heading)}</h2>")
        fig = build(run)
        if fig is None:
            (out / f"{stem}.png").unlink(missing_ok=True)  # stale from an earlier report
            parts.append(f'<p class="note">{esc(f"No {heading.lower()} metrics recorded.")}</p>')
            continue
        if stem == "revealed_vs_truth" and run.truth_map is None:
            parts.append('<p class="note">This run has no ground truth.</p>')
        parts.append(figure_html(fig, out / f"{stem}.png", alt=heading, caption=caption))

    parts += ["<h2>Failures and rejections</h2>", _events_table(run)]
    parts += ["<h2>Configuration</h2>", f"<pre>{esc(json_text(run.config))}</pre>"]
    if run.meta:
        parts += [
            "<details><summary>Metadata</summary>",
            f"<pre>{esc(json_text(run.meta))}</pre></details>",
        ]
    parts.append("</body></html>")

    path = out / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
