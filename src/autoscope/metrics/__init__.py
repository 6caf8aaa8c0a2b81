"""Metrics: coverage in patch, feature and target space; surrogate errors; detection scores.

Groupings (clusters, bins) are computed once per pool; :class:`CoverageTracker`
and :class:`MetricsMonitor` then update in `O(k)` per step.
"""

from autoscope.metrics.coverage import (
    CoverageTracker,
    coverage,
    feature_space_clusters,
    patch_space_clusters,
    standardize_patches,
    target_bins,
)
from autoscope.metrics.detection import DetectionScore, match_detections
from autoscope.metrics.errors import error_metrics, truth_scale
from autoscope.metrics.monitor import MetricsMonitor, MonitorState

__all__ = [
    "CoverageTracker",
    "DetectionScore",
    "MetricsMonitor",
    "MonitorState",
    "coverage",
    "error_metrics",
    "feature_space_clusters",
    "match_detections",
    "patch_space_clusters",
    "standardize_patches",
    "target_bins",
    "truth_scale",
]
