"""Particle chemistry from a structure image and a co-registered EDX cube.

:func:`particle_chemistry` segments the particles of an image `(H, W)`
through any :class:`~autoscope.analysis.masks.MaskGenerator` (threshold +
watershed by default), sums the EDX spectra `(H', W', S)` over each particle
and over the support (every spectrum pixel that no particle touches, after
growing the particles by ``support_margin_px``), fits every sum with the line
model of :mod:`autoscope.analysis.edx`, quantifies it and classifies it.

Classes and their probability
-----------------------------
The support is its own class, ``"support"``. Every other class names the
elements that make a particle different from the support: by default one
class per fitted element, ``"<X>-rich"``, i.e. the particle's dominant
*excess* element; ``classes={"silica": ["Si", "O"]}`` defines others. Each
class is a Poisson model of the summed spectrum `y` of a row::

    support:  mu = background + a * L_support
    class c:  mu = background + a * L_support + sum_{f in lines of c} b_f G_f

where ``L_support`` is the line part of the support's own fit (its lines at
the support's ratios, unit area), ``G_f`` are the line families of the
class's elements and ``background`` the same Chebyshev polynomial as the
element fit; all amplitudes are >= 0. Each model is fitted by Poisson
maximum likelihood (:mod:`autoscope.analysis.edx`), and the class
probabilities are the Schwarz (BIC) weights
``p_c ~ exp(-(D_c + k_c ln n) / 2)``, with `D_c` the deviance, `k_c` the
number of fitted amplitudes and `n` the number of channels: the
large-sample posterior probability of each class model under equal priors.
The class of a row is the most probable one. These probabilities say how
clearly the counts favour one model over the others, assuming one of the
models is right; with thousands of counts they are close to 0 or 1, and they
do not cover errors of the segmentation or of the line model.

The support row carries the label 0 and the class ``"support"`` (always, by
definition; its probabilities are reported as computed).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage as ndi

from autoscope.analysis.edx import (
    QUANT_METHODS,
    EdxFit,
    QuantMethod,
    background_basis,
    fit_spectra,
    line_shapes,
    poisson_fit,
    quantify,
    xray_lines,
)
from autoscope.analysis.masks import MaskGenerator, ThresholdWatershed
from autoscope.errors import ConfigError, DataError

__all__ = [
    "SUPPORT",
    "ParticleData",
    "ParticleTable",
    "default_classes",
    "load_particle_data",
    "particle_chemistry",
]

#: Name (and class) of the support row, label 0.
SUPPORT = "support"

_TO_NM = {"m": 1e9, "mm": 1e6, "µm": 1e3, "um": 1e3, "nm": 1.0, "Å": 0.1, "A": 0.1, "pm": 1e-3}


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ParticleData:
    """A structure image with its co-registered EDX spectrum image.

    Attributes:
        image: Structure image `(H, W)` (e.g. HAADF), float64.
        edx: EDX counts `(H', W', S)` with `H = b H'`, `W = b W'`.
        energy_keV: Channel energies `(S,)` in keV.
        pixel_size: Structure pixel size in nm, or ``None`` when the file
            has no length calibration.
        name: File name(s) for reports.

    Example:
        >>> data = ParticleData(np.zeros((4, 4)), np.zeros((4, 4, 8)), np.arange(8.0), None, "x")
        >>> data.edx.shape
        (4, 4, 8)
    """

    image: np.ndarray
    edx: np.ndarray
    energy_keV: np.ndarray  # noqa: N815 - the unit is part of the name
    pixel_size: float | None
    name: str


def load_particle_data(
    path_image: str | Path,
    path_edx: str | Path | None = None,
    *,
    channel: str | int = 0,
    reader: str | None = None,
) -> ParticleData:
    """Read a structure image and its EDX spectrum image.

    Works for a pair of files (``SiO2_HAADF_Image.hspy`` +
    ``SiO2_EDS_Spectrum_Image.hspy``) and for one file holding both (a Bruker
    ``.bcf`` hypermap: HAADF and EDX cube); all formats of
    :func:`autoscope.data.readers.read`.

    Args:
        path_image: File with the structure image (and, for ``.bcf``, the
            spectra).
        path_edx: File with the EDX spectrum image, when separate.
        channel: Structure channel index or name (prefix, case-insensitive).
        reader: Force the reader of ``path_image`` by registry name.

    Returns:
        Image, cube, energy axis in keV and pixel size in nm (``None`` when
        the file is not calibrated).

    Raises:
        DataError: Unreadable files, no spectrum image, an energy axis that
            is not in keV or eV, or image and cube that cannot be
            co-registered.

    Example:
        >>> data = load_particle_data("test_TEM.bcf")  # doctest: +SKIP
        >>> data.image.shape, data.edx.shape  # doctest: +SKIP
        ((64, 64), (64, 64, 2048))
    """
    from autoscope.data.readers import read

    spectral = read(path_image, spectra=path_edx, reader=reader)
    where = str(path_image) if path_edx is None else f"{path_image} + {path_edx}"
    if spectral.spectra is None:
        raise DataError(
            f"{where}: no EDX spectrum image found; pass the spectrum-image file as path_edx "
            "(or --edx on the command line)"
        )
    names = list(spectral.channel_names)
    if isinstance(channel, int) or str(channel).lstrip("-").isdigit():
        index = int(channel)
        if not -len(names) <= index < len(names):
            raise DataError(f"{where}: channel {index} out of range; channels: {names}")
    else:
        matches = [i for i, n in enumerate(names) if n.lower().startswith(str(channel).lower())]
        if len(matches) != 1:
            raise DataError(f"{where}: channel {channel!r} matches {len(matches)} of {names}")
        index = matches[0]
    units = spectral.spectral_units.strip()
    axis = np.asarray(spectral.spectral_axis, dtype=float)
    if units == "eV":
        axis = axis / 1000.0
    elif units != "keV":
        raise DataError(
            f"{where}: the spectral axis is in {units or 'no unit'!r}; an EDX axis in keV "
            "or eV is needed"
        )
    pixel = None
    if spectral.pixel_units in _TO_NM:
        pixel = float(spectral.pixel_size) * _TO_NM[spectral.pixel_units]
    name = Path(path_image).name if path_edx is None else f"{Path(path_image).name} + "
    if path_edx is not None:
        name += Path(path_edx).name
    return ParticleData(
        image=np.asarray(spectral.structure[index], dtype=float),
        edx=np.asarray(spectral.spectra),
        energy_keV=axis,
        pixel_size=pixel,
        name=name,
    )


# --------------------------------------------------------------------------- table


@dataclass
class ParticleTable:
    """Per-particle geometry, chemistry and class; row 0 is the support.

    `R` rows (the support, then `K` particles), `E` elements, `C` classes.

    Attributes:
        label: Row labels `(R,)`: 0 for the support, `1..K` for particles
            (the values of ``labels``).
        centroid: Centroids `(R, 2)` as (row, col) in structure pixels (NaN
            for the support).
        area_px: Areas `(R,)` in structure pixels.
        area: Areas `(R,)` in ``unit``² (equal to ``area_px`` when ``unit``
            is ``"px"``).
        equivalent_diameter: `2 sqrt(area / pi)` `(R,)` in ``unit``.
        unit: ``"nm"`` when calibrated, else ``"px"``.
        spectrum_pixels: EDX pixels summed per row `(R,)`.
        total_counts: Counts of each summed spectrum `(R,)`.
        elements: Fitted elements `(E,)`.
        net_counts: Net counts `(R, E)`; ``net_sigma`` their one-sigma error.
        net_sigma: See ``net_counts``.
        fractions: Fractions `(R, E)` (see ``basis``); ``sigmas`` their
            one-sigma error.
        sigmas: See ``fractions``.
        method: Quantification method (``"counts"`` or ``"cliff-lorimer"``).
        basis: ``"count fraction"`` or ``"atomic fraction"``.
        k_factors: k-factors used (all 1 for ``"counts"``).
        class_names: Classes `(C,)`, ``"support"`` first.
        class_elements: Elements defining each class (empty for support).
        class_name: Class of each row `(R,)`.
        class_probability: Probability of that class `(R,)`.
        probabilities: All class probabilities `(R, C)`.
        labels: Particle label image `(H, W)` (0 = not a particle; where
            masks overlap the later mask wins).
        support_mask: Structure pixels counted as support `(H, W)`.
        fits: The line fit of each row `(R,)`.
        offset_kev: Energy offset used by the fits.
        fwhm_mn_ev: Resolution used by the fits.
        binning: Structure pixels per EDX pixel along each axis.
        name: Dataset name.
        phases: Candidate phases per row (see
            :meth:`with_phases`), or ``None``.

    Example:
        >>> table = particle_chemistry(image, cube, energy, elements=["Si", "O"])  # doctest: +SKIP
        >>> table.to_csv("particles.csv")  # doctest: +SKIP
    """

    label: np.ndarray
    centroid: np.ndarray
    area_px: np.ndarray
    area: np.ndarray
    equivalent_diameter: np.ndarray
    unit: str
    spectrum_pixels: np.ndarray
    total_counts: np.ndarray
    elements: tuple[str, ...]
    net_counts: np.ndarray
    net_sigma: np.ndarray
    fractions: np.ndarray
    sigmas: np.ndarray
    method: str
    basis: str
    k_factors: dict[str, float]
    class_names: tuple[str, ...]
    class_elements: dict[str, tuple[str, ...]]
    class_name: list[str]
    class_probability: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray = field(repr=False)
    support_mask: np.ndarray = field(repr=False)
    fits: list[EdxFit] = field(repr=False)
    offset_kev: float = 0.0
    fwhm_mn_ev: float = 130.0
    binning: int = 1
    name: str = ""
    phases: list[list[str]] | None = None

    @property
    def n_particles(self) -> int:
        """Number of particles (rows minus the support row)."""
        return len(self.label) - 1

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per row, the columns of :meth:`to_csv`."""
        out = []
        for r in range(len(self.label)):
            row: dict[str, Any] = {
                "label": int(self.label[r]),
                "kind": SUPPORT if self.label[r] == 0 else "particle",
                "centroid_row_px": _num(self.centroid[r, 0]),
                "centroid_col_px": _num(self.centroid[r, 1]),
                "area_px": int(self.area_px[r]),
                f"area_{self.unit}2": _num(self.area[r]),
                f"equivalent_diameter_{self.unit}": _num(self.equivalent_diameter[r]),
                "spectrum_pixels": int(self.spectrum_pixels[r]),
                "total_counts": _num(self.total_counts[r]),
            }
            for e, element in enumerate(self.elements):
                row[f"{element}_net"] = _num(self.net_counts[r, e])
                row[f"{element}_net_sigma"] = _num(self.net_sigma[r, e])
            for e, element in enumerate(self.elements):
                row[f"{element}_fraction"] = _num(self.fractions[r, e])
                row[f"{element}_sigma"] = _num(self.sigmas[r, e])
            row["class"] = self.class_name[r]
            row["class_probability"] = _num(self.class_probability[r])
            if self.phases is not None:
                row["phases"] = "; ".join(self.phases[r])
            out.append(row)
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`rows` as CSV (one header line); returns the path."""
        path = Path(path)
        rows = self.rows()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path

    def summary(self) -> dict[str, Any]:
        """Dataset-level facts: counts per class, method, calibration, mean fractions."""
        particle = self.label > 0
        per_class = {c: int(sum(n == c for n in self.class_name[1:])) for c in self.class_names}
        mean = {}
        for e, element in enumerate(self.elements):
            values = self.fractions[particle, e]
            mean[element] = {
                "support": _num(self.fractions[0, e]),
                "support_sigma": _num(self.sigmas[0, e]),
                "particles_median": _num(np.nanmedian(values)) if values.size else None,
            }
        return {
            "name": self.name,
            "n_particles": self.n_particles,
            "particles_per_class": per_class,
            "elements": list(self.elements),
            "method": self.method,
            "basis": self.basis,
            "k_factors": self.k_factors,
            "classes": {c: list(v) for c, v in self.class_elements.items()},
            "energy_offset_keV": self.offset_kev,
            "fwhm_mn_eV": self.fwhm_mn_ev,
            "binning": self.binning,
            "unit": self.unit,
            "fractions": mean,
        }

    def to_json(self, path: str | Path) -> Path:
        """Write the summary and all rows as one JSON document; returns the path."""
        path = Path(path)
        document = {"summary": self.summary(), "rows": self.rows()}
        path.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
        return path

    def with_phases(self, lookup: Any, *, max_candidates: int = 3) -> ParticleTable:
        """Attach candidate phases of each row from a phase look-up.

        Rows are compared on the table's basis: count fractions with
        ``counts`` rows, atomic fractions with ``atomic`` rows.

        Args:
            lookup: A :class:`~autoscope.library.knowledge.PhaseLookup`.
            max_candidates: Keep at most this many names per row.

        Returns:
            This table, with ``phases`` filled in (also returned for chaining).
        """
        from autoscope.library.knowledge import basis_of

        phases = []
        for r in range(len(self.label)):
            composition = {
                e: float(self.fractions[r, i])
                for i, e in enumerate(self.elements)
                if np.isfinite(self.fractions[r, i])
            }
            sigmas = {
                e: float(self.sigmas[r, i])
                for i, e in enumerate(self.elements)
                if np.isfinite(self.sigmas[r, i])
            }
            matches = lookup.candidates(composition, sigmas=sigmas, basis=basis_of(self.basis))
            phases.append([m.phase for m in matches[:max_candidates]])
        self.phases = phases
        return self


def _num(value: float) -> float | None:
    """A float for CSV/JSON, ``None`` for NaN."""
    number = float(value)
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- analysis


def default_classes(elements: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """One class per element, ``"<X>-rich"``: particles whose dominant excess is X.

    Example:
        >>> default_classes(["Si", "Cu"])
        {'Si-rich': ('Si',), 'Cu-rich': ('Cu',)}
    """
    return {f"{e}-rich": (e,) for e in elements}


def _check_classes(
    classes: Mapping[str, Sequence[str]] | None, elements: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    if classes is None:
        return default_classes(elements)
    if not isinstance(classes, Mapping) or not classes:
        raise ConfigError(
            "classes must be a non-empty mapping of class name -> elements, "
            "e.g. {'silica': ['Si', 'O']}"
        )
    out = {}
    for name, members in classes.items():
        if str(name) == SUPPORT:
            raise ConfigError(f"{SUPPORT!r} is always a class; do not define it in classes")
        if isinstance(members, str):
            members = [members]
        members = tuple(members)
        unknown = [m for m in members if m not in elements]
        if not members or unknown:
            raise ConfigError(
                f"class {name!r} must name fitted elements ({', '.join(elements)}); "
                f"got {list(members)}"
            )
        out[str(name)] = members
    return out


def _check_image(image: ArrayLike) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 2 or min(array.shape) < 2:
        raise DataError(f"image must be a 2-D (H, W) array, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"image must be numeric, got dtype {array.dtype}")
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        raise DataError(f"image has {int((~np.isfinite(array)).sum())} NaN/inf pixels")
    return array


def _check_cube(edx: ArrayLike, image_shape: tuple[int, int]) -> tuple[np.ndarray, int]:
    cube = np.asarray(edx)
    if cube.ndim != 3:
        raise DataError(f"edx must be an (H, W, S) spectrum image, got shape {cube.shape}")
    (h, w), (gh, gw) = image_shape, cube.shape[:2]
    if not (gh and gw and h % gh == 0 and w % gw == 0 and h // gh == w // gw):
        raise DataError(
            f"the EDX cube grid {(gh, gw)} is not co-registered with the image {(h, w)}: "
            f"they must be equal or related by one integer binning factor (ratios "
            f"{h / max(gh, 1):g} and {w / max(gw, 1):g}); crop or bin one of them"
        )
    return cube, h // gh


def _to_grid(mask: np.ndarray, binning: int, *, rule: str) -> np.ndarray:
    """A structure-pixel mask on the EDX grid: majority (``"half"``) or ``"all"``."""
    if binning == 1:
        return mask
    h, w = mask.shape
    cover = mask.reshape(h // binning, binning, w // binning, binning).mean(axis=(1, 3))
    return cover >= 0.5 if rule == "half" else cover == 1.0


def _class_probabilities(
    rows: np.ndarray,
    support_fit: EdxFit,
    classes: dict[str, tuple[str, ...]],
    *,
    keep: np.ndarray,
    lo: float,
    hi: float,
    degree: int,
) -> np.ndarray:
    """BIC weights `(R, C)` of the class models, support first (see module docstring)."""
    energy = support_fit.energy
    basis = background_basis(energy, lo, hi, degree)
    support_lines = support_fit.line_shapes @ support_fit.amplitudes
    total = support_lines.sum()
    template = support_lines / total if total > 0 else np.zeros_like(support_lines)
    designs = [np.column_stack([template, basis])]
    n_lines = [1]
    for members in classes.values():
        shapes, _, _ = line_shapes(
            energy,
            members,
            lo=lo,
            hi=hi,
            offset_kev=support_fit.offset_kev,
            fwhm_mn_ev=support_fit.fwhm_mn_ev,
        )
        designs.append(np.column_stack([template, shapes, basis]))
        n_lines.append(1 + shapes.shape[1])
    log_n = math.log(len(energy))
    scores = np.zeros((len(rows), len(designs)))
    for r, row in enumerate(rows):
        y = row[keep]
        for c, (design, n) in enumerate(zip(designs, n_lines, strict=True)):
            deviance = poisson_fit(design, y, n_nonnegative=n, iterations=4).deviance
            scores[r, c] = -0.5 * (deviance + design.shape[1] * log_n)
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def particle_chemistry(
    image: ArrayLike,
    edx: ArrayLike,
    energy_keV: ArrayLike,  # noqa: N803 - the unit is part of the name
    *,
    elements: Sequence[str],
    mask_generator: MaskGenerator | None = None,
    pixel_size: float | None = None,
    min_area_px: int = 4,
    support_margin_px: int = 1,
    classes: Mapping[str, Sequence[str]] | None = None,
    method: QuantMethod = "counts",
    k_factors: Mapping[str, float] | None = None,
    fwhm_mn_ev: float = 130.0,
    energy_range: tuple[float, float] | None = None,
    degree: int = 6,
    calibrate: bool = True,
    name: str = "",
) -> ParticleTable:
    """Segment particles, fit the EDX sum of each and of the support, classify.

    Args:
        image: Structure image `(H, W)`, bright particles (HAADF).
        edx: Raw EDX counts `(H', W', S)` on the image grid or binned from it
            by an integer factor `b` (`H = b H'`, `W = b W'`). An EDX pixel
            belongs to a particle when at least half of its `b x b` image
            pixels do, and to the support when none of them is within
            ``support_margin_px`` of a particle.
        energy_keV: Channel energies `(S,)` in keV.
        elements: Elements to fit (see :data:`autoscope.analysis.edx.ELEMENTS`).
        mask_generator: Any :class:`~autoscope.analysis.masks.MaskGenerator`;
            default :class:`~autoscope.analysis.masks.ThresholdWatershed`
            with ``sigma=0.5, min_distance=3`` (light smoothing, seeds 3 px
            apart: touching particles of about 6 px and more are split).
        pixel_size: Structure pixel size in nm; areas and diameters are then
            in nm, else in pixels.
        min_area_px: Particles with fewer structure pixels are dropped (>= 1).
        support_margin_px: Grow particles by this many pixels before taking
            the rest as support (>= 0), so particle edges (and the beam tail
            spilling over them) do not count as support.
        classes: Class name -> defining elements (default one
            ``"<X>-rich"`` class per element); ``"support"`` is always added.
        method: Quantification method (see :func:`autoscope.analysis.edx.quantify`).
        k_factors: k-factors for ``method="cliff-lorimer"``.
        fwhm_mn_ev: Detector resolution at Mn Ka (eV), start value when
            ``calibrate``.
        energy_range: Fit range in keV (default 0.2 keV to the last channel).
        degree: Background polynomial degree.
        calibrate: Refine the energy offset and resolution once on the sum
            of all rows, then fit every row with them.
        name: Dataset name for reports.

    Returns:
        The table: row 0 the support, then one row per particle.

    Raises:
        DataError: Image or cube malformed, not co-registered, or without
            support pixels; bad energy axis.
        ConfigError: Unknown element, class or option.

    Example:
        >>> data = load_particle_data("test_TEM.bcf")  # doctest: +SKIP
        >>> table = particle_chemistry(
        ...     data.image, data.edx, data.energy_keV, elements=["Si", "O", "C", "Cu"]
        ... )  # doctest: +SKIP
        >>> table.class_name[:3]  # doctest: +SKIP
        ['support', 'Si-rich', 'Si-rich']
    """
    picture = _check_image(image)
    cube, binning = _check_cube(edx, picture.shape)
    energy = np.asarray(energy_keV, dtype=float)
    if energy.ndim != 1 or len(energy) != cube.shape[2]:
        raise DataError(
            f"energy axis has shape {energy.shape} but the cube has {cube.shape[2]} channels"
        )
    if isinstance(min_area_px, bool) or not isinstance(min_area_px, (int, np.integer)):
        raise ConfigError(f"min_area_px must be an integer >= 1, got {min_area_px!r}")
    if min_area_px < 1:
        raise ConfigError(f"min_area_px must be >= 1, got {min_area_px}")
    if isinstance(support_margin_px, bool) or not isinstance(support_margin_px, (int, np.integer)):
        raise ConfigError(f"support_margin_px must be an integer >= 0, got {support_margin_px!r}")
    if support_margin_px < 0:
        raise ConfigError(f"support_margin_px must be >= 0, got {support_margin_px}")
    if pixel_size is not None and not (math.isfinite(pixel_size) and pixel_size > 0):
        raise ConfigError(f"pixel_size must be a positive number of nm, got {pixel_size!r}")
    # Option checks before the segmentation and the fits, so mistakes fail fast.
    names = (
        tuple(e.strip() for e in elements.split(","))
        if isinstance(elements, str)
        else tuple(elements)
    )
    for element in names:
        xray_lines(element)  # ConfigError for an unknown element
    class_map = _check_classes(classes, names)
    if method not in QUANT_METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(QUANT_METHODS)}")
    if method == "cliff-lorimer" and k_factors is None:
        raise ConfigError(
            f"method='cliff-lorimer' needs k_factors for every element ({', '.join(names)}), "
            "measured on standards or taken from your vendor software; autoscope ships none"
        )
    generator = mask_generator or ThresholdWatershed(
        sigma=0.5, min_distance=3, min_area=int(min_area_px)
    )
    if not isinstance(generator, MaskGenerator):
        raise ConfigError(
            f"mask_generator must be callable image -> (K, H, W) masks, got {generator!r}"
        )
    masks = np.asarray(generator(picture))
    if masks.ndim != 3 or masks.shape[1:] != picture.shape:
        raise DataError(
            f"mask generator {generator!r} returned shape {masks.shape}; "
            f"expected (K, {picture.shape[0]}, {picture.shape[1]})"
        )
    masks = masks.astype(bool)
    masks = masks[masks.sum(axis=(1, 2)) >= min_area_px]
    grids = [_to_grid(m, binning, rule="half") for m in masks]
    keep_masks = [k for k, g in enumerate(grids) if g.any()]
    masks = masks[keep_masks]
    grids = [grids[k] for k in keep_masks]
    union = masks.any(axis=0) if len(masks) else np.zeros(picture.shape, dtype=bool)
    grown = (
        ndi.binary_dilation(union, iterations=int(support_margin_px))
        if support_margin_px and union.any()
        else union
    )
    support = ~grown
    support_grid = _to_grid(support, binning, rule="all")
    if not support_grid.any():
        raise DataError(
            "no EDX pixel is free of particles, so there is no support spectrum to compare "
            "with; lower support_margin_px or use a mask generator that finds fewer particles"
        )
    counts = cube.astype(float, copy=False)
    sums = [counts[support_grid].sum(axis=0)] + [counts[g].sum(axis=0) for g in grids]
    rows = np.array(sums)
    fits = fit_spectra(
        rows,
        energy,
        names,
        fwhm_mn_ev=fwhm_mn_ev,
        energy_range=energy_range,
        degree=degree,
        calibrate=calibrate,
    )
    names = fits[0].elements
    quant = quantify(fits, method=method, k_factors=k_factors)
    lo, hi = float(fits[0].energy[0]), float(fits[0].energy[-1])
    if energy_range is not None:
        lo, hi = (float(v) for v in energy_range)
    keep = (energy >= lo) & (energy <= hi)
    probabilities = _class_probabilities(
        rows, fits[0], class_map, keep=keep, lo=lo, hi=hi, degree=degree
    )
    class_names = (SUPPORT, *class_map)
    chosen = [class_names[int(i)] for i in np.argmax(probabilities, axis=1)]
    chosen[0] = SUPPORT
    class_probability = probabilities[np.arange(len(rows)), [class_names.index(c) for c in chosen]]

    areas_px = np.array([support.sum()] + [m.sum() for m in masks], dtype=float)
    centroid = np.full((len(rows), 2), np.nan)
    for k, mask in enumerate(masks):
        centroid[k + 1] = np.argwhere(mask).mean(axis=0)
    scale = float(pixel_size) if pixel_size is not None else 1.0
    labels = np.zeros(picture.shape, dtype=np.int32)
    for k, mask in enumerate(masks):
        labels[mask] = k + 1
    return ParticleTable(
        label=np.arange(len(rows)),
        centroid=centroid,
        area_px=areas_px,
        area=areas_px * scale**2,
        equivalent_diameter=2.0 * np.sqrt(areas_px / math.pi) * scale,
        unit="nm" if pixel_size is not None else "px",
        spectrum_pixels=np.array([support_grid.sum()] + [g.sum() for g in grids]),
        total_counts=rows.sum(axis=1),
        elements=names,
        net_counts=np.array([f.net_counts for f in fits]),
        net_sigma=np.array([f.net_sigma for f in fits]),
        fractions=np.atleast_2d(quant.fractions),
        sigmas=np.atleast_2d(quant.sigmas),
        method=quant.method,
        basis=quant.basis,
        k_factors=quant.k_factors,
        class_names=class_names,
        class_elements={SUPPORT: (), **class_map},
        class_name=chosen,
        class_probability=class_probability,
        probabilities=probabilities,
        labels=labels,
        support_mask=support,
        fits=fits,
        offset_kev=fits[0].offset_kev,
        fwhm_mn_ev=fits[0].fwhm_mn_ev,
        binning=binning,
        name=name,
    )
