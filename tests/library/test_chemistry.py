"""Particle chemistry: synthetic two-class scenes, co-registration, real SiO2 and Bruker data."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from skimage.draw import disk

from autoscope.analysis.edx import line_shapes
from autoscope.analysis.masks import SLICMasks
from autoscope.errors import ConfigError, DataError
from autoscope.library.chemistry import (
    SUPPORT,
    default_classes,
    load_particle_data,
    particle_chemistry,
)
from autoscope.library.chemistry_plots import (
    plot_class_spectra,
    plot_particle_overlay,
    write_particle_report,
)

ENERGY = np.arange(0.0, 10.24, 0.02)
ELEMENTS = ["Si", "O", "Fe", "C", "Cu"]
SILICA = [(14, 14), (14, 46), (30, 30)]
IRON = [(46, 14), (46, 46), (52, 30)]


def _spectrum(amounts: dict[str, float]) -> np.ndarray:
    shapes, names, quantified = line_shapes(ENERGY, list(amounts), lo=0.2, hi=ENERGY[-1])
    total = np.zeros(len(ENERGY))
    for k, element in enumerate(amounts):
        total += amounts[element] * shapes[:, names.index(f"{element}_{quantified[k]}")]
    return total


def scene(seed: int = 0, size: int = 64):
    """HAADF `(size, size)` with silica and iron particles on a C film, and its EDX cube."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 0.1)
    expected = np.zeros((size, size, len(ENERGY)))
    background = 0.02 * np.exp(-ENERGY / 3.0) + 0.002
    expected += _spectrum({"C": 3.0, "Cu": 0.3}) + background
    for centres, amounts, level in (
        (SILICA, {"Si": 6.0, "O": 5.0}, 0.6),
        (IRON, {"Fe": 6.0, "O": 1.0}, 1.0),
    ):
        for centre in centres:
            rr, cc = disk(centre, 5, shape=image.shape)
            image[rr, cc] = level
            expected[rr, cc] += _spectrum(amounts) + 2 * background
    image += rng.normal(0, 0.02, image.shape)
    return image, rng.poisson(expected).astype(np.uint16)


@pytest.fixture(scope="module")
def synthetic_table():
    image, cube = scene()
    classes = {"silica": ["Si", "O"], "iron": ["Fe"]}
    table = particle_chemistry(
        image, cube, ENERGY, elements=ELEMENTS, classes=classes, pixel_size=2.0, name="twin"
    )
    return image, table


def _class_of(table, centre):
    distances = [np.hypot(*(table.centroid[r] - centre)) for r in range(1, len(table.label))]
    return table.class_name[1 + int(np.argmin(distances))]


def test_two_classes_are_told_apart(synthetic_table):
    _, table = synthetic_table
    assert table.n_particles == len(SILICA) + len(IRON)
    assert table.class_name[0] == SUPPORT and table.label[0] == 0
    assert [_class_of(table, c) for c in SILICA] == ["silica"] * 3
    assert [_class_of(table, c) for c in IRON] == ["iron"] * 3
    assert np.all(table.class_probability[1:] > 0.9)
    assert table.probabilities.shape == (7, 3)
    assert np.allclose(table.probabilities.sum(axis=1), 1.0)
    # Fractions: Si high on silica, Fe high on iron, C highest on the support.
    si, fe, c = (table.elements.index(e) for e in ("Si", "Fe", "C"))
    silica_rows = [r for r in range(1, 7) if table.class_name[r] == "silica"]
    iron_rows = [r for r in range(1, 7) if table.class_name[r] == "iron"]
    assert np.all(table.fractions[silica_rows, si] > table.fractions[0, si] + 5 * 0.01)
    assert np.all(table.fractions[iron_rows, fe] > 0.3)
    assert table.fractions[0, c] > 0.7
    assert np.all(np.isfinite(table.sigmas)) and np.all(table.sigmas >= 0)


def test_geometry_in_nm(synthetic_table):
    _, table = synthetic_table
    # A radius-5 disk has 81 pixels; minus nothing (threshold on a clean disk).
    particles = table.area_px[1:]
    assert np.all((particles > 60) & (particles < 100))
    assert table.unit == "nm"
    assert table.area[1:] == pytest.approx(particles * 4.0)
    assert table.equivalent_diameter[1:] == pytest.approx(2 * np.sqrt(particles / np.pi) * 2.0)
    assert np.isnan(table.centroid[0]).all()


def test_default_classes_are_dominant_excess_element():
    image, cube = scene(seed=1)
    table = particle_chemistry(image, cube, ENERGY, elements=ELEMENTS)
    assert table.class_names == (SUPPORT, *default_classes(ELEMENTS))
    assert [_class_of(table, c) for c in IRON] == ["Fe-rich"] * 3
    assert {_class_of(table, c) for c in SILICA} <= {"Si-rich", "O-rich"}


def test_binned_cube_and_other_mask_generator():
    image, cube = scene(seed=2)
    binned = cube.reshape(32, 2, 32, 2, -1).sum(axis=(1, 3))
    table = particle_chemistry(image, binned, ENERGY, elements=ELEMENTS, classes={"iron": ["Fe"]})
    assert table.binning == 2
    assert table.n_particles == 6
    assert [_class_of(table, c) for c in IRON] == ["iron"] * 3
    slic = particle_chemistry(
        image, cube, ENERGY, elements=ELEMENTS, mask_generator=SLICMasks(n_segments=300)
    )
    assert slic.n_particles >= 4


def test_not_coregistered_raises():
    image, cube = scene(seed=3)
    with pytest.raises(DataError, match="not co-registered"):
        particle_chemistry(image, cube[:30, :30], ENERGY, elements=ELEMENTS)
    with pytest.raises(DataError, match="not co-registered"):
        particle_chemistry(image[:, :48], cube[:32, :32], ENERGY, elements=ELEMENTS)
    with pytest.raises(DataError, match="channels"):
        particle_chemistry(image, cube, ENERGY[:-1], elements=ELEMENTS)
    with pytest.raises(DataError, match=r"\(H, W, S\)"):
        particle_chemistry(image, cube[:, :, 0], ENERGY, elements=ELEMENTS)


def test_bad_options_raise():
    image, cube = scene(seed=4)
    with pytest.raises(ConfigError, match="class 'x'"):
        particle_chemistry(image, cube, ENERGY, elements=ELEMENTS, classes={"x": ["Au"]})
    with pytest.raises(ConfigError, match="always a class"):
        particle_chemistry(image, cube, ENERGY, elements=ELEMENTS, classes={SUPPORT: ["C"]})
    with pytest.raises(ConfigError, match="min_area_px"):
        particle_chemistry(image, cube, ENERGY, elements=ELEMENTS, min_area_px=0)
    with pytest.raises(DataError, match="no EDX pixel is free"):
        particle_chemistry(
            image, cube, ENERGY, elements=ELEMENTS, mask_generator=lambda im: np.ones((1, 64, 64))
        )


def test_csv_json_plots_and_report(synthetic_table, tmp_path):
    image, table = synthetic_table
    table.to_csv(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7 and rows[0]["class"] == SUPPORT
    assert {"Si_fraction", "Si_sigma", "equivalent_diameter_nm", "class_probability"} <= set(
        rows[0]
    )
    document = json.loads(table.to_json(tmp_path / "t.json").read_text())
    assert document["summary"]["particles_per_class"] == {SUPPORT: 0, "silica": 3, "iron": 3}
    assert document["rows"][0]["centroid_row_px"] is None
    assert plot_particle_overlay(image, table).axes
    assert len(plot_class_spectra(table).axes) == 3
    page = write_particle_report(table, image, tmp_path / "report", command="autoscope particles")
    assert "data:image/png;base64," in page.read_text()
    for name in ("particles.csv", "particles.json", "overlay.png", "spectra.png"):
        assert (tmp_path / "report" / name).exists()


def test_real_sio2_particles_enriched_in_si_and_o(data_dir):
    folder = data_dir / "nanoparticles_sio2_edx_si"
    data = load_particle_data(
        folder / "SiO2_HAADF_Image.hspy", folder / "SiO2_EDS_Spectrum_Image.hspy"
    )
    assert data.image.shape == (128, 128) and data.edx.shape == (128, 128, 2048)
    assert data.pixel_size == pytest.approx(8.55, abs=0.01)
    table = particle_chemistry(
        data.image,
        data.edx,
        data.energy_keV,
        elements=["Si", "O", "C", "Cu"],
        pixel_size=data.pixel_size,
    )
    assert table.n_particles > 100
    assert 0.01 < table.offset_kev < 0.05  # this file's energy axis reads ~30 eV high
    si, o, c = (table.elements.index(e) for e in ("Si", "O", "C"))
    particles = table.fractions[1:]
    for index in (si, o):
        support = table.fractions[0, index]
        assert np.median(particles[:, index]) > support + 10 * table.sigmas[0, index]
        assert np.mean(particles[:, index] > support) > 0.95
    assert np.median(particles[:, c]) < table.fractions[0, c]
    assert table.class_name.count("Si-rich") > 0.9 * table.n_particles
    assert 30 < np.median(table.equivalent_diameter[1:]) < 80  # nm


def test_real_bruker_file_holds_image_and_cube(data_dir):
    data = load_particle_data(data_dir / "nanoparticles_edx_si_bruker" / "test_TEM.bcf")
    assert data.image.shape == (64, 64) and data.edx.shape == (64, 64, 2048)
    assert data.energy_keV[0] < 0 < data.energy_keV[-1]
    table = particle_chemistry(
        data.image, data.edx, data.energy_keV, elements=["Si", "Ti", "O", "C"]
    )
    assert table.n_particles >= 1
    assert table.class_name[0] == SUPPORT


def test_missing_cube_is_a_data_error(data_dir):
    path = data_dir / "nanoparticles_sio2_edx_si" / "SiO2_HAADF_Image.hspy"
    with pytest.raises(DataError, match="no EDX spectrum image"):
        load_particle_data(path)
