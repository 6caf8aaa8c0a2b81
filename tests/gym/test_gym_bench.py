"""The gym sweep spec, its episode records and the gym report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from autoscope.errors import ConfigError, RunStoreError
from autoscope.gym.bench import GymBenchSpec, is_gym_spec, read_episodes
from autoscope.gym.decauc import dec_auc
from autoscope.gym.report import kendall_w, write_gym_report


def _spec(**gym) -> dict:
    return {
        "gym": {"name": "t", "materials": ["SrTiO3"], "difficulties": ["Easy"], "seeds": [0, 1]}
        | gym,
        "configurations": [
            {"label": "raster+classical", "navigator": "raster", "analyst": "classical"},
            {"label": "random+classical", "navigator": "random", "analyst": "classical"},
        ],
    }


def test_spec_expands_worlds_configurations_and_seeds(tmp_path):
    spec = GymBenchSpec.from_dict(_spec(materials=["SrTiO3", "GaN"]))
    tasks = spec.tasks(tmp_path)
    assert len(tasks) == 2 * 2 * 2
    assert {t.key for t in tasks} == {
        (w, c, s)
        for w in ("SrTiO3-Easy", "GaN-Easy")
        for c in ("raster+classical", "random+classical")
        for s in (0, 1)
    }
    assert tasks[0].out_dir == tmp_path / "runs" / "SrTiO3-Easy" / "raster+classical" / "seed-0"
    assert len({t.config_hash for t in tasks}) == len(tasks)


def test_configuration_world_filter(tmp_path):
    data = _spec(materials=["SrTiO3", "GaN"])
    data["configurations"].append(
        {"label": "t-GaN", "navigator": "raster", "analyst": "cnn", "materials": ["GaN"],
         "train_material": "GaN"}
    )  # fmt: skip
    tasks = GymBenchSpec.from_dict(data).tasks(tmp_path)
    assert {t.world for t in tasks if t.configuration.label == "t-GaN"} == {"GaN-Easy"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"materials": ["Graphene"]}, "unknown"),
        ({"difficulties": ["Insane"]}, "unknown"),
        ({"seeds": [0, 0]}, "distinct"),
        ({"seeds": ["a"]}, "integers"),
        ({"tost_margin": 0.0}, "tost_margin"),
        ({"colour": "red"}, "unknown"),
    ],
)
def test_spec_rejects_bad_gym_options(change, message):
    with pytest.raises(ConfigError, match=message):
        GymBenchSpec.from_dict(_spec(**change))


def test_spec_rejects_bad_configurations():
    data = _spec()
    data["configurations"][1]["navigator"] = "teleport"
    with pytest.raises(ConfigError, match="unknown navigator"):
        GymBenchSpec.from_dict(data)
    data = _spec()
    data["configurations"][1]["label"] = "raster+classical"
    with pytest.raises(ConfigError, match="unique"):
        GymBenchSpec.from_dict(data)
    with pytest.raises(ConfigError, match="configurations"):
        GymBenchSpec.from_dict({"gym": {}})


def test_kendall_w_hand_cases():
    assert kendall_w(np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3]])) == pytest.approx(1.0)
    assert kendall_w(np.array([[1, 2], [2, 1]])) == pytest.approx(0.0)
    assert math.isnan(kendall_w(np.array([[1, 2, 3]])))


def _episode(world, label, navigator, analyst, seed, curve, train=""):
    material, difficulty = world.split("-")
    d = np.linspace(0.1, 1.0, len(curve))
    return {
        "schema": 1,
        "world": world,
        "material": material,
        "difficulty": difficulty,
        "configuration": label,
        "navigator": navigator,
        "analyst": analyst,
        "train_material": train,
        "seed": seed,
        "config_hash": "x",
        "actions": [[i, 1] for i in range(len(curve))],
        "dose_fractions": d.tolist(),
        "task_scores": {"defect-census": list(curve), "targeted-search": [0.0] * len(curve)},
        "dec_auc": {
            "defect-census": dec_auc(curve, d),
            "targeted-search": 0.0,
        },
        "states": [],
        "n_steps": len(curve),
        "wall_seconds": 0.1,
    }


def test_report_from_synthetic_episodes(tmp_path):
    data = _spec(seeds=list(range(8)))
    data["configurations"] += [
        {"label": "raster+cnn", "navigator": "raster", "analyst": "cnn"},
        {"label": "t-SrTiO3", "navigator": "raster", "analyst": "cnn",
         "train_material": "SrTiO3"},
    ]  # fmt: skip
    spec = GymBenchSpec.from_dict(data)
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    rng = np.random.default_rng(0)
    for task in spec.tasks(tmp_path):
        conf = task.configuration
        level = {"raster+classical": 0.3, "random+classical": 0.3, "raster+cnn": 0.8}.get(
            conf.label, 0.6
        )
        curve = np.clip(np.linspace(0, level, 5) + rng.normal(0, 0.02, 5), 0, 1)
        curve = np.maximum.accumulate(curve)
        record = _episode(task.world, conf.label, conf.navigator, conf.analyst, task.seed,
                          curve, conf.train_material)  # fmt: skip
        task.out_dir.mkdir(parents=True)
        task.result_path.write_text(json.dumps(record))
    assert is_gym_spec(tmp_path)
    assert len(read_episodes(tmp_path)) == 4 * 8
    report = write_gym_report(tmp_path)
    text = report.read_text()
    assert "## DEC-AUC per configuration and task" in text
    assert "Holm" in text and "Bonferroni" in text and "TOST" in text
    assert "## Cross-material transfer" in text
    summary = json.loads((tmp_path / "summary.json").read_text())
    perception = [r for r in summary["perception_tests"] if r["task"] == "defect-census"]
    assert perception and perception[0]["mean"] > 2 * perception[0]["reference_mean"]
    assert perception[0]["p"] < 0.05
    nav = [r for r in summary["navigator_tests"] if r["task"] == "defect-census"]
    assert nav and not nav[0]["p"] < 0.01
    assert (tmp_path / "figures" / "dec_auc.png").exists()
    assert (tmp_path / "dec_auc.csv").read_text().count("\n") == 1 + 4 * 8 * 2


def test_report_needs_a_gym_sweep(tmp_path):
    with pytest.raises(RunStoreError, match="not a gym sweep"):
        write_gym_report(tmp_path)
