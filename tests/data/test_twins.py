"""Digital twins: the physics stated in the module docstring, determinism, contract."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.stats import spearmanr

from autoscope.data.scalarizers import make_scalarizer
from autoscope.data.spectral_image import SpectralImage
from autoscope.data.twins import (
    TWINS,
    ferroelectric_film,
    make_twin,
    nanoparticle_field,
    triangle_sweep,
)
from autoscope.errors import ConfigError

EXPECTED = {
    "ferroelectric": (
        "twin:ferroelectric",
        "V",
        {"coercive_bias", "imprint", "remanence", "domain", "wall_distance"},
    ),
    "nanoparticles": (
        "twin:nanoparticles",
        "eV",
        {"peak_position", "peak_intensity", "particle_radius", "particle_id"},
    ),
    "ackley": ("twin:ackley", "", {"ackley"}),
}


@pytest.fixture(scope="module")
def film() -> SpectralImage:
    return ferroelectric_film(seed=3)


@pytest.fixture(scope="module")
def particles() -> SpectralImage:
    return nanoparticle_field(seed=3)


def test_registry_is_covered() -> None:
    assert set(TWINS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(TWINS))
class TestRegistryContract:
    def test_shapes_units_provenance(self, name: str) -> None:
        twin = make_twin(name, size=32, seed=5)
        label, units, truth = EXPECTED[name]
        assert isinstance(twin, SpectralImage)
        assert twin.name == label and twin.spectral_units == units
        assert twin.shape == (32, 32) and twin.spectrum_grid_shape == (32, 32)
        assert twin.spectra.shape[:2] == (32, 32)
        assert twin.spectral_axis.shape == (twin.n_channels,)
        assert twin.pixel_units == ("px" if name == "ackley" else "nm")
        assert twin.pixel_size > 0 and twin.signal_name
        assert set(twin.ground_truth) == truth
        assert all(np.all(np.isfinite(v)) for v in twin.ground_truth.values())
        assert twin.provenance["twin"] == name and twin.provenance["seed"] == 5
        assert twin.provenance["size"] == 32
        twin.describe()  # JSON-friendly summary works

    def test_determinism(self, name: str) -> None:
        a, b = make_twin(name, size=32, seed=7), make_twin(name, size=32, seed=7)
        c = make_twin(name, size=32, seed=8)
        assert np.array_equal(a.structure, b.structure) and np.array_equal(a.spectra, b.spectra)
        for key in a.ground_truth:
            assert np.array_equal(a.ground_truth[key], b.ground_truth[key])
        assert not np.array_equal(a.spectra, c.spectra)
        assert not np.array_equal(a.structure, c.structure)

    def test_unknown_and_bad_options(self, name: str) -> None:
        with pytest.raises(ConfigError, match="unknown option"):
            make_twin(name, colour="red")
        with pytest.raises(ConfigError, match="size"):
            make_twin(name, size=4)
        with pytest.raises(ConfigError, match="seed"):
            make_twin(name, seed=-1)


def test_unknown_twin_lists_available() -> None:
    with pytest.raises(ConfigError, match="ackley, ferroelectric, nanoparticles"):
        make_twin("graphene")


# --------------------------------------------------------------------------- ferroelectric


def test_triangle_sweep_matches_beps_layout() -> None:
    v = triangle_sweep(8.5, 64)
    assert v[0] == 0 and v[16] == 8.5 and v[32] == 0 and v[48] == -8.5
    assert v[63] == pytest.approx(-8.5 / 16)
    with pytest.raises(ConfigError, match="multiple of 4"):
        triangle_sweep(8.0, 62)


def _coercive(twin: SpectralImage) -> tuple[np.ndarray, np.ndarray]:
    spectra = twin.spectra.reshape(-1, twin.n_channels)
    v_plus = make_scalarizer("coercive-positive")(spectra, twin.spectral_axis)
    v_minus = make_scalarizer("coercive-negative")(spectra, twin.spectral_axis)
    return (v_plus - v_minus) / 2, (v_plus + v_minus) / 2


def test_coercive_bias_recovered_and_rises_with_wall_distance(film: SpectralImage) -> None:
    coercive, _ = _coercive(film)
    truth = film.ground_truth
    # the scalarizers recover V_c = (V+ - V-)/2 from the noisy loops
    assert spearmanr(coercive, truth["coercive_bias"].ravel())[0] > 0.9
    assert np.abs(coercive - truth["coercive_bias"].ravel()).mean() < 0.1
    # walls nucleate switching: V_c increases with wall distance (documented sign: +)
    assert spearmanr(coercive, truth["wall_distance"].ravel())[0] > 0.5
    near = truth["wall_distance"].ravel() < film.pixel_size
    far = truth["wall_distance"].ravel() > 4 * film.pixel_size
    assert coercive[near].mean() < coercive[far].mean() - 0.5


def test_imprint_recovered(film: SpectralImage) -> None:
    _, imprint = _coercive(film)
    truth = film.ground_truth["imprint"].ravel()
    assert np.corrcoef(imprint, truth)[0, 1] > 0.8
    # defects shift the loop both ways around the uniform imprint
    offset = film.provenance["imprint_offset"]
    assert truth.min() < offset - 0.3 and truth.max() > offset + 0.3


def test_a_domains_have_weak_loops_and_amplitude(film: SpectralImage) -> None:
    truth = film.ground_truth
    domain = truth["domain"].ravel() > 0.5
    assert 0.4 < domain.mean() < 0.85  # c-fraction near 1 - a_fraction = 0.65
    spectra = film.spectra.reshape(-1, film.n_channels)
    area = make_scalarizer("loop-area")(spectra, film.spectral_axis)
    assert area[domain].mean() > 2 * area[~domain].mean()
    remanence = truth["remanence"].ravel()
    assert remanence[domain].mean() > 2 * remanence[~domain].mean()
    # the loop opening at 0 V follows the remanence map
    height = make_scalarizer("loop-height")(spectra, film.spectral_axis)
    assert np.corrcoef(height, remanence)[0, 1] > 0.8


def test_walls_are_amplitude_minima(film: SpectralImage) -> None:
    amplitude = film.structure[0].ravel()
    truth = film.ground_truth
    c_domain = truth["domain"].ravel() > 0.5
    wall = truth["wall_distance"].ravel() < film.pixel_size
    interior = truth["wall_distance"].ravel() > 3 * film.pixel_size
    assert amplitude[c_domain & wall].mean() < 0.7 * amplitude[c_domain & interior].mean()
    phase = film.structure[1].ravel()
    assert phase[~c_domain].mean() > phase[c_domain].mean() + 45


def test_loops_saturate_and_follow_voltage_layout(film: SpectralImage) -> None:
    v = film.spectral_axis
    assert v.max() == 8.0 and v.min() == -8.0 and v.size == 64
    mean_loop = film.spectra[film.ground_truth["domain"] > 0.5].mean(axis=0)
    assert mean_loop[np.argmax(v)] > 0.9 and mean_loop[np.argmin(v)] < -0.9


def test_ferroelectric_rejects_unsaturated_loops() -> None:
    with pytest.raises(ConfigError, match="saturates"):
        ferroelectric_film(v_max=3.0)


# --------------------------------------------------------------------------- nanoparticles


def _particle_peaks(twin: SpectralImage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = twin.ground_truth["particle_id"].astype(int)
    far = ndimage.distance_transform_edt(ids == 0) > 8
    background = twin.spectra[far].mean(axis=0)
    radius, measured, truth = [], [], []
    for i in range(1, ids.max() + 1):
        inside = ids == i
        spectrum = twin.spectra[inside].mean(axis=0) - background
        measured.append(twin.spectral_axis[np.argmax(spectrum)])
        radius.append(twin.ground_truth["particle_radius"][inside][0])
        truth.append(twin.ground_truth["peak_position"][inside][0])
    return np.array(radius), np.array(measured), np.array(truth)


def test_plasmon_redshifts_with_particle_radius(particles: SpectralImage) -> None:
    radius, measured, truth = _particle_peaks(particles)
    assert radius.size == 10 and np.all(radius >= 2.5) and np.all(radius <= 8.0)
    step = particles.spectral_axis[1] - particles.spectral_axis[0]
    # the spectra carry the ground-truth peak position (argmax within one channel)
    assert np.abs(measured - truth).max() <= 1.5 * step
    # documented sign: larger particles resonate at lower energy
    assert spearmanr(radius, measured)[0] < -0.7


def test_neighbour_coupling_redshifts_further() -> None:
    redshift, gap = [], []
    for seed in range(4):
        coupled = nanoparticle_field(seed=seed)
        isolated = nanoparticle_field(seed=seed, coupling_shift=0.0)
        ids = coupled.ground_truth["particle_id"].astype(int)
        assert np.array_equal(ids, isolated.ground_truth["particle_id"])
        shift = isolated.ground_truth["peak_position"] - coupled.ground_truth["peak_position"]
        assert np.all(shift >= 0)
        for i in range(1, ids.max() + 1):
            distance = ndimage.distance_transform_edt(ids != i)
            gap.append(distance[(ids > 0) & (ids != i)].min())
            redshift.append(shift[ids == i][0])
    assert spearmanr(redshift, gap)[0] < -0.4


def test_particle_maps_and_haadf_contrast(particles: SpectralImage) -> None:
    truth = particles.ground_truth
    on_particle = truth["particle_id"] > 0
    assert np.all(truth["particle_radius"][~on_particle] == 0)
    assert np.all(truth["particle_radius"][on_particle] > 0)
    # intensity ∝ thickness inside, aloof tail outside
    assert truth["peak_intensity"][on_particle].mean() > 10 * truth["peak_intensity"][
        ~on_particle
    ].mean()
    haadf = particles.image
    assert haadf[on_particle].mean() > 3 * haadf[~on_particle].mean()
    # Z-contrast: HAADF inside particles grows with the plasmon intensity (both ∝ thickness)
    assert spearmanr(haadf[on_particle], truth["peak_intensity"][on_particle])[0] > 0.7


def test_overcrowded_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match="could not place"):
        nanoparticle_field(size=16, n_particles=20)


# --------------------------------------------------------------------------- ackley


def test_ackley_values_and_layout() -> None:
    from autoscope.data.functions import ACKLEY_BOUND, ackley

    assert ackley(np.zeros((1, 4)))[0] == pytest.approx(0.0, abs=1e-12)
    assert ackley(np.ones((1, 2)))[0] == pytest.approx(3.6253849384403627)
    twin = make_twin("ackley", size=16, dim=4, seed=1)
    x = (2 * np.moveaxis(twin.structure, 0, -1).reshape(-1, 4) - 1) * ACKLEY_BOUND
    np.testing.assert_allclose(twin.spectra.reshape(-1), ackley(x))
    assert 0 <= twin.spectra.min() and twin.spectra.max() <= 22.72
