"""Figures, tables and the HTML page of one reward-driven analysis.

:func:`write_analysis` writes, into one folder: the Pareto front
(``pareto.png``), hypervolume per generation (``convergence.png``), overlays of
the knee point and of each objective's best Pareto point (``overlay_*.png``),
the knee's detections as CSV (positions in pixels and, when the image is
calibrated, in its unit), every Pareto point's parameters and rewards
(``front.csv``, ``result.json``) and a self-contained ``index.html``.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from autoscope.analysis.search import SearchResult
from autoscope.analysis.workflows import Workflow
from autoscope.viz.report import CSS, figure_html, format_number, html_table, json_text

__all__ = ["plot_overlay", "plot_pareto", "write_analysis", "write_window_analysis"]


def plot_pareto(result: SearchResult) -> Figure:
    """Every evaluation's rewards (first two objectives), the front, the knee."""
    fig = Figure(figsize=(6.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    first, second = result.objectives[:2]
    ok = [e for e in result.evaluations if not e.penalised]
    x = np.array([e.rewards[first.name] for e in ok])
    y = np.array([e.rewards[second.name] for e in ok])
    gen = np.array([e.generation for e in ok])
    points = ax.scatter(x, y, c=gen, s=10, cmap="viridis", alpha=0.6, label="evaluated")
    fig.colorbar(points, ax=ax, label="generation")
    front = result.front()
    fx = [e.rewards[first.name] for e in front]
    fy = [e.rewards[second.name] for e in front]
    ax.plot(fx, fy, "o-", color="crimson", ms=4, lw=1, label="Pareto front")
    knee = result.evaluations[result.knee]
    ax.plot(
        knee.rewards[first.name],
        knee.rewards[second.name],
        "*",
        color="k",
        ms=14,
        label="knee (default pick)",
    )
    ax.set_xlabel(f"{first.name} ({'higher' if first.direction == 'max' else 'lower'} is better)")
    ax.set_ylabel(f"{second.name} ({'higher' if second.direction == 'max' else 'lower'} is better)")
    ax.legend(fontsize=8)
    n_bad = len(result.evaluations) - len(ok)
    ax.set_title(
        f"{result.workflow}: {len(result.evaluations)} evaluations, {n_bad} penalised", fontsize=10
    )
    return fig


def plot_convergence(result: SearchResult) -> Figure:
    """Normalised hypervolume against the number of evaluations."""
    fig = Figure(figsize=(5.0, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(result.evaluations_per_generation, result.hypervolume, "o-")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume (normalised)")
    ax.set_title(f"{result.optimizer}, seed {result.seed}", fontsize=10)
    return fig


def plot_overlay(
    workflow: Workflow,
    image: np.ndarray,
    detections: Any,
    *,
    title: str,
    highlight: list[int] | None = None,
) -> Figure:
    """The image with a workflow's detections drawn on it (``highlight``: indices in yellow)."""
    h, w = image.shape
    fig = Figure(figsize=(6.0, 6.0 * h / w + 0.4), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(image, cmap="gray")
    if workflow.name == "atoms":
        found = np.asarray(detections).reshape(-1, 3)
        ax.plot(found[:, 1], found[:, 0], "o", mfc="none", mec="red", ms=4, mew=0.8)
        title = f"{title}: {len(found)} columns"
        if highlight:
            marked = found[np.asarray(highlight, dtype=int)]
            ax.plot(marked[:, 1], marked[:, 0], "s", mfc="none", mec="yellow", ms=9, mew=1.2)
            title = f"{title}, {len(marked)} brighter than their sublattice (yellow)"
    elif workflow.name == "walls":
        for branch in detections:
            branch = np.asarray(branch)
            ax.plot(branch[:, 1], branch[:, 0], "-", color="red", lw=1)
        title = f"{title}: {len(detections)} wall branches"
    else:
        masks = np.asarray(detections, dtype=bool)
        for mask in masks:
            ax.contour(mask, levels=[0.5], colors="red", linewidths=0.8)
        title = f"{title}: {len(masks)} particles"
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    return fig


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if not rows:
            handle.write("")
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_analysis(
    workflow: Workflow,
    image: np.ndarray,
    result: SearchResult,
    out_dir: str | Path,
    *,
    pick: int | None = None,
    pixel_size: float | None = None,
    unit: str = "px",
    source: str = "",
) -> Path:
    """Write the figures, tables and HTML page of a search.

    Args:
        workflow: The workflow that was searched.
        image: The analysed image `(H, W)`.
        result: The search result.
        out_dir: Output folder (created).
        pick: Pareto index of the chosen point (default: the knee).
        pixel_size: Calibration of a pixel in ``unit`` (adds calibrated columns).
        unit: Unit of ``pixel_size``.
        source: Where the image came from (shown on the page).

    Returns:
        Path of ``index.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    chosen = result.pick(pick)
    detections = workflow.run(image, chosen, result.context)
    numbers = {
        key.replace("_unit", f"_{unit}"): value
        for key, value in workflow.summary(
            image, detections, result.context, pixel_size=pixel_size
        ).items()
    }
    rows = workflow.rows(detections, pixel_size=pixel_size)
    if pixel_size:
        rows = [{k.replace("_unit", f"_{unit}"): v for k, v in row.items()} for row in rows]
    _write_csv(out / "detections.csv", rows)
    front_rows = [
        {"index": i, **{f"reward_{k}": v for k, v in e.rewards.items()}, **e.params}
        for i, e in enumerate(result.front())
    ]
    _write_csv(out / "front.csv", front_rows)
    summary = result.to_dict()
    summary.update(
        source=source,
        chosen=chosen,
        chosen_index=result.pareto.index(result.knee) if pick is None else pick,
        n_detections=workflow.count(detections),
        summary=numbers,
        workflow_config=workflow.config(),
        context={k: v for k, v in result.context.items() if k != "lattice"},
    )
    lattice = result.context.get("lattice")
    if lattice is not None:
        summary["lattice"] = {
            "vectors_px": np.asarray(lattice.vectors).tolist(),
            "spacing_px": float(lattice.spacing),
        }
    (out / "result.json").write_text(json_text(summary))

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>autoscope analyze: {esc(workflow.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Reward-driven analysis: {esc(workflow.name)}</h1>",
        f"<p class='sub'>{esc(source)} · {image.shape[0]}×{image.shape[1]} px · "
        f"{esc(result.optimizer)}, seed {result.seed}, {len(result.evaluations)} evaluations</p>",
        "<h2>Pareto front</h2>",
        figure_html(
            plot_pareto(result),
            out / "pareto.png",
            alt="Pareto front",
            caption="Every evaluated parameter set; red: non-dominated; star: knee.",
        ),
        "<h2>Chosen point</h2>",
        _params_table(chosen, result.evaluations[result.pareto[summary["chosen_index"]]].rewards),
        f"<p>{workflow.count(detections)} detections; table: detections.csv</p>",
        _params_table(numbers, {}),
        figure_html(
            plot_overlay(
                workflow, image, detections, title="chosen", highlight=numbers.get("bright_columns")
            ),
            out / "overlay_chosen.png",
            alt="chosen overlay",
            caption="Chosen point.",
        ),
        "<h2>Extremes of the front</h2>",
    ]
    for objective in result.objectives:
        best = min(
            result.pareto,
            key=lambda i: objective.to_loss(result.evaluations[i].rewards[objective.name]),
        )
        found = workflow.run(image, result.evaluations[best].params, result.context)
        value = format_number(result.evaluations[best].rewards[objective.name])
        parts.append(
            figure_html(
                plot_overlay(workflow, image, found, title=f"best {objective.name} ({value})"),
                out / f"overlay_best_{objective.name}.png",
                alt=f"best {objective.name}",
                caption=f"The Pareto point with the best {objective.name}.",
            )
        )
    parts += [
        "<h2>Convergence</h2>",
        figure_html(
            plot_convergence(result),
            out / "convergence.png",
            alt="hypervolume",
            caption="Hypervolume of the front (objectives scaled to the ideal/nadir "
            "of all evaluations, reference 1.1).",
        ),
        "<h2>Front</h2>",
        _front_table(result),
        "</body></html>",
    ]
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_window_analysis(
    workflow: Workflow,
    image: np.ndarray,
    windows: list[Any],
    merged: Any,
    out_dir: str | Path,
    *,
    pixel_size: float | None = None,
    unit: str = "px",
    source: str = "",
) -> Path:
    """Write the page of a sliding-window search: merged detections and each window's knee.

    Args:
        workflow: The workflow that was searched.
        image: The whole image `(H, W)`.
        windows: The :class:`~autoscope.analysis.search.WindowResult` of each window.
        merged: The merged detections (in whole-image coordinates).
        out_dir: Output folder (created).
        pixel_size: Calibration of a pixel in ``unit``.
        unit: Unit of ``pixel_size``.
        source: Where the image came from.

    Returns:
        Path of ``index.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    context = workflow.prepare(image)
    numbers = {
        key.replace("_unit", f"_{unit}"): value
        for key, value in workflow.summary(image, merged, context, pixel_size=pixel_size).items()
    }
    rows = workflow.rows(merged, pixel_size=pixel_size)
    if pixel_size:
        rows = [{k.replace("_unit", f"_{unit}"): v for k, v in row.items()} for row in rows]
    _write_csv(out / "detections.csv", rows)
    per_window = [
        {
            "offset": list(w.offset),
            "shape": list(w.shape),
            "evaluations": len(w.search.evaluations),
            "knee": {
                "params": w.search.evaluations[w.search.knee].params,
                "rewards": w.search.evaluations[w.search.knee].rewards,
            },
        }
        for w in windows
    ]
    summary = {
        "source": source,
        "workflow": workflow.name,
        "workflow_config": workflow.config(),
        "mode": "windows",
        "windows": per_window,
        "n_detections": workflow.count(merged),
        "summary": numbers,
    }
    (out / "result.json").write_text(json_text(summary))
    names = [o.name for o in workflow.objectives]
    window_rows = [
        [
            str(tuple(w["offset"])),
            ", ".join(f"{k}={format_number(v)}" for k, v in w["knee"]["params"].items()),
            *(format_number(w["knee"]["rewards"][n]) for n in names),
        ]
        for w in per_window
    ]
    table = html_table(
        ["window (row, col)", "knee parameters", *names], window_rows, numeric=len(names)
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>autoscope analyze: {html.escape(workflow.name)}</title><style>{CSS}</style>",
        f"</head><body><h1>Reward-driven analysis: {html.escape(workflow.name)}, per window</h1>",
        f"<p class='sub'>{html.escape(source)} · {image.shape[0]}×{image.shape[1]} px · "
        f"{len(windows)} windows, each searched on its own</p>",
        "<h2>Merged detections</h2>",
        _params_table(numbers, {}),
        figure_html(
            plot_overlay(
                workflow,
                image,
                merged,
                title="windows merged",
                highlight=numbers.get("bright_columns"),
            ),
            out / "overlay_merged.png",
            alt="merged overlay",
            caption="Each window's knee point, merged (objects on a window edge may be cut).",
        ),
        "<h2>Windows</h2>",
        table,
        "</body></html>",
    ]
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        if len(value) > 6:
            return f"{len(value)} values (result.json)"
        return ", ".join(format_number(v) for v in value) or "none"
    return format_number(value)


def _params_table(params: dict[str, Any], rewards: dict[str, float]) -> str:
    named = {**params, **{f"reward: {k}": v for k, v in rewards.items()}}
    return html_table(["name", "value"], [[k, _cell(v)] for k, v in named.items()], numeric=1)


def _front_table(result: SearchResult) -> str:
    names = [o.name for o in result.objectives]
    rows = []
    for i, e in enumerate(result.front()):
        params = ", ".join(f"{k}={format_number(v)}" for k, v in e.params.items())
        mark = " (knee)" if result.pareto[i] == result.knee else ""
        rows.append([str(i), params + mark, *(format_number(e.rewards[n]) for n in names)])
    return html_table(["#", "parameters", *names], rows, numeric=len(names))
