"""Figures of a run and its self-contained HTML report.

Plots draw on axes the caller owns and never touch pyplot's global state;
:func:`write_report` renders them to PNG and one self-contained HTML page.
"""

from autoscope.viz.plots import (
    plot_metric_curves,
    plot_revealed_vs_truth,
    plot_spectra,
    plot_trajectory,
    to_structure_pixels,
)
from autoscope.viz.report import write_report

__all__ = [
    "plot_metric_curves",
    "plot_revealed_vs_truth",
    "plot_spectra",
    "plot_trajectory",
    "to_structure_pixels",
    "write_report",
]
