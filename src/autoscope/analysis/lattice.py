"""2-D Bravais lattices of atomic-resolution images: from the image's own FFT or from constants.

:func:`estimate_lattice` reads the lattice off the Fourier transform of the
image. The magnitude of the FFT of the mean-removed, Hann-windowed image is
searched for local maxima (5 x 5 neighbourhoods; equal neighbouring maxima
merged by :func:`skimage.feature.peak_local_max`) between
the frequencies of real-space periods ``max_spacing`` and ``min_spacing``;
a maximum is a lattice peak when it stands ``min_snr`` times above the
median magnitude of its ring of equal spatial frequency (the noise and
diffuse background at that frequency) and reaches
:data:`RELATIVE_PEAK_THRESHOLD` of the strongest peak with a period
between 2 px and ``max_spacing`` (which rejects the window's leakage and
side lobes in noise-free images, also when the true lattice lies below
``min_spacing``). Each peak is refined to a fraction of a frequency bin
with the exact two-bin interpolation for a Hann-windowed tone,
`delta = (2 alpha - 1) / (alpha + 1)` with `alpha` the ratio of the larger
neighbour to the peak, per axis.

The primitive reciprocal cell is then chosen among pairs of non-collinear
peaks from the :data:`N_CANDIDATES` shortest ones: a pair *indexes* a peak
when the peak lies within :data:`INDEX_TOLERANCE` of its shortest vector
from an integer combination of the pair; the pair indexing the largest
summed magnitude wins, and among pairs within 3 % of that score the one
with the smallest reciprocal cell (the largest real-space cell) is taken.
So a weak superstructure or basis reflection that halves the reciprocal
cell is kept, while a stray peak off the lattice is not. The two reciprocal
vectors are finally re-fitted by weighted least squares to all indexed
peaks (higher orders pin them down more precisely), converted to real space
by `a_i . g_j = delta_ij` and Lagrange-Gauss reduced (shortest basis,
angle between 60 and 90 degrees).

The FFT sees the *Bravais* lattice of the projected structure: for a
lattice with a basis (several columns per cell) it finds the primitive cell
of the projection, which can be smaller than the conventional cell (e.g.
SrTiO3 along [110] projects to a rectangular a/sqrt(2) x a cell, half the
a x a*sqrt(2) face of the cubic cell).

Only the cell selection, the Hann interpolation and the reduction are
written here; the FFT, window, ring medians and peak search are NumPy,
SciPy and scikit-image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage
from skimage.feature import peak_local_max

from autoscope.analysis.image import as_image
from autoscope.errors import ConfigError, DataError

__all__ = ["Lattice", "estimate_lattice", "expected_count", "lattice_from_constants"]

#: A lattice peak must reach this fraction of the strongest lattice peak.
RELATIVE_PEAK_THRESHOLD = 0.05
#: How many of the shortest lattice peaks are tried as reciprocal basis vectors.
N_CANDIDATES = 10
#: A peak is indexed by a basis when it lies this fraction of the basis's
#: shortest vector from an integer combination of the basis.
INDEX_TOLERANCE = 0.15
#: Radius of the excluded DC region in frequency bins (the Hann main lobe is +-2 bins).
DC_RADIUS_BINS = 2.5
#: Smallest |sin| of the angle between two reciprocal vectors to count as non-collinear.
MIN_SIN_ANGLE = math.sin(math.radians(15.0))


def _reduce(vectors: np.ndarray) -> np.ndarray:
    """Lagrange-Gauss reduction of a 2-D basis: shortest vectors, angle in [60, 90] degrees.

    Signs are canonical: the larger component of `a1` is positive, `a1 . a2 >= 0`.
    """
    a, b = np.array(vectors[0], dtype=np.float64), np.array(vectors[1], dtype=np.float64)
    if a @ a > b @ b:
        a, b = b, a
    for _ in range(100):
        mu = round(float(a @ b) / float(a @ a))
        b = b - mu * a
        if b @ b >= a @ a:
            break
        a, b = b, a
    if a[np.argmax(np.abs(a))] < 0:
        a = -a
    if a @ b < 0:
        b = -b
    return np.stack([a, b])


@dataclass(frozen=True, eq=False)
class Lattice:
    """A 2-D Bravais lattice in pixel units.

    Attributes:
        vectors: Real-space primitive vectors `(2, 2)`, float64, in pixels;
            row ``i`` is `a_i = (d_row, d_col)`. Stored as a read-only copy.

    Example:
        >>> lattice = Lattice([[0.0, 10.0], [8.0, 0.0]])
        >>> lattice.cell_area, lattice.spacing, lattice.angle_deg
        (80.0, 8.0, 90.0)
    """

    vectors: np.ndarray

    def __post_init__(self) -> None:
        vectors = np.array(self.vectors, dtype=np.float64)
        if vectors.shape != (2, 2):
            raise DataError(
                f"Lattice vectors must be a (2, 2) array (rows a1, a2 as (d_row, d_col)), "
                f"got shape {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise DataError(f"Lattice vectors must be finite, got {vectors.tolist()}")
        scale = float(np.abs(vectors).max())
        if scale == 0.0 or abs(np.linalg.det(vectors)) <= 1e-9 * scale**2:
            raise DataError(
                f"Lattice vectors {vectors.tolist()} are zero or collinear; "
                "expected two independent vectors"
            )
        vectors.flags.writeable = False
        object.__setattr__(self, "vectors", vectors)

    @property
    def cell_area(self) -> float:
        """Area of the primitive cell, `|det(a1, a2)|`, in px^2."""
        (a_r, a_c), (b_r, b_c) = self.vectors
        return float(abs(a_r * b_c - a_c * b_r))

    @property
    def lengths(self) -> tuple[float, float]:
        """Lengths `(|a1|, |a2|)` of the stored vectors, in px."""
        norms = np.linalg.norm(self.vectors, axis=1)
        return float(norms[0]), float(norms[1])

    @property
    def spacing(self) -> float:
        """Length of the shortest non-zero lattice vector, in px (any basis)."""
        return float(np.linalg.norm(_reduce(self.vectors)[0]))

    @property
    def angle_deg(self) -> float:
        """Angle between the stored vectors `a1` and `a2`, in degrees (0-180)."""
        a, b = self.vectors
        cosine = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
        return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))

    @property
    def reciprocal(self) -> np.ndarray:
        """Reciprocal vectors `(2, 2)` in cycles/px, rows `g_j` with `a_i . g_j = delta_ij`."""
        return np.linalg.inv(self.vectors).T

    def reduced(self) -> Lattice:
        """The same lattice in its Lagrange-Gauss reduced basis.

        Returns:
            A lattice whose `a1` is a shortest lattice vector, `a2` the shortest
            independent one, with the angle between them in [60, 90] degrees.
        """
        return Lattice(_reduce(self.vectors))

    def __repr__(self) -> str:
        a1, a2 = self.vectors
        return (
            f"Lattice(a1=({a1[0]:.3f}, {a1[1]:.3f}), a2=({a2[0]:.3f}, {a2[1]:.3f}) px, "
            f"spacing={self.spacing:.3f} px, angle={self.angle_deg:.1f} deg)"
        )


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def lattice_from_constants(
    a: float, b: float, gamma_deg: float, *, pixel_size: float, rotation_deg: float = 0.0
) -> Lattice:
    """A 2-D lattice from its constants, in pixels.

    Args:
        a: Length of `a1`, in the unit of ``pixel_size`` (e.g. nm).
        b: Length of `a2`, same unit.
        gamma_deg: Angle from `a1` to `a2`, degrees, in (0, 180).
        pixel_size: Size of one pixel, same unit as ``a`` and ``b``.
        rotation_deg: Angle of `a1` from the +column axis towards the +row
            axis (clockwise on screen, rows growing downwards), degrees.

    Returns:
        The lattice with `a1 = a/pixel_size (sin t, cos t)` and
        `a2 = b/pixel_size (sin(t + gamma), cos(t + gamma))` as `(d_row, d_col)`.

    Raises:
        ConfigError: If a length or the pixel size is not positive, or
            ``gamma_deg`` is outside (0, 180).

    Example:
        >>> lattice_from_constants(0.4, 0.4, 90.0, pixel_size=0.01).spacing
        40.0
    """
    a = _positive("a", a)
    b = _positive("b", b)
    pixel_size = _positive("pixel_size", pixel_size)
    gamma = float(gamma_deg)
    if not 0.0 < gamma < 180.0:
        raise ConfigError(f"gamma_deg must lie in (0, 180) degrees, got {gamma_deg!r}")
    rotation = float(rotation_deg)
    if not math.isfinite(rotation):
        raise ConfigError(f"rotation_deg must be finite, got {rotation_deg!r}")
    t1, t2 = math.radians(rotation), math.radians(rotation + gamma)
    vectors = np.array(
        [
            [a / pixel_size * math.sin(t1), a / pixel_size * math.cos(t1)],
            [b / pixel_size * math.sin(t2), b / pixel_size * math.cos(t2)],
        ]
    )
    return Lattice(np.where(np.abs(vectors) < 1e-12 * max(a, b) / pixel_size, 0.0, vectors))


def expected_count(
    image_shape: tuple[int, int],
    lattice: Lattice,
    *,
    atoms_per_cell: float = 1.0,
    border: float = 0.0,
) -> float:
    """Expected number of atoms (columns) in an image of a perfect lattice.

    Args:
        image_shape: `(H, W)` of the image, px.
        lattice: The lattice (pixel units).
        atoms_per_cell: Atoms (columns) per primitive cell, e.g. 2 for a
            honeycomb or for two sublattices that are both detected.
        border: Width of a frame, px, excluded on every side (where a
            detector does not report atoms).

    Returns:
        `(H - 2 border)(W - 2 border) / cell_area * atoms_per_cell`
        (dimensionless count, not rounded).

    Raises:
        ConfigError: If the shape is not two positive sizes, ``atoms_per_cell``
            is not positive, or ``border`` is negative or leaves no area.

    Example:
        >>> expected_count((100, 100), Lattice([[0.0, 10.0], [10.0, 0.0]]))
        100.0
    """
    shape = tuple(image_shape)
    if len(shape) != 2 or any(
        isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in shape
    ):
        raise ConfigError(f"image_shape must be two positive integers (H, W), got {image_shape!r}")
    if not isinstance(lattice, Lattice):
        raise ConfigError(f"lattice must be a Lattice, got {type(lattice).__name__}")
    atoms_per_cell = _positive("atoms_per_cell", atoms_per_cell)
    border = float(border)
    height, width = (float(n) for n in shape)
    if not math.isfinite(border) or border < 0 or 2 * border >= min(height, width):
        raise ConfigError(
            f"border must be >= 0 and leave some area of the {shape} image, got {border!r}"
        )
    return (height - 2 * border) * (width - 2 * border) / lattice.cell_area * atoms_per_cell


def _hann_offset(below: float, centre: float, above: float) -> float:
    """Sub-bin offset of a Hann-windowed peak from its two neighbours (exact for one tone)."""
    if centre <= 0:
        return 0.0
    if above >= below:
        alpha = above / centre
        return min(0.5, max(0.0, (2 * alpha - 1) / (alpha + 1)))
    alpha = below / centre
    return -min(0.5, max(0.0, (2 * alpha - 1) / (alpha + 1)))


def _spectrum(image: np.ndarray) -> np.ndarray:
    """Centred FFT magnitude `(H, W)` of the mean-removed, Hann-windowed image."""
    height, width = image.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    return np.abs(np.fft.fftshift(np.fft.fft2((image - image.mean()) * window)))


def _lattice_peaks(
    magnitude: np.ndarray, *, min_spacing: float, max_spacing: float, min_snr: float
) -> tuple[np.ndarray, np.ndarray]:
    """Significant peaks, upper half-plane: frequencies `(P, 2)` in cycles/px, weights `(P,)`."""
    height, width = magnitude.shape
    rows = (np.arange(height) - height // 2) / height
    cols = (np.arange(width) - width // 2) / width
    radius = np.hypot(rows[:, None], cols[None, :])
    bins = np.hypot(rows[:, None] * height, cols[None, :] * width)
    ring = np.rint(radius * min(height, width)).astype(np.intp)
    background = np.asarray(
        ndimage.median(magnitude, labels=ring, index=np.arange(int(ring.max()) + 1))
    )[ring]
    floor = 1e-12 * float(magnitude.max())
    # "wide": every period from the Nyquist limit to max_spacing; the strongest
    # peak there is the reference of the relative threshold, so that with
    # min_spacing above the true spacing the window's leakage is not taken for
    # a lattice.
    wide = (radius <= 0.5) & (radius >= 1.0 / max_spacing) & (bins > DC_RADIUS_BINS)
    band = wide & (radius <= 1.0 / min_spacing)
    snr = magnitude / np.maximum(background, floor)
    candidates = wide & (snr >= min_snr)
    if not candidates.any():
        return np.empty((0, 2)), np.empty(0)
    in_wide = np.where(wide, magnitude, 0.0)
    maxima = candidates & (magnitude >= ndimage.maximum_filter(in_wide, size=5, mode="constant"))
    if not maxima.any():
        return np.empty((0, 2)), np.empty(0)
    # Equal neighbouring maxima (a peak exactly between two bins) are merged
    # by scikit-image's minimum-distance rule, strongest first.
    peaks = peak_local_max(
        np.where(maxima, magnitude, 0.0), min_distance=2, threshold_abs=floor, exclude_border=False
    )
    weights = magnitude[peaks[:, 0], peaks[:, 1]]
    keep = (weights >= RELATIVE_PEAK_THRESHOLD * weights.max()) & band[peaks[:, 0], peaks[:, 1]]
    # One of each +-g pair: the half-plane col > 0, or col == 0 and row > 0.
    r, c = peaks[:, 0] - height // 2, peaks[:, 1] - width // 2
    keep &= (c > 0) | ((c == 0) & (r > 0))
    peaks, weights = peaks[keep], weights[keep]
    freqs = np.empty((len(peaks), 2))
    for k, (i, j) in enumerate(peaks):
        di = (
            _hann_offset(magnitude[i - 1, j], magnitude[i, j], magnitude[i + 1, j])
            if 0 < i < height - 1
            else 0.0
        )
        dj = (
            _hann_offset(magnitude[i, j - 1], magnitude[i, j], magnitude[i, j + 1])
            if 0 < j < width - 1
            else 0.0
        )
        freqs[k] = ((i + di - height // 2) / height, (j + dj - width // 2) / width)
    return freqs, weights


def _index(freqs: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer indices `(P, 2)` of peaks in a reciprocal basis, and which are indexed `(P,)`."""
    indices = np.rint(freqs @ np.linalg.inv(basis))
    residual = np.linalg.norm(freqs - indices @ basis, axis=1)
    tolerance = INDEX_TOLERANCE * float(np.linalg.norm(basis, axis=1).min())
    return indices, residual <= tolerance


def _choose_basis(freqs: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """The primitive reciprocal basis `(2, 2)` among the peaks, or None if all are collinear."""
    lengths = np.linalg.norm(freqs, axis=1)
    order = np.argsort(lengths, kind="stable")[:N_CANDIDATES]
    best: list[tuple[float, float, np.ndarray]] = []
    for i, j in combinations(order, 2):
        basis = freqs[[i, j]]
        sine = abs(float(np.linalg.det(basis))) / (lengths[i] * lengths[j])
        if sine < MIN_SIN_ANGLE:
            continue
        _, indexed = _index(freqs, basis)
        best.append((float(weights[indexed].sum()), abs(float(np.linalg.det(basis))), basis))
    if not best:
        return None
    top = max(score for score, _, _ in best)
    tied = [item for item in best if item[0] >= 0.97 * top]
    return min(tied, key=lambda item: (item[1], -item[0]))[2]


def estimate_lattice(
    image: ArrayLike,
    *,
    min_spacing: float = 2.0,
    max_spacing: float | None = None,
    min_snr: float = 8.0,
) -> Lattice:
    """Estimate the 2-D Bravais lattice of an atomic-resolution image from its FFT.

    See the module docstring for the method. The result is the primitive
    cell of the projected structure as the FFT sees it; with a basis of
    several columns per cell this may be smaller than the conventional cell.

    Args:
        image: Image `(H, W)`, finite real values, each side >= 16 px.
        min_spacing: Shortest real-space period considered, px (>= 2, the
            Nyquist limit).
        max_spacing: Longest real-space period considered, px; default
            `min(H, W) / 4` (at least four periods across the image).
        min_snr: How many times a peak must exceed the median FFT magnitude
            of its frequency ring (dimensionless). The maximum of pure noise
            over a 1024 x 1024 spectrum reaches about 4.5.

    Returns:
        The lattice (pixels) in a reduced basis: `a1` is the shortest lattice
        vector, `a2` the shortest independent one, angle in [60, 90] degrees.

    Raises:
        DataError: If the image is not a valid 2-D image (or constant), no
            lattice peak stands out of the spectrum between the two spacings
            (e.g. pure noise), or all peaks are collinear (fringes along one
            direction only).
        ConfigError: If the spacings or ``min_snr`` are out of range.

    Example:
        >>> import numpy as np
        >>> rows, cols = np.mgrid[0:128, 0:128]
        >>> image = np.cos(2 * np.pi * rows / 8) + np.cos(2 * np.pi * cols / 8)
        >>> round(estimate_lattice(image).spacing, 2)
        8.0
    """
    data = as_image(image, min_size=16)
    min_spacing = _positive("min_spacing", min_spacing)
    if min_spacing < 2.0:
        raise ConfigError(f"min_spacing must be >= 2 px (Nyquist), got {min_spacing!r}")
    if max_spacing is None:
        max_spacing = min(data.shape) / 4.0
    max_spacing = _positive("max_spacing", max_spacing)
    if max_spacing <= min_spacing:
        raise ConfigError(f"max_spacing ({max_spacing}) must exceed min_spacing ({min_spacing})")
    min_snr = _positive("min_snr", min_snr)
    magnitude = _spectrum(data)
    freqs, weights = _lattice_peaks(
        magnitude, min_spacing=min_spacing, max_spacing=max_spacing, min_snr=min_snr
    )
    if len(freqs) == 0:
        raise DataError(
            f"no lattice peaks in the FFT of the {data.shape} image: no local maximum with "
            f"a real-space period between {min_spacing:g} and {max_spacing:g} px stands "
            f"{min_snr:g} times above the median magnitude of its frequency ring "
            "(is the image an atomic lattice? adjust min_spacing/max_spacing)"
        )
    basis = _choose_basis(freqs, weights)
    if basis is None:
        periods = ", ".join(f"{1 / n:.2f}" for n in np.linalg.norm(freqs, axis=1))
        raise DataError(
            f"the lattice peaks of the {data.shape} image are all collinear (periods {periods} "
            "px along one direction): fringes, not a 2-D lattice"
        )
    indices, indexed = _index(freqs, basis)
    sqrt_w = np.sqrt(weights[indexed])[:, None]
    refined, *_ = np.linalg.lstsq(indices[indexed] * sqrt_w, freqs[indexed] * sqrt_w, rcond=None)
    if abs(np.linalg.det(refined)) <= 1e-12:
        refined = basis
    return Lattice(_reduce(np.linalg.inv(refined).T))
