"""The example configs load, and demo.toml documents every option."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from autoscope.campaign.config import Config, load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_config_is_valid(path, data_dir):
    config = load_config(path)
    if config.data.path:
        assert Path(config.data.path).exists(), f"{path.name}: {config.data.path} missing"


def test_demo_toml_documents_every_option():
    text = (EXAMPLES / "demo.toml").read_text()
    tomllib.loads(text)
    sections = {}
    current = ""
    for line in text.splitlines():
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            current = header.group(1)
        key = re.match(r"^#?\s*(\w+)\s*=", line)
        if key and current:
            sections.setdefault(current, set()).add(key.group(1))
    for section in dataclasses.fields(Config):
        cls = section.default_factory
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.default_factory):
                for sub in dataclasses.fields(f.default_factory):
                    assert sub.name in sections.get(f"{section.name}.{f.name}", set()), sub.name
            else:
                assert f.name in sections.get(section.name, set()), f"[{section.name}] {f.name}"


@pytest.mark.parametrize("path", sorted((EXAMPLES / "bench").glob("*.toml")), ids=lambda p: p.name)
def test_bench_spec_is_valid(path, data_dir):
    from autoscope.bench import load_spec

    spec = load_spec(path)
    assert spec.tasks()


def test_noise_robustness_study_runs_quick(tmp_path):
    import json
    import subprocess

    script = EXAMPLES / "analysis" / "noise_robustness.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--workers", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"LoG* rewards", "LoG fixed", "CNN (clean)"}
    assert (tmp_path / "noise_robustness.png").exists()


def test_real_data_analysis_script_runs_small(tmp_path, data_dir):
    import subprocess

    script = EXAMPLES / "analysis" / "real_data.py"
    done = subprocess.run(
        [sys.executable, str(script), "--only", "sio2", "srtio3-adf", "--population", "6",
         "--generations", "2", "--workers", "1", "--out", str(tmp_path / "out"),
         "--figures", str(tmp_path / "figures")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| sio2 | particles |" in done.stdout and "| srtio3-adf | atoms |" in done.stdout
    assert (tmp_path / "figures" / "sio2_overlay_chosen.png").exists()
    assert (tmp_path / "figures" / "srtio3-adf_overlay_zoom.png").exists()


@pytest.mark.parametrize("path", sorted((EXAMPLES / "gym").glob("*.toml")), ids=lambda p: p.name)
def test_gym_spec_is_valid(path):
    from autoscope.gym.bench import is_gym_spec, load_gym_spec

    assert is_gym_spec(path)
    spec = load_gym_spec(path)
    assert len(spec.seeds) >= 10
    assert spec.tasks()


def test_gym_real_data_check_runs(tmp_path, data_dir, monkeypatch):
    import subprocess

    monkeypatch.setenv("AUTOSCOPE_DATA", str(data_dir))
    script = EXAMPLES / "gym" / "real_data_check.py"
    out = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--analysts", "classical"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.count("| classical |") == 3
    assert len(list(tmp_path.glob("real-*-classical.png"))) == 3
