"""Image-analysis workflows scored by physics rewards.

A :class:`Workflow` is a chain of operators whose parameters a search may
change (its :class:`~autoscope.analysis.space.ParameterSpace`) and a set of
:class:`Objective` rewards that say, without labels, how physically plausible
a result is. The search (:mod:`autoscope.analysis.search`) only ever calls
:meth:`Workflow.prepare` once per image and :meth:`Workflow.evaluate` per
candidate, so any workflow written to this interface can be optimised by the
GA or by Bayesian optimisation.

Three workflows ship, one per image family of the published work:

* ``atoms``: pre-filter → LoG/DoG blobs with sub-pixel refinement; rewards
  *count* (R_count against the count the image's own lattice predicts) and
  *geometric error* (duplicates + gaps, a fraction of the lattice sites).
  Blob sizes are searched in units of the lattice spacing, so one space
  serves every magnification.
* ``walls``: edge map → skeleton → wall branches; rewards *straightness* and
  total *wall length* (optionally *continuity*).
* ``particles``: a mask generator; rewards *size distance* (Wasserstein
  distance of the equivalent diameters to a prior), *shape* fidelity
  (area-weighted circularity or rectangularity), optionally *count* and *overlap*.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from skimage.filters import threshold_otsu

from autoscope.analysis.atoms import find_atoms
from autoscope.analysis.columns import flag_bright_columns, nearest_spacings
from autoscope.analysis.filters import gaussian, prefilter
from autoscope.analysis.image import as_image
from autoscope.analysis.lattice import Lattice, estimate_lattice, expected_count
from autoscope.analysis.masks import make_mask_generator
from autoscope.analysis.rewards import (
    continuity,
    count_reward,
    geometric_error,
    mask_properties,
    overlap,
    size_distribution_distance,
    straightness,
    wall_length,
)
from autoscope.analysis.space import Parameter, ParameterSpace
from autoscope.analysis.walls import find_walls
from autoscope.errors import ConfigError

__all__ = [
    "WORKFLOWS",
    "AtomsWorkflow",
    "Objective",
    "ParticlesWorkflow",
    "WallsWorkflow",
    "Workflow",
    "make_workflow",
]


@dataclass(frozen=True)
class Objective:
    """One reward of a workflow.

    Args:
        name: Key of the reward in :meth:`Workflow.evaluate`'s dictionary.
        direction: ``"max"`` or ``"min"``: which way is better.
        unit: Unit of the value (``"1"`` for dimensionless).
        help: One line on what the reward measures.
    """

    name: str
    direction: Literal["max", "min"]
    unit: str = "1"
    help: str = ""

    def to_loss(self, value: float) -> float:
        """The value as a quantity to minimise."""
        return -value if self.direction == "max" else value


class Workflow(ABC):
    """An image-analysis workflow: operators, a parameter space and rewards.

    Subclasses define :attr:`name`, :attr:`objectives`, :attr:`space`,
    :meth:`prepare`, :meth:`run` and :meth:`rewards`. ``prepare`` computes what
    every candidate shares (e.g. the lattice); ``run`` turns parameters into a
    result; ``rewards`` scores a result. Workflows must be picklable (the
    search sends them to worker processes).
    """

    name: str = ""
    objectives: tuple[Objective, ...] = ()

    @property
    @abstractmethod
    def space(self) -> ParameterSpace:
        """The searchable parameters."""

    @abstractmethod
    def prepare(self, image: np.ndarray) -> dict[str, Any]:
        """Per-image context shared by every candidate (lattice, expected count, ...)."""

    @abstractmethod
    def run(self, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]) -> Any:
        """Apply the operators with ``params``; return the detections."""

    @abstractmethod
    def rewards(self, result: Any, context: dict[str, Any]) -> dict[str, float]:
        """Score a result: one value per objective name."""

    def evaluate(
        self, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, float]:
        """Run and score one candidate."""
        return self.rewards(self.run(image, params, context), context)

    def count(self, result: Any) -> int:
        """Number of detected objects in a result."""
        return len(result)

    def rows(self, result: Any, *, pixel_size: float | None = None) -> list[dict[str, Any]]:
        """Detections as table rows (positions in pixels and, if calibrated, in units)."""
        raise NotImplementedError

    def summary(
        self,
        image: np.ndarray,
        result: Any,
        context: dict[str, Any],
        *,
        pixel_size: float | None = None,
    ) -> dict[str, Any]:
        """The numbers a person reads first (count, sizes, spacings), by name."""
        return {"count": self.count(result)}

    def shift(self, result: Any, offset: tuple[int, int], shape: tuple[int, int]) -> Any:
        """Move a result found in a window at ``offset`` into an image of ``shape``."""
        raise NotImplementedError

    def merge(self, results: list[Any]) -> Any:
        """Combine results of disjoint windows (already shifted)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor options (recorded with every search result)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


class AtomsWorkflow(Workflow):
    """LoG* atom finding: pre-filter → blob detection → sub-pixel refinement.

    Rewards: ``count`` = −|N_det − N_exp| / N_exp (0 best), where N_exp comes
    from the lattice (estimated from the image's FFT unless given) times
    ``atoms_per_cell``; ``geometric_error`` = duplicates + gaps as a fraction
    of lattice sites (0 best). Lowering the threshold fixes the count but adds
    duplicates: the two conflict, which is why the search returns a front.

    Args:
        atoms_per_cell: Atomic columns per primitive cell of the lattice the
            FFT finds (1 for a simple lattice; the basis size otherwise).
        lattice: Use this lattice instead of estimating it (e.g. from
            :func:`~autoscope.analysis.lattice.lattice_from_constants`).
        tolerance: Geometric tolerance as a fraction of the spacing.
        border: Pixels at each edge excluded from the expected count, as a
            fraction of the spacing (columns cut by the edge are hard to find).
    """

    name = "atoms"
    objectives = (
        Objective("count", "max", help="-|N_det - N_exp| / N_exp; 0 = the lattice's count"),
        Objective("geometric_error", "min", help="duplicates + gaps per lattice site"),
    )

    def __init__(
        self,
        *,
        atoms_per_cell: float = 1.0,
        lattice: Lattice | None = None,
        tolerance: float = 0.3,
        border: float = 0.5,
    ) -> None:
        if atoms_per_cell <= 0:
            raise ConfigError(f"atoms_per_cell must be > 0, got {atoms_per_cell}")
        if not 0 < tolerance < 1:
            raise ConfigError(f"tolerance must be in (0, 1), got {tolerance}")
        self.atoms_per_cell = float(atoms_per_cell)
        self.lattice = lattice
        self.tolerance = float(tolerance)
        self.border = float(border)

    @property
    def space(self) -> ParameterSpace:
        """Smoothing, blob size (× spacing), size span, threshold and overlap."""
        return ParameterSpace(
            [
                Parameter("smoothing", low=0.0, high=0.3, help="Gaussian pre-filter σ (× spacing)"),
                Parameter("size", low=0.03, high=0.4, log=True, help="smallest blob σ (× spacing)"),
                Parameter("span", low=1.0, high=3.0, help="largest / smallest blob σ"),
                Parameter("threshold", low=0.005, high=0.5, log=True, help="LoG response"),
                Parameter("overlap", low=0.0, high=1.0, help="blob overlap before pruning"),
            ]
        )

    def prepare(self, image: np.ndarray) -> dict[str, Any]:
        """Estimate the lattice (unless given) and the expected column count."""
        image = as_image(image)
        lattice = self.lattice if self.lattice is not None else estimate_lattice(image)
        border = self.border * lattice.spacing
        return {
            "lattice": lattice,
            "spacing": float(lattice.spacing),
            "n_expected": float(
                expected_count(image.shape, lattice, atoms_per_cell=self.atoms_per_cell)
            ),
            "shape": image.shape,
            "border": border,
        }

    def run(self, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]) -> np.ndarray:
        """Detected columns, shape ``(N, 3)``: row, col, σ in pixels."""
        spacing = context["spacing"]
        filtered = prefilter(image, sigma=params["smoothing"] * spacing)
        sigma_min = max(params["size"] * spacing, 0.5)
        return find_atoms(
            filtered,
            method=params.get("method", "log"),
            sigma_min=sigma_min,
            sigma_max=sigma_min * params["span"],
            num_sigma=int(params.get("num_sigma", 4)),
            threshold=params["threshold"],
            overlap=params["overlap"],
        )

    def rewards(self, result: np.ndarray, context: dict[str, Any]) -> dict[str, float]:
        """``count`` and ``geometric_error`` of a detection set."""
        error = geometric_error(
            result[:, :2],
            spacing=context["spacing"],
            tolerance=self.tolerance,
            image_shape=context["shape"],
        )
        return {
            "count": count_reward(len(result), context["n_expected"]),
            "geometric_error": float(error.total),
        }

    def rows(self, result: np.ndarray, *, pixel_size: float | None = None) -> list[dict[str, Any]]:
        """One row per column: ``row_px, col_px, sigma_px`` (+ ``*_nm``/unit if calibrated)."""
        rows = []
        for r, c, s in np.asarray(result).reshape(-1, 3):
            row = {"row_px": float(r), "col_px": float(c), "sigma_px": float(s)}
            if pixel_size:
                row.update(row_unit=r * pixel_size, col_unit=c * pixel_size)
            rows.append(row)
        return rows

    def summary(
        self,
        image: np.ndarray,
        result: np.ndarray,
        context: dict[str, Any],
        *,
        pixel_size: float | None = None,
    ) -> dict[str, Any]:
        """Count vs expected, lattice vectors, nearest spacings and bright columns.

        ``bright_columns`` lists the indices (rows of ``detections.csv``) of
        columns brighter than their sublattice (:func:`flag_bright_columns`).
        Lengths are in pixels and, when calibrated, in the calibrated unit
        (keys ending in ``_unit``).
        """
        lattice = context["lattice"]
        spacings = nearest_spacings(result) if len(result) >= 2 else np.full(3, np.nan)
        flags = flag_bright_columns(image, result, lattice) if len(result) >= 3 else None
        quartiles = np.percentile(spacings, [25, 50, 75])  # NaN without two columns
        out: dict[str, Any] = {
            "count": int(len(result)),
            "expected_count": context["n_expected"],
            "lattice_lengths_px": [float(v) for v in lattice.lengths],
            "lattice_angle_deg": float(lattice.angle_deg),
            "nearest_spacing_median_px": float(quartiles[1]),
            "nearest_spacing_iqr_px": [float(quartiles[0]), float(quartiles[2])],
            "bright_columns": [] if flags is None else np.flatnonzero(flags.flagged).tolist(),
        }
        if pixel_size:
            out["lattice_lengths_unit"] = [v * pixel_size for v in out["lattice_lengths_px"]]
            out["nearest_spacing_median_unit"] = out["nearest_spacing_median_px"] * pixel_size
        return out

    def shift(self, result: np.ndarray, offset: tuple[int, int], shape: tuple[int, int]) -> Any:
        """Add the window offset to the positions."""
        shifted = np.array(result, dtype=float).reshape(-1, 3)
        shifted[:, 0] += offset[0]
        shifted[:, 1] += offset[1]
        return shifted

    def merge(self, results: list[Any]) -> np.ndarray:
        """Concatenate window detections."""
        parts = [np.asarray(r).reshape(-1, 3) for r in results]
        return np.concatenate(parts) if parts else np.zeros((0, 3))


class WallsWorkflow(Workflow):
    """Domain walls: edge map → threshold → skeleton → wall branches.

    Rewards: ``straightness`` (length-weighted end-to-end / path length, 1 for
    straight walls) and ``wall_length`` (total length, in pixels or in
    ``pixel_size`` units). Noise edges are long in total but crooked; real
    ferroelastic/ferroelectric walls are long and straight, hence the front.
    ``objectives=("straightness", "wall_length", "continuity")`` adds the
    number of branches per unit length (lower = more continuous walls).

    Args:
        pixel_size: Length of a pixel (the wall length is reported in its unit).
        objectives: Names of the rewards to optimise.
    """

    name = "walls"
    _all_objectives = {
        "straightness": Objective("straightness", "max", help="end-to-end / path length"),
        "wall_length": Objective("wall_length", "max", unit="px", help="total wall length"),
        "continuity": Objective("continuity", "min", unit="1/px", help="branches per length"),
    }

    def __init__(
        self,
        *,
        pixel_size: float = 1.0,
        objectives: tuple[str, ...] = ("straightness", "wall_length", "continuity"),
    ) -> None:
        unknown = sorted(set(objectives) - set(self._all_objectives))
        if unknown or len(objectives) < 2:
            raise ConfigError(
                f"walls objectives must be at least two of {sorted(self._all_objectives)}, "
                f"got {list(objectives)}"
            )
        if pixel_size <= 0:
            raise ConfigError(f"pixel_size must be > 0, got {pixel_size}")
        self.pixel_size = float(pixel_size)
        self.objectives = tuple(self._all_objectives[name] for name in objectives)

    def config(self) -> dict[str, Any]:
        """Constructor options."""
        return {"pixel_size": self.pixel_size, "objectives": [o.name for o in self.objectives]}

    @property
    def space(self) -> ParameterSpace:
        """Edge operator, smoothing, threshold, smallest kept component and branch."""
        return ParameterSpace(
            [
                Parameter("method", kind="choice", choices=("sobel", "canny"), help="edge map"),
                Parameter("sigma", low=0.5, high=6.0, log=True, help="smoothing σ (px)"),
                Parameter("threshold", low=0.02, high=0.8, log=True, help="Sobel edge threshold"),
                Parameter("low", low=0.02, high=0.5, help="Canny low threshold"),
                Parameter("min_size", kind="int", low=2, high=400, log=True, help="px"),
                Parameter("min_length", kind="int", low=2, high=60, log=True, help="px"),
            ]
        )

    def prepare(self, image: np.ndarray) -> dict[str, Any]:
        """Nothing per image beyond validation."""
        as_image(image)
        return {}

    def run(self, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]) -> list:
        """Wall branches, each an ordered ``(M_i, 2)`` pixel path."""
        return find_walls(
            image,
            method=params["method"],
            sigma=params["sigma"],
            threshold=params["threshold"],
            low=params["low"],
            high=min(2.0 * params["low"], 0.99),
            min_size=params["min_size"],
            min_length=params["min_length"],
        )

    def rewards(self, result: list, context: dict[str, Any]) -> dict[str, float]:
        """The selected objectives of a set of branches."""
        values = {
            "straightness": straightness(result),
            "wall_length": wall_length(result, pixel_size=self.pixel_size),
            "continuity": continuity(result, pixel_size=self.pixel_size),
        }
        return {o.name: float(values[o.name]) for o in self.objectives}

    def rows(self, result: list, *, pixel_size: float | None = None) -> list[dict[str, Any]]:
        """One row per wall pixel: ``wall, row_px, col_px`` (+ calibrated position)."""
        rows = []
        for i, branch in enumerate(result):
            for r, c in branch:
                row: dict[str, Any] = {"wall": i, "row_px": int(r), "col_px": int(c)}
                if pixel_size:
                    row.update(row_unit=r * pixel_size, col_unit=c * pixel_size)
                rows.append(row)
        return rows

    def summary(
        self,
        image: np.ndarray,
        result: list,
        context: dict[str, Any],
        *,
        pixel_size: float | None = None,
    ) -> dict[str, Any]:
        """Branches, total length (px and unit), straightness and continuity."""
        length_px = wall_length(result, pixel_size=1.0)
        out: dict[str, Any] = {
            "count": len(result),
            "wall_length_px": length_px,
            "straightness": straightness(result),
            "branches_per_100_px": 100.0 * len(result) / length_px if length_px else 0.0,
        }
        if pixel_size:
            out["wall_length_unit"] = length_px * pixel_size
        return out

    def shift(self, result: list, offset: tuple[int, int], shape: tuple[int, int]) -> list:
        """Add the window offset to every branch."""
        return [np.asarray(b) + np.asarray(offset) for b in result]

    def merge(self, results: list[Any]) -> list:
        """Concatenate the branches of every window."""
        return [b for r in results for b in r]


class ParticlesWorkflow(Workflow):
    """Particles: a mask generator scored against a size prior and a shape.

    Rewards: ``size_distance`` (Wasserstein-1 distance of the equivalent
    diameters to a normal prior, in ``pixel_size`` units), ``shape`` (mean
    circularity or rectangularity), and when asked ``count`` (−|N − N_exp| /
    N_exp) and ``overlap`` (share of covered pixels claimed by two masks; only
    generators such as Segment Anything produce overlaps).

    Args:
        diameter: Prior mean equivalent diameter (in ``pixel_size`` units).
        diameter_std: Prior standard deviation (default 30 % of the mean).
        shape: ``"circular"`` or ``"rectangular"``.
        expected_count: Expected number of particles for the ``count`` reward;
            ``"auto"`` (default) estimates it from the image: the area above
            Otsu's threshold (after a Gaussian of σ = diameter / 8 px) divided
            by the prior's mean particle area; ``None`` drops the reward. Without
            a count, size and shape are best served by a few perfect particles.
        generator: Mask generator name (see ``MASK_GENERATORS``).
        pixel_size: Length of a pixel.
        with_overlap: Add the ``overlap`` reward.
    """

    name = "particles"

    def __init__(
        self,
        *,
        diameter: float,
        diameter_std: float | None = None,
        shape: Literal["circular", "rectangular"] = "circular",
        expected_count: float | Literal["auto"] | None = "auto",
        generator: str = "threshold-watershed",
        pixel_size: float = 1.0,
        with_overlap: bool = False,
    ) -> None:
        if not diameter > 0:
            raise ConfigError(f"diameter must be > 0, got {diameter}")
        if shape not in ("circular", "rectangular"):
            raise ConfigError(f"shape must be 'circular' or 'rectangular', got {shape!r}")
        if generator not in _GENERATOR_SPACES:
            raise ConfigError(
                f"particles: no parameter space for generator {generator!r}; "
                f"searchable: {sorted(_GENERATOR_SPACES)}"
            )
        if expected_count not in (None, "auto") and not float(expected_count) > 0:
            raise ConfigError(f"expected_count must be > 0, got {expected_count}")
        self.diameter = float(diameter)
        self.diameter_std = float(diameter_std) if diameter_std else 0.3 * self.diameter
        self.shape = shape
        self.expected_count = expected_count
        self.generator = generator
        self.pixel_size = float(pixel_size)
        self.with_overlap = bool(with_overlap)
        objectives = [
            Objective("size_distance", "min", unit="px", help="W1 distance to the size prior"),
            Objective("shape", "max", help=f"area-weighted mean {_SHAPE_PROPERTY[shape]}"),
        ]
        if expected_count is not None:
            objectives.append(Objective("count", "max", help="-|N - N_exp| / N_exp"))
        if with_overlap:
            objectives.append(Objective("overlap", "min", help="share of pixels in two masks"))
        self.objectives = tuple(objectives)

    def config(self) -> dict[str, Any]:
        """Constructor options."""
        return {k: v for k, v in vars(self).items() if k != "objectives"}

    @property
    def space(self) -> ParameterSpace:
        """The generator's parameters."""
        return _GENERATOR_SPACES[self.generator]

    def prepare(self, image: np.ndarray) -> dict[str, Any]:
        """The expected particle count (given, or estimated from the foreground area)."""
        image = as_image(image)
        if self.expected_count != "auto":
            return {"n_expected": self.expected_count}
        sigma_px = self.diameter / self.pixel_size / 8.0
        smooth = gaussian(image, sigma=sigma_px)
        foreground = float((smooth > threshold_otsu(smooth)).sum())
        area_px = math.pi / 4.0 * (self.diameter**2 + self.diameter_std**2) / self.pixel_size**2
        return {"n_expected": max(foreground / area_px, 1.0)}

    def run(self, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]) -> np.ndarray:
        """Masks, shape ``(K, H, W)``."""
        return make_mask_generator(self.generator, **params)(image)

    def rewards(self, result: np.ndarray, context: dict[str, Any]) -> dict[str, float]:
        """Size distance, shape and the optional count and overlap."""
        props = mask_properties(result, pixel_size=self.pixel_size)
        shape_values = props[_SHAPE_PROPERTY[self.shape]]
        values = {
            "size_distance": size_distribution_distance(
                props["equivalent_diameter"], mean=self.diameter, std=self.diameter_std
            ),
            # Area-weighted: a 2x2-pixel speck is a "perfect circle" and must not count
            # as much as a particle.
            "shape": float(np.average(shape_values, weights=props["area"]))
            if len(shape_values)
            else 0.0,
        }
        if context.get("n_expected") is not None:
            values["count"] = count_reward(len(result), context["n_expected"])
        if self.with_overlap:
            values["overlap"] = overlap(result)
        return {k: float(v) for k, v in values.items()}

    def rows(self, result: np.ndarray, *, pixel_size: float | None = None) -> list[dict[str, Any]]:
        """One row per particle: centroid, area, diameter, perimeter and shape measures."""
        props = mask_properties(result, pixel_size=1.0)
        rows = []
        for k, mask in enumerate(np.asarray(result)):
            rr, cc = np.nonzero(mask)
            row: dict[str, Any] = {"particle": k, "row_px": rr.mean(), "col_px": cc.mean()}
            row.update(
                area_px2=props["area"][k],
                equivalent_diameter_px=props["equivalent_diameter"][k],
                perimeter_px=props["perimeter"][k],
                circularity=props["circularity"][k],
                rectangularity=props["rectangularity"][k],
            )
            if pixel_size:
                row.update(
                    row_unit=row["row_px"] * pixel_size,
                    col_unit=row["col_px"] * pixel_size,
                    area_unit2=row["area_px2"] * pixel_size**2,
                    equivalent_diameter_unit=row["equivalent_diameter_px"] * pixel_size,
                )
            rows.append({k: float(v) if k != "particle" else v for k, v in row.items()})
        return rows

    def summary(
        self,
        image: np.ndarray,
        result: np.ndarray,
        context: dict[str, Any],
        *,
        pixel_size: float | None = None,
    ) -> dict[str, Any]:
        """Count and the equivalent-diameter distribution (px and calibrated unit)."""
        diameters = mask_properties(result, pixel_size=1.0)["equivalent_diameter"]
        out: dict[str, Any] = {"count": int(len(result)), "expected_count": context["n_expected"]}
        if len(diameters):
            out.update(
                diameter_mean_px=float(diameters.mean()),
                diameter_std_px=float(diameters.std(ddof=1)) if len(diameters) > 1 else 0.0,
            )
            if pixel_size:
                out["diameter_mean_unit"] = out["diameter_mean_px"] * pixel_size
                out["diameter_std_unit"] = out["diameter_std_px"] * pixel_size
        return out

    def shift(self, result: np.ndarray, offset: tuple[int, int], shape: tuple[int, int]) -> Any:
        """Place window masks into a full-size stack."""
        result = np.asarray(result, dtype=bool)
        full = np.zeros((len(result), *shape), dtype=bool)
        h, w = result.shape[1:]
        full[:, offset[0] : offset[0] + h, offset[1] : offset[1] + w] = result
        return full

    def merge(self, results: list[Any]) -> np.ndarray:
        """Stack the masks of every window."""
        parts = [np.asarray(r, dtype=bool) for r in results if len(r)]
        if not parts:
            shape = np.asarray(results[0]).shape[1:] if results else (0, 0)
            return np.zeros((0, *shape), dtype=bool)
        return np.concatenate(parts)


_SHAPE_PROPERTY = {"circular": "circularity", "rectangular": "rectangularity"}

_GENERATOR_SPACES: dict[str, ParameterSpace] = {
    "threshold-watershed": ParameterSpace(
        [
            Parameter("threshold", low=0.05, high=0.95, help="foreground level (normalised)"),
            Parameter("sigma", low=0.0, high=4.0, help="smoothing σ (px)"),
            Parameter("min_distance", kind="int", low=2, high=40, log=True, help="px"),
            Parameter("min_area", kind="int", low=4, high=2000, log=True, help="px"),
        ]
    ),
    "slic": ParameterSpace(
        [
            Parameter("n_segments", kind="int", low=20, high=2000, log=True),
            Parameter("compactness", low=0.01, high=10.0, log=True),
            Parameter("sigma", low=0.0, high=4.0),
            Parameter("min_area", kind="int", low=4, high=2000, log=True),
        ]
    ),
    "felzenszwalb": ParameterSpace(
        [
            Parameter("scale", low=1.0, high=1000.0, log=True),
            Parameter("sigma", low=0.0, high=4.0),
            Parameter("min_size", kind="int", low=4, high=2000, log=True),
        ]
    ),
}

#: Workflow classes by task name (``autoscope analyze --task``).
WORKFLOWS: dict[str, type[Workflow]] = {
    "atoms": AtomsWorkflow,
    "walls": WallsWorkflow,
    "particles": ParticlesWorkflow,
}


def make_workflow(name: str, **options: Any) -> Workflow:
    """Build a registered workflow by task name.

    Raises:
        ConfigError: Unknown task or option.
    """
    if name not in WORKFLOWS:
        raise ConfigError(f"unknown task {name!r}; known: {sorted(WORKFLOWS)}")
    try:
        return WORKFLOWS[name](**options)
    except TypeError as err:
        raise ConfigError(f"task {name!r}: {err}") from None
