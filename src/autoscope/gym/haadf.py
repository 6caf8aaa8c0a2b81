"""A fast physical model of incoherent HAADF-STEM images of atomic columns.

Physics
-------
High-angle annular dark-field (HAADF, "Z-contrast") imaging is treated as
incoherent imaging: the fraction of the incident beam scattered onto the
detector when the probe sits at ``r`` is

    f(r) = b + sum_j sigma_j * [p ⊛ g](r - r_j),

where ``p`` is the probe intensity density (1/Å², integrates to 1), ``g`` a
Gaussian of standard deviation ``thermal_sigma_A`` (thermal vibration of the
atoms, the frozen-phonon average), ``b`` a flat background (amorphous layers,
detector offset) and ``sigma_j = cross_section_A2 * sum_{atoms in column j}
Z^n`` the HAADF cross-section of column ``j`` (in Å²) with ``n ≈ 1.7``.
Channelling and cross-talk between columns are ignored: this is a model for
fast, statistically honest ground truth, not a multislice simulation.

The probe is the aberrated diffraction-limited probe
``p = |FT^-1[A(k) exp(-i chi(k))]|²`` with a hard aperture ``A(k) = [λ|k| <= α]``
and the round aberration function

    chi(k) = π λ C1 |k|² + (π/2) C3 λ³ |k|⁴ + (π/3) C5 λ⁵ |k|⁶,

``C1 = defocus_A`` (aberration-coefficient convention: ``C1 < 0`` is
under-focus, which balances a positive ``C3 = cs_mm``), ``k`` in 1/Å.
:func:`electron_wavelength` gives the relativistic wavelength ``λ``.

Finite dose is Poisson counting noise: a pixel receives ``D * p_pix²``
electrons (``D`` in e/Å²) and records ``Poisson(D * p_pix² * f(r))`` counts.
Scan noise is a per-line offset of the probe: ``scan_jitter_px`` (random,
horizontal, independent per line) and ``drift_A_per_line`` (linear sample
drift, the same for every line).

Rendering
---------
Nothing here needs a library beyond NumPy/SciPy's FFT, but the combination is
specific enough to be written by hand. Column ``j`` is "spread" onto a padded
canvas as a sampled Gaussian of width ``s >= 1`` pixel (exact sub-pixel
placement, a few hundred grid points per column, one ``np.bincount``), then the
whole canvas is convolved in Fourier space with the probe's transfer function
times ``exp(-2π²(σ_th² - s²)|k|²)``, which swaps the spreading Gaussian for the
thermal one. Because the probe intensity is band-limited to ``|k| <= 2α/λ``,
this is exact up to the aliasing of the spreading Gaussian, which ``s`` is
chosen to keep below ~1e-6. When the pixel is too coarse for the probe's band
(more than 0.35 cycles per pixel), the canvas is rendered finer and point-
sampled, which is what a scanned probe does. The canvas is padded by the
probe's reach so that nothing wraps around; columns outside the frame but
within that reach still contribute. Per-line scan offsets are applied to the
band-limited image in Fourier space (x) or by rendering on the drifted line
spacing (y), so they too are exact.

Coordinates: positions are ``(row, col)``; pixel ``(i, j)`` has its centre at
``(i * pixel_size_A, j * pixel_size_A)`` Å, so ``positions_px = positions_A /
pixel_size_A``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import fft as sfft

from autoscope.errors import ConfigError
from autoscope.gym._checks import positive as _positive

__all__ = [
    "SRTIO3_BASIS",
    "Columns",
    "Probe",
    "SimulatedImage",
    "column_intensity",
    "electron_wavelength",
    "haadf_image",
    "simulate_lattice_image",
    "synthetic_lattice",
]

#: Default exponent ``n`` of the ``Z^n`` HAADF contrast.
Z_EXPONENT = 1.7
#: Default HAADF cross-section per unit of ``Z^n`` (Å²). With ``n = 1.7`` a Sr atom
#: scatters ``σ ≈ 2.4e-3 Å²`` and Au ``σ ≈ 8e-3 Å²``, the order of measured
#: single-atom HAADF cross-sections; a 5-atom Sr column under a 0.6 Å probe
#: scatters about 2 % of the beam.
CROSS_SECTION_A2 = 5e-6
#: Default flat background, as a fraction of the incident beam.
BACKGROUND = 0.002

# Largest probe band (2α/λ, in cycles per rendering pixel) rendered without oversampling.
_MAX_BAND_CYCLES_PER_PX = 0.35
# Target aliasing error of the spreading Gaussian.
_ALIAS_TOL = 1e-6
# Spreading windows reach this many spreading widths.
_WINDOW_SIGMAS = 6.0
# Columns spread per chunk (bounds the memory of the spreading step).
_CHUNK = 4096

# CODATA 2018 constants (SI).
_H = 6.62607015e-34
_M0 = 9.1093837015e-31
_E = 1.602176634e-19
_C = 299792458.0


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return value


def _nonnegative(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _shape(shape: Sequence[int]) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"shape must be a pair of ints (H, W), got {shape!r}") from None
    if h < 1 or w < 1 or (h, w) != tuple(shape):
        raise ConfigError(f"shape must be two positive ints (H, W), got {shape!r}")
    return h, w


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def electron_wavelength(voltage_kv: float) -> float:
    """Relativistic wavelength of an electron accelerated through ``voltage_kv``.

    Args:
        voltage_kv: Accelerating voltage in kV (> 0).

    Returns:
        The wavelength in Å.

    Raises:
        ConfigError: If ``voltage_kv`` is not a finite positive number.

    Example:
        >>> round(electron_wavelength(200.0), 5)
        0.02508
    """
    volts = _positive("voltage_kv", voltage_kv) * 1e3
    energy = _E * volts
    momentum = math.sqrt(2.0 * _M0 * energy * (1.0 + energy / (2.0 * _M0 * _C**2)))
    return _H / momentum * 1e10


@dataclass(frozen=True)
class Probe:
    """A round-aberrated STEM probe.

    Args:
        voltage_kv: Accelerating voltage (kV).
        convergence_mrad: Convergence semi-angle ``α`` (mrad).
        defocus_A: Defocus ``C1`` (Å); negative is under-focus (see the module docstring).
        cs_mm: Third-order spherical aberration ``C3`` (mm).
        c5_mm: Fifth-order spherical aberration ``C5`` (mm).

    Example:
        >>> p = Probe(voltage_kv=300.0, convergence_mrad=25.0)
        >>> img = p.intensity((64, 64), 0.1)
        >>> peak = np.unravel_index(int(img.argmax()), img.shape)
        >>> img.shape, round(float(img.sum()), 6), tuple(int(i) for i in peak)
        ((64, 64), 1.0, (32, 32))
    """

    voltage_kv: float = 200.0
    convergence_mrad: float = 21.0
    defocus_A: float = 0.0
    cs_mm: float = 0.0
    c5_mm: float = 0.0

    def __post_init__(self) -> None:
        _positive("Probe.voltage_kv", self.voltage_kv)
        _positive("Probe.convergence_mrad", self.convergence_mrad)
        _finite("Probe.defocus_A", self.defocus_A)
        _finite("Probe.cs_mm", self.cs_mm)
        _finite("Probe.c5_mm", self.c5_mm)

    @property
    def wavelength_A(self) -> float:
        """Electron wavelength ``λ`` in Å."""
        return electron_wavelength(self.voltage_kv)

    @property
    def aperture_cutoff_per_A(self) -> float:
        """Radius ``α/λ`` of the probe-forming aperture in reciprocal space (1/Å)."""
        return self.convergence_mrad * 1e-3 / self.wavelength_A

    @property
    def reach_A(self) -> float:
        """A radius (Å) outside which the probe holds a negligible part of its intensity.

        Four diffraction widths ``λ/α`` plus the geometric blur of each
        aberration at the aperture edge (``|C1| α + |C3| α³ + |C5| α⁵``).
        """
        alpha = self.convergence_mrad * 1e-3
        return (
            4.0 * self.wavelength_A / alpha
            + abs(self.defocus_A) * alpha
            + abs(self.cs_mm) * 1e7 * alpha**3
            + abs(self.c5_mm) * 1e7 * alpha**5
        )

    def aberration_phase(self, k2: np.ndarray) -> np.ndarray:
        """The aberration function ``chi`` (radians) at squared spatial frequencies ``k2`` (1/Å²).

        Args:
            k2: Squared spatial frequencies ``|k|²``, any shape.

        Returns:
            ``chi(k)``, the same shape as ``k2``.
        """
        lam = self.wavelength_A
        k2 = np.asarray(k2, dtype=np.float64)
        chi = np.pi * lam * self.defocus_A * k2
        if self.cs_mm:
            chi = chi + 0.5 * np.pi * self.cs_mm * 1e7 * lam**3 * k2**2
        if self.c5_mm:
            chi = chi + np.pi / 3.0 * self.c5_mm * 1e7 * lam**5 * k2**3
        return chi

    def _intensity_at_origin(
        self, shape: tuple[int, int], pixel_size: tuple[float, float]
    ) -> np.ndarray:
        """Probe intensity on a periodic grid with its centre at index ``(0, 0)``, sum 1."""
        ky = np.fft.fftfreq(shape[0], d=pixel_size[0])
        kx = np.fft.fftfreq(shape[1], d=pixel_size[1])
        k2 = ky[:, None] ** 2 + kx[None, :] ** 2
        aperture = k2 <= self.aperture_cutoff_per_A**2
        wave = np.zeros(shape, dtype=np.complex128)
        wave[aperture] = np.exp(-1j * self.aberration_phase(k2[aperture]))
        psi = sfft.ifft2(wave)
        intensity = psi.real**2 + psi.imag**2
        return intensity / intensity.sum()

    def intensity(self, shape: Sequence[int], pixel_size_A: float) -> np.ndarray:
        """The probe intensity sampled on a pixel grid.

        The grid must sample the aperture: the probe is computed by FFT on this
        grid, so with pixels coarser than ``λ/(2α)`` the aperture is cut by the
        grid's Nyquist frequency and the result is a truncated, aliased probe.
        (:func:`haadf_image` oversamples internally when needed.)

        Args:
            shape: Grid shape ``(H, W)``.
            pixel_size_A: Pixel size in Å (> 0).

        Returns:
            Array `(H, W)` summing to 1 with the probe centre at pixel ``(H // 2, W // 2)``.

        Raises:
            ConfigError: If ``shape`` or ``pixel_size_A`` is not positive.
        """
        h, w = _shape(shape)
        p = _positive("pixel_size_A", pixel_size_A)
        return np.fft.fftshift(self._intensity_at_origin((h, w), (p, p)))


@lru_cache(maxsize=16)
def _probe_rfft(
    probe: Probe, shape: tuple[int, int], pixel_size: tuple[float, float]
) -> np.ndarray:
    """Real-FFT of the origin-centred probe intensity (cached; the gym renders many frames)."""
    otf = sfft.rfft2(probe._intensity_at_origin(shape, pixel_size))
    otf.setflags(write=False)
    return otf


def column_intensity(
    atomic_numbers_per_column: Sequence[Sequence[int] | np.ndarray], exponent: float = Z_EXPONENT
) -> np.ndarray:
    """HAADF weight ``sum Z^n`` of each column.

    Args:
        atomic_numbers_per_column: One sequence of atomic numbers per column (the
            atoms stacked along the beam; empty for an empty column).
        exponent: The exponent ``n`` (about 1.7 for HAADF).

    Returns:
        Array `(N,)` of ``sum_atoms Z^n``.

    Raises:
        ConfigError: If an atomic number is negative or not finite, or ``exponent <= 0``.

    Example:
        >>> column_intensity([[38, 38], [22, 8]], exponent=2.0)
        array([2888.,  548.])
    """
    n = _positive("exponent", exponent)
    out = np.zeros(len(atomic_numbers_per_column), dtype=np.float64)
    for i, zs in enumerate(atomic_numbers_per_column):
        z = np.asarray(zs, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(z)) or np.any(z < 0):
            raise ConfigError(f"column {i}: atomic numbers must be finite and >= 0, got {zs!r}")
        out[i] = float(np.sum(z**n))
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Columns:
    """Atomic columns seen end-on, in the image plane.

    Args:
        positions: Array `(N, 2)` of column positions ``(row, col)`` in Å.
        z_sum: Array `(N,)` of ``sum Z^n`` over the atoms of each column (see
            :func:`column_intensity`).
        labels: Array `(N,)` of integer labels (by convention 0 pristine, 1 vacancy,
            2 substitution); zeros when omitted.

    Example:
        >>> cols = Columns(np.array([[5.0, 5.0]]), column_intensity([[38] * 5]))
        >>> len(cols), cols.labels
        (1, array([0]))
    """

    positions: np.ndarray
    z_sum: np.ndarray
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        if pos.size == 0:
            pos = pos.reshape(0, 2)
        if pos.ndim != 2 or pos.shape[1] != 2:
            raise ConfigError(f"Columns.positions must have shape (N, 2), got {pos.shape}")
        if not np.all(np.isfinite(pos)):
            raise ConfigError("Columns.positions must be finite")
        n = pos.shape[0]
        z = np.asarray(self.z_sum, dtype=np.float64).reshape(-1) if n else np.zeros(0)
        if z.shape != (n,):
            raise ConfigError(f"Columns.z_sum must have shape ({n},), got {np.shape(self.z_sum)}")
        if not np.all(np.isfinite(z)) or np.any(z < 0):
            raise ConfigError("Columns.z_sum must be finite and >= 0")
        if self.labels is None:
            lab = np.zeros(n, dtype=np.int64)
        else:
            raw = np.asarray(self.labels)
            if raw.shape != (n,) or (n and not np.issubdtype(raw.dtype, np.integer)):
                raise ConfigError(
                    f"Columns.labels must be an integer array of shape ({n},), "
                    f"got {raw.dtype} {raw.shape}"
                )
            lab = raw.astype(np.int64)
        object.__setattr__(self, "positions", _readonly(pos))
        object.__setattr__(self, "z_sum", _readonly(z))
        object.__setattr__(self, "labels", _readonly(lab))

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @classmethod
    def from_atoms(
        cls,
        positions: np.ndarray,
        atomic_numbers_per_column: Sequence[Sequence[int] | np.ndarray],
        labels: np.ndarray | None = None,
        *,
        exponent: float = Z_EXPONENT,
    ) -> Columns:
        """Columns from the atomic numbers stacked in each column.

        Args:
            positions: Array `(N, 2)` of positions ``(row, col)`` in Å.
            atomic_numbers_per_column: ``N`` sequences of atomic numbers.
            labels: Optional integer labels `(N,)`.
            exponent: The ``Z^n`` exponent.

        Returns:
            The columns with ``z_sum = column_intensity(atomic_numbers_per_column, exponent)``.
        """
        return cls(positions, column_intensity(atomic_numbers_per_column, exponent), labels)


@dataclass
class SimulatedImage:
    """A simulated image and its ground truth.

    Attributes:
        image: Array `(H, W)` float64: counts per pixel when ``dose`` is set, otherwise
            the noiseless scattered fraction of the beam at each probe position.
        positions_px: Array `(N, 2)` of the true column positions ``(row, col)`` in
            pixels of the undistorted frame (every column that was rendered, including
            any outside the frame); scan offsets are not applied to them.
        labels: Array `(N,)` of integer column labels.
        pixel_size_A: Pixel size in Å.
        dose: Dose in e/Å², or None for a noiseless image.
        z_sum: Array `(N,)` of the columns' ``sum Z^n``.
        scan_offsets_A: Array `(H, 2)` of the probe offset ``(row, col)`` in Å of each scan
            line (drift and jitter): pixel ``(i, j)`` imaged the sample point
            ``(i, j) * pixel_size_A + scan_offsets_A[i]``.
    """

    image: np.ndarray
    positions_px: np.ndarray
    labels: np.ndarray
    pixel_size_A: float
    dose: float | None
    z_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scan_offsets_A: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))


def _spreading_sigma_px(band_cycles_per_px: float) -> float:
    """Width (px) of a spreading Gaussian whose aliases stay below ``_ALIAS_TOL`` in band."""
    margin = max(1.0 - 2.0 * band_cycles_per_px, 0.05)
    return max(1.0, math.sqrt(math.log(1.0 / _ALIAS_TOL) / (2.0 * math.pi**2 * margin)))


def _spread(
    coords: np.ndarray,
    weights: np.ndarray,
    canvas: tuple[int, int],
    sigma_px: tuple[float, float],
) -> np.ndarray:
    """Sum of sampled, normalised Gaussians at sub-pixel ``coords`` on a periodic canvas."""
    hc, wc = canvas
    out = np.zeros(hc * wc, dtype=np.float64)
    if coords.shape[0] == 0:
        return out.reshape(canvas)
    ry = int(math.ceil(_WINDOW_SIGMAS * sigma_px[0]))
    rx = int(math.ceil(_WINDOW_SIGMAS * sigma_px[1]))
    oy = np.arange(-ry, ry + 1)
    ox = np.arange(-rx, rx + 1)
    ny = 1.0 / (math.sqrt(2.0 * math.pi) * sigma_px[0])
    nx = 1.0 / (math.sqrt(2.0 * math.pi) * sigma_px[1])
    for start in range(0, coords.shape[0], _CHUNK):
        c = coords[start : start + _CHUNK]
        wgt = weights[start : start + _CHUNK]
        base_y = np.floor(c[:, 0]).astype(np.int64)
        base_x = np.floor(c[:, 1]).astype(np.int64)
        iy = base_y[:, None] + oy[None, :]
        ix = base_x[:, None] + ox[None, :]
        gy = ny * np.exp(-0.5 * ((iy - c[:, :1]) / sigma_px[0]) ** 2) * wgt[:, None]
        gx = nx * np.exp(-0.5 * ((ix - c[:, 1:]) / sigma_px[1]) ** 2)
        flat = (iy % hc)[:, :, None] * wc + (ix % wc)[:, None, :]
        vals = gy[:, :, None] * gx[:, None, :]
        out += np.bincount(flat.ravel(), weights=vals.ravel(), minlength=hc * wc)
    return out.reshape(canvas)


def _drift_pair(drift_A_per_line: float | Sequence[float]) -> tuple[float, float]:
    if np.ndim(drift_A_per_line) == 0:
        return 0.0, _finite("drift_A_per_line", drift_A_per_line)  # type: ignore[arg-type]
    vals = np.asarray(drift_A_per_line, dtype=np.float64).reshape(-1)
    if vals.shape != (2,) or not np.all(np.isfinite(vals)):
        raise ConfigError(
            "drift_A_per_line must be a finite number (fast-scan direction) or a finite "
            f"pair (row, col), got {drift_A_per_line!r}"
        )
    return float(vals[0]), float(vals[1])


def haadf_image(
    columns: Columns,
    *,
    shape: Sequence[int],
    pixel_size_A: float,
    probe: Probe | None = None,
    thermal_sigma_A: float = 0.08,
    cross_section_A2: float = CROSS_SECTION_A2,
    background: float = BACKGROUND,
    dose_e_per_A2: float | None = None,
    poisson: bool = True,
    scan_jitter_px: float = 0.0,
    drift_A_per_line: float | Sequence[float] = 0.0,
    seed: int | np.random.Generator | None = 0,
) -> SimulatedImage:
    """Render an incoherent HAADF-STEM image of atomic columns.

    See the module docstring for the physics and the rendering scheme.

    Args:
        columns: The columns to image (positions in Å; columns outside the frame
            contribute their probe tails).
        shape: Image shape ``(H, W)`` in pixels.
        pixel_size_A: Scan step in Å (> 0).
        probe: The probe; ``Probe()`` (200 kV, 21 mrad, no aberrations) when None.
        thermal_sigma_A: Standard deviation (Å) of the thermal smearing of each column
            (>= 0; 0.08 Å is typical at room temperature).
        cross_section_A2: HAADF cross-section per unit of ``Z^n`` in Å² (> 0).
        background: Flat background as a fraction of the incident beam (>= 0).
        dose_e_per_A2: Electron dose in e/Å² (> 0). None returns the noiseless scattered
            fraction instead of counts.
        poisson: With a dose, draw Poisson counts (True) or return the expected counts.
        scan_jitter_px: Standard deviation (pixels) of a random horizontal offset of each
            scan line (>= 0).
        drift_A_per_line: Sample drift per scan line in Å: a number (along the fast-scan,
            column direction) or a pair ``(row, col)``. Line ``i`` is offset by
            ``i * drift``; the row component must stay above ``-pixel_size_A``.
        seed: Seed or generator of the jitter and the Poisson noise.

    Returns:
        The image and its ground truth.

    Raises:
        ConfigError: If an option is out of range.

    Example:
        >>> cols = Columns(np.array([[6.4, 6.4]]), column_intensity([[79] * 3]))
        >>> sim = haadf_image(cols, shape=(64, 64), pixel_size_A=0.2, dose_e_per_A2=1e4)
        >>> sim.image.shape, bool(sim.image[32, 32] > sim.image[0, 0])
        ((64, 64), True)
    """
    if not isinstance(columns, Columns):
        raise ConfigError(f"columns must be a Columns instance, got {type(columns).__name__}")
    h, w = _shape(shape)
    p = _positive("pixel_size_A", pixel_size_A)
    probe = Probe() if probe is None else probe
    if not isinstance(probe, Probe):
        raise ConfigError(f"probe must be a Probe instance, got {type(probe).__name__}")
    sigma_th = _nonnegative("thermal_sigma_A", thermal_sigma_A)
    xsec = _positive("cross_section_A2", cross_section_A2)
    bg = _nonnegative("background", background)
    dose = None if dose_e_per_A2 is None else _positive("dose_e_per_A2", dose_e_per_A2)
    jitter = _nonnegative("scan_jitter_px", scan_jitter_px)
    drift_y, drift_x = _drift_pair(drift_A_per_line)
    if p + drift_y <= 0:
        raise ConfigError(
            f"drift_A_per_line row component {drift_y} reverses the slow scan "
            f"(it must be > -pixel_size_A = {-p})"
        )
    rng = _rng(seed)

    # Per-line probe offsets (Å): line i sits at y = i (p + drift_y), x = j p + dx[i].
    lines = np.arange(h, dtype=np.float64)
    dx = lines * drift_x
    if jitter > 0:
        dx = dx + rng.normal(0.0, jitter * p, size=h)
    offsets = np.stack([lines * drift_y, dx], axis=1)

    # Rendering grid: line spacing p_y, oversampled when the probe's band needs it.
    p_y = p + drift_y
    band = 2.0 * probe.aperture_cutoff_per_A  # 1/Å
    m_y = max(1, math.ceil(band * p_y / _MAX_BAND_CYCLES_PER_PX))
    m_x = max(1, math.ceil(band * p / _MAX_BAND_CYCLES_PER_PX))
    q_y, q_x = p_y / m_y, p / m_x
    s_y = max(_spreading_sigma_px(band * q_y), sigma_th / q_y)
    s_x = max(_spreading_sigma_px(band * q_x), sigma_th / q_x)
    reach = probe.reach_A + 4.0 * sigma_th
    pad_y = math.ceil(reach / q_y) + 1
    pad_left = math.ceil((reach + max(0.0, -float(dx.min()))) / q_x) + 1
    pad_right = math.ceil((reach + max(0.0, float(dx.max()))) / q_x) + 1
    hc = sfft.next_fast_len((h - 1) * m_y + 1 + 2 * pad_y, real=True)
    wc = sfft.next_fast_len((w - 1) * m_x + 1 + pad_left + pad_right, real=True)

    # Column positions in canvas pixels; drop columns beyond the probe's reach.
    coords = np.empty((len(columns), 2))
    coords[:, 0] = columns.positions[:, 0] / q_y + pad_y
    coords[:, 1] = columns.positions[:, 1] / q_x + pad_left
    keep = (
        (coords[:, 0] >= 0)
        & (coords[:, 0] <= hc - 1)
        & (coords[:, 1] >= 0)
        & (coords[:, 1] <= wc - 1)
        & (columns.z_sum > 0)
    )
    spread = _spread(coords[keep], xsec * columns.z_sum[keep], (hc, wc), (s_y, s_x))

    # Swap the spreading Gaussian for the thermal one and convolve with the probe.
    ky = sfft.fftfreq(hc, d=q_y)
    kx = sfft.rfftfreq(wc, d=q_x)
    corr_y = np.exp(-2.0 * np.pi**2 * (sigma_th**2 - (s_y * q_y) ** 2) * ky**2)
    corr_x = np.exp(-2.0 * np.pi**2 * (sigma_th**2 - (s_x * q_x) ** 2) * kx**2)
    spec = sfft.rfft2(spread)
    spec *= _probe_rfft(probe, (hc, wc), (q_y, q_x))
    spec *= corr_y[:, None] * corr_x[None, :]

    rows = sfft.ifft(spec, axis=0)[pad_y : pad_y + (h - 1) * m_y + 1 : m_y]
    if np.any(dx != 0):
        rows = rows * np.exp(2j * np.pi * kx[None, :] * dx[:, None])
    image = sfft.irfft(rows, n=wc, axis=1)[:, pad_left : pad_left + (w - 1) * m_x + 1 : m_x]
    # Fraction of the beam: divide the per-pixel amount by the rendering pixel's area.
    # Ringing of the band-limited convolution can leave values ~1e-12 below zero.
    fraction = np.maximum(image / (q_y * q_x), 0.0) + bg

    if dose is None:
        out = fraction
    else:
        expected = dose * p * p * fraction
        out = rng.poisson(expected).astype(np.float64) if poisson else expected
    return SimulatedImage(
        image=np.ascontiguousarray(out, dtype=np.float64),
        positions_px=np.array(columns.positions) / p,
        labels=np.array(columns.labels),
        pixel_size_A=p,
        dose=dose,
        z_sum=np.array(columns.z_sum),
        scan_offsets_A=offsets,
    )


BasisSite = tuple[float, float, "int | Sequence[int]"]

#: SrTiO3 [001]: Sr columns at the cell corners, Ti-O columns at the centres.
SRTIO3_BASIS: tuple[BasisSite, ...] = ((0.0, 0.0, 38), (0.5, 0.5, (22, 8)))


def _basis(basis: Sequence[BasisSite]) -> list[tuple[float, float, tuple[int, ...]]]:
    sites = []
    if len(basis) == 0:
        raise ConfigError("basis must hold at least one site (u, v, Z)")
    for i, site in enumerate(basis):
        try:
            u, v, z = site
        except (TypeError, ValueError):
            raise ConfigError(f"basis[{i}] must be (u, v, Z or Zs), got {site!r}") from None
        try:
            u, v = float(u), float(v)
            zs = tuple(int(x) for x in np.atleast_1d(np.asarray(z)).reshape(-1))
        except (TypeError, ValueError):
            raise ConfigError(f"basis[{i}] must be (u, v, Z or Zs), got {site!r}") from None
        if not zs or any(x < 1 for x in zs) or not (math.isfinite(u) and math.isfinite(v)):
            raise ConfigError(
                f"basis[{i}] must have finite fractional coordinates and atomic numbers "
                f">= 1, got {site!r}"
            )
        sites.append((u, v, zs))
    return sites


def synthetic_lattice(
    shape: Sequence[int],
    *,
    pixel_size_A: float,
    a_A: float,
    b_A: float | None = None,
    gamma_deg: float = 90.0,
    basis: Sequence[BasisSite] = ((0.0, 0.0, 38),),
    rotation_deg: float = 0.0,
    origin_A: Sequence[float] | None = None,
    column_atoms: int = 5,
    vacancy_fraction: float = 0.0,
    substitution_fraction: float = 0.0,
    substitution_Z: int = 57,
    defect_sites: Sequence[int] | None = None,
    exponent: float = Z_EXPONENT,
    margin_A: float = 0.0,
    seed: int | np.random.Generator | None = 0,
) -> Columns:
    """Columns of a 2-D lattice (a crystal seen down a zone axis) filling an image frame.

    Lattice vector ``a`` makes the angle ``rotation_deg`` with the column (x) axis and
    ``b`` the angle ``rotation_deg + gamma_deg``, measured from +x towards +row (so a
    positive rotation turns the lattice clockwise on screen). Each basis site
    ``(u, v, Z)`` puts a column at ``origin + u a + v b`` in every cell; ``Z`` is an atomic
    number or the tuple of atomic numbers in one repeat along the beam (``(22, 8)`` for
    a Ti-O column), and a column holds ``column_atoms`` repeats. A vacancy (label 1)
    removes one atom of the column's first species; a substitution (label 2) replaces
    one such atom by ``substitution_Z``. Each eligible column is a vacancy with
    probability ``vacancy_fraction``, else a substitution with probability
    ``substitution_fraction``.

    Args:
        shape: Frame shape ``(H, W)`` in pixels.
        pixel_size_A: Pixel size in Å.
        a_A: Length of lattice vector ``a`` (Å).
        b_A: Length of ``b`` (Å); ``a_A`` when None.
        gamma_deg: Angle between ``a`` and ``b`` (degrees, in (0, 180)).
        basis: Sites ``(u, v, Z or Zs)`` in fractional coordinates.
        rotation_deg: Rotation of the lattice (degrees).
        origin_A: Position ``(row, col)`` of one lattice point in Å; drawn uniformly in a
            cell when None.
        column_atoms: Repeats of each site's atoms along the beam (the thickness in cells).
        vacancy_fraction: Probability that a column has a vacancy.
        substitution_fraction: Probability that a column has a substitution.
        substitution_Z: Atomic number of the substituting atom.
        defect_sites: Indices of the basis sites that may carry defects; all when None.
        exponent: The ``Z^n`` exponent.
        margin_A: Keep columns whose positions lie in ``[margin_A, L - margin_A]`` along
            each axis, ``L = (n - 1) * pixel_size_A`` the frame's extent. Negative values
            extend the crystal beyond the frame.
        seed: Seed or generator of the origin and the defects.

    Returns:
        The columns, positions in Å.

    Raises:
        ConfigError: If an option is out of range.

    Example:
        >>> cols = synthetic_lattice((64, 64), pixel_size_A=0.2, a_A=4.0, seed=1)
        >>> len(cols) > 0, float(cols.z_sum[0]) == 5 * 38**1.7
        (True, True)
    """
    h, w = _shape(shape)
    p = _positive("pixel_size_A", pixel_size_A)
    a = _positive("a_A", a_A)
    b = a if b_A is None else _positive("b_A", b_A)
    gamma = _finite("gamma_deg", gamma_deg)
    if not 0.0 < gamma < 180.0 or abs(math.sin(math.radians(gamma))) < 1e-3:
        raise ConfigError(f"gamma_deg must lie in (0, 180) degrees, got {gamma_deg!r}")
    theta = math.radians(_finite("rotation_deg", rotation_deg))
    sites = _basis(basis)
    if int(column_atoms) != column_atoms or column_atoms < 1:
        raise ConfigError(f"column_atoms must be an int >= 1, got {column_atoms!r}")
    column_atoms = int(column_atoms)
    vf = _nonnegative("vacancy_fraction", vacancy_fraction)
    sf = _nonnegative("substitution_fraction", substitution_fraction)
    if vf + sf > 1.0:
        raise ConfigError(f"vacancy_fraction + substitution_fraction must be <= 1, got {vf} + {sf}")
    if int(substitution_Z) != substitution_Z or substitution_Z < 1:
        raise ConfigError(f"substitution_Z must be an int >= 1, got {substitution_Z!r}")
    if defect_sites is None:
        eligible = set(range(len(sites)))
    else:
        eligible = {int(i) for i in defect_sites}
        if any(i < 0 or i >= len(sites) for i in eligible):
            raise ConfigError(f"defect_sites must index the {len(sites)} basis sites")
    n_exp = _positive("exponent", exponent)
    margin = _finite("margin_A", margin_A)
    lo = np.array([margin, margin])
    hi = np.array([(h - 1) * p - margin, (w - 1) * p - margin])
    if np.any(hi < lo):
        raise ConfigError(f"margin_A={margin} leaves no room in a {h}x{w} frame")
    rng = _rng(seed)

    # (row, col) lattice vectors.
    va = a * np.array([math.sin(theta), math.cos(theta)])
    theta_b = theta + math.radians(gamma)
    vb = b * np.array([math.sin(theta_b), math.cos(theta_b)])
    if origin_A is None:
        origin = rng.random() * va + rng.random() * vb
    else:
        origin = np.asarray(origin_A, dtype=np.float64).reshape(-1)
        if origin.shape != (2,) or not np.all(np.isfinite(origin)):
            raise ConfigError(f"origin_A must be a finite pair (row, col), got {origin_A!r}")

    # Integer cell range covering the box [lo, hi] (solve for fractional coordinates).
    basis_mat = np.stack([va, vb], axis=1)  # columns: a, b
    inv = np.linalg.inv(basis_mat)
    corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
    frac = (corners - origin) @ inv.T
    i_lo, j_lo = np.floor(frac.min(axis=0)).astype(int) - 1
    i_hi, j_hi = np.ceil(frac.max(axis=0)).astype(int) + 1
    ii, jj = np.meshgrid(np.arange(i_lo, i_hi + 1), np.arange(j_lo, j_hi + 1), indexing="ij")
    cells = np.stack([ii.ravel(), jj.ravel()], axis=1).astype(np.float64)

    positions, z_sums, labels = [], [], []
    for s, (u, v, zs) in enumerate(sites):
        pos = origin + (cells + [u, v]) @ basis_mat.T
        inside = np.all((pos >= lo) & (pos <= hi), axis=1)
        pos = pos[inside]
        pristine = column_atoms * float(np.sum(np.asarray(zs, dtype=np.float64) ** n_exp))
        z = np.full(pos.shape[0], pristine)
        lab = np.zeros(pos.shape[0], dtype=np.int64)
        if s in eligible and (vf > 0 or sf > 0):
            draw = rng.random(pos.shape[0])
            vac = draw < vf
            sub = (draw >= vf) & (draw < vf + sf)
            z[vac] -= float(zs[0]) ** n_exp
            z[sub] += float(substitution_Z) ** n_exp - float(zs[0]) ** n_exp
            lab[vac] = 1
            lab[sub] = 2
        positions.append(pos)
        z_sums.append(z)
        labels.append(lab)
    pos = np.concatenate(positions) if positions else np.zeros((0, 2))
    order = np.lexsort((pos[:, 1], pos[:, 0]))
    return Columns(pos[order], np.concatenate(z_sums)[order], np.concatenate(labels)[order])


_LATTICE_OPTIONS = frozenset(inspect.signature(synthetic_lattice).parameters) - {
    "shape",
    "pixel_size_A",
    "a_A",
    "basis",
    "seed",
}


def simulate_lattice_image(
    shape: Sequence[int] = (256, 256),
    *,
    pixel_size_A: float = 0.2,
    a_A: float = 3.905,
    basis: Sequence[BasisSite] = SRTIO3_BASIS,
    dose_e_per_A2: float | None = None,
    probe: Probe | None = None,
    thermal_sigma_A: float = 0.08,
    cross_section_A2: float = CROSS_SECTION_A2,
    background: float = BACKGROUND,
    scan_jitter_px: float = 0.0,
    drift_A_per_line: float | Sequence[float] = 0.0,
    seed: int | np.random.Generator | None = 0,
    **lattice_options: object,
) -> SimulatedImage:
    """A HAADF image of a synthetic crystal (SrTiO3 [001]-like by default).

    The lattice (origin, defects) and the noise (jitter, Poisson counts) come from two
    independent streams derived from ``seed``, so the same seed at different doses
    images the same crystal.

    Args:
        shape: Image shape ``(H, W)``.
        pixel_size_A: Pixel size in Å (0.2 Å puts ~3 px across the probe's FWHM).
        a_A: Lattice constant (Å).
        basis: Basis sites (see :func:`synthetic_lattice`); Sr and Ti-O columns by default.
        dose_e_per_A2: Dose (e/Å²); None for the noiseless scattered fraction.
        probe: The probe; ``Probe()`` when None.
        thermal_sigma_A: Thermal smearing (Å).
        cross_section_A2: HAADF cross-section per unit of ``Z^n`` (Å²).
        background: Flat background fraction.
        scan_jitter_px: Per-line horizontal jitter (pixels).
        drift_A_per_line: Drift per line (Å), a number or ``(row, col)``.
        seed: Seed or generator.
        **lattice_options: Further keyword arguments of :func:`synthetic_lattice`.

    Returns:
        The simulated image with its ground truth.

    Example:
        >>> sim = simulate_lattice_image((128, 128), dose_e_per_A2=1e4, seed=3)
        >>> sim.image.shape, sim.positions_px.shape[1]
        ((128, 128), 2)
    """
    unknown = sorted(set(lattice_options) - _LATTICE_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown lattice option(s) {unknown}; expected some of {sorted(_LATTICE_OPTIONS)}"
        )
    rng = _rng(seed)
    lattice_seed, noise_seed = (int(s) for s in rng.integers(0, 2**63 - 1, size=2))
    columns = synthetic_lattice(
        shape,
        pixel_size_A=pixel_size_A,
        a_A=a_A,
        basis=basis,
        seed=lattice_seed,
        **lattice_options,  # type: ignore[arg-type]
    )
    return haadf_image(
        columns,
        shape=shape,
        pixel_size_A=pixel_size_A,
        probe=probe,
        thermal_sigma_A=thermal_sigma_A,
        cross_section_A2=cross_section_A2,
        background=background,
        dose_e_per_A2=dose_e_per_A2,
        scan_jitter_px=scan_jitter_px,
        drift_A_per_line=drift_A_per_line,
        seed=noise_seed,
    )
