"""Task scores: how well an analyst's findings characterise a world, in [0, 1].

Four tasks (see :data:`TASKS`), each scored against the world's ground truth
over the whole world, whatever part of it was scanned (unscanned material
counts as not found):

* ``"defect-census"`` (:func:`census_score`): F1 of the defect columns. A found
  column of type 1 (vacancy) or 2 (substitution) matches a true defect of the
  *same* type within ``0.4 * column_spacing`` (one-to-one, optimal matching by
  :func:`autoscope.metrics.detection.match_detections`); only defects on valid
  pixels count.
* ``"phase-mapping"`` (:func:`phase_score`): the fraction of valid pixels whose
  predicted phase equals the truth; unknown (-1) is wrong.
* ``"targeted-search"`` (:func:`search_score`): 1 once any rare-feature
  candidate lies within ``rare_radius + 0.4 * column_spacing`` of the rare
  feature's centre, else 0.
* ``"nanoparticle"`` (:func:`nanoparticle_score`): the F1 of particle centres,
  a found centre matching a true particle within half its true diameter,
  times ``1 - mean relative diameter error`` of the matched particles
  (clipped to [0, 1]).

Findings are in world pixels, the truth in nm: pixel ``(i, j)`` has its
centre at ``(i, j) * pixel_size_A / 10`` nm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import wasserstein_distance

from autoscope.errors import ConfigError
from autoscope.gym.analysts.base import _points
from autoscope.gym.world import TASKS
from autoscope.metrics.detection import match_detections

if TYPE_CHECKING:
    from autoscope.gym.analysts.base import Findings
    from autoscope.gym.world import GroundTruth, WorldInfo

__all__ = [
    "CENSUS_RADIUS_SPACINGS",
    "DEFECT_TYPES",
    "TASKS",
    "TaskScore",
    "census_score",
    "nanoparticle_score",
    "phase_score",
    "search_score",
    "task_score",
]

#: Defect types scored by the census, and their names in the score's details.
DEFECT_TYPES = {1: "vacancy", 2: "substitution"}
#: Matching radius of defects and rare-feature finds, in nominal column spacings.
CENSUS_RADIUS_SPACINGS = 0.4


@dataclass(frozen=True)
class TaskScore:
    """A task's score.

    Attributes:
        value: The score in [0, 1].
        details: Named components of the score (e.g. precision, recall).
    """

    value: float
    details: dict[str, float] = field(default_factory=dict)


def _nm_to_px(info: WorldInfo) -> float:
    return 10.0 / float(info.pixel_size_A)


def _on_valid(points_px: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mask `(N,)` of points whose nearest pixel is inside the world and valid."""
    if len(points_px) == 0:
        return np.zeros(0, dtype=bool)
    idx = np.rint(points_px).astype(np.int64)
    h, w = valid.shape
    inside = (idx[:, 0] >= 0) & (idx[:, 0] < h) & (idx[:, 1] >= 0) & (idx[:, 1] < w)
    out = np.zeros(len(points_px), dtype=bool)
    out[inside] = np.asarray(valid)[idx[inside, 0], idx[inside, 1]]
    return out


def census_score(findings: Findings, truth: GroundTruth, info: WorldInfo) -> TaskScore:
    """F1 of the defect columns found (same type within ``0.4 * column_spacing``).

    Args:
        findings: The analyst's findings (pixels).
        truth: The world's ground truth (nm).
        info: The world's description.

    Returns:
        The F1; details ``precision``, ``recall``, ``f1``, ``f1_vacancy``,
        ``f1_substitution``, ``n_detected``, ``n_truth`` (defects only). With no true and
        no found defects the F1 is 1.
    """
    radius_px = CENSUS_RADIUS_SPACINGS * float(info.column_spacing_A) / float(info.pixel_size_A)
    found = _points(findings.atoms_px)
    found_types = np.asarray(findings.atom_types, dtype=np.int64).ravel()
    true = _points(truth.atom_positions_nm) * _nm_to_px(info)
    true_types = np.asarray(truth.atom_types, dtype=np.int64).ravel()
    found_ok = _on_valid(found, truth.valid)
    true_ok = _on_valid(true, truth.valid)
    details: dict[str, float] = {}
    tp = n_det = n_true = 0
    for code, label in DEFECT_TYPES.items():
        det = found[found_ok & (found_types == code)]
        ref = true[true_ok & (true_types == code)]
        score = match_detections(det, ref, radius=radius_px)
        details[f"f1_{label}"] = score.f1
        tp += score.n_true_positive
        n_det += score.n_detected
        n_true += score.n_truth
    precision = tp / n_det if n_det else (1.0 if n_true == 0 else 0.0)
    recall = tp / n_true if n_true else (1.0 if n_det == 0 else 0.0)
    f1 = 2.0 * tp / (n_det + n_true) if n_det + n_true else 1.0
    details.update(
        precision=precision, recall=recall, f1=f1, n_detected=float(n_det), n_truth=float(n_true)
    )
    return TaskScore(value=f1, details=details)


def phase_score(findings: Findings, truth: GroundTruth, info: WorldInfo) -> TaskScore:
    """Fraction of the valid pixels whose predicted phase is the true one.

    Args:
        findings: The analyst's findings; a missing phase map scores 0.
        truth: The world's ground truth; it must have a phase map.
        info: The world's description.

    Returns:
        The accuracy; details ``accuracy``, ``coverage`` (fraction of the valid pixels
        with a predicted phase) and ``n_valid``.

    Raises:
        ConfigError: If the world has no phases or the maps' shapes differ.
    """
    if truth.phase_map is None:
        raise ConfigError(f"this {info.material} world has no phases; its tasks are {info.tasks}")
    true_map = np.asarray(truth.phase_map)
    valid = np.asarray(truth.valid, dtype=bool) & (true_map >= 0)
    n_valid = int(np.count_nonzero(valid))
    if findings.phase_map is None:
        return TaskScore(0.0, {"accuracy": 0.0, "coverage": 0.0, "n_valid": float(n_valid)})
    predicted = np.asarray(findings.phase_map)
    if predicted.shape != true_map.shape:
        raise ConfigError(
            f"findings.phase_map has shape {predicted.shape}, the world {true_map.shape}"
        )
    if n_valid == 0:
        return TaskScore(1.0, {"accuracy": 1.0, "coverage": 1.0, "n_valid": 0.0})
    accuracy = float(np.count_nonzero(predicted[valid] == true_map[valid])) / n_valid
    coverage = float(np.count_nonzero(predicted[valid] >= 0)) / n_valid
    details = {"accuracy": accuracy, "coverage": coverage, "n_valid": float(n_valid)}
    return TaskScore(accuracy, details)


def search_score(findings: Findings, truth: GroundTruth, info: WorldInfo) -> TaskScore:
    """1 once any rare-feature candidate lies close enough to the rare feature, else 0.

    Close enough is within ``rare_radius_nm`` plus the matching radius
    ``0.4 * column_spacing_A`` of the rare feature's centre.

    Args:
        findings: The analyst's findings (``rare_px`` candidates).
        truth: The world's ground truth.
        info: The world's description.

    Returns:
        The score; details ``found``, ``n_candidates`` and ``distance_nm`` (of the closest
        candidate to the centre; inf without candidates).
    """
    candidates_nm = _points(findings.rare_px) / _nm_to_px(info)
    centre = np.asarray(truth.rare_centre_nm, dtype=np.float64).reshape(2)
    reach = float(truth.rare_radius_nm) + CENSUS_RADIUS_SPACINGS * float(info.column_spacing_A) / 10
    distance = (
        float(np.min(np.hypot(*(candidates_nm - centre).T))) if len(candidates_nm) else np.inf
    )
    found = float(distance <= reach)
    return TaskScore(
        found,
        {"found": found, "n_candidates": float(len(candidates_nm)), "distance_nm": distance},
    )


def _match_particles(found: np.ndarray, true: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Optimal one-to-one pairs `(TP, 2)` (found, true) with distance <= the true radius.

    The number of pairs is maximised first (an out-of-reach pair costs more than all
    in-reach pairs together), then the summed distance relative to the radii.
    """
    if len(found) == 0 or len(true) == 0:
        return np.empty((0, 2), dtype=np.int64)
    distance = np.hypot(*(found[:, None, :] - true[None, :, :]).transpose(2, 0, 1))
    relative = distance / radii[None, :]
    in_reach = relative <= 1.0
    cost = np.where(in_reach, relative, 1.0 + min(found.shape[0], true.shape[0]))
    rows, cols = linear_sum_assignment(cost)
    keep = in_reach[rows, cols]
    return np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)


def nanoparticle_score(findings: Findings, truth: GroundTruth, info: WorldInfo) -> TaskScore:
    """F1 of the particle centres times one minus the mean relative diameter error.

    A found centre matches a true particle within half its true diameter (optimal
    one-to-one matching).

    Args:
        findings: The analyst's findings (``particle_centres_px``, ``particle_diameters_px``).
        truth: The world's ground truth; it must list particles.
        info: The world's description.

    Returns:
        The score; details ``f1``, ``count``, ``true_count``, ``size_error`` (mean relative
        diameter error of the matched particles, 1 when none matched) and ``wasserstein``
        (Wasserstein-1 distance between the found and true diameter distributions in nm;
        NaN when either is empty).

    Raises:
        ConfigError: If the world has no particles.
    """
    if truth.particle_centres_nm is None or truth.particle_diameters_nm is None:
        raise ConfigError(
            f"{info.material} worlds have no nanoparticles; the nanoparticle task needs AuNP"
        )
    scale = _nm_to_px(info)
    true = _points(truth.particle_centres_nm)
    true_d = np.asarray(truth.particle_diameters_nm, dtype=np.float64).ravel()
    found = _points(findings.particle_centres_px) / scale
    found_d = np.asarray(findings.particle_diameters_px, dtype=np.float64).ravel() / scale
    pairs = _match_particles(found, true, 0.5 * true_d)
    tp, total = len(pairs), len(found) + len(true)
    f1 = 2.0 * tp / total if total else 1.0
    if tp:
        errors = np.abs(found_d[pairs[:, 0]] - true_d[pairs[:, 1]]) / true_d[pairs[:, 1]]
        size_error = float(np.mean(errors))
    else:
        size_error = 0.0 if total == 0 else 1.0
    value = f1 * float(np.clip(1.0 - size_error, 0.0, 1.0))
    wasserstein = (
        float(wasserstein_distance(found_d, true_d)) if len(found_d) and len(true_d) else np.nan
    )
    return TaskScore(
        value,
        {
            "f1": f1,
            "count": float(len(found)),
            "true_count": float(len(true)),
            "size_error": size_error,
            "wasserstein": wasserstein,
        },
    )


_SCORERS = {
    "defect-census": census_score,
    "phase-mapping": phase_score,
    "targeted-search": search_score,
    "nanoparticle": nanoparticle_score,
}


def task_score(task: str, findings: Findings, truth: GroundTruth, info: WorldInfo) -> TaskScore:
    """Score ``findings`` on ``task`` against the ground truth.

    Args:
        task: One of :data:`TASKS`.
        findings: The analyst's findings (world pixels).
        truth: The world's ground truth (nm).
        info: The world's description.

    Returns:
        The task's :class:`TaskScore`.

    Raises:
        ConfigError: If ``task`` is unknown or does not apply to the world.
    """
    if task not in _SCORERS:
        raise ConfigError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    return _SCORERS[task](findings, truth, info)
