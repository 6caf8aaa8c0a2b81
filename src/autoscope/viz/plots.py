"""Figures of one run, drawn onto axes the caller owns.

Every function takes a :class:`~autoscope.campaign.rundata.RunData` (or arrays)
and a matplotlib :class:`~matplotlib.axes.Axes`, draws, and returns the axes.
Nothing here touches pyplot's global state: build a
:class:`matplotlib.figure.Figure` directly (it renders with the Agg canvas, needs
no display and is safe in threads and worker processes), or pass axes from a
notebook's ``plt.subplots``.

Positions are stored on the spectrum grid; the overview image is on the finer
structure grid. Spectrum-grid ``(r, c)`` is drawn at structure pixel
``(r * b + b // 2, c * b + b // 2)`` with ``b = run.spectra_binning``.

Example:
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(layout="constrained")
    >>> ax = fig.add_subplot()
    >>> # plot_trajectory(ax, run); fig.savefig("trajectory.png")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from autoscope.campaign.rundata import RunData
from autoscope.errors import DataError

__all__ = [
    "NO_MEASUREMENTS",
    "plot_metric_curves",
    "plot_revealed_vs_truth",
    "plot_spectra",
    "plot_trajectory",
    "to_structure_pixels",
]

NO_MEASUREMENTS = "no measurements yet"
_CMAP = "viridis"


def to_structure_pixels(coords: np.ndarray, binning: int) -> np.ndarray:
    """Map spectrum-grid positions to structure-pixel centres.

    Args:
        coords: `(N, 2)` ``(row, col)`` on the spectrum grid.
        binning: Structure pixels per spectrum-grid pixel (``>= 1``).

    Returns:
        `(N, 2)` float ``(row, col)`` in structure pixels.

    Raises:
        DataError: If ``coords`` is not `(N, 2)` or ``binning < 1``.
    """
    coords = np.asarray(coords, dtype=float)
    if coords.size == 0:
        coords = coords.reshape(0, 2)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise DataError(f"coords: expected shape (N, 2), got {coords.shape}")
    b = int(binning)
    if b < 1:
        raise DataError(f"spectra_binning: expected an integer >= 1, got {binning!r}")
    return coords * b + b // 2


def _note(ax: Axes, text: str) -> None:
    """Write a centred grey note on ``ax``."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.35",
        fontsize=11,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
    )


def _event_coords(events: Sequence[dict[str, Any]]) -> np.ndarray:
    """`(K, 2)` spectrum-grid coords of failure/rejection records that carry them."""
    rows = []
    for event in events:
        xy = event.get("coords") if isinstance(event, dict) else None
        if xy is None:
            continue
        arr = np.asarray(xy, dtype=float).ravel()
        if arr.size == 2 and np.all(np.isfinite(arr)):
            rows.append(arr)
    return np.array(rows, dtype=float).reshape(-1, 2)


def _overview(run: RunData) -> np.ndarray:
    image = np.asarray(run.overview)
    if image.ndim != 2:
        raise DataError(f"RunData.overview: expected a structure image (H, W), got {image.shape}")
    return image


def plot_trajectory(
    ax: Axes,
    run: RunData,
    *,
    show_path: bool = True,
    show_rejected: bool = True,
    colorbar: bool = True,
    marker_size: float = 36.0,
) -> Axes:
    """Draw the overview image with the measured points in the order they were taken.

    Points are coloured by measurement number (viridis, with a colour bar).
    Seed (``"initial"``) points are white-edged squares, points attached by a
    person are stars, policy points are circles; failed points are red crosses
    and rejected suggestions grey ``x`` marks.

    Args:
        ax: Axes to draw on.
        run: The run.
        show_path: Join successive measurements with a faint line.
        show_rejected: Also mark rejected suggestions.
        colorbar: Add a colour bar for the measurement number.
        marker_size: Marker area in points².

    Returns:
        ``ax``.
    """
    image = _overview(run)
    ax.imshow(image, cmap="gray", interpolation="nearest")
    ax.set_xlabel("column (structure px)")
    ax.set_ylabel("row (structure px)")
    ax.set_title("Measurement trajectory")
    h, w = image.shape
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)

    m = len(run.targets)
    handles: list[Line2D] = []
    if m:
        rc = to_structure_pixels(run.coords, run.spectra_binning)
        steps = np.arange(1, m + 1)
        norm = Normalize(vmin=1, vmax=max(m, 2))
        source = np.asarray(run.source).astype(str)
        if show_path and m > 1:
            ax.plot(rc[:, 1], rc[:, 0], color="white", lw=0.7, alpha=0.45, zorder=2)
        styles = {
            "policy": ("o", "black", 0.5, 1.0, "policy"),
            "initial": ("s", "white", 1.2, 1.1, "initial (seed)"),
            "attached": ("*", "black", 0.6, 2.6, "attached by a person"),
        }
        mappable = None
        for kind, (marker, edge, lw, scale, label) in styles.items():
            sel = source == kind
            if not np.any(sel):
                continue
            mappable = ax.scatter(
                rc[sel, 1],
                rc[sel, 0],
                c=steps[sel],
                cmap=_CMAP,
                norm=norm,
                marker=marker,
                s=marker_size * scale,
                edgecolors=edge,
                linewidths=lw,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="",
                    marker=marker,
                    mfc="0.55",
                    mec=edge,
                    mew=lw,
                    ms=8 if marker != "*" else 12,
                    label=label,
                )
            )
        other = ~np.isin(source, list(styles))
        if np.any(other):
            mappable = ax.scatter(
                rc[other, 1],
                rc[other, 0],
                c=steps[other],
                cmap=_CMAP,
                norm=norm,
                marker="D",
                s=marker_size,
                edgecolors="black",
                linewidths=0.5,
                zorder=3,
            )
            handles.append(
                Line2D([], [], ls="", marker="D", mfc="0.55", mec="black", label="other source")
            )
        if colorbar and mappable is not None:
            cbar = ax.figure.colorbar(mappable, ax=ax, shrink=0.85)
            cbar.set_label("measurement #")
    else:
        _note(ax, NO_MEASUREMENTS)

    failed = _event_coords(run.failed)
    if len(failed):
        f_rc = to_structure_pixels(failed, run.spectra_binning)
        ax.scatter(
            f_rc[:, 1],
            f_rc[:, 0],
            marker="X",
            s=marker_size * 1.6,
            c="red",
            edgecolors="white",
            linewidths=0.6,
            zorder=4,
        )
        handles.append(
            Line2D([], [], ls="", marker="X", mfc="red", mec="white", ms=9, label="failed")
        )
    rejected = _event_coords(run.rejected) if show_rejected else np.zeros((0, 2))
    if len(rejected):
        r_rc = to_structure_pixels(rejected, run.spectra_binning)
        ax.scatter(
            r_rc[:, 1], r_rc[:, 0], marker="x", s=marker_size, c="0.75", linewidths=1.2, zorder=4
        )
        handles.append(
            Line2D([], [], ls="", marker="x", mec="0.6", mew=1.2, ms=7, label="rejected")
        )
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=min(len(handles), 3),
            fontsize="small",
            facecolor="0.85",  # light grey, so the white edges of seed squares show
            edgecolor="none",
            framealpha=1.0,
        )
    return ax


def plot_revealed_vs_truth(
    axes_pair: Sequence[Axes],
    run: RunData,
    *,
    cmap: str = "magma",
    colorbar: bool = True,
    target_label: str = "target",
) -> Sequence[Axes]:
    """Draw the scalar map revealed so far next to the ground truth, on one colour scale.

    Unmeasured spectrum-grid pixels are NaN and stay blank. Without ground
    truth the second axes only carries a note.

    Args:
        axes_pair: Two axes: revealed map, ground truth.
        run: The run.
        cmap: Colour map of both maps.
        colorbar: Add one colour bar shared by both maps.
        target_label: Label of the colour bar (name and units of the target).

    Returns:
        ``axes_pair``.

    Raises:
        ValueError: If ``axes_pair`` does not hold exactly two axes.
    """
    if len(axes_pair) != 2:
        raise ValueError(f"axes_pair: expected two axes, got {len(axes_pair)}")
    ax_rev, ax_true = axes_pair
    grid = tuple(int(n) for n in run.grid_shape)
    revealed = np.full(grid, np.nan)
    if len(run.targets):
        rc = np.asarray(run.coords, dtype=np.int64)
        revealed[rc[:, 0], rc[:, 1]] = np.asarray(run.targets, dtype=float)
    truth = None if run.truth_map is None else np.asarray(run.truth_map, dtype=float)
    if truth is not None and not np.any(np.isfinite(truth)):
        truth = None

    finite = [a[np.isfinite(a)] for a in (revealed, truth) if a is not None]
    values = np.concatenate(finite) if finite else np.zeros(0)
    norm = None
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        norm = Normalize(vmin=lo, vmax=hi)

    n_meas = int(np.isfinite(revealed).sum())
    total = revealed.size
    ax_rev.set_title(f"Revealed ({n_meas} of {total} px, {100 * n_meas / max(total, 1):.1f}%)")
    image = None
    for ax in (ax_rev, ax_true):
        ax.set_facecolor("0.93")
        ax.set_xlabel("column (spectrum px)")
        ax.set_ylabel("row (spectrum px)")
        ax.set_xlim(-0.5, grid[1] - 0.5)
        ax.set_ylim(grid[0] - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if n_meas and norm is not None:
        image = ax_rev.imshow(revealed, cmap=cmap, norm=norm, interpolation="nearest")
    else:
        _note(ax_rev, NO_MEASUREMENTS)
    if truth is not None and norm is not None:
        image = ax_true.imshow(truth, cmap=cmap, norm=norm, interpolation="nearest")
        ax_true.set_title("Ground truth")
    else:
        ax_true.set_title("Ground truth")
        _note(ax_true, "no ground truth for this run")
    if colorbar and image is not None:
        cbar = ax_rev.figure.colorbar(image, ax=list(axes_pair), shrink=0.85)
        cbar.set_label(target_label)
    return axes_pair


def plot_metric_curves(
    ax: Axes,
    run: RunData,
    names: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    ylabel: str = "value",
    title: str | None = None,
    mark_initial: bool = True,
) -> Axes:
    """Draw metric curves against the number of measurements.

    A vertical dashed line marks the end of the initial (seed) points.

    Args:
        ax: Axes to draw on.
        run: The run.
        names: Metric names (keys of ``run.metrics``) to draw.
        labels: Legend labels, one per name (default: the names).
        ylabel: y-axis label, with units.
        title: Axes title.
        mark_initial: Draw the dashed line at ``run.n_initial``.

    Returns:
        ``ax``.

    Raises:
        KeyError: If a name is not among ``run.metrics``.
        DataError: If a metric's length differs from ``run.metric_steps``.
    """
    names = list(names)
    missing = [n for n in names if n not in run.metrics]
    if missing:
        raise KeyError(f"metrics {missing} not in this run (has {sorted(run.metrics)})")
    labels = names if labels is None else list(labels)
    if len(labels) != len(names):
        raise ValueError(f"labels: expected {len(names)} labels, got {len(labels)}")
    steps = np.asarray(run.metric_steps, dtype=float)
    drawn = 0
    for name, label in zip(names, labels, strict=True):
        values = np.asarray(run.metrics[name], dtype=float)
        if values.shape != steps.shape:
            raise DataError(
                f"RunData.metrics[{name!r}]: expected shape {steps.shape} like metric_steps, "
                f"got {values.shape}"
            )
        if not np.any(np.isfinite(values)):
            continue
        ax.plot(steps, values, marker="o" if steps.size < 25 else None, ms=3, lw=1.6, label=label)
        drawn += 1
    if mark_initial and run.n_initial > 0:
        ax.axvline(run.n_initial, color="0.4", ls="--", lw=1, label="end of initial points")
    ax.set_xlabel("number of measurements")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize="small")
    else:
        _note(ax, "no metrics recorded")
    return ax


def plot_spectra(
    ax: Axes,
    run: RunData,
    *,
    n: int = 5,
    ylabel: str = "signal (a.u.)",
) -> Axes:
    """Draw ``n`` measured spectra spread evenly over the run, coloured by measurement number.

    Args:
        ax: Axes to draw on.
        run: The run.
        n: Number of spectra to draw (fewer if fewer were measured).
        ylabel: y-axis label, with units.

    Returns:
        ``ax``.

    Raises:
        ValueError: If ``n < 1``.
        DataError: If the spectra and the spectral axis disagree in length.
    """
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    units = f" ({run.spectral_units})" if run.spectral_units else ""
    ax.set_xlabel(f"spectral axis{units}")
    ax.set_ylabel(ylabel)
    ax.set_title("Example spectra")
    ax.grid(alpha=0.3)
    m = len(run.targets)
    spectra = np.asarray(run.spectra)
    if m == 0 or spectra.size == 0:
        _note(ax, NO_MEASUREMENTS)
        return ax
    axis = np.asarray(run.spectral_axis)
    if spectra.ndim != 2 or spectra.shape[1] != axis.shape[0]:
        raise DataError(
            f"RunData.spectra: expected (M, {axis.shape[0]}) to match spectral_axis, "
            f"got {spectra.shape}"
        )
    picks = np.unique(np.linspace(0, m - 1, min(n, m)).round().astype(int))
    norm = Normalize(vmin=1, vmax=max(m, 2))
    cmap = colormaps[_CMAP]
    for i in picks:
        r, c = (int(v) for v in run.coords[i])
        ax.plot(
            axis,
            np.real(spectra[i]),
            color=cmap(norm(i + 1)),
            lw=1.4,
            label=f"#{i + 1} at ({r}, {c}), {run.source[i]}",
        )
    ax.legend(fontsize="small", title="measurement", title_fontsize="small")
    return ax
