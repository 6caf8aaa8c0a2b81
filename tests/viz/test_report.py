from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from autoscope.campaign.rundata import RunData
from autoscope.viz import (
    plot_metric_curves,
    plot_revealed_vs_truth,
    plot_spectra,
    plot_trajectory,
    to_structure_pixels,
    write_report,
)
from autoscope.viz.report import format_number

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GRID = (20, 20)
BINNING = 3


def make_run(
    run_dir: Path,
    *,
    m: int = 30,
    n_initial: int = 5,
    truth: bool = True,
    metrics: bool = True,
    seed: int = 0,
) -> RunData:
    """A hand-built run: 20x20 spectrum grid, 60x60 overview, one attached point, 2 failures."""
    rng = np.random.default_rng(seed)
    h, w = GRID
    rr, cc = np.mgrid[0:h, 0:w]
    truth_map = np.sin(rr / 4.0) + np.cos(cc / 5.0)
    yy, xx = np.mgrid[0 : h * BINNING, 0 : w * BINNING]
    overview = np.sin(yy / 5.0) * np.cos(xx / 7.0) + 0.1 * rng.standard_normal(yy.shape)
    pool = np.stack([rr.ravel(), cc.ravel()], axis=1)
    order = rng.permutation(len(pool))
    index = order[:m]
    coords = pool[index]
    targets = truth_map[coords[:, 0], coords[:, 1]] if m else np.zeros(0)
    axis = np.linspace(-10.0, 10.0, 64)
    spectra = np.tanh(axis[None, :] - targets[:, None]) if m else np.zeros((0, 64))
    source = np.array(
        ["initial"] * min(n_initial, m) + ["policy"] * max(m - n_initial, 0), dtype=object
    )
    if m > n_initial + 3:
        source[n_initial + 3] = "attached"
    failed = [
        {
            "index": int(order[m]),
            "coords": pool[order[m]].tolist(),
            "attempts": 3,
            "reason": "timeout <beam blanked>",
        },
        {
            "index": int(order[m + 1]),
            "coords": pool[order[m + 1]].tolist(),
            "attempts": 3,
            "reason": "detector saturated & lost",
        },
    ]
    rejected = [
        {
            "index": int(order[m + 2]),
            "coords": pool[order[m + 2]].tolist(),
            "reason": "too close to edge",
        }
    ]
    steps = np.arange(n_initial, m + 1, 5) if metrics and m else np.zeros(0, dtype=np.int64)
    frac = steps / len(pool)
    metric_values = (
        {
            "coverage_patch": 1 - np.exp(-steps / 12.0),
            "coverage_feature": 1 - np.exp(-steps / 20.0),
            "coverage_target": frac * 3.0,
            "mae": 0.8 / np.sqrt(steps) + 0.123456,
            "rmse": 1.1 / np.sqrt(steps),
            "mean_std": 0.5 / np.sqrt(steps),
        }
        if metrics and m
        else {}
    )
    return RunData(
        run_dir=run_dir,
        config={
            "name": "demo-run",
            "dataset": {"name": "twin-sine", "path": "x.h5"},
            "campaign": {"policy": "random", "budget": 30},
            "note": "<script>alert(1)</script>",
        },
        meta={"seed": seed, "versions": {"autoscope": "0.1.0"}},
        overview=overview,
        spectra_binning=BINNING,
        pool_coords=pool,
        grid_shape=GRID,
        index=index,
        coords=coords,
        targets=targets,
        spectra=spectra,
        seconds=np.full(m, 0.25) + 0.01 * np.arange(m),
        dose=np.full(m, 1.5e3),
        source=source,
        spectral_axis=axis,
        spectral_units="V",
        failed=failed,
        rejected=rejected,
        metric_steps=steps,
        metrics=metric_values,
        truth_map=truth_map if truth else None,
    )


def check_report(path: Path) -> str:
    assert path.name == "report.html" and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text
    # every src= is an embedded data URI, never a file on disk
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    for png in path.parent.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC
    assert "<script>" not in text  # config text is escaped
    return text


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunData, Path]:
    run = make_run(tmp_path_factory.mktemp("run"))
    return run, write_report(run)


def test_report_default_location_and_pngs(full_report: tuple[RunData, Path]) -> None:
    run, path = full_report
    assert path == run.run_dir / "report" / "report.html"
    check_report(path)
    names = {p.name for p in path.parent.glob("*.png")}
    assert names == {
        "trajectory.png",
        "revealed_vs_truth.png",
        "coverage.png",
        "errors.png",
        "spectra.png",
    }
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 5


def test_report_summary_numbers(full_report: tuple[RunData, Path]) -> None:
    run, path = full_report
    text = path.read_text(encoding="utf-8")
    expected = {
        "measurements": "30",
        "initial points": "5",
        "attached points": "1",
        "failures": "2",
        "rejections": "1",
        "instrument time (s)": format_number(run.seconds.sum()),
        "dose": format_number(run.dose.sum()),
    }
    for name, values in run.metrics.items():
        expected[f"final {name}"] = format_number(values[-1])
    for label, value in expected.items():
        assert f'<td>{label}</td><td class="num">{value}</td>' in text, label
    assert format_number(run.seconds.sum()) == "11.85"
    assert format_number(run.dose.sum()) == "45000"


def test_report_title_events_and_config(full_report: tuple[RunData, Path]) -> None:
    _, path = full_report
    text = path.read_text(encoding="utf-8")
    assert "Run demo-run" in text
    assert "dataset: twin-sine" in text and "policy: random" in text
    assert "timeout &lt;beam blanked&gt;" in text
    assert "detector saturated &amp; lost" in text
    assert "too close to edge" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<pre>" in text


def test_report_without_truth_or_metrics(tmp_path: Path) -> None:
    run = make_run(tmp_path, truth=False, metrics=False)
    out = tmp_path / "elsewhere"
    path = write_report(run, out)
    assert path == out / "report.html"
    text = check_report(path)
    assert "This run has no ground truth." in text
    assert {p.name for p in out.glob("*.png")} == {
        "trajectory.png",
        "revealed_vs_truth.png",
        "spectra.png",
    }
    assert "No coverage metrics recorded." in text
    assert "final " not in text


def test_report_with_zero_measurements(tmp_path: Path) -> None:
    run = make_run(tmp_path, m=0, n_initial=0)
    run.config = {}
    run.meta = {}
    path = write_report(run)
    text = check_report(path)
    assert "no measurements yet" in text
    assert '<td>measurements</td><td class="num">0</td>' in text
    assert f"Run {tmp_path.name}" in text


def test_stale_pngs_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_report(make_run(tmp_path), out)
    assert (out / "coverage.png").exists()
    write_report(make_run(tmp_path, metrics=False), out)
    assert not (out / "coverage.png").exists()


def test_to_structure_pixels() -> None:
    got = to_structure_pixels(np.array([[0, 0], [2, 5]]), 3)
    np.testing.assert_array_equal(got, [[1, 1], [7, 16]])
    assert to_structure_pixels(np.zeros((0, 2)), 2).shape == (0, 2)
    with pytest.raises(ValueError, match="spectra_binning"):
        to_structure_pixels(np.zeros((1, 2)), 0)


def test_plots_return_axes_and_map_coords(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    assert plot_trajectory(ax, run) is ax
    # the policy points are drawn at structure-pixel centres
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    expected = to_structure_pixels(run.coords, BINNING)[:, ::-1]
    for xy in expected:
        assert np.any(np.all(np.isclose(offsets, xy), axis=1))

    fig = Figure(layout="constrained")
    pair = fig.subplots(1, 2)
    assert plot_revealed_vs_truth(pair, run) is pair
    revealed = pair[0].images[0].get_array()
    assert np.ma.count(revealed) == 30  # NaN (unmeasured) pixels are masked
    assert pair[0].images[0].norm.vmin == pair[1].images[0].norm.vmin

    ax = Figure().add_subplot()
    assert plot_metric_curves(ax, run, ["mae", "rmse"]) is ax
    assert any(line.get_linestyle() == "--" for line in ax.lines)
    with pytest.raises(KeyError, match="nope"):
        plot_metric_curves(ax, run, ["nope"])

    ax = Figure().add_subplot()
    assert plot_spectra(ax, run, n=4) is ax
    assert len(ax.lines) == 4
    assert ax.get_xlabel() == "spectral axis (V)"
