"""Reward-driven image analysis for microscopy.

Image operators (validation, pre-filters, atom finding, wall skeletons,
particle masks) are plain functions and small classes over numpy arrays with
keyword-only parameters, so that a multi-objective search can tune their
parameters against physics-based rewards. Every operator is deterministic,
accepts any parameter value in its documented range (a threshold that finds
nothing gives an empty result) and builds on scikit-image and SciPy.

On top of them: :mod:`~autoscope.analysis.lattice` (the image's own lattice
from its FFT), :mod:`~autoscope.analysis.rewards` (physics rewards with
units), :mod:`~autoscope.analysis.space` (parameter spaces as data),
:mod:`~autoscope.analysis.workflows` (atoms, walls, particles),
:mod:`~autoscope.analysis.search` (NSGA-II / qLogNEHVI Pareto search) and
:mod:`~autoscope.analysis.report` (figures and the HTML page of
``autoscope analyze``).

Example:
    >>> from autoscope.analysis import make_workflow, search
    >>> result = search(make_workflow("atoms"), image)  # doctest: +SKIP
    >>> knee = result.pick()                            # doctest: +SKIP
"""

from autoscope.analysis.atoms import find_atoms
from autoscope.analysis.columns import (
    ColumnFlags,
    column_intensities,
    flag_bright_columns,
    nearest_spacings,
)
from autoscope.analysis.filters import deconvolve, gaussian, gaussian_psf, prefilter
from autoscope.analysis.image import as_image, normalize
from autoscope.analysis.lattice import (
    Lattice,
    estimate_lattice,
    expected_count,
    lattice_from_constants,
)
from autoscope.analysis.masks import (
    MASK_GENERATORS,
    FelzenszwalbMasks,
    MaskGenerator,
    SAMMasks,
    SLICMasks,
    ThresholdWatershed,
    labels_to_masks,
    make_mask_generator,
    masks_to_labels,
)
from autoscope.analysis.rewards import (
    circularity,
    continuity,
    count_reward,
    geometric_error,
    mask_properties,
    overlap,
    rectangularity,
    size_distribution_distance,
    straightness,
    wall_length,
)
from autoscope.analysis.search import (
    SearchResult,
    WindowResult,
    hypervolume,
    knee_index,
    minimize,
    pareto_mask,
    search,
    search_windows,
)
from autoscope.analysis.space import Parameter, ParameterSpace
from autoscope.analysis.walls import (
    edge_map,
    find_walls,
    hough_segments,
    path_length,
    skeleton_branches,
    wall_skeleton,
)
from autoscope.analysis.workflows import (
    WORKFLOWS,
    AtomsWorkflow,
    Objective,
    ParticlesWorkflow,
    WallsWorkflow,
    Workflow,
    make_workflow,
)

__all__ = [
    "MASK_GENERATORS",
    "WORKFLOWS",
    "AtomsWorkflow",
    "ColumnFlags",
    "FelzenszwalbMasks",
    "Lattice",
    "MaskGenerator",
    "Objective",
    "Parameter",
    "ParameterSpace",
    "ParticlesWorkflow",
    "SAMMasks",
    "SLICMasks",
    "SearchResult",
    "ThresholdWatershed",
    "WallsWorkflow",
    "WindowResult",
    "Workflow",
    "as_image",
    "circularity",
    "column_intensities",
    "continuity",
    "count_reward",
    "deconvolve",
    "edge_map",
    "estimate_lattice",
    "expected_count",
    "find_atoms",
    "find_walls",
    "flag_bright_columns",
    "gaussian",
    "gaussian_psf",
    "geometric_error",
    "hough_segments",
    "hypervolume",
    "knee_index",
    "labels_to_masks",
    "lattice_from_constants",
    "make_mask_generator",
    "make_workflow",
    "mask_properties",
    "masks_to_labels",
    "minimize",
    "nearest_spacings",
    "normalize",
    "overlap",
    "pareto_mask",
    "path_length",
    "prefilter",
    "rectangularity",
    "search",
    "search_windows",
    "size_distribution_distance",
    "skeleton_branches",
    "straightness",
    "wall_length",
    "wall_skeleton",
]
