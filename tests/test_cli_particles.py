"""``autoscope particles``: real SiO2 and Bruker data into a report folder, and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from autoscope.cli import app

runner = CliRunner()
PHASES = Path(__file__).resolve().parents[1] / "examples" / "particles" / "phases.csv"


def test_help_explains_the_options():
    result = runner.invoke(app, ["particles", "--help"])
    assert result.exit_code == 0, result.output
    for word in [
        "--edx",
        "--elements",
        "--mask-generator",
        "--sam-checkpoint",
        "--phases",
        "--classes",
        "--k-factors",
        "BIC",
    ]:
        assert word in result.output


def test_sio2_report(tmp_path, data_dir):
    folder = data_dir / "nanoparticles_sio2_edx_si"
    out = tmp_path / "sio2"
    result = runner.invoke(
        app,
        [
            "particles",
            str(folder / "SiO2_HAADF_Image.hspy"),
            "--edx",
            str(folder / "SiO2_EDS_Spectrum_Image.hspy"),
            "--elements",
            "Si,O,C,Cu",
            "--out",
            str(out),
            "--phases",
            str(PHASES),
            "--classes",
            "silica=Si+O;copper=Cu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "particles:" in result.output
    for name in ("particles.csv", "particles.json", "overlay.png", "spectra.png", "index.html"):
        assert (out / name).exists(), name
    with open(out / "particles.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["class"] == "support" and "carbon support film" in rows[0]["phases"]
    classes = [row["class"] for row in rows[1:]]
    assert len(rows) > 100 and classes.count("silica") > 0.9 * len(classes)
    assert sum("silica particle" in row["phases"] for row in rows[1:]) > 0.5 * len(classes)
    summary = json.loads((out / "particles.json").read_text())["summary"]
    assert summary["method"] == "counts" and summary["basis"] == "count fraction"
    fractions = summary["fractions"]
    assert fractions["Si"]["particles_median"] > 5 * fractions["Si"]["support"]


def test_bruker_file_with_identified_elements(tmp_path, data_dir):
    path = data_dir / "nanoparticles_edx_si_bruker" / "test_TEM.bcf"
    result = runner.invoke(app, ["particles", str(path), "--out", str(tmp_path / "bcf")])
    assert result.exit_code == 0, result.output
    assert "Si" in result.output and "Ti" in result.output
    assert (tmp_path / "bcf" / "overlay.png").exists()


def test_bad_input_is_one_line_errors(tmp_path, data_dir):
    folder = data_dir / "nanoparticles_sio2_edx_si"
    image = str(folder / "SiO2_HAADF_Image.hspy")
    cases = [
        ([image], "no EDX spectrum image"),
        (
            [image, "--edx", str(folder / "SiO2_EDS_Spectrum_Image.hspy"), "--elements", "Si,Xx"],
            "unknown element",
        ),
        (
            [
                image,
                "--edx",
                str(folder / "SiO2_EDS_Spectrum_Image.hspy"),
                "--elements",
                "Si,O",
                "--mask-generator",
                "sam",
            ],
            "--sam-checkpoint",
        ),
        (
            [
                image,
                "--edx",
                str(folder / "SiO2_EDS_Spectrum_Image.hspy"),
                "--elements",
                "Si,O",
                "--classes",
                "silica",
            ],
            "NAME=El+El",
        ),
        (
            [
                image,
                "--edx",
                str(folder / "SiO2_EDS_Spectrum_Image.hspy"),
                "--elements",
                "Si,O",
                "--method",
                "cliff-lorimer",
            ],
            "needs k_factors",
        ),
        ([str(tmp_path / "missing.hspy")], "not found"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["particles", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
