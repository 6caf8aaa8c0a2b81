r"""Digital twins: seeded synthetic samples with known ground truth.

A twin is a :class:`~autoscope.data.spectral_image.SpectralImage` generated
from a small physical model, so the package runs, tests and benchmarks with no
external data, and every metric can be scored against the truth. Each twin is
a pure function of its keyword options: the same options (seed included)
give bit-identical arrays. Twins are registered in :data:`TWINS` and built by
name with :func:`make_twin`.

Ferroelectric film (``"twin:ferroelectric"``, :func:`ferroelectric_film`)
-------------------------------------------------------------------------

A tetragonal film with a/c stripe domains imaged by piezoresponse force
microscopy (PFM) and probed by band-excitation switching spectroscopy
(BEPS). On an ``N x N`` grid (pixel ``x = (row, col)``, lengths in pixels):

* Stripes at angle ``θ`` with period ``P`` and meandering walls. The phase is
  ``φ(x) = 2π (u(x)/P + μ·g(x)) + φ₀`` with ``u = col·cosθ + row·sinθ`` and
  ``g`` a Gaussian random field (white noise smoothed with ``σ = P/2`` and
  normalised to unit variance). A pixel is a c-domain (``domain = 1``,
  polarisation out of plane) where ``cos φ > cos(π(1 − f_a))``, otherwise an
  a-domain (``domain = 0``, in plane); ``f_a`` is the a-domain fraction.
* ``d(x)``: distance to the nearest domain wall, the Euclidean distance to
  the nearest pixel of the other domain minus half a pixel.
* Point defects at ``K`` random sites ``x_k`` with random sign ``q_k = ±1``
  (the orientation of a defect dipole): ``D(x) = Σ_k q_k exp(−|x − x_k|²/2s²)``,
  ``s = 1.5`` px.

Local switching parameters (the ground truth):

* Coercive bias ``V_c(x) = V_c⁰ [1 − α exp(−d(x)/λ)]``: walls are nucleation
  sites, so switching is easiest at a wall (``V_c⁰(1 − α)``) and hardest in
  domain interiors (→ ``V_c⁰``); ``V_c`` increases monotonically with wall
  distance.
* Imprint ``V_imp(x) = V_imp⁰ + β D(x)``: charged defect dipoles create a
  built-in field that shifts the loop along the voltage axis, locally and
  with either sign.
* Saturation response ``R_s(x)``: 1 in c-domains, ``ρ_a < 1`` in a-domains
  (the vertical PFM signal of in-plane polarisation is weak), smoothed over
  one pixel across walls.

Loops are sampled on the bipolar triangle sweep
0 → +V_max → 0 → −V_max → 0 (``n_voltage`` steps, like the BEPS PbTiO₃
file). On the ascending branch ``b = +1``, on the descending branch
``b = −1``:

``R(V) = R_s tanh((V − b V_c − V_imp)/w) + e·V + ε``,  ``ε ~ N(0, σ²)``,

with switching width ``w`` and a small electrostatic slope ``e``. The
ascending branch crosses its mid level at ``V_c + V_imp`` and the descending
branch at ``−V_c + V_imp``, so the coercive scalarizers recover
``V_c = (V⁺ − V⁻)/2`` and ``V_imp = (V⁺ + V⁻)/2``. The remanence (half the
opening at ``V = 0``) is
``R_r = ½ R_s [tanh((V_c − V_imp)/w) + tanh((V_c + V_imp)/w)]``.

Structure channels: PFM amplitude
``A = R_s [1 − 0.6 exp(−d²/2)] [1 − 0.4 |D|] + noise`` (walls and defects are
amplitude minima) and PFM phase in degrees (0 in c-, 90 in a-domains, smoothed
over one pixel, plus noise).

Ground truth: ``coercive_bias`` (V), ``imprint`` (V), ``remanence``
(response units), ``domain`` (0 = a, 1 = c), ``wall_distance`` (in
``pixel_units``).

Nanoparticle field (``"twin:nanoparticles"``, :func:`nanoparticle_field`)
-------------------------------------------------------------------------

Metal nanoparticles (discs and ellipses) on a thin amorphous support imaged
by HAADF-STEM, with a low-loss EELS spectrum at every pixel showing the
localised surface-plasmon resonance. Lengths in nm.

* Particle ``i`` has semi-axes ``a_i ≥ b_i`` (``a = b`` for a disc), a random
  orientation and equivalent radius ``R_i = √(a_i b_i)``. Particles do not
  overlap; a fraction of them is placed next to an existing particle with a
  small gap so that near-neighbour coupling occurs.
* Projected thickness of an ellipsoid with out-of-plane semi-axis ``R_i``:
  ``t(x) = 2 R_i √(1 − ρ²)``, ``ρ² = (x'/a_i)² + (y'/b_i)²`` in the particle
  frame.
* HAADF (Z-contrast, intensity ∝ thickness):
  ``I(x) = c_s (1 + 0.1 g(x)) + c_Z t(x)``, with ``g`` a smooth random field
  for the support, then Poisson noise at ``dose`` counts per unit intensity.
* Plasmon energy, redshifting with size (retardation) and with the
  proximity of neighbours (plasmon-ruler coupling):
  ``E_i = E₀ − k_R R_i − k_c Σ_{j≠i} exp(−g_ij / (0.4 R_i))``, ``g_ij`` the
  surface gap between the particles' bounding circles.
* Peak intensity: inside particle ``i`` ``A(x) = κ t(x)`` (∝ local
  thickness); outside, the aloof excitation of the nearest particle,
  ``A(x) = κ t_a exp(−δ(x)/ℓ)``, ``δ`` the distance to its edge. The peak
  position at a support pixel is that of the nearest particle.
* Spectrum: ``S(E) = B₀ (E/E_min)^(−3) + A(x) L(E; E(x), Γ)``, ``L`` a
  Lorentzian of unit height and full width ``Γ``, then Poisson noise (counts).

Ground truth: ``peak_position`` (eV), ``peak_intensity`` (counts, the peak
height ``A``), ``particle_radius`` (nm, ``R_i``; 0 on the support),
``particle_id`` (1..n; 0 on the support).

All randomness comes from one ``numpy.random.default_rng(seed)``; the model
is written here with NumPy/SciPy (``scipy.ndimage``) because no library ships
these particular twins.

Example:
    >>> twin = make_twin("ferroelectric", size=32, seed=1)
    >>> twin.spectra.shape, twin.spectral_units
    ((32, 32, 64), 'V')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from autoscope.data.functions import ackley_twin
from autoscope.data.scalarizers import bipolar_branches
from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import ConfigError

__all__ = ["TWINS", "ferroelectric_film", "make_twin", "nanoparticle_field", "triangle_sweep"]


def triangle_sweep(v_max: float, n: int) -> np.ndarray:
    """Bipolar triangle voltage sweep 0 → +v_max → 0 → −v_max → 0.

    Args:
        v_max: Amplitude in volts (> 0).
        n: Number of steps, a multiple of 4 and at least 8; the last point is
            one step before the return to 0 (the cycle is closed).

    Returns:
        Voltages `(n,)`.

    Example:
        >>> triangle_sweep(2.0, 8).tolist()
        [0.0, 1.0, 2.0, 1.0, 0.0, -1.0, -2.0, -1.0]
    """
    if int(n) != n or n < 8 or n % 4:
        raise ConfigError(f"n_voltage must be a multiple of 4 and >= 8, got {n!r}")
    if not (np.isfinite(v_max) and v_max > 0):
        raise ConfigError(f"v_max must be > 0, got {v_max!r}")
    t = 4.0 * np.arange(int(n)) / int(n)
    return float(v_max) * np.interp(t, [0.0, 1.0, 3.0, 4.0], [0.0, 1.0, -1.0, 0.0])


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_common(twin: str, size: int, seed: int) -> None:
    _check(
        isinstance(size, (int, np.integer)) and size >= 16,
        f"{twin}: size must be an int >= 16, got {size!r}",
    )
    _check(
        isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0,
        f"{twin}: seed must be a non-negative int (it is stored in the provenance), got {seed!r}",
    )


def _random_field(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Smooth Gaussian random field `(size, size)`, zero mean and unit variance."""
    field = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    field -= field.mean()
    return field / field.std()


# --------------------------------------------------------------------------- ferroelectric


def ferroelectric_film(
    *,
    size: int = 64,
    seed: int = 0,
    n_voltage: int = 64,
    v_max: float = 8.0,
    noise: float = 0.05,
    stripe_period: float = 12.0,
    a_fraction: float = 0.35,
    meander: float = 0.15,
    n_defects: int = 6,
    coercive_bulk: float = 3.0,
    wall_softening: float = 0.5,
    wall_length: float = 2.0,
    imprint_offset: float = 0.2,
    defect_imprint: float = 1.0,
    switching_width: float = 0.5,
    a_domain_response: float = 0.3,
    electrostatic_slope: float = 0.01,
    pixel_size: float = 10.0,
) -> SpectralImage:
    """PFM/BEPS twin of a ferroelectric film with a/c stripe domains.

    The model equations are in the module docstring. Lengths
    (``stripe_period``, ``wall_length``) are in pixels; voltages in V;
    responses in units of the c-domain saturation response.

    Args:
        size: Grid size ``N`` (structure and spectra are `(N, N)`).
        seed: Seed of the single random generator.
        n_voltage: Steps of the bipolar triangle sweep (multiple of 4).
        v_max: Sweep amplitude ``V_max`` (V).
        noise: Standard deviation ``σ`` of the loop noise (response units).
        stripe_period: Stripe period ``P`` (px).
        a_fraction: Area fraction ``f_a`` of a-domains, in (0, 1).
        meander: Wall meandering ``μ`` (periods per unit of the random field).
        n_defects: Number ``K`` of point defects.
        coercive_bulk: Interior coercive bias ``V_c⁰`` (V).
        wall_softening: Relative drop ``α`` of ``V_c`` at a wall, in [0, 1).
        wall_length: Decay length ``λ`` of the wall softening (px).
        imprint_offset: Uniform imprint ``V_imp⁰`` (V).
        defect_imprint: Imprint amplitude ``β`` of a defect (V).
        switching_width: Switching width ``w`` (V).
        a_domain_response: Saturation response ``ρ_a`` of a-domains.
        electrostatic_slope: Electrostatic slope ``e`` (response units per V).
        pixel_size: Pixel size in nm.

    Returns:
        A :class:`SpectralImage` named ``"twin:ferroelectric"`` with structure
        `(2, N, N)` (amplitude, phase), spectra `(N, N, n_voltage)`, voltage
        axis `(n_voltage,)` and ground truth ``coercive_bias``, ``imprint``,
        ``remanence``, ``domain``, ``wall_distance`` (nm).

    Raises:
        ConfigError: On an out-of-range option, including a loop that would
            not saturate (``V_c⁰ + |V_imp| + 2w ≥ V_max``).

    Example:
        >>> twin = ferroelectric_film(size=32, seed=0)
        >>> sorted(twin.ground_truth)
        ['coercive_bias', 'domain', 'imprint', 'remanence', 'wall_distance']
    """
    options = dict(locals())
    twin = "twin 'ferroelectric'"
    _check_common(twin, size, seed)
    voltage = triangle_sweep(v_max, n_voltage)
    _check(noise >= 0, f"{twin}: noise must be >= 0, got {noise!r}")
    _check(stripe_period >= 4, f"{twin}: stripe_period must be >= 4 px, got {stripe_period!r}")
    _check(0 < a_fraction < 1, f"{twin}: a_fraction must be in (0, 1), got {a_fraction!r}")
    _check(meander >= 0, f"{twin}: meander must be >= 0, got {meander!r}")
    _check(
        isinstance(n_defects, (int, np.integer)) and n_defects >= 0,
        f"{twin}: n_defects must be an int >= 0, got {n_defects!r}",
    )
    _check(0 <= wall_softening < 1, f"{twin}: wall_softening must be in [0, 1)")
    _check(wall_length > 0, f"{twin}: wall_length must be > 0, got {wall_length!r}")
    _check(switching_width > 0, f"{twin}: switching_width must be > 0")
    _check(0 < a_domain_response <= 1, f"{twin}: a_domain_response must be in (0, 1]")
    _check(pixel_size > 0, f"{twin}: pixel_size must be > 0, got {pixel_size!r}")
    worst = coercive_bulk + abs(imprint_offset) + abs(defect_imprint) + 2 * switching_width
    _check(
        coercive_bulk > 0 and worst < v_max,
        f"{twin}: coercive_bulk + |imprint_offset| + |defect_imprint| + 2*switching_width "
        f"= {worst:g} V must stay below v_max = {v_max:g} V so that every loop saturates",
    )

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)

    # a/c stripe domains with meandering walls
    theta = rng.uniform(np.deg2rad(20.0), np.deg2rad(70.0))
    u = cols * np.cos(theta) + rows * np.sin(theta)
    phase = 2 * np.pi * (u / stripe_period + meander * _random_field(rng, size, stripe_period / 2))
    phase += rng.uniform(0, 2 * np.pi)
    domain = np.cos(phase) > np.cos(np.pi * (1.0 - a_fraction))
    inside = ndimage.distance_transform_edt(domain)
    outside = ndimage.distance_transform_edt(~domain)
    wall_px = np.where(domain, inside, outside) - 0.5

    # point defects (dipoles of random sign)
    defects = np.zeros((size, size))
    centres = rng.uniform(0, size, size=(n_defects, 2))
    signs = rng.choice([-1.0, 1.0], size=n_defects)
    for (r0, c0), q in zip(centres, signs, strict=True):
        defects += q * np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / (2 * 1.5**2))

    # local switching parameters
    coercive = coercive_bulk * (1.0 - wall_softening * np.exp(-wall_px / wall_length))
    imprint = imprint_offset + defect_imprint * np.clip(defects, -1.0, 1.0)
    saturation = ndimage.gaussian_filter(
        np.where(domain, 1.0, a_domain_response), 1.0, mode="nearest"
    )
    w = switching_width
    remanence = 0.5 * saturation * (
        np.tanh((coercive - imprint) / w) + np.tanh((coercive + imprint) / w)
    )

    # loops
    up, down = bipolar_branches(voltage)
    branch = np.empty(voltage.size)
    branch[down] = -1.0
    branch[up] = 1.0
    argument = voltage - branch * coercive[..., None] - imprint[..., None]
    spectra = saturation[..., None] * np.tanh(argument / w) + electrostatic_slope * voltage
    spectra += noise * rng.standard_normal(spectra.shape)

    # PFM structure channels
    amplitude = saturation * (1 - 0.6 * np.exp(-(wall_px**2) / 2)) * (1 - 0.4 * np.abs(defects))
    amplitude += 0.03 * rng.standard_normal((size, size))
    pfm_phase = ndimage.gaussian_filter(np.where(domain, 0.0, 90.0), 1.0, mode="nearest")
    pfm_phase += 5.0 * rng.standard_normal((size, size))

    return SpectralImage(
        structure=np.stack([amplitude, pfm_phase]),
        spectra=spectra,
        spectral_axis=voltage,
        spectral_units="V",
        pixel_size=float(pixel_size),
        pixel_units="nm",
        name="twin:ferroelectric",
        signal_name="piezoresponse (a.u., c-domain saturation = 1)",
        channel_names=("amplitude", "phase"),
        provenance={
            "twin": "ferroelectric",
            **options,
            "stripe_angle_deg": float(np.rad2deg(theta)),
        },
        ground_truth={
            "coercive_bias": coercive,
            "imprint": imprint,
            "remanence": remanence,
            "domain": domain.astype(np.float64),
            "wall_distance": wall_px * pixel_size,
        },
    )


# --------------------------------------------------------------------------- nanoparticles


def _place_particles(
    rng: np.random.Generator,
    extent: float,
    n: int,
    radius_range: tuple[float, float],
    max_aspect: float,
    disc_fraction: float,
    neighbour_fraction: float,
    min_gap: float,
    twin: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Place non-overlapping particles.

    Returns centres `(n, 2)` (row, col in nm), semi-axes `(n, 2)`, orientation
    `(n,)` and bounding radius `(n,)`, largest particle first.
    """
    radius = np.sort(rng.uniform(*radius_range, size=n))[::-1]
    aspect = np.where(rng.random(n) < disc_fraction, 1.0, rng.uniform(1.15, max_aspect, size=n))
    semi = np.stack([radius * np.sqrt(aspect), radius / np.sqrt(aspect)], axis=1)
    angle = rng.uniform(0, np.pi, size=n)
    bound = semi[:, 0]
    centres = np.zeros((n, 2))
    for i in range(n):
        for _ in range(2000):
            if i > 0 and rng.random() < neighbour_fraction:
                j = rng.integers(i)
                direction = rng.uniform(0, 2 * np.pi)
                gap = rng.uniform(min_gap, 3.0 * min_gap)
                centre = centres[j] + (bound[i] + bound[j] + gap) * np.array(
                    [np.sin(direction), np.cos(direction)]
                )
            else:
                centre = rng.uniform(bound[i], extent - bound[i], size=2)
            if np.any(centre < bound[i]) or np.any(centre > extent - bound[i]):
                continue
            distance = np.hypot(*(centres[:i] - centre).T)
            if np.all(distance >= bound[i] + bound[:i] + min_gap):
                centres[i] = centre
                break
        else:
            raise ConfigError(
                f"{twin}: could not place {n} non-overlapping particles in a "
                f"{extent:g} nm field; use fewer or smaller particles or a larger size"
            )
    return centres, semi, angle, bound


def nanoparticle_field(
    *,
    size: int = 64,
    seed: int = 0,
    n_channels: int = 128,
    n_particles: int | None = None,
    radius_range: tuple[float, float] = (2.5, 8.0),
    max_aspect: float = 1.6,
    disc_fraction: float = 0.5,
    neighbour_fraction: float = 0.3,
    min_gap: float = 1.0,
    energy_range: tuple[float, float] = (1.0, 4.5),
    plasmon_energy: float = 3.6,
    size_shift: float = 0.06,
    coupling_shift: float = 0.15,
    peak_width: float = 0.3,
    intensity_per_nm: float = 20.0,
    aloof_thickness: float = 1.0,
    aloof_length: float = 2.0,
    background: float = 200.0,
    dose: float = 100.0,
    pixel_size: float = 1.0,
) -> SpectralImage:
    """HAADF + plasmon-EELS twin of nanoparticles on a support.

    The model equations are in the module docstring. Lengths
    (``radius_range``, ``min_gap``, ``aloof_length``, ``aloof_thickness``) are
    in nm, energies in eV, intensities in counts.

    Args:
        size: Grid size ``N`` in pixels (structure and spectra `(N, N)`).
        seed: Seed of the single random generator.
        n_channels: Number of energy channels ``S``.
        n_particles: Number of particles; ``None`` gives ``max(1, round(10 (N/64)²))``
            (10 on the default 64 x 64 field).
        radius_range: Range of equivalent radii ``R_i`` (nm).
        max_aspect: Largest ellipse aspect ratio ``a/b``.
        disc_fraction: Fraction of circular particles.
        neighbour_fraction: Probability that a particle is placed next to an
            earlier one (gap between ``min_gap`` and ``3·min_gap``).
        min_gap: Smallest gap between bounding circles (nm).
        energy_range: First and last energy of the axis (eV).
        plasmon_energy: Small-particle resonance ``E₀`` (eV).
        size_shift: Redshift ``k_R`` per nm of radius (eV/nm).
        coupling_shift: Coupling redshift ``k_c`` at zero gap (eV).
        peak_width: Lorentzian full width ``Γ`` (eV).
        intensity_per_nm: Peak height per nm of thickness ``κ`` (counts/nm).
        aloof_thickness: Equivalent thickness ``t_a`` at a particle edge (nm).
        aloof_length: Decay length ``ℓ`` of aloof excitation (nm).
        background: Zero-loss tail ``B₀`` at the first energy (counts).
        dose: HAADF counts per unit intensity (sets the Poisson noise).
        pixel_size: Pixel size (nm).

    Returns:
        A :class:`SpectralImage` named ``"twin:nanoparticles"`` with structure
        `(N, N)` (HAADF), spectra `(N, N, n_channels)` in counts, energy axis
        `(n_channels,)` in eV and ground truth ``peak_position``,
        ``peak_intensity``, ``particle_radius``, ``particle_id``.

    Raises:
        ConfigError: On an out-of-range option or when the particles do not fit.

    Example:
        >>> twin = nanoparticle_field(size=32, n_particles=3, seed=0)
        >>> int(twin.ground_truth["particle_id"].max())
        3
    """
    options = dict(locals())
    options["radius_range"] = list(radius_range)
    options["energy_range"] = list(energy_range)
    twin = "twin 'nanoparticles'"
    _check_common(twin, size, seed)
    if n_particles is None:
        n_particles = max(1, round(10 * (size / 64) ** 2))
        options["n_particles"] = n_particles
    _check(
        isinstance(n_channels, (int, np.integer)) and n_channels >= 16,
        f"{twin}: n_channels must be an int >= 16, got {n_channels!r}",
    )
    _check(
        isinstance(n_particles, (int, np.integer)) and n_particles >= 1,
        f"{twin}: n_particles must be an int >= 1, got {n_particles!r}",
    )
    r_lo, r_hi = (float(r) for r in radius_range)
    _check(0 < r_lo <= r_hi, f"{twin}: radius_range must be 0 < low <= high, got {radius_range}")
    e_lo, e_hi = (float(e) for e in energy_range)
    _check(0 < e_lo < e_hi, f"{twin}: energy_range must be 0 < low < high, got {energy_range}")
    _check(max_aspect >= 1.15, f"{twin}: max_aspect must be >= 1.15, got {max_aspect!r}")
    _check(0 <= disc_fraction <= 1, f"{twin}: disc_fraction must be in [0, 1]")
    _check(0 <= neighbour_fraction <= 1, f"{twin}: neighbour_fraction must be in [0, 1]")
    for label, value in (
        ("min_gap", min_gap),
        ("peak_width", peak_width),
        ("intensity_per_nm", intensity_per_nm),
        ("aloof_length", aloof_length),
        ("dose", dose),
        ("pixel_size", pixel_size),
    ):
        _check(value > 0, f"{twin}: {label} must be > 0, got {value!r}")
    for label, value in (
        ("size_shift", size_shift),
        ("coupling_shift", coupling_shift),
        ("aloof_thickness", aloof_thickness),
        ("background", background),
    ):
        _check(value >= 0, f"{twin}: {label} must be >= 0, got {value!r}")

    rng = np.random.default_rng(seed)
    extent = size * pixel_size
    centres, semi, angle, bound = _place_particles(
        rng, extent, n_particles, (r_lo, r_hi), max_aspect, disc_fraction,
        neighbour_fraction, min_gap, twin,
    )  # fmt: skip
    radius = np.sqrt(semi[:, 0] * semi[:, 1])

    # resonance energies: size redshift + near-neighbour coupling
    separation = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    gaps = separation - bound[:, None] - bound[None, :]
    np.fill_diagonal(gaps, np.inf)
    coupling = np.exp(-gaps / (0.4 * radius[:, None])).sum(axis=1)
    energy = plasmon_energy - size_shift * radius - coupling_shift * coupling

    # thickness and particle labels on the pixel grid (pixel centres)
    y, x = (np.mgrid[0:size, 0:size] + 0.5) * pixel_size
    thickness = np.zeros((size, size))
    labels = np.zeros((size, size), dtype=np.int64)
    for i in range(n_particles):
        dy, dx = y - centres[i, 0], x - centres[i, 1]
        along = dx * np.cos(angle[i]) + dy * np.sin(angle[i])
        across = -dx * np.sin(angle[i]) + dy * np.cos(angle[i])
        rho2 = (along / semi[i, 0]) ** 2 + (across / semi[i, 1]) ** 2
        inside = rho2 < 1.0
        thickness[inside] = 2 * radius[i] * np.sqrt(1.0 - rho2[inside])
        labels[inside] = i + 1

    # nearest particle everywhere (aloof excitation on the support)
    distance_px, (near_r, near_c) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    nearest = labels[near_r, near_c]
    edge_distance = np.maximum(distance_px - 0.5, 0.0) * pixel_size
    peak_position = energy[nearest - 1]
    peak_intensity = np.where(
        labels > 0,
        intensity_per_nm * thickness,
        intensity_per_nm * aloof_thickness * np.exp(-edge_distance / aloof_length),
    )
    particle_radius = np.where(labels > 0, radius[np.maximum(labels, 1) - 1], 0.0)

    # HAADF: support + Z-contrast ∝ thickness, Poisson noise
    haadf = 0.05 * (1 + 0.1 * _random_field(rng, size, 3.0)) + 0.05 * thickness
    haadf = rng.poisson(haadf * dose) / dose

    # low-loss EELS: zero-loss tail + Lorentzian plasmon, Poisson noise
    axis = np.linspace(e_lo, e_hi, int(n_channels))
    tail = background * (axis / e_lo) ** -3.0
    half = 0.5 * peak_width
    lorentz = 1.0 / (1.0 + ((axis - peak_position[..., None]) / half) ** 2)
    spectra = rng.poisson(tail + peak_intensity[..., None] * lorentz).astype(np.float64)

    return SpectralImage(
        structure=haadf,
        spectra=spectra,
        spectral_axis=axis,
        spectral_units="eV",
        pixel_size=float(pixel_size),
        pixel_units="nm",
        name="twin:nanoparticles",
        signal_name="low-loss EELS intensity (counts)",
        channel_names=("haadf",),
        provenance={"twin": "nanoparticles", **options},
        ground_truth={
            "peak_position": peak_position,
            "peak_intensity": peak_intensity,
            "particle_radius": particle_radius,
            "particle_id": labels.astype(np.float64),
        },
    )


# --------------------------------------------------------------------------- registry


TWINS: dict[str, Callable[..., SpectralImage]] = {
    "ferroelectric": ferroelectric_film,
    "nanoparticles": nanoparticle_field,
    "ackley": ackley_twin,
}
"""Registered twin generators by name."""


def make_twin(name: str, **options: Any) -> SpectralImage:
    """Generate a registered twin by name.

    Args:
        name: A key of :data:`TWINS` (``"ferroelectric"``, ``"nanoparticles"``).
        **options: Keyword options of the generator (``size``, ``seed``, ...).

    Returns:
        The generated :class:`SpectralImage`.

    Raises:
        ConfigError: Unknown twin name, unknown option or invalid value.

    Example:
        >>> make_twin("nanoparticles", size=32, n_particles=2).name
        'twin:nanoparticles'
    """
    if name not in TWINS:
        raise ConfigError(f"unknown twin {name!r}; available: {', '.join(sorted(TWINS))}")
    generator = TWINS[name]
    allowed = list(inspect.signature(generator).parameters)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"twin {name!r} got unknown option(s) {unknown}; allowed: {allowed}")
    return generator(**options)
