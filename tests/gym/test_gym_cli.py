"""The gym's command line: list, one episode, a resumable gym sweep, training."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autoscope.cli import app
from autoscope.gym.registry import env_ids
from autoscope.gym.training import load_analyst_weights

runner = CliRunner()

SPEC = """
[gym]
name = "tiny"
materials = ["GaN"]
difficulties = ["Easy"]
seeds = [0, 1]
env = { shape = [96, 96] }

[[configurations]]
label = "raster+classical"
navigator = "raster"
analyst = "classical"

[[configurations]]
label = "gp-ucb+classical"
navigator = "gp-ucb"
analyst = "classical"
"""


def test_list_names_every_environment():
    result = runner.invoke(app, ["gym", "list"])
    assert result.exit_code == 0, result.output
    assert all(env in result.output for env in env_ids())
    assert "stem-agent" in result.output and "cnn" in result.output


def test_episode_prints_dec_auc_per_task():
    result = runner.invoke(
        app, ["gym", "episode", "autoscope/STEM-GaN-Easy-DefectCensus-v0", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "defect-census" in result.output and "targeted-search" in result.output


def test_episode_rejects_unknown_world():
    result = runner.invoke(app, ["gym", "episode", "autoscope/STEM-Graphene-Easy-DefectCensus-v0"])
    assert result.exit_code != 0


def test_gym_bench_runs_resumes_and_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(SPEC)
    args = ["bench", "tiny.toml", "--workers", "1", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 run, 0 already done, 0 failed" in result.output
    sweep = tmp_path / "bench" / "tiny"
    report = (sweep / "report.md").read_text()
    assert "gp-ucb+classical" in report and "TOST" in report
    episode = json.loads(
        (sweep / "runs" / "GaN-Easy" / "raster+classical" / "seed-0" / "episode.json").read_text()
    )
    assert set(episode["dec_auc"]) == {"defect-census", "targeted-search"}
    again = runner.invoke(app, args)
    assert "0 run, 4 already done" in again.output
    rewritten = runner.invoke(app, ["bench", str(sweep), "--report-only"])
    assert rewritten.exit_code == 0, rewritten.output


def test_train_analyst_writes_loadable_weights(tmp_path):
    out = tmp_path / "gan.pt"
    result = runner.invoke(
        app,
        ["gym", "train-analyst", "--material", "GaN", "--worlds", "1", "--steps", "0.01",
         "--out", str(out), "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_analyst_weights(out).materials == ("GaN",)


def test_train_analyst_rejects_unknown_material(tmp_path):
    result = runner.invoke(
        app, ["gym", "train-analyst", "--material", "Kryptonite", "--out", str(tmp_path / "x.pt")]
    )
    assert result.exit_code == 2
    assert "Kryptonite" in result.output
