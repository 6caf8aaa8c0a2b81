"""EDX spectra: X-ray line table, line fits with uncertainties, quantification.

A spectrum is modelled as a smooth background plus Gaussian X-ray lines at
tabulated energies::

    counts(E) ~ Poisson( sum_b c_b T_b(x(E)) + sum_f a_f G_f(E) )

where `T_b` are Chebyshev polynomials of the energy rescaled to [-1, 1] over
the fit range (degree ``degree``), and `G_f` is the line *family* `f` of one
element (its K, L or M lines with fixed relative weights, each a Gaussian
integrated over the channel, normalised so that the whole family has unit
area). The amplitude `a_f >= 0` is then the number of counts in that family:
its net counts. The line width follows the usual detector-resolution model
(Fiori & Newbury; also what HyperSpy/exspy use)::

    FWHM(E)^2 = FWHM_Mn^2 + 2.5 eV * (E - 5898.7 eV)

with a floor of :data:`FWHM_FLOOR_EV` (the model goes to zero below ~0.3 keV
for FWHM_Mn < 125 eV). ``FWHM_Mn`` is the resolution at Mn Ka (5.8987 keV), a
number every detector's data sheet states (default 130 eV).

The fit is linear in `(c, a)` and solved with :func:`scipy.optimize.lsq_linear`
(bounded variables: `a >= 0`, `c` free) by iteratively reweighted least
squares with weights `1 / mu` (the model counts). The fixed point of that
iteration is the Poisson maximum-likelihood estimate; the inverse Fisher
information `(A^T diag(1/mu) A)^-1` is the covariance from which the
uncertainties of the net counts are taken. A constant energy offset and the
resolution may be refined first (``calibrate=True``: a bounded
:func:`scipy.optimize.minimize` over the two nonlinear parameters, each step a
linear fit), which real data need: the SiO2 spectrum image of the test data
reads 30 eV high.

Quantification (:func:`quantify`) turns net counts into fractions:

* ``"counts"``: fractions of the net counts, `N_e / sum N`. This is *not* an
  atomic composition (every element, line family and detector has its own
  efficiency), but it needs no standards and compares particles measured
  the same way.
* ``"cliff-lorimer"``: the thin-film ratio method of Cliff & Lorimer (1975),
  `C_A / C_B = k_AB N_A / N_B`: weight fractions `w_e = k_e N_e / sum k N`,
  converted to atomic fractions with the atomic weights of
  :data:`ATOMIC_WEIGHTS`. No k-factors are built in: they depend on the
  microscope, the detector and the line family, so they must come from your
  standards or your vendor's software (pass them as ``k_factors``; they are
  recorded in the result). They apply to the family counts defined here
  (all lines of the family, e.g. Ka + Kb).

Uncertainties of the fractions propagate the full covariance of the net
counts through the Jacobian of the ratio (first order).

Line energies (keV) are rounded to 1 eV from the standard tables of J. A.
Bearden, "X-ray wavelengths", Rev. Mod. Phys. 39, 78 (1967), as reprinted in
the X-ray Data Booklet (LBNL, A. C. Thompson et al., 3rd ed., 2009, Table
1-2); a few M lines (Mz, Mg) of the heavy elements are from the same source.
Relative weights within a family are rounded approximations (Kb/Ka rising
from ~0.01 for Na to ~0.2 for Sn; L and M lines typical of the
mid-to-heavy elements); values were checked against the exspy element
database. Atomic weights are the IUPAC 2021 standard atomic weights (abridged).

Written here, because no well-kept Python library offers it without the
HyperSpy signal framework: the line table, the design matrix and the
reweighting loop. Not modelled: escape and sum peaks, the Si internal
fluorescence peak, absorption and fluorescence corrections, and incomplete
charge collection (low-energy tails).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.polynomial import chebyshev
from numpy.typing import ArrayLike
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import lsq_linear, minimize
from scipy.special import ndtr

from autoscope.errors import ConfigError, DataError

__all__ = [
    "ATOMIC_WEIGHTS",
    "ELEMENTS",
    "FWHM_FLOOR_EV",
    "MN_KA_KEV",
    "QUANT_METHODS",
    "EdxFit",
    "Quantification",
    "XrayLine",
    "PoissonFit",
    "background_basis",
    "fit_spectra",
    "fit_spectrum",
    "fwhm_kev",
    "identify_elements",
    "line_shapes",
    "poisson_fit",
    "quantify",
    "xray_lines",
]

#: Energy of Mn Ka (keV), the reference of the resolution model.
MN_KA_KEV = 5.8987
#: Smallest line FWHM the resolution model returns (eV).
FWHM_FLOOR_EV = 40.0
#: Slope of FWHM^2 against energy (eV), `2.35^2 * Fano * 3.8 eV` for silicon.
_NOISE_SLOPE_EV = 2.5
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

# fmt: off
#: Element -> line name -> (energy keV, weight within its family). The family
#: is the first letter of the line name; the family's main line has weight 1.
_LINES: dict[str, dict[str, tuple[float, float]]] = {
    "B": {"Ka": (0.183, 1.0)},
    "C": {"Ka": (0.277, 1.0)},
    "N": {"Ka": (0.392, 1.0)},
    "O": {"Ka": (0.525, 1.0)},
    "F": {"Ka": (0.677, 1.0)},
    "Na": {"Ka": (1.041, 1.0), "Kb": (1.071, 0.015)},
    "Mg": {"Ka": (1.254, 1.0), "Kb": (1.302, 0.02)},
    "Al": {"Ka": (1.487, 1.0), "Kb": (1.557, 0.03)},
    "Si": {"Ka": (1.740, 1.0), "Kb": (1.836, 0.04)},
    "P": {"Ka": (2.013, 1.0), "Kb": (2.139, 0.05)},
    "S": {"Ka": (2.307, 1.0), "Kb": (2.464, 0.06)},
    "Cl": {"Ka": (2.622, 1.0), "Kb": (2.816, 0.08)},
    "K": {"Ka": (3.314, 1.0), "Kb": (3.590, 0.10)},
    "Ca": {"Ka": (3.692, 1.0), "Kb": (4.013, 0.11), "La": (0.341, 1.0)},
    "Ti": {"Ka": (4.511, 1.0), "Kb": (4.932, 0.12), "La": (0.452, 1.0), "Ll": (0.395, 0.1)},
    "V": {"Ka": (4.952, 1.0), "Kb": (5.427, 0.12), "La": (0.511, 1.0), "Ll": (0.446, 0.1)},
    "Cr": {"Ka": (5.415, 1.0), "Kb": (5.947, 0.13), "La": (0.573, 1.0), "Ll": (0.500, 0.1)},
    "Mn": {"Ka": (5.899, 1.0), "Kb": (6.490, 0.13), "La": (0.637, 1.0), "Ll": (0.556, 0.1)},
    "Fe": {"Ka": (6.404, 1.0), "Kb": (7.058, 0.13), "La": (0.705, 1.0), "Ll": (0.615, 0.1)},
    "Co": {"Ka": (6.930, 1.0), "Kb": (7.649, 0.13), "La": (0.776, 1.0), "Ll": (0.678, 0.1)},
    "Ni": {"Ka": (7.478, 1.0), "Kb": (8.265, 0.13), "La": (0.851, 1.0), "Ll": (0.743, 0.1)},
    "Cu": {"Ka": (8.048, 1.0), "Kb": (8.905, 0.13), "La": (0.930, 1.0), "Ll": (0.811, 0.1)},
    "Zn": {"Ka": (8.639, 1.0), "Kb": (9.572, 0.14), "La": (1.012, 1.0), "Ll": (0.884, 0.1)},
    "Ga": {"Ka": (9.252, 1.0), "Kb": (10.264, 0.14), "La": (1.098, 1.0), "Ll": (0.957, 0.1)},
    "Ge": {"Ka": (9.886, 1.0), "Kb": (10.982, 0.15), "La": (1.188, 1.0), "Ll": (1.036, 0.1)},
    "Zr": {"Ka": (15.775, 1.0), "Kb": (17.668, 0.17),
           "La": (2.042, 1.0), "Lb1": (2.124, 0.45), "Lb2": (2.219, 0.03), "Ll": (1.792, 0.04)},
    "Mo": {"Ka": (17.479, 1.0), "Kb": (19.608, 0.18),
           "La": (2.293, 1.0), "Lb1": (2.395, 0.5), "Lb2": (2.518, 0.05), "Lg1": (2.623, 0.03),
           "Ll": (2.016, 0.04)},
    "Pd": {"Ka": (21.177, 1.0), "Kb": (23.819, 0.19),
           "La": (2.838, 1.0), "Lb1": (2.990, 0.5), "Lb2": (3.172, 0.08), "Lg1": (3.328, 0.03),
           "Ll": (2.503, 0.04)},
    "Ag": {"Ka": (22.163, 1.0), "Kb": (24.942, 0.19),
           "La": (2.984, 1.0), "Lb1": (3.151, 0.5), "Lb2": (3.348, 0.09), "Lg1": (3.520, 0.03),
           "Ll": (2.633, 0.04)},
    "Sn": {"Ka": (25.271, 1.0), "Kb": (28.486, 0.2),
           "La": (3.444, 1.0), "Lb1": (3.663, 0.5), "Lb2": (3.905, 0.1), "Lg1": (4.131, 0.04),
           "Ll": (3.045, 0.04)},
    "W": {"La": (8.398, 1.0), "Lb1": (9.672, 0.45), "Lb2": (9.962, 0.2), "Lg1": (11.286, 0.08),
          "Ll": (7.387, 0.05),
          "Ma": (1.775, 1.0), "Mb": (1.835, 0.6), "Mg": (2.035, 0.08), "Mz": (1.384, 0.06)},
    "Pt": {"La": (9.442, 1.0), "Lb1": (11.071, 0.45), "Lb2": (11.251, 0.2), "Lg1": (12.942, 0.08),
           "Ll": (8.268, 0.05),
           "Ma": (2.048, 1.0), "Mb": (2.127, 0.6), "Mg": (2.333, 0.08), "Mz": (1.602, 0.06)},
    "Au": {"La": (9.713, 1.0), "Lb1": (11.443, 0.45), "Lb2": (11.585, 0.2), "Lg1": (13.382, 0.08),
           "Ll": (8.494, 0.05),
           "Ma": (2.123, 1.0), "Mb": (2.205, 0.6), "Mg": (2.409, 0.08), "Mz": (1.660, 0.06)},
    "Pb": {"La": (10.551, 1.0), "Lb1": (12.614, 0.45), "Lb2": (12.623, 0.2), "Lg1": (14.765, 0.08),
           "Ll": (9.185, 0.05),
           "Ma": (2.346, 1.0), "Mb": (2.443, 0.6), "Mg": (2.653, 0.08), "Mz": (1.839, 0.06)},
}

#: Standard atomic weights (g/mol), IUPAC 2021, abridged.
ATOMIC_WEIGHTS: dict[str, float] = {
    "B": 10.81, "C": 12.011, "N": 14.007, "O": 15.999, "F": 18.998, "Na": 22.990,
    "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974, "S": 32.06, "Cl": 35.45,
    "K": 39.098, "Ca": 40.078, "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938,
    "Fe": 55.845, "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723,
    "Ge": 72.630, "Zr": 91.224, "Mo": 95.95, "Pd": 106.42, "Ag": 107.87, "Sn": 118.71,
    "W": 183.84, "Pt": 195.08, "Au": 196.97, "Pb": 207.2,
}
# fmt: on

#: Elements of the line table, in order of atomic number.
ELEMENTS: tuple[str, ...] = tuple(_LINES)

QuantMethod = Literal["counts", "cliff-lorimer"]
#: Quantification methods of :func:`quantify`.
QUANT_METHODS: tuple[str, ...] = ("counts", "cliff-lorimer")
_FAMILY_ORDER = ("K", "L", "M")


@dataclass(frozen=True)
class XrayLine:
    """One tabulated X-ray line.

    Attributes:
        element: Chemical symbol, e.g. ``"Fe"``.
        name: Siegbahn-style line name, e.g. ``"Ka"``, ``"Lb1"``.
        family: ``"K"``, ``"L"`` or ``"M"``.
        energy: Line energy in keV.
        weight: Intensity relative to the family's main line (weight 1).

    Example:
        >>> xray_lines("Si")[0]
        XrayLine(element='Si', name='Ka', family='K', energy=1.74, weight=1.0)
    """

    element: str
    name: str
    family: str
    energy: float
    weight: float


def _check_element(element: str) -> str:
    if element not in _LINES:
        raise ConfigError(
            f"unknown element {element!r}; the line table knows {', '.join(ELEMENTS)} "
            "(symbols are case-sensitive, e.g. 'Si', not 'SI')"
        )
    return element


def xray_lines(element: str) -> list[XrayLine]:
    """The tabulated lines of an element, by family (K, L, M) then energy.

    Args:
        element: Chemical symbol, one of :data:`ELEMENTS`.

    Returns:
        The element's lines.

    Raises:
        ConfigError: If the element is not in the table.

    Example:
        >>> [line.name for line in xray_lines("Cu")]
        ['Ka', 'Kb', 'Ll', 'La']
    """
    _check_element(element)
    lines = [XrayLine(element, name, name[0], e, w) for name, (e, w) in _LINES[element].items()]
    return sorted(lines, key=lambda line: (_FAMILY_ORDER.index(line.family), line.energy))


def fwhm_kev(energy_kev: ArrayLike, *, fwhm_mn_ev: float = 130.0) -> np.ndarray:
    """Detector resolution (FWHM, keV) at the given energies.

    `FWHM(E)^2 = FWHM_Mn^2 + 2.5 eV (E - 5898.7 eV)`, floored at
    :data:`FWHM_FLOOR_EV`.

    Args:
        energy_kev: Energies in keV, any shape.
        fwhm_mn_ev: FWHM at Mn Ka in eV (> 0).

    Returns:
        FWHM in keV, same shape as ``energy_kev``.

    Example:
        >>> float(np.round(fwhm_kev(5.8987), 4))
        0.13
    """
    energy_ev = np.asarray(energy_kev, dtype=float) * 1000.0
    squared = fwhm_mn_ev**2 + _NOISE_SLOPE_EV * (energy_ev - MN_KA_KEV * 1000.0)
    return np.sqrt(np.maximum(squared, FWHM_FLOOR_EV**2)) / 1000.0


@dataclass(frozen=True)
class EdxFit:
    """The line fit of one spectrum.

    Arrays over channels cover the fit range only (``energy``).

    Attributes:
        elements: Fitted elements `(E,)`, in the order asked for.
        families: The family quantified for each element (``"K"``, ``"L"``
            or ``"M"``): K when its main line is in the fit range, else L,
            else M.
        net_counts: Counts in each element's quantified family `(E,)`.
        net_sigma: One-sigma uncertainty of ``net_counts`` `(E,)`.
        covariance: Covariance of ``net_counts`` `(E, E)`.
        components: ``"Fe_K"``-style names of all fitted line families `(P,)`
            (an element may have several in range).
        amplitudes: Counts in each component `(P,)`; ``amplitude_sigma`` its
            uncertainty `(P,)`.
        amplitude_sigma: See ``amplitudes``.
        energy: Channel energies of the fit range `(S',)`, keV as read.
        counts: Counts of the fit range `(S',)`.
        model: Fitted expected counts `(S',)`.
        background: Fitted background `(S',)`.
        line_shapes: Unit-area family shapes `(S', P)` (shared between the
            fits of one batch), so ``line_shapes @ amplitudes`` is the line
            part of ``model``.
        offset_kev: Energy offset used: lines sit at `E_line + offset_kev` on
            the axis.
        fwhm_mn_ev: Resolution used (FWHM at Mn Ka, eV).
        deviance: Poisson deviance of the fit.
        dof: Channels minus fitted parameters.
        total_counts: Counts of the whole spectrum (all channels).

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> peak = 500 * np.exp(-(((energy - 1.74) / 0.04) ** 2))
        >>> counts = np.random.default_rng(0).poisson(5 + peak)
        >>> fit = fit_spectrum(counts, energy, ["Si"])
        >>> bool(abs(fit.net_counts[0] - peak.sum()) < 5 * fit.net_sigma[0])
        True
    """

    elements: tuple[str, ...]
    families: tuple[str, ...]
    net_counts: np.ndarray
    net_sigma: np.ndarray
    covariance: np.ndarray
    components: tuple[str, ...]
    amplitudes: np.ndarray
    amplitude_sigma: np.ndarray
    energy: np.ndarray
    counts: np.ndarray
    model: np.ndarray
    background: np.ndarray
    line_shapes: np.ndarray = field(repr=False)
    offset_kev: float
    fwhm_mn_ev: float
    deviance: float
    dof: int
    total_counts: float

    def significance(self) -> np.ndarray:
        """Net counts over their uncertainty `(E,)` (0 where the uncertainty is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.net_counts / self.net_sigma
        return np.where(self.net_sigma > 0, z, 0.0)

    def element_model(self, element: str) -> np.ndarray:
        """Fitted counts of all line families of ``element`` `(S',)`."""
        if element not in self.elements:
            raise ConfigError(f"{element!r} was not fitted; fitted: {', '.join(self.elements)}")
        keep = np.array([c.split("_")[0] == element for c in self.components])
        return self.line_shapes[:, keep] @ self.amplitudes[keep]


# --------------------------------------------------------------------------- checks


def _spectra_array(counts: ArrayLike, ndim: int, name: str) -> np.ndarray:
    array = np.asarray(counts)
    if array.ndim != ndim:
        want = "(S,)" if ndim == 1 else "(N, S)"
        raise DataError(f"{name} must be a {want} array, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise DataError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(float)
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{name} has {int(bad.sum())} NaN/inf values (first at index {where}); "
            "EDX counts must be finite: drop or fill those channels first"
        )
    if (array < 0).any():
        where = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise DataError(
            f"{name} has negative counts (first at index {where}); the fit needs raw "
            "(Poisson) counts, not background-subtracted or normalised spectra"
        )
    return array


def _energy_axis(energy_kev: ArrayLike, n_channels: int) -> np.ndarray:
    axis = np.asarray(energy_kev, dtype=float)
    if axis.ndim != 1:
        raise DataError(f"energy_keV must be a 1-D (S,) axis, got shape {axis.shape}")
    if len(axis) != n_channels:
        raise DataError(
            f"energy axis has {len(axis)} values but the spectrum has {n_channels} channels; "
            "pass the axis of this spectrum"
        )
    if not np.all(np.isfinite(axis)):
        raise DataError("energy axis has NaN/inf values")
    if len(axis) < 2 or not np.all(np.diff(axis) > 0):
        raise DataError(
            "energy axis must be strictly increasing (keV); reverse or sort it together "
            "with the spectra"
        )
    if axis[-1] > 200.0:
        raise DataError(
            f"energy axis reaches {axis[-1]:g}; it must be in keV (divide an eV axis by 1000)"
        )
    return axis


def _elements(elements: Sequence[str]) -> tuple[str, ...]:
    if isinstance(elements, str):
        elements = [e.strip() for e in elements.split(",") if e.strip()]
    names = tuple(_check_element(str(e)) for e in elements)
    if not names:
        raise ConfigError("elements is empty; name at least one element, e.g. ['Si', 'O']")
    if len(set(names)) != len(names):
        raise ConfigError(f"elements has duplicates: {list(names)}")
    return names


def _fit_range(
    axis: np.ndarray, energy_range: tuple[float, float] | None
) -> tuple[float, float, np.ndarray]:
    if energy_range is None:
        lo, hi = max(float(axis[0]), 0.2), float(axis[-1])
    else:
        if len(energy_range) != 2:
            raise ConfigError(f"energy_range must be (low, high) in keV, got {energy_range!r}")
        lo, hi = (float(v) for v in energy_range)
        if not hi > lo:
            raise ConfigError(f"energy_range must have low < high, got ({lo:g}, {hi:g})")
    keep = (axis >= lo) & (axis <= hi)
    if keep.sum() < 10:
        raise ConfigError(
            f"energy_range ({lo:g}, {hi:g}) keV covers {int(keep.sum())} channels of the axis "
            f"({axis[0]:g} to {axis[-1]:g} keV); it needs at least 10"
        )
    return lo, hi, keep


def _check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return number


# --------------------------------------------------------------------------- model


def _edges(energy: np.ndarray) -> np.ndarray:
    mid = 0.5 * (energy[1:] + energy[:-1])
    first = energy[0] - (mid[0] - energy[0])
    last = energy[-1] + (energy[-1] - mid[-1])
    return np.concatenate([[first], mid, [last]])


def _families_in_range(
    element: str, lo: float, hi: float, offset: float
) -> dict[str, list[XrayLine]]:
    families: dict[str, list[XrayLine]] = {}
    for line in xray_lines(element):
        families.setdefault(line.family, []).append(line)
    return {
        name: lines
        for name, lines in families.items()
        if lo <= next(ln.energy for ln in lines if ln.weight == 1.0) + offset <= hi
    }


def line_shapes(
    energy: np.ndarray,
    elements: Sequence[str],
    *,
    lo: float,
    hi: float,
    offset_kev: float = 0.0,
    fwhm_mn_ev: float = 130.0,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Unit-area line-family shapes of elements on an energy axis.

    A family (K, L or M) is included when its main line, shifted by
    ``offset_kev``, lies in `[lo, hi]`. Each of its lines is a Gaussian of
    width :func:`fwhm_kev` integrated over the channels (edges halfway
    between channel centres), weighted by its relative intensity; the family
    sums to 1 over an unbounded axis.

    Args:
        energy: Channel energies `(S,)` in keV, increasing.
        elements: Elements (see :data:`ELEMENTS`).
        lo: Lower end of the fit range (keV).
        hi: Upper end of the fit range (keV).
        offset_kev: Lines sit at `E_line + offset_kev` on the axis.
        fwhm_mn_ev: Detector resolution at Mn Ka (eV).

    Returns:
        ``(shapes, names, quantified)``: shapes `(S, P)`, component names
        `(P,)` such as ``"Pt_L"``, and the quantified family of each element.

    Raises:
        DataError: If an element has no line in `[lo, hi]`.
        ConfigError: If an element is unknown.

    Example:
        >>> energy = np.arange(0.1, 20, 0.01)
        >>> shapes, names, quantified = line_shapes(energy, ["Pt"], lo=0.2, hi=20)
        >>> names, quantified
        (['Pt_L', 'Pt_M'], ['L'])
    """
    edges = _edges(np.asarray(energy, dtype=float))
    columns, names, quantified = [], [], []
    for element in elements:
        families = _families_in_range(_check_element(element), lo, hi, offset_kev)
        if not families:
            raise DataError(
                f"no line of {element} lies in the fit range {lo:g} to {hi:g} keV "
                f"(its lines: {', '.join(f'{ln.name} {ln.energy:g}' for ln in xray_lines(element))}"
                "); drop the element or widen energy_range"
            )
        quantified.append(next(f for f in _FAMILY_ORDER if f in families))
        for family in _FAMILY_ORDER:
            if family not in families:
                continue
            lines = families[family]
            total = sum(ln.weight for ln in lines)
            column = np.zeros(len(edges) - 1)
            for line in lines:
                centre = line.energy + offset_kev
                sigma = float(fwhm_kev(line.energy, fwhm_mn_ev=fwhm_mn_ev)) / _FWHM_PER_SIGMA
                cdf = ndtr((edges - centre) / sigma)
                column += (line.weight / total) * np.diff(cdf)
            columns.append(column)
            names.append(f"{element}_{family}")
    return np.column_stack(columns), names, quantified


def background_basis(energy: np.ndarray, lo: float, hi: float, degree: int) -> np.ndarray:
    """Chebyshev polynomials `T_0..T_degree` of the energy mapped from `[lo, hi]` to [-1, 1].

    Args:
        energy: Channel energies `(S,)` in keV.
        lo: Energy mapped to -1.
        hi: Energy mapped to +1.
        degree: Highest degree, >= 0.

    Returns:
        Basis `(S, degree + 1)`.

    Example:
        >>> background_basis(np.array([0.0, 1.0]), 0.0, 1.0, 2).tolist()
        [[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    x = 2.0 * (np.asarray(energy, dtype=float) - lo) / (hi - lo) - 1.0
    return chebyshev.chebvander(x, degree)


@dataclass(frozen=True)
class PoissonFit:
    """Result of :func:`poisson_fit`.

    Attributes:
        params: Fitted coefficients `(P,)`.
        covariance: Inverse Fisher information `(P, P)`.
        model: Expected counts `(S,)`, clipped at 0.
        deviance: Poisson deviance.

    Example:
        >>> poisson_fit(np.ones((3, 1)), np.array([2.0, 2.0, 2.0]), n_nonnegative=1).params
        array([2.])
    """

    params: np.ndarray
    covariance: np.ndarray
    model: np.ndarray
    deviance: float


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.sum(term - (y - mu)))


def poisson_fit(
    design: np.ndarray, counts: np.ndarray, *, n_nonnegative: int, iterations: int = 6
) -> PoissonFit:
    """Poisson maximum-likelihood fit of a linear model by reweighted least squares.

    Each iteration solves the weighted problem `min ||(A p - y) / sqrt(mu)||`
    with :func:`scipy.optimize.lsq_linear` (bounded, ``"bvls"``) and sets `mu`
    to the new model; the fixed point is the Poisson maximum-likelihood
    estimate. The model is floored at `max(0.05 mean(y), 1e-3)` counts in the
    weights and the deviance (a polynomial background may dip below zero
    where there are no counts). The first weights are a smoothed copy of
    the data.

    Args:
        design: Design matrix `(S, P)`.
        counts: Counts `(S,)`.
        n_nonnegative: The first this many coefficients are bounded at 0
            from below (line amplitudes); the rest are free.
        iterations: Most reweighting steps (stops earlier when the deviance
            changes by less than 1e-6 relative).

    Returns:
        Coefficients, covariance `(A^T diag(1/mu) A)^-1`, model and deviance.

    Example:
        >>> design = np.column_stack([np.eye(4)[:, 0], np.ones(4)])
        >>> fit = poisson_fit(design, np.array([12.0, 2.0, 2.0, 2.0]), n_nonnegative=1)
        >>> np.round(fit.params, 6).tolist()
        [10.0, 2.0]
    """
    y = np.asarray(counts, dtype=float)
    n_par = design.shape[1]
    lower = np.full(n_par, -np.inf)
    lower[:n_nonnegative] = 0.0
    upper = np.full(n_par, np.inf)
    floor = max(0.05 * float(y.mean()), 1e-3)
    variance = np.maximum(gaussian_filter1d(y, 3.0), floor)
    params = np.zeros(n_par)
    previous = np.inf
    for _ in range(max(int(iterations), 1)):
        root = np.sqrt(variance)
        result = lsq_linear(design / root[:, None], y / root, bounds=(lower, upper), method="bvls")
        params = result.x
        variance = np.maximum(design @ params, floor)
        dev = _deviance(y, variance)
        if abs(previous - dev) < 1e-6 * max(1.0, dev):
            break
        previous = dev
    fisher = design.T @ (design / variance[:, None])
    covariance = np.linalg.pinv(fisher, hermitian=True)
    return PoissonFit(params, covariance, np.maximum(design @ params, 0.0), dev)


@dataclass
class _Setup:
    keep: np.ndarray
    energy: np.ndarray
    shapes: np.ndarray
    names: list[str]
    quantified: list[str]
    basis: np.ndarray
    offset: float
    fwhm: float

    @property
    def design(self) -> np.ndarray:
        return np.hstack([self.shapes, self.basis])


def _setup(
    axis: np.ndarray,
    elements: tuple[str, ...],
    *,
    energy_range: tuple[float, float] | None,
    degree: int,
    background: str,
    offset: float,
    fwhm_mn_ev: float,
) -> _Setup:
    lo, hi, keep = _fit_range(axis, energy_range)
    energy = axis[keep]
    shapes, names, quantified = line_shapes(
        energy, elements, lo=lo, hi=hi, offset_kev=offset, fwhm_mn_ev=fwhm_mn_ev
    )
    if background == "poly":
        basis = background_basis(energy, lo, hi, degree)
    else:
        basis = np.zeros((len(energy), 0))
    return _Setup(keep, energy, shapes, names, quantified, basis, offset, fwhm_mn_ev)


def _to_fit(setup: _Setup, elements: tuple[str, ...], y: np.ndarray, total: float) -> EdxFit:
    design = setup.design
    n_lines = setup.shapes.shape[1]
    solution = poisson_fit(design, y, n_nonnegative=n_lines)
    amplitudes = solution.params[:n_lines]
    amp_cov = solution.covariance[:n_lines, :n_lines]
    amp_sigma = np.sqrt(np.clip(np.diag(amp_cov), 0.0, None))
    index = [setup.names.index(f"{e}_{f}") for e, f in zip(elements, setup.quantified, strict=True)]
    return EdxFit(
        elements=elements,
        families=tuple(setup.quantified),
        net_counts=amplitudes[index].copy(),
        net_sigma=amp_sigma[index].copy(),
        covariance=amp_cov[np.ix_(index, index)].copy(),
        components=tuple(setup.names),
        amplitudes=amplitudes.copy(),
        amplitude_sigma=amp_sigma,
        energy=setup.energy,
        counts=y,
        model=solution.model,
        background=setup.basis @ solution.params[n_lines:],
        line_shapes=setup.shapes,
        offset_kev=float(setup.offset),
        fwhm_mn_ev=float(setup.fwhm),
        deviance=solution.deviance,
        dof=int(len(y) - design.shape[1]),
        total_counts=float(total),
    )


def _calibrate(
    axis: np.ndarray,
    y_full: np.ndarray,
    elements: tuple[str, ...],
    *,
    energy_range: tuple[float, float] | None,
    degree: int,
    background: str,
    fwhm_mn_ev: float,
    max_offset_kev: float,
) -> tuple[float, float]:
    """Energy offset (keV) and FWHM at Mn Ka (eV) minimising the Poisson deviance."""
    lo, hi, keep = _fit_range(axis, energy_range)
    y = y_full[keep]

    def deviance(theta: np.ndarray) -> float:
        offset, fwhm = float(theta[0]), float(theta[1])
        try:
            setup = _setup(
                axis,
                elements,
                energy_range=(lo, hi),
                degree=degree,
                background=background,
                offset=offset,
                fwhm_mn_ev=fwhm,
            )
        except DataError:
            return 1e300
        return poisson_fit(
            setup.design, y, n_nonnegative=setup.shapes.shape[1], iterations=3
        ).deviance

    # A coarse scan of the offset first: the deviance has local minima one
    # line spacing apart, which a local optimiser started at 0 can miss.
    offsets = np.linspace(-max_offset_kev, max_offset_kev, 21)
    scan = [deviance(np.array([o, fwhm_mn_ev])) for o in offsets]
    start = np.array([offsets[int(np.argmin(scan))], fwhm_mn_ev])
    step = offsets[1] - offsets[0]
    result = minimize(
        deviance,
        start,
        method="Powell",
        bounds=[
            (max(-max_offset_kev, start[0] - step), min(max_offset_kev, start[0] + step)),
            (60.0, 250.0),
        ],
        options={"xtol": 1e-4, "ftol": 1e-7},
    )
    return float(result.x[0]), float(result.x[1])


# --------------------------------------------------------------------------- public fits


def fit_spectra(
    counts: ArrayLike,
    energy_keV: ArrayLike,  # noqa: N803 - the unit is part of the name
    elements: Sequence[str],
    *,
    background: Literal["poly", "none"] = "poly",
    degree: int = 6,
    fwhm_mn_ev: float = 130.0,
    energy_range: tuple[float, float] | None = None,
    offset_kev: float = 0.0,
    calibrate: bool = False,
    max_offset_kev: float = 0.1,
) -> list[EdxFit]:
    """Fit many spectra on one energy axis with the same line model.

    The design matrix is built once; with ``calibrate`` the offset and
    resolution are refined once, on the sum of all spectra, and then used for
    every spectrum (so the per-spectrum fits stay linear).

    Args:
        counts: Raw counts `(N, S)`.
        energy_keV: Channel energies `(S,)` in keV, strictly increasing.
        elements: Elements to fit, e.g. ``["Si", "O", "C", "Cu"]`` (or
            ``"Si,O,C,Cu"``); see :data:`ELEMENTS`.
        background: ``"poly"`` (Chebyshev polynomial over the fit range) or
            ``"none"`` (lines only; background-free synthetic spectra).
        degree: Polynomial degree of the background, >= 0.
        fwhm_mn_ev: Detector resolution at Mn Ka (eV); the start value when
            ``calibrate``.
        energy_range: Fit range `(low, high)` in keV; default from
            max(first channel, 0.2 keV) (above the zero-strobe peak) to the
            last channel.
        offset_kev: Energy offset: lines sit at `E_line + offset_kev` on the
            axis (ignored when ``calibrate``).
        calibrate: Refine offset (within ``max_offset_kev``) and resolution.
        max_offset_kev: Largest offset searched when calibrating.

    Returns:
        One :class:`EdxFit` per spectrum.

    Raises:
        DataError: Counts that are not `(N, S)`, not finite or negative; an
            axis of another length, not increasing or not in keV; an element
            with no line in the fit range.
        ConfigError: Unknown element or option out of range.

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> peak = np.exp(-((energy - 1.74) / 0.04) ** 2)
        >>> rng = np.random.default_rng(0)
        >>> fits = fit_spectra(rng.poisson(5 + 300 * peak, (3, energy.size)), energy, ["Si"])
        >>> len(fits), fits[0].elements
        (3, ('Si',))
    """
    array = _spectra_array(counts, 2, "counts")
    axis = _energy_axis(energy_keV, array.shape[1])
    names = _elements(elements)
    if background not in ("poly", "none"):
        raise ConfigError(f"background must be 'poly' or 'none', got {background!r}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ConfigError(f"degree must be an integer >= 0, got {degree!r}")
    fwhm = _check_positive("fwhm_mn_ev", fwhm_mn_ev)
    offset = float(offset_kev)
    if calibrate:
        offset, fwhm = _calibrate(
            axis,
            array.sum(axis=0),
            names,
            energy_range=energy_range,
            degree=int(degree),
            background=background,
            fwhm_mn_ev=fwhm,
            max_offset_kev=_check_positive("max_offset_kev", max_offset_kev),
        )
    setup = _setup(
        axis,
        names,
        energy_range=energy_range,
        degree=int(degree),
        background=background,
        offset=offset,
        fwhm_mn_ev=fwhm,
    )
    totals = array.sum(axis=1)
    return [
        _to_fit(setup, names, row[setup.keep], total)
        for row, total in zip(array, totals, strict=True)
    ]


def fit_spectrum(
    counts: ArrayLike,
    energy_keV: ArrayLike,  # noqa: N803 - the unit is part of the name
    elements: Sequence[str],
    *,
    background: Literal["poly", "none"] = "poly",
    degree: int = 6,
    fwhm_mn_ev: float = 130.0,
    energy_range: tuple[float, float] | None = None,
    offset_kev: float = 0.0,
    calibrate: bool = False,
    max_offset_kev: float = 0.1,
) -> EdxFit:
    """Fit one spectrum with Gaussian lines over a polynomial background.

    See the module docstring for the model; the options are those of
    :func:`fit_spectra`.

    Args:
        counts: Raw counts `(S,)`.
        energy_keV: Channel energies `(S,)` in keV, strictly increasing.
        elements: Elements to fit (see :data:`ELEMENTS`).
        background: ``"poly"`` or ``"none"``.
        degree: Polynomial degree of the background.
        fwhm_mn_ev: Detector resolution at Mn Ka (eV).
        energy_range: Fit range `(low, high)` in keV.
        offset_kev: Energy offset of the axis.
        calibrate: Refine offset and resolution on this spectrum.
        max_offset_kev: Largest offset searched when calibrating.

    Returns:
        The fit, with net counts and their uncertainties per element.

    Raises:
        DataError: Bad counts or axis (see :func:`fit_spectra`).
        ConfigError: Unknown element or option out of range.

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> counts = 20 + 400 * np.exp(-((energy - 8.048) / 0.08) ** 2)
        >>> fit_spectrum(np.round(counts), energy, ["Cu"]).families
        ('K',)
    """
    array = _spectra_array(counts, 1, "counts")
    return fit_spectra(
        array[None, :],
        energy_keV,
        elements,
        background=background,
        degree=degree,
        fwhm_mn_ev=fwhm_mn_ev,
        energy_range=energy_range,
        offset_kev=offset_kev,
        calibrate=calibrate,
        max_offset_kev=max_offset_kev,
    )[0]


def identify_elements(
    counts: ArrayLike,
    energy_keV: ArrayLike,  # noqa: N803 - the unit is part of the name
    *,
    candidates: Sequence[str] | None = None,
    min_significance: float = 5.0,
    max_elements: int = 8,
    degree: int = 6,
    fwhm_mn_ev: float = 130.0,
    energy_range: tuple[float, float] | None = None,
    offset_kev: float = 0.0,
    calibrate: bool = False,
    max_offset_kev: float = 0.1,
) -> list[str]:
    """Elements whose lines are present in a spectrum, by greedy forward selection.

    Starting from the background alone, each round adds the candidate whose
    line families lower the Poisson deviance most, provided the drop exceeds
    ``min_significance**2 * phi`` and its quantified family's net counts
    exceed ``min_significance * sqrt(phi)`` sigma, where ``phi`` =
    max(1, deviance / dof) of the current model (a quasi-Poisson dispersion:
    with 10^5 counts or more, line-shape and background errors dominate the
    residuals, and a plain 5-sigma rule would add an element per wiggle).
    Adding an element adds all its families in range, so an element whose
    other lines are missing (Zr L at 2.04 keV without anything else, versus
    Pt M at 2.05 keV plus Pt L at 9.44 keV) is told apart by those lines.

    With ``calibrate``, the selection runs twice: the offset and resolution
    are refined with the elements of the first pass (see
    :func:`fit_spectra`), and the selection is redone with them.

    Args:
        counts: Raw counts `(S,)`, e.g. the sum of a spectrum image.
        energy_keV: Channel energies `(S,)` in keV.
        candidates: Elements to consider (default all of :data:`ELEMENTS`).
        min_significance: Threshold in sigma (> 0).
        max_elements: Stop after this many elements (>= 1).
        degree: Background polynomial degree.
        fwhm_mn_ev: Detector resolution at Mn Ka (eV).
        energy_range: Fit range in keV (see :func:`fit_spectra`).
        offset_kev: Energy offset of the axis (start value with ``calibrate``).
        calibrate: Refine offset and resolution between two passes.
        max_offset_kev: Largest offset searched when calibrating.

    Returns:
        The elements found, in the order they were added (strongest first).

    Raises:
        DataError: Bad counts or axis.
        ConfigError: Unknown candidate or option out of range.

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> peak = np.exp(-((energy - 8.048) / 0.07) ** 2)
        >>> counts = np.random.default_rng(1).poisson(20 + 800 * peak)
        >>> identify_elements(counts, energy, candidates=["Cu", "Fe", "Si"])
        ['Cu']
    """
    y_full = _spectra_array(counts, 1, "counts")
    axis = _energy_axis(energy_keV, len(y_full))
    pool = _elements(candidates if candidates is not None else ELEMENTS)
    threshold = _check_positive("min_significance", min_significance)
    if isinstance(max_elements, bool) or not isinstance(max_elements, (int, np.integer)):
        raise ConfigError(f"max_elements must be an integer >= 1, got {max_elements!r}")
    if max_elements < 1:
        raise ConfigError(f"max_elements must be >= 1, got {max_elements}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ConfigError(f"degree must be an integer >= 0, got {degree!r}")
    fwhm = _check_positive("fwhm_mn_ev", fwhm_mn_ev)
    options = {"energy_range": energy_range, "degree": int(degree), "threshold": threshold}
    chosen = _select(y_full, axis, pool, int(max_elements), offset_kev, fwhm, **options)
    if calibrate and chosen:
        offset_kev, fwhm = _calibrate(
            axis,
            y_full,
            tuple(chosen),
            energy_range=energy_range,
            degree=int(degree),
            background="poly",
            fwhm_mn_ev=fwhm,
            max_offset_kev=_check_positive("max_offset_kev", max_offset_kev),
        )
        chosen = _select(y_full, axis, pool, int(max_elements), offset_kev, fwhm, **options)
    return chosen


def _select(
    y_full: np.ndarray,
    axis: np.ndarray,
    pool: tuple[str, ...],
    max_elements: int,
    offset_kev: float,
    fwhm: float,
    *,
    energy_range: tuple[float, float] | None,
    degree: int,
    threshold: float,
) -> list[str]:
    """Greedy forward selection of :func:`identify_elements`."""
    lo, hi, keep = _fit_range(axis, energy_range)
    y = y_full[keep]
    energy = axis[keep]
    basis = background_basis(energy, lo, hi, degree)
    columns: dict[str, tuple[np.ndarray, int]] = {}
    for element in pool:
        try:
            shapes, names, quantified = line_shapes(
                energy, (element,), lo=lo, hi=hi, offset_kev=offset_kev, fwhm_mn_ev=fwhm
            )
        except DataError:
            continue  # no line in range: cannot be identified here
        columns[element] = (shapes, names.index(f"{element}_{quantified[0]}"))
    chosen: list[str] = []
    rejected: set[str] = set()
    current = poisson_fit(basis, y, n_nonnegative=0, iterations=4).deviance
    while len(chosen) < max_elements:
        dispersion = max(1.0, current / max(len(y) - basis.shape[1] - len(chosen), 1))
        drops = []
        for element, (shapes, _) in columns.items():
            if element in chosen or element in rejected:
                continue
            trial = np.hstack([*(columns[e][0] for e in chosen), shapes, basis])
            n_lines = trial.shape[1] - basis.shape[1]
            drops.append(
                (
                    current - poisson_fit(trial, y, n_nonnegative=n_lines, iterations=4).deviance,
                    element,
                )
            )
        added = False
        for drop, element in sorted(drops, reverse=True):
            if drop < threshold**2 * dispersion:
                break
            trial = np.hstack([*(columns[e][0] for e in chosen), columns[element][0], basis])
            n_lines = trial.shape[1] - basis.shape[1]
            solution = poisson_fit(trial, y, n_nonnegative=n_lines)
            index = n_lines - columns[element][0].shape[1] + columns[element][1]
            sigma = math.sqrt(max(solution.covariance[index, index], 0.0) * dispersion)
            if sigma > 0 and solution.params[index] / sigma >= threshold:
                chosen.append(element)
                current = solution.deviance
                added = True
                break
            # Lowers the deviance only through a family other than the one
            # quantified (e.g. an L line under a K-line element): not present.
            rejected.add(element)
        if not added:
            break
    return chosen


# --------------------------------------------------------------------------- quantify


@dataclass(frozen=True)
class Quantification:
    """Fractions of the fitted elements with one-sigma uncertainties.

    Attributes:
        elements: Element symbols `(E,)`.
        fractions: Fractions `(E,)` for one fit or `(N, E)` for many; each
            row sums to 1 (NaN where a spectrum has no net counts).
        sigmas: One-sigma uncertainties, same shape as ``fractions``.
        method: ``"counts"`` or ``"cliff-lorimer"``.
        basis: ``"count fraction"`` or ``"atomic fraction"``.
        k_factors: The k-factors used (all 1 for ``"counts"``).

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> peaks = np.exp(-((energy - 1.74) / 0.04) ** 2) + np.exp(-((energy - 0.525) / 0.03) ** 2)
        >>> fit = fit_spectrum(np.round(5 + 400 * peaks), energy, ["Si", "O"])
        >>> quantify(fit).fractions.shape
        (2,)
    """

    elements: tuple[str, ...]
    fractions: np.ndarray
    sigmas: np.ndarray
    method: str
    basis: str
    k_factors: dict[str, float]


def _ratio_fractions(
    values: np.ndarray, covariance: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fractions `c_e / sum c` of `c = scale * values` and first-order sigmas."""
    c = scale * values
    total = c.sum()
    if not total > 0:
        nan = np.full(len(values), np.nan)
        return nan, nan.copy()
    fractions = c / total
    # d f_i / d N_j = scale_j (delta_ij - f_i) / total
    jacobian = (np.eye(len(c)) - fractions[:, None]) * scale[None, :] / total
    variance = np.einsum("ij,jk,ik->i", jacobian, covariance, jacobian)
    return fractions, np.sqrt(np.clip(variance, 0.0, None))


def quantify(
    fit: EdxFit | Sequence[EdxFit],
    *,
    method: QuantMethod = "counts",
    k_factors: Mapping[str, float] | None = None,
) -> Quantification:
    """Element fractions from net counts.

    Args:
        fit: One fit, or a sequence of fits of the same elements (batch).
        method: ``"counts"``: count fractions `N_e / sum N` (no standards; not
            an atomic composition). ``"cliff-lorimer"``: atomic fractions from
            weight fractions `k_e N_e / sum k N`; needs ``k_factors``.
        k_factors: Cliff-Lorimer k-factor of every fitted element, relative to
            any one reference element (e.g. ``{"Si": 1.0, "O": 1.9}``), for
            the family counts of :class:`EdxFit` (all lines of the family).
            Take them from standards measured on your instrument or from
            your vendor's software, and state where they came from.

    Returns:
        Fractions and uncertainties, `(E,)` for one fit or `(N, E)` for many.

    Raises:
        ConfigError: Unknown method; missing, extra or non-positive k-factors;
            fits of different elements; k-factors with ``"counts"``.

    Example:
        >>> energy = np.arange(0.1, 10, 0.01)
        >>> peaks = np.exp(-((energy - 1.74) / 0.04) ** 2) + np.exp(-((energy - 0.525) / 0.03) ** 2)
        >>> fit = fit_spectrum(np.round(5 + 400 * peaks), energy, ["Si", "O"])
        >>> result = quantify(fit, method="cliff-lorimer", k_factors={"Si": 1.0, "O": 2.0})
        >>> result.basis
        'atomic fraction'
    """
    single = isinstance(fit, EdxFit)
    fits = [fit] if single else list(fit)
    if not fits:
        raise ConfigError("quantify needs at least one fit")
    elements = fits[0].elements
    for other in fits[1:]:
        if other.elements != elements:
            raise ConfigError(
                f"all fits must have the same elements; got {elements} and {other.elements}"
            )
    if method not in QUANT_METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(QUANT_METHODS)}")
    if method == "counts":
        if k_factors is not None:
            raise ConfigError("k_factors are only used by method='cliff-lorimer'")
        factors = dict.fromkeys(elements, 1.0)
        scale = np.ones(len(elements))
        basis = "count fraction"
    else:
        if k_factors is None:
            raise ConfigError(
                "method='cliff-lorimer' needs k_factors for every element "
                f"({', '.join(elements)}), measured on standards or taken from your vendor "
                "software; autoscope ships none"
            )
        missing = [e for e in elements if e not in k_factors]
        extra = [e for e in k_factors if e not in elements]
        if missing or extra:
            raise ConfigError(
                f"k_factors must name exactly the fitted elements {list(elements)}; "
                f"missing {missing}, not fitted {extra}"
            )
        factors = {e: _check_positive(f"k_factors[{e!r}]", k_factors[e]) for e in elements}
        weights = np.array([ATOMIC_WEIGHTS[e] for e in elements])
        scale = np.array([factors[e] for e in elements]) / weights
        basis = "atomic fraction"
    pairs = [_ratio_fractions(f.net_counts, f.covariance, scale) for f in fits]
    fractions = np.array([p[0] for p in pairs])
    sigmas = np.array([p[1] for p in pairs])
    if single:
        fractions, sigmas = fractions[0], sigmas[0]
    return Quantification(elements, fractions, sigmas, method, basis, factors)
