"""``autoscope analyze`` and the file pipeline behind it, on every real image family."""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from autoscope.analysis.pipeline import analyze_file, load_image
from autoscope.cli import app
from autoscope.errors import ConfigError, DataError

runner = CliRunner()
TINY = {"population": 8, "generations": 2, "progress": False}


def test_load_image_picks_channels_bins_and_converts_to_nm(data_dir):
    pfm = data_dir / "pfm_domains_dtmicroscope" / "PZT_final0001.h5"
    phase = load_image(pfm, channel="phase")
    assert "PhaseRetrace" in phase.name and phase.unit == "nm"
    assert phase.pixel_size == pytest.approx(7.843, rel=1e-3)  # metres in the file
    binned = load_image(pfm, channel="PhaseRetrace", binning=4)
    assert binned.image.shape == (64, 64) and binned.pixel_size == pytest.approx(4 * 7.843, 1e-3)
    assert np.allclose(binned.image[0, 0], phase.image[:4, :4].mean())
    adf = load_image(data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5")
    assert adf.pixel_size is None and adf.unit == "px"  # the file stores no unit
    assert (
        load_image(
            data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5", pixel_size=0.00933
        ).pixel_size
        == 0.00933
    )
    with pytest.raises(DataError, match="more than one channel"):
        load_image(pfm, channel="nap")
    with pytest.raises(DataError, match="out of range"):
        load_image(pfm, channel=12)


@pytest.mark.parametrize(
    ("relative", "task", "options", "channel"),
    [
        ("stem_adf_abf_srtio3/test_ADF_cropped.hdf5", "atoms", {"atoms_per_cell": 2}, 0),
        ("pfm_domains_scifidatasets/PTO_110_Virgin0001.gwy", "walls", {}, "PhaseRetrace"),
        ("nanoparticles_sio2_edx_si/SiO2_HAADF_Image.hspy", "particles", {"diameter": 43.0}, 0),
    ],
)
def test_analyze_file_on_real_images(data_dir, tmp_path, relative, task, options, channel):
    outcome = analyze_file(
        data_dir / relative,
        task,
        tmp_path,
        channel=channel,
        workflow_options=options,
        seed=1,
        **TINY,
    )
    assert outcome.n_detections > 0
    for name in (
        "index.html",
        "pareto.png",
        "overlay_chosen.png",
        "convergence.png",
        "detections.csv",
        "front.csv",
        "result.json",
    ):
        assert (tmp_path / name).exists(), name
    summary = json.loads((tmp_path / "result.json").read_text())
    assert summary["n_detections"] == outcome.n_detections
    with open(tmp_path / "detections.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and "row_px" in rows[0]
    if outcome.loaded.pixel_size:
        assert any(key.endswith("_nm") for key in rows[0])


def test_cli_analyze_atoms_with_calibration(data_dir, tmp_path):
    image = data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5"
    result = runner.invoke(
        app,
        [
            "analyze",
            str(image),
            "--task",
            "atoms",
            "--atoms-per-cell",
            "2",
            "--pixel-size",
            "0.00933",
            "--population",
            "8",
            "--generations",
            "2",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "chosen:" in result.output and "detections" in result.output
    header = (tmp_path / "detections.csv").read_text().splitlines()[0]
    assert header == "row_px,col_px,sigma_px,row_nm,col_nm"
    summary = json.loads((tmp_path / "result.json").read_text())
    # neighbouring Sr and Ti columns along [001] are a/2 = 0.195 nm apart
    assert summary["summary"]["nearest_spacing_median_nm"] == pytest.approx(0.195, rel=0.05)
    assert "nearest_spacing_median_nm" in result.output
    lattice = summary["lattice"]
    # SrTiO3 [110]: primitive projected cell a/sqrt(2) x a = 0.276 x 0.3905 nm
    lengths = sorted(np.linalg.norm(lattice["vectors_px"], axis=1) * 0.00933)
    assert lengths == pytest.approx([0.2761, 0.3905], rel=0.02)


def test_cli_analyze_bad_input(tmp_path, data_dir):
    image = data_dir / "nanoparticles_sio2_edx_si" / "SiO2_HAADF_Image.hspy"
    result = runner.invoke(app, ["analyze", str(image), "--task", "particles"])
    assert result.exit_code == 2 and "--diameter" in result.output
    result = runner.invoke(app, ["analyze", str(image), "--task", "cells", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown task" in result.output
    flat = tmp_path / "flat.npy"
    np.save(flat, np.ones((32, 32)))
    result = runner.invoke(app, ["analyze", str(flat), "--task", "atoms", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "constant" in result.output


def test_window_mode_needs_a_fitting_window(data_dir, tmp_path):
    image = data_dir / "nanoparticles_sio2_edx_si" / "SiO2_HAADF_Image.hspy"
    with pytest.raises(ConfigError, match="larger than the image"):
        analyze_file(
            image, "particles", tmp_path, workflow_options={"diameter": 43.0}, window=256, **TINY
        )
    outcome = analyze_file(
        image, "particles", tmp_path, workflow_options={"diameter": 43.0}, window=64, **TINY
    )
    assert outcome.n_detections > 0
