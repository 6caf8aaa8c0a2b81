"""The curiosity section of a benchmark report, from a tiny sweep run through the CLI."""

from __future__ import annotations

import math
from pathlib import Path

from typer.testing import CliRunner

from autoscope.bench.curiosity import is_curiosity_dataset, loss_rows
from autoscope.bench.results import load_sweep
from autoscope.cli import app

SPEC = """
[bench]
name = "tiny-curiosity"
seeds = [0, 1]
reference = "random"

[base]
pool = { window = 6 }
scalarizer = { name = "loop-area" }
metrics = { feature_space = false }
policy = { n_initial = 0 }
budget = { measurements = 12 }

[[datasets]]
name = "ferro"
data = { twin = "ferroelectric", twin_options = { size = 20 } }

[[policies]]
label = "random"
[policies.policy]
name = "curiosity-ae"
options = { selection = "random", budget = 12, n_initial = 6, ae_epochs = 3, update_epochs = 3 }

[[policies]]
label = "curiosity"
[policies.policy]
name = "curiosity-ae"
options = { budget = 12, n_initial = 6, ae_epochs = 3, update_epochs = 3, error_epochs = 5 }
"""


def test_bench_report_has_the_curiosity_section(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    result = CliRunner().invoke(
        app, ["bench", str(spec), "--out", str(tmp_path / "sweep"), "--workers", "1",
              "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    sweep = tmp_path / "sweep"
    assert "Full-spectrum losses" in (sweep / "report.html").read_text()
    assert (sweep / "figures" / "ferro-curiosity-latent.png").stat().st_size > 1000
    data = load_sweep(sweep)
    assert is_curiosity_dataset(data, "ferro")
    rows = loss_rows(data, "ferro")
    metrics = {r.metric for r in rows}
    assert {"test_mse", "best_test_mse", "all_mse_sum", "test_l1"} <= metrics
    curiosity = [r for r in rows if r.policy == "curiosity" and r.metric == "test_mse"][0]
    assert curiosity.n == 2 and not math.isnan(curiosity.difference)
    assert curiosity.low <= curiosity.mean <= curiosity.high
