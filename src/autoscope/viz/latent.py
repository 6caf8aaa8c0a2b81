"""Figures of a learned latent space (autoencoder, Im2spec encoder) and where it lies in the sample.

A curiosity campaign works in a latent space: which regions it has measured,
and which structural families the latent space separates, are the questions
these figures answer. As in :mod:`autoscope.viz.plots` nothing touches
pyplot's global state; pass axes, or let a function build a
:class:`matplotlib.figure.Figure` (reach it as ``ax.figure``).

The k-means of :func:`plot_latent_clusters` is the one of the coverage
metrics (:func:`~autoscope.metrics.coverage.feature_space_clusters`,
scikit-learn, seeded), so the clusters drawn are the clusters scored.

Example:
    >>> import numpy as np
    >>> latents = np.random.default_rng(0).standard_normal((16, 3))
    >>> coords = np.argwhere(np.ones((4, 4), dtype=bool))
    >>> ax = plot_latent(latents, measured=[3, 0, 9])
    >>> labels, (ax_z, ax_xy) = plot_latent_clusters(latents, coords, (4, 4), k=2)
    >>> labels.shape
    (16,)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from autoscope.errors import DataError
from autoscope.metrics.coverage import feature_space_clusters

__all__ = ["labels_on_grid", "plot_latent", "plot_latent_clusters"]

_GREY = "0.75"


def _latents(latents: np.ndarray) -> np.ndarray:
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise DataError(
            f"latents must be (N, d) with N >= 1 and d >= 2 (the first two dimensions are "
            f"drawn), got shape {z.shape}"
        )
    if not np.isfinite(z).all():
        raise DataError(
            f"latents have NaN/inf (first at candidate {int(np.argwhere(~np.isfinite(z))[0, 0])})"
        )
    return z


def _measured_indices(measured: np.ndarray | Sequence[int] | None, n: int) -> np.ndarray:
    """Measured pool indices `(M,)` from indices (kept in order) or a boolean mask `(N,)`."""
    if measured is None:
        return np.zeros(0, dtype=np.int64)
    m = np.asarray(measured)
    if m.dtype == bool:
        if m.shape != (n,):
            raise DataError(f"measured as a boolean mask must have shape ({n},), got {m.shape}")
        return np.flatnonzero(m)
    m = m.ravel()
    if m.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(m.dtype, np.integer) or m.min() < 0 or m.max() >= n:
        raise DataError(f"measured must be pool indices in [0, {n}), got {m[:10]}")
    return m.astype(np.int64)


def _new_axes(n: int, figsize: tuple[float, float]) -> list[Axes]:
    fig = Figure(figsize=figsize, layout="constrained")
    return list(np.atleast_1d(fig.subplots(1, n)))


def _cluster_cmap(k: int) -> Colormap:
    """``k`` distinct colours (tab10, tab20, then a resampled turbo)."""
    if k <= 10:
        colors = colormaps["tab10"].colors[:k]  # type: ignore[attr-defined]
    elif k <= 20:
        colors = colormaps["tab20"].colors[:k]  # type: ignore[attr-defined]
    else:
        colors = colormaps["turbo"].resampled(k)(np.arange(k))
    return ListedColormap(colors, name=f"clusters{k}").with_extremes(bad="white")


def plot_latent(
    latents: np.ndarray,
    *,
    measured: np.ndarray | Sequence[int] | None = None,
    order: np.ndarray | Sequence[float] | None = None,
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Scatter every candidate in the first two latent dimensions; colour the measured ones.

    All candidates are small grey dots; measured candidates are drawn on top,
    coloured by measurement number (viridis, with a colour bar).

    Args:
        latents: Latent vectors of every candidate `(N, d)`, ``d >= 2``.
        measured: Measured pool indices `(M,)` in measurement order (or a boolean mask `(N,)`).
        order: Measurement number of each measured point `(M,)` (default ``1 … M``).
        ax: Axes to draw on (default: a new figure's).
        title: Axes title (default: "Latent space").

    Returns:
        The axes drawn on.

    Raises:
        DataError: Latents not a finite `(N, d >= 2)` array, indices out of
            range, or ``order`` not of length ``M``.
    """
    z = _latents(latents)
    idx = _measured_indices(measured, len(z))
    if order is None:
        steps = np.arange(1, len(idx) + 1, dtype=np.float64)
    else:
        steps = np.asarray(order, dtype=np.float64).ravel()
        if steps.shape != idx.shape or not np.isfinite(steps).all():
            raise DataError(
                f"order must hold one finite measurement number per measured point "
                f"({len(idx)}), got shape {steps.shape}"
            )
    if ax is None:
        [ax] = _new_axes(1, (5.0, 4.5))
    ax.scatter(z[:, 0], z[:, 1], s=8, c=_GREY, linewidths=0, label="candidates", zorder=1)
    if len(idx):
        lo, hi = float(steps.min()), float(steps.max())
        mappable = ax.scatter(
            z[idx, 0],
            z[idx, 1],
            c=steps,
            cmap="viridis",
            norm=Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1),
            s=30,
            edgecolors="black",
            linewidths=0.5,
            zorder=2,
        )
        cbar = ax.figure.colorbar(mappable, ax=ax, shrink=0.85)
        cbar.set_label("measurement #")
        cbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_title(title or f"Latent space ({len(idx)} of {len(z)} measured)")
    return ax


def labels_on_grid(
    labels: np.ndarray, coords: np.ndarray, grid_shape: tuple[int, int]
) -> np.ndarray:
    """Place one label per candidate on its grid cell.

    Args:
        labels: Label of every candidate `(N,)`.
        coords: `(row, col)` of every candidate on the grid `(N, 2)`, integers, no repeats.
        grid_shape: `(H, W)` of the grid.

    Returns:
        Float image `(H, W)`: the label at each candidate's cell, NaN where
        there is no candidate.

    Raises:
        DataError: Shapes disagree, coordinates are not integers inside the
            grid, or two candidates share a cell.

    Example:
        >>> labels_on_grid(np.array([2, 5]), np.array([[0, 1], [1, 0]]), (2, 2))
        array([[nan,  2.],
               [ 5., nan]])
    """
    labels = np.asarray(labels)
    xy = np.asarray(coords)
    h, w = (int(v) for v in grid_shape)
    if labels.ndim != 1 or xy.shape != (len(labels), 2):
        raise DataError(
            f"labels (N,) and coords (N, 2) must match, got {labels.shape} and {xy.shape}"
        )
    if xy.size and (
        not np.all(np.isfinite(xy))
        or not np.all(xy == np.round(xy))
        or xy[:, 0].min() < 0
        or xy[:, 1].min() < 0
        or xy[:, 0].max() >= h
        or xy[:, 1].max() >= w
    ):
        raise DataError(f"coords must be integer (row, col) inside the grid {(h, w)}")
    rc = xy.astype(np.int64)
    flat = rc[:, 0] * w + rc[:, 1]
    if len(np.unique(flat)) != len(flat):
        raise DataError("coords repeat a grid cell; each candidate needs its own cell")
    grid = np.full((h, w), np.nan)
    grid[rc[:, 0], rc[:, 1]] = labels.astype(np.float64)
    return grid


def plot_latent_clusters(
    latents: np.ndarray,
    coords: np.ndarray,
    grid_shape: tuple[int, int],
    *,
    k: int = 3,
    seed: int = 0,
    measured: np.ndarray | Sequence[int] | None = None,
    axes: Sequence[Axes] | None = None,
) -> tuple[np.ndarray, tuple[Axes, Axes]]:
    """k-means of the latent space, shown in latent space and mapped back onto the sample.

    The latents are clustered as given (no scaling) with seeded scikit-learn
    k-means (``k`` is capped at the number of distinct latent vectors).
    Clusters are renumbered by the mean of their first latent dimension, so
    colours do not depend on k-means' internal order. Left: the first two
    latent dimensions coloured by cluster. Right: the grid, each candidate's
    cell coloured by its cluster (cells without a candidate blank); measured
    points are black-edged circles on both.

    Args:
        latents: Latent vectors of every candidate `(N, d)`, ``d >= 2``.
        coords: `(row, col)` of every candidate on the grid `(N, 2)`.
        grid_shape: `(H, W)` of the grid.
        k: Number of clusters.
        seed: Seed of k-means.
        measured: Measured pool indices `(M,)` or a boolean mask `(N,)`.
        axes: Two axes (latent space, real space); default: a new figure's.

    Returns:
        ``(labels, (ax_latent, ax_grid))``: cluster of every candidate `(N,)`
        int in ``[0, k)``, and the axes drawn on.

    Raises:
        DataError: Bad latents, coordinates or measured indices (see
            :func:`plot_latent` and :func:`labels_on_grid`), or ``k < 1``.
        ValueError: ``axes`` does not hold two axes.
    """
    z = _latents(latents)
    xy = np.asarray(coords)
    if xy.shape != (len(z), 2):
        raise DataError(f"coords must be (N, 2) with N = {len(z)} candidates, got {xy.shape}")
    idx = _measured_indices(measured, len(z))
    if axes is None:
        axes = _new_axes(2, (10.0, 4.5))
    if len(axes) != 2:
        raise ValueError(f"axes: expected two axes, got {len(axes)}")
    ax_z, ax_xy = axes
    raw = feature_space_clusters(z, n_clusters=k, seed=seed)
    n_clusters = int(raw.max()) + 1
    centre_x = np.array([z[raw == c, 0].mean() for c in range(n_clusters)])
    rank = np.empty(n_clusters, dtype=np.int64)
    rank[np.argsort(centre_x, kind="stable")] = np.arange(n_clusters)
    labels = rank[raw]
    grid = labels_on_grid(labels, xy, grid_shape)

    cmap = _cluster_cmap(n_clusters)
    norm = Normalize(vmin=-0.5, vmax=n_clusters - 0.5)
    ax_z.scatter(z[:, 0], z[:, 1], c=labels, cmap=cmap, norm=norm, s=10, linewidths=0)
    ax_z.set_xlabel("latent 1")
    ax_z.set_ylabel("latent 2")
    ax_z.set_title(f"Latent space, k-means (k = {n_clusters})")
    ax_xy.imshow(grid, cmap=cmap, norm=norm, interpolation="nearest")
    h, w = grid.shape
    ax_xy.set_xlim(-0.5, w - 0.5)
    ax_xy.set_ylim(h - 0.5, -0.5)
    ax_xy.set_xlabel("column (grid px)")
    ax_xy.set_ylabel("row (grid px)")
    ax_xy.set_title("Clusters in real space")
    ax_xy.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_xy.yaxis.set_major_locator(MaxNLocator(integer=True))

    handles = [
        Line2D([], [], ls="", marker="s", mfc=cmap(c), mec="none", ms=8, label=f"cluster {c}")
        for c in range(n_clusters)
    ]
    if len(idx):
        ax_z.scatter(
            z[idx, 0],
            z[idx, 1],
            s=36,
            facecolors="none",
            edgecolors="black",
            linewidths=1.0,
            zorder=3,
        )
        ax_xy.scatter(
            xy[idx, 1],
            xy[idx, 0],
            s=36,
            facecolors="none",
            edgecolors="black",
            linewidths=1.0,
            zorder=3,
        )
        handles.append(
            Line2D([], [], ls="", marker="o", mfc="none", mec="black", ms=7, label="measured")
        )
    ax_xy.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        frameon=False,
    )
    return labels, (ax_z, ax_xy)
