"""The command line: every command, --help everywhere, and bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from autoscope.campaign import RunStore
from autoscope.campaign.export import read_export
from autoscope.cli import app

runner = CliRunner()

COMMANDS = [
    "demo", "run", "resume", "report", "export", "datasets", "bench", "analyze", "particles",
    "gym", "gym list", "gym episode", "gym train-analyst",
]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_everywhere(command):
    args = ["--help"] if command is None else [*command.split(), "--help"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_datasets_lists_formats_twins_scalarizers_policies():
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0, result.output
    for word in ["nsid", "dm", "bcf", "ferroelectric", "nanoparticles", "loop-area", "edx-line",
                 "space-filling", "raster"]:
        assert word in result.output


def test_demo_writes_run_and_report(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--steps", "25", "--no-progress"])
    assert result.exit_code == 0, result.output
    html = (out / "report" / "report.html").read_text()
    assert "data:image/png;base64," in html
    with RunStore.open(out) as store:
        run = store.load()
    assert len(run.index) == 25 and run.n_initial == 10
    assert {"coverage_patch", "coverage_feature", "coverage_target_100"} <= set(run.metrics)


def write_config(tmp_path, **sections):
    base = {
        "run": 'name = "t"\nprogress = false',
        "data": 'twin = "ferroelectric"\ntwin_options = { size = 24 }',
        "pool": "window = 8",
        "scalarizer": 'name = "loop-area"',
        "policy": 'name = "random"\nn_initial = 3',
        "budget": "measurements = 12",
        "metrics": "feature_space = false\npatch_clusters = 10",
    }
    base.update(sections)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(f"[{name}]\n{body}\n" for name, body in base.items()))
    return path


def test_run_report_export_resume(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (out / "report" / "report.html").exists()
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "elsewhere")])
    assert result.exit_code == 0 and (tmp_path / "elsewhere" / "report.html").exists()
    for name in ("run.h5", "run.npz"):
        result = runner.invoke(app, ["export", str(out), str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    h5, npz = read_export(tmp_path / "run.h5"), read_export(tmp_path / "run.npz")
    with RunStore.open(out) as store:
        run = store.load()
    for exported in (h5, npz):
        assert exported["spectra"].tobytes() == run.spectra.tobytes()
        np.testing.assert_array_equal(exported["coords"], run.coords)
        np.testing.assert_array_equal(exported["targets"], run.targets)
        np.testing.assert_array_equal(exported["pool_index"], run.index)
        assert exported["source"].tolist() == run.source.tolist()
    # a finished run resumes to the same place: nothing new is measured
    result = runner.invoke(app, ["resume", str(out), "--no-report", "--no-progress"])
    assert result.exit_code == 0, result.output
    with RunStore.open(out) as store:
        assert len(store.load().index) == 12


def test_nsid_export_has_nsid_layout(tmp_path):
    config = write_config(tmp_path)
    runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--no-report",
                        "--no-progress"])
    runner.invoke(app, ["export", str(tmp_path / "run"), str(tmp_path / "run.h5")])
    with h5py.File(tmp_path / "run.h5") as f:
        main = f["Measurement_000/Channel_000/measured_spectra"]
        assert main.attrs["data_type"] == "POINT_CLOUD"
        assert main.attrs["main_data_name"] == "measured_spectra"
        assert [dim.label for dim in main.dims] == ["measurement", "spectral_axis"]
        assert main.dims[1][0].attrs["dimension_type"] == "SPECTRAL"
        assert main.dims[1][0].attrs["units"] == "V"


def invoke_bad(tmp_path, config_path, *expected):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(config_path), "--out", str(out), "--no-progress"])
    assert result.exit_code == 2, result.output
    for text in expected:
        assert text in result.output, result.output
    assert not out.exists(), "a failed run must leave no run directory"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def npz_config(tmp_path, **arrays):
    np.savez(tmp_path / "data.npz", **arrays)
    return write_config(tmp_path, data=f'path = "{tmp_path / "data.npz"}"')


def test_bad_input_missing_file(tmp_path):
    config = write_config(tmp_path, data='path = "nowhere/missing.h5"')
    invoke_bad(tmp_path, config, "missing.h5")


def test_bad_input_missing_config(tmp_path):
    invoke_bad(tmp_path, tmp_path / "nope.toml", "nope.toml")


def test_bad_input_corrupt_file(tmp_path):
    (tmp_path / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    config = write_config(tmp_path, data=f'path = "{tmp_path / "corrupt.h5"}"')
    invoke_bad(tmp_path, config, "corrupt.h5")


def test_bad_input_hdf5_without_datasets(tmp_path):
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.create_dataset("something/else", data=np.zeros(3))
    config = write_config(tmp_path, data=f'path = "{tmp_path / "empty.h5"}"')
    invoke_bad(tmp_path, config, "empty.h5")


def test_bad_input_nan_spectra(tmp_path):
    spectra = np.ones((12, 12, 5))
    spectra[3, 4, 2] = np.nan
    invoke_bad(tmp_path, npz_config(tmp_path, structure=np.ones((12, 12)), spectra=spectra),
               "NaN", "data.npz")


def test_bad_input_shape_mismatch(tmp_path):
    config = npz_config(tmp_path, structure=np.ones((10, 10)), spectra=np.ones((12, 12, 5)))
    invoke_bad(tmp_path, config, "(12, 12)", "(10, 10)")


def test_bad_input_window_larger_than_image(tmp_path):
    config = write_config(tmp_path, pool="window = 64")
    invoke_bad(tmp_path, config, "window 64", "larger")


def test_bad_input_unknown_scalarizer(tmp_path):
    config = write_config(tmp_path, scalarizer='name = "loop-aera"')
    invoke_bad(tmp_path, config, "loop-aera", "loop-area")


@pytest.mark.parametrize("budget", ["measurements = 0", "seconds = 0.0", ""])
def test_bad_input_zero_budget(tmp_path, budget):
    body = budget if budget else "measurements = 5\ndose = -1.0"
    invoke_bad(tmp_path, write_config(tmp_path, budget=body), "budget")


def test_bad_input_unknown_config_key(tmp_path):
    config = write_config(tmp_path, pool="window = 8\nwindw = 3")
    invoke_bad(tmp_path, config, "windw", "[pool]")


def test_resume_and_report_reject_non_runs(tmp_path):
    for command in (["resume", str(tmp_path)], ["report", str(tmp_path)],
                    ["export", str(tmp_path), str(tmp_path / "x.npz")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "not an autoscope run directory" in result.output


def test_export_rejects_unknown_format(tmp_path):
    config = write_config(tmp_path)
    runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--no-report",
                        "--no-progress"])
    result = runner.invoke(app, ["export", str(tmp_path / "run"), str(tmp_path / "run.csv")])
    assert result.exit_code == 2 and ".csv" in result.output


def test_bad_input_more_initial_points_than_budget(tmp_path):
    config = write_config(tmp_path, policy='name = "random"\nn_initial = 20')
    invoke_bad(tmp_path, config, "n_initial (20)", "budget (12)")
