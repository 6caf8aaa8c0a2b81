"""EDX line fits: known lines recovered within errors, real reference spectra, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.analysis.edx import (
    ATOMIC_WEIGHTS,
    ELEMENTS,
    MN_KA_KEV,
    background_basis,
    fit_spectra,
    fit_spectrum,
    fwhm_kev,
    identify_elements,
    line_shapes,
    quantify,
    xray_lines,
)
from autoscope.errors import ConfigError, DataError

ENERGY = np.arange(0.1, 12.0, 0.01)
TRUE = {"Si": 6000.0, "Fe": 3000.0, "Cu": 2000.0}


def synthetic(rng, *, offset=0.0, fwhm=130.0, scale=1.0):
    """A spectrum with known net counts over a smooth background `(S,)`."""
    lo, hi = 0.2, ENERGY[-1]
    elements = tuple(TRUE)
    shapes, names, quantified = line_shapes(
        ENERGY, elements, lo=lo, hi=hi, offset_kev=offset, fwhm_mn_ev=fwhm
    )
    amplitudes = []
    for name in names:
        element, family = name.split("_")
        # The quantified family carries the true counts; others (Fe L, Cu L) a tenth.
        main = quantified[elements.index(element)] == family
        amplitudes.append(TRUE[element] * scale * (1.0 if main else 0.1))
    background = scale * (30.0 * np.exp(-ENERGY / 2.5) + 3.0)
    return rng.poisson(shapes @ np.array(amplitudes) + background).astype(float)


def test_line_table_covers_the_elements_needed():
    needed = "C N O Na Mg Al Si P S Cl K Ca Ti Cr Mn Fe Co Ni Cu Zn Ga Ge Mo Ag Pt Au Pb".split()
    assert set(needed) <= set(ELEMENTS) <= set(ATOMIC_WEIGHTS)
    for element in ELEMENTS:
        lines = xray_lines(element)
        for family in {ln.family for ln in lines}:
            assert [ln.weight for ln in lines if ln.family == family].count(1.0) == 1
    assert [ln.energy for ln in xray_lines("Pt") if ln.name in ("La", "Ma")] == [9.442, 2.048]


def test_resolution_model():
    assert fwhm_kev(MN_KA_KEV, fwhm_mn_ev=130.0) == pytest.approx(0.130)
    widths = fwhm_kev(np.array([0.5, 1.7, 8.0, 20.0]))
    assert np.all(np.diff(widths) > 0)
    assert fwhm_kev(0.0, fwhm_mn_ev=100.0) * 1000 == pytest.approx(40.0)  # the floor


def test_synthetic_net_counts_recovered_within_errors():
    rng = np.random.default_rng(0)
    fit = fit_spectrum(synthetic(rng), ENERGY, list(TRUE))
    assert fit.families == ("K", "K", "K")
    truth = np.array(list(TRUE.values()))
    assert np.all(np.abs(fit.net_counts - truth) < 4 * fit.net_sigma)
    assert np.all(fit.net_sigma < 0.05 * truth)
    assert fit.deviance / fit.dof == pytest.approx(1.0, abs=0.15)
    assert np.allclose(fit.net_sigma, np.sqrt(np.diag(fit.covariance)))


def test_uncertainties_are_calibrated_over_replicates():
    rng = np.random.default_rng(1)
    spectra = np.array([synthetic(rng, scale=0.2) for _ in range(40)])
    fits = fit_spectra(spectra, ENERGY, list(TRUE))
    truth = 0.2 * np.array(list(TRUE.values()))
    pulls = np.array([(f.net_counts - truth) / f.net_sigma for f in fits])
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.6)
    assert np.all((pulls.std(axis=0) > 0.6) & (pulls.std(axis=0) < 1.5))


def test_calibration_recovers_offset_and_resolution():
    rng = np.random.default_rng(2)
    counts = synthetic(rng, offset=0.03, fwhm=145.0, scale=3.0)
    fit = fit_spectrum(counts, ENERGY, list(TRUE), calibrate=True)
    assert fit.offset_kev == pytest.approx(0.03, abs=0.004)
    assert fit.fwhm_mn_ev == pytest.approx(145.0, abs=6.0)
    truth = 3.0 * np.array(list(TRUE.values()))
    assert np.all(np.abs(fit.net_counts - truth) < 4 * fit.net_sigma)


def test_identify_finds_the_synthetic_elements():
    counts = synthetic(np.random.default_rng(3))
    found = identify_elements(counts, ENERGY, candidates=["Si", "Fe", "Cu", "Al", "Ni", "Zn"])
    assert set(found) == set(TRUE)


def test_quantify_counts_and_cliff_lorimer():
    fit = fit_spectrum(synthetic(np.random.default_rng(4)), ENERGY, list(TRUE))
    counts = quantify(fit)
    assert counts.basis == "count fraction"
    assert counts.fractions.sum() == pytest.approx(1.0)
    assert counts.fractions == pytest.approx(fit.net_counts / fit.net_counts.sum())
    # Numerical check of the propagated sigma of the first fraction.
    eps = 1e-3
    grad = []
    for j in range(3):
        bumped = fit.net_counts.copy()
        bumped[j] += eps
        grad.append((bumped[0] / bumped.sum() - counts.fractions[0]) / eps)
    grad = np.array(grad)
    assert counts.sigmas[0] == pytest.approx(np.sqrt(grad @ fit.covariance @ grad), rel=1e-3)

    k = {"Si": 1.0, "Fe": 1.4, "Cu": 1.6}
    atomic = quantify(fit, method="cliff-lorimer", k_factors=k)
    assert atomic.basis == "atomic fraction" and atomic.k_factors == k
    c = np.array([k[e] / ATOMIC_WEIGHTS[e] for e in TRUE]) * fit.net_counts
    assert atomic.fractions == pytest.approx(c / c.sum())
    batch = quantify([fit, fit], method="cliff-lorimer", k_factors=k)
    assert batch.fractions.shape == (2, 3)


def test_fept_reference_spectrum_gives_fe_and_pt(data_dir):
    from autoscope.data.readers import read

    spectral = read(data_dir / "edx_reference_spectra" / "EDS_TEM_FePt_nanoparticles.hspy")
    counts = spectral.spectra.reshape(-1)
    energy = spectral.spectral_axis
    found = identify_elements(counts, energy, calibrate=True)
    assert {"Fe", "Pt", "Cu"} <= set(found)  # Cu: the grid
    heavy = {e for e in found if e in ELEMENTS[ELEMENTS.index("Ti") :]}
    assert heavy == {"Fe", "Pt", "Cu"}
    fit = fit_spectrum(counts, energy, found, calibrate=True)
    z = dict(zip(fit.elements, fit.significance(), strict=True))
    assert z["Fe"] > 20 and z["Pt"] > 50
    assert fit.families[fit.elements.index("Pt")] == "L"
    assert abs(fit.offset_kev) < 0.02


def test_sem_reference_spectrum_finds_only_known_elements(data_dir):
    from autoscope.data.readers import read

    spectral = read(data_dir / "edx_reference_spectra" / "EDS_SEM_TM002.hspy")
    found = identify_elements(spectral.spectra.reshape(-1), spectral.spectral_axis, calibrate=True)
    # BAM EDS-TM002: Al, C, Cu, Mn, Zr (plus O from the surface).
    assert {"Al", "C", "Mn", "Zr"} <= set(found) <= {"Al", "C", "Cu", "Mn", "Zr", "O"}


def test_background_basis_is_chebyshev():
    basis = background_basis(np.linspace(0.0, 2.0, 5), 0.0, 2.0, 3)
    assert basis.shape == (5, 4)
    assert basis[:, 2] == pytest.approx([1.0, -0.5, -1.0, -0.5, 1.0])


@pytest.mark.parametrize(
    ("counts", "energy", "elements", "error", "match"),
    [
        (np.ones(100), np.linspace(0.1, 10, 99), ["Si"], DataError, "99 values"),
        (np.r_[np.nan, np.ones(99)], np.linspace(0.1, 10, 100), ["Si"], DataError, "NaN"),
        (np.ones(100), np.linspace(10, 0.1, 100), ["Si"], DataError, "strictly increasing"),
        (np.ones(100), np.linspace(100, 10000, 100), ["Si"], DataError, "keV"),
        (-np.ones(100), np.linspace(0.1, 10, 100), ["Si"], DataError, "negative"),
        (np.ones((2, 100)), np.linspace(0.1, 10, 100), ["Si"], DataError, r"\(S,\)"),
        (np.ones(100), np.linspace(0.1, 10, 100), ["Xx"], ConfigError, "unknown element"),
        (np.ones(100), np.linspace(0.1, 10, 100), ["SI"], ConfigError, "case-sensitive"),
        (np.ones(100), np.linspace(0.1, 10, 100), [], ConfigError, "empty"),
        (np.ones(100), np.linspace(0.1, 10, 100), ["Si", "Si"], ConfigError, "duplicates"),
        (np.ones(100), np.linspace(0.1, 1.5, 100), ["Si"], DataError, "no line of Si"),
    ],
)
def test_bad_input_errors(counts, energy, elements, error, match):
    with pytest.raises(error, match=match):
        fit_spectrum(counts, energy, elements)


def test_bad_options_errors():
    counts, energy = np.ones(200), np.linspace(0.1, 10, 200)
    with pytest.raises(ConfigError, match="energy_range"):
        fit_spectrum(counts, energy, ["Si"], energy_range=(5.0, 1.0))
    with pytest.raises(ConfigError, match="degree"):
        fit_spectrum(counts, energy, ["Si"], degree=-1)
    with pytest.raises(ConfigError, match="fwhm_mn_ev"):
        fit_spectrum(counts, energy, ["Si"], fwhm_mn_ev=0)
    fit = fit_spectrum(counts, energy, ["Si"])
    with pytest.raises(ConfigError, match="needs k_factors"):
        quantify(fit, method="cliff-lorimer")
    with pytest.raises(ConfigError, match="missing"):
        quantify(fit, method="cliff-lorimer", k_factors={"O": 1.0})
    with pytest.raises(ConfigError, match="unknown method"):
        quantify(fit, method="zaf")
    with pytest.raises(ConfigError, match="only used"):
        quantify(fit, k_factors={"Si": 1.0})
