"""The library section of a benchmark report, from a tiny sweep run through the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from autoscope.bench.results import load_sweep
from autoscope.cli import app
from autoscope.library.report import is_library_dataset, time_to_error, time_to_error_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "library"


def test_time_to_error_hand_values() -> None:
    seconds = np.array([10.0, 20.0, 35.0, 50.0])
    error = np.array([np.nan, 0.8, 0.5, 0.55])
    assert time_to_error(seconds, error, 0.5) == (35.0, True)
    assert time_to_error(seconds, error, 0.8) == (20.0, True)
    assert time_to_error(seconds, error, 0.1) == (50.0, False)  # censored at the end


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("library-bench")
    spec = root / "spec.toml"
    text = (EXAMPLES / "library_d3.toml").read_text()
    text = text.replace("n_seeds = 10", "seeds = [0, 1]")
    text = text.replace(
        "{ n_components = 3 }", "{ n_components = 3, area_um = 90.0, n_gaussians = 100 }"
    )
    text = text.replace("measurements = 153", "measurements = 14")
    spec.write_text(text)
    result = CliRunner().invoke(
        app, ["bench", str(spec), "--out", str(root / "sweep"), "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    return root / "sweep"


def test_bench_report_has_the_library_section(sweep: Path) -> None:
    report = (sweep / "report.html").read_text()
    assert "error against instrument time" in report
    for stem in ("library-time", "library-regions", "library-paths"):
        assert (sweep / "figures" / f"library-d3-{stem}.png").stat().st_size > 1000
    data = load_sweep(sweep)
    assert is_library_dataset(data, "library-d3")
    rows = time_to_error_rows(data, "library-d3", thresholds=(0.9,))
    assert [r.policy for r in rows] == [
        "cost-aware",
        "cost-unaware",
        "stay-until-exhausted",
        "random-particle",
        "raster-regions",
    ]
    reference = rows[0]
    assert math.isnan(reference.p_value) and reference.n == 2
    others = rows[1:]
    assert all(r.n == 2 and not math.isnan(r.ratio) for r in others)
    # the random particle policy travels between fields of view at almost every step
    random_row = next(r for r in rows if r.policy == "random-particle")
    assert random_row.median > reference.median


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_library_bench_specs_are_valid(path: Path) -> None:
    from autoscope.bench import load_spec

    spec = load_spec(path)
    assert len(spec.tasks()) == 50 and spec.reference == "cost-aware"
