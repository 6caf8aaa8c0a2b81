"""Detection scores: one-to-one matching of detected positions to true ones within a radius.

Used for the F1 score of atom finding against known column positions and
for defect census. The matching is *optimal*: among all one-to-one
assignments that pair a detection with a true position at most ``radius``
away, it has the largest number of pairs and, among those, the smallest
summed distance. Candidate pairs come from
:meth:`scipy.spatial.cKDTree.sparse_distance_matrix`; the bipartite graph
of candidate pairs is split into connected components
(:func:`scipy.sparse.csgraph.connected_components`); components with one
detection and one true position are matched directly and every larger
component is solved by :func:`scipy.optimize.linear_sum_assignment` on its
own dense cost matrix, in which a pair farther than ``radius`` costs more
than all in-range pairs of the component together (so the number of pairs
is maximised first). With a radius below half the nearest-neighbour
distance almost every component is a single pair, and the cost is that of
the tree query. Only this decomposition is written here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from autoscope.errors import ConfigError, DataError

__all__ = ["DetectionScore", "match_detections"]


@dataclass(frozen=True)
class DetectionScore:
    """Precision, recall and F1 of detections matched one-to-one to the truth.

    Attributes:
        precision: `TP / n_detected`; when nothing was detected, 1.0 if the
            truth is empty too and 0.0 otherwise.
        recall: `TP / n_truth`; when the truth is empty, 1.0 if nothing was
            detected and 0.0 otherwise.
        f1: `2 TP / (n_detected + n_truth)` (the harmonic mean of the two),
            1.0 when both are empty.
        n_true_positive: Number of matched pairs `TP`.
        n_detected: Number of detections.
        n_truth: Number of true positions.
        pairs: Matched pairs `(TP, 2)` int64, columns (detection index,
            truth index), sorted by detection index.
        distances: Distance of each matched pair `(TP,)`, float64, in the
            positions' unit.
    """

    precision: float
    recall: float
    f1: float
    n_true_positive: int
    n_detected: int
    n_truth: int
    pairs: np.ndarray = field(repr=False, compare=False)
    distances: np.ndarray = field(repr=False, compare=False)


def _points(name: str, values: ArrayLike, dim: int | None) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        return np.empty((0, dim if dim is not None else 0))
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise DataError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] < 1:
        raise DataError(f"{name} must be an (N, D) array of positions, got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise DataError(
            f"{name} has {array.shape[1]} coordinates per position but the other input has "
            f"{dim}; pass the same columns (e.g. atoms[:, :2] for (row, col) of find_atoms)"
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise DataError(f"{name} must be finite; row {bad} holds NaN or inf")
    return array


def _rate(hits: int, total: int, other_empty: bool) -> float:
    if total == 0:
        return 1.0 if other_empty else 0.0
    return hits / total


def match_detections(detected: ArrayLike, truth: ArrayLike, *, radius: float) -> DetectionScore:
    """Match detections to true positions one-to-one within ``radius`` and score them.

    Args:
        detected: Detected positions `(N, D)`; any empty array means none.
        truth: True positions `(M, D)`, same unit and columns.
        radius: Largest distance (> 0, same unit) at which a detection can
            match a true position; e.g. a fraction of the lattice spacing.

    Returns:
        The score; see :class:`DetectionScore` for the empty-input rules.

    Raises:
        ConfigError: If ``radius`` is not a finite positive number.
        DataError: If an input is not an `(N, D)` finite array or the two
            have different D.

    Example:
        >>> truth = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
        >>> detected = [[0.5, 0.0], [10.0, 1.0], [30.0, 30.0]]
        >>> score = match_detections(detected, truth, radius=2.0)
        >>> round(score.precision, 3), round(score.recall, 3), score.pairs.tolist()
        (0.667, 0.667, [[0, 0], [1, 1]])
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)):
        raise ConfigError(f"radius must be a number, got {radius!r}")
    radius = float(radius)
    if not math.isfinite(radius) or radius <= 0:
        raise ConfigError(f"radius must be a finite number > 0, got {radius!r}")
    det = _points("detected", detected, None)
    true = _points("truth", truth, det.shape[1] if len(det) else None)
    n_det, n_true = len(det), len(true)
    pairs = np.empty((0, 2), dtype=np.int64)
    distances = np.empty(0)
    if n_det and n_true:
        pairs, distances = _match(det, true, radius)
    tp = len(pairs)
    total = n_det + n_true
    return DetectionScore(
        precision=_rate(tp, n_det, n_true == 0),
        recall=_rate(tp, n_true, n_det == 0),
        f1=2.0 * tp / total if total else 1.0,
        n_true_positive=tp,
        n_detected=n_det,
        n_truth=n_true,
        pairs=pairs,
        distances=distances,
    )


def _match(det: np.ndarray, true: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs `(TP, 2)` and their distances `(TP,)`."""
    close = cKDTree(det).sparse_distance_matrix(cKDTree(true), radius, output_type="ndarray")
    rows, cols, dist = close["i"].astype(np.int64), close["j"].astype(np.int64), close["v"]
    if len(rows) == 0:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    n_det, n_true = len(det), len(true)
    # Bipartite graph: detections are nodes 0..n_det-1, true positions n_det.. .
    graph = coo_matrix(
        (np.ones(len(rows)), (rows, cols + n_det)), shape=(n_det + n_true, n_det + n_true)
    )
    _, labels = connected_components(graph, directed=False)
    edge_label = labels[rows]
    edges_per = np.bincount(edge_label, minlength=labels.max() + 1)
    nodes_per = np.bincount(labels, minlength=labels.max() + 1)
    simple = (edges_per[edge_label] == 1) & (nodes_per[edge_label] == 2)
    out_rows, out_cols, out_dist = [rows[simple]], [cols[simple]], [dist[simple]]
    complex_edges = np.flatnonzero(~simple)
    if len(complex_edges):
        order = complex_edges[np.argsort(edge_label[complex_edges], kind="stable")]
        bounds = np.flatnonzero(np.diff(edge_label[order])) + 1
        for group in np.split(order, bounds):
            r, c, d = rows[group], cols[group], dist[group]
            ur, ir = np.unique(r, return_inverse=True)
            uc, ic = np.unique(c, return_inverse=True)
            forbidden = radius * (len(group) + 1.0) + 1.0
            cost = np.full((len(ur), len(uc)), forbidden)
            cost[ir, ic] = d
            a, b = linear_sum_assignment(cost)
            ok = cost[a, b] < forbidden
            out_rows.append(ur[a[ok]])
            out_cols.append(uc[b[ok]])
            out_dist.append(cost[a[ok], b[ok]])
    rows, cols, dist = np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_dist)
    order = np.argsort(rows, kind="stable")
    return np.stack([rows[order], cols[order]], axis=1).astype(np.int64), dist[order]
