"""The bench spec: merging, validation, and errors that name the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from autoscope.bench.spec import BenchSpec, load_spec, merge_config
from autoscope.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bench" / "demo.toml"

SPEC = {
    "bench": {"name": "tiny", "seeds": [0, 1], "reference": "random"},
    "base": {
        "data": {"twin": "ferroelectric", "twin_options": {"size": 24, "seed": 3}},
        "pool": {"window": 8, "stride": 2},
        "policy": {"n_initial": 4, "options": {}},
        "budget": {"measurements": 10},
    },
    "datasets": [{"name": "ferro", "pool": {"window": 6}, "data": {"twin_options": {"size": 20}}}],
    "policies": [
        {"label": "random", "policy": {"name": "random"}},
        {"label": "raster", "policy": {"name": "raster", "options": {"by": "column"}}},
    ],
}


def spec_with(**changes):
    data = copy.deepcopy(SPEC)
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        data[section][key] = value
    return data


def test_example_spec_loads():
    spec = load_spec(EXAMPLE)
    assert spec.reference == "random" and len(spec.seeds) == 10
    assert len(spec.tasks()) == len(spec.datasets) * len(spec.policies) * len(spec.seeds)


def test_merge_is_per_section_and_replaces_option_tables():
    spec = BenchSpec.from_dict(copy.deepcopy(SPEC))
    config = spec.config("ferro", "raster", 1)
    assert config["pool"]["window"] == 6 and config["pool"]["stride"] == 2
    assert config["data"]["twin_options"] == {"size": 20}  # replaced whole
    assert config["policy"] == {**config["policy"], "name": "raster", "n_initial": 4}
    assert config["policy"]["options"] == {"by": "column"}
    assert config["run"]["seed"] == 1 and config["run"]["progress"] is False
    assert config["run"]["synchronous"] == "NORMAL"
    assert SPEC["base"]["pool"]["window"] == 8  # inputs untouched


def test_tasks_layout(tmp_path):
    spec = BenchSpec.from_dict(copy.deepcopy(SPEC))
    tasks = spec.tasks(tmp_path)
    assert [t.key for t in tasks] == [
        ("ferro", "random", 0),
        ("ferro", "random", 1),
        ("ferro", "raster", 0),
        ("ferro", "raster", 1),
    ]
    assert tasks[-1].out_dir == tmp_path / "runs" / "ferro" / "raster" / "seed-1"
    assert tasks[0].config_hash != tasks[1].config_hash


def test_n_seeds_and_default_reference():
    data = copy.deepcopy(SPEC)
    data["bench"] = {"name": "x", "n_seeds": 3}
    spec = BenchSpec.from_dict(data)
    assert spec.seeds == [0, 1, 2] and spec.reference == "random"
    assert spec.output == Path("bench/x")


def test_json_round_trip():
    spec = BenchSpec.from_dict(copy.deepcopy(SPEC))
    again = BenchSpec.from_json(spec.to_dict())
    assert [t.config for t in again.tasks()] == [t.config for t in spec.tasks()]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (spec_with(bench__colour="red"), r"unknown key\(s\) \['colour'\] in \[bench\]"),
        (spec_with(bench__reference="nope"), "reference 'nope'"),
        (spec_with(bench__n_seeds=3), "either 'seeds' or 'n_seeds'"),
        (spec_with(bench__seeds=[0, 0]), "distinct"),
        (spec_with(bench__steps=[0]), r"\[bench\] steps\[0\]"),
        (spec_with(bench__correction="bonferroni"), "correction"),
        (spec_with(bench__name="a/b"), "folder name"),
        (spec_with(base__run={"seed": 3}), r"run.seed.*\[bench\] seeds"),
        (spec_with(base__pool={"windows": 3}), r"'ferro' × policy 'random'.*windows.*\[pool\]"),
        (spec_with(base__policy={"batch_size": 0}), r"\[policy\] batch_size"),
    ],
)
def test_bad_spec_names_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        BenchSpec.from_dict(data)


def test_bad_entries_name_the_entry():
    data = copy.deepcopy(SPEC)
    data["policies"].append({"label": "random"})
    with pytest.raises(ConfigError, match="'random' appears twice"):
        BenchSpec.from_dict(data)
    data = copy.deepcopy(SPEC)
    data["policies"][1]["polcy"] = {"name": "raster"}
    with pytest.raises(ConfigError, match=r"\[\[policies\]\] 'raster'.*polcy"):
        BenchSpec.from_dict(data)
    data = copy.deepcopy(SPEC)
    data["datasets"] = [{"data": {"twin": "ferroelectric"}}]
    with pytest.raises(ConfigError, match=r"\[\[datasets\]\]\[0\] needs a 'name'"):
        BenchSpec.from_dict(data)
    data = copy.deepcopy(SPEC)
    del data["policies"]
    with pytest.raises(ConfigError, match=r"\[\[policies\]\]"):
        BenchSpec.from_dict(data)


def test_missing_dataset_file_is_a_spec_error(tmp_path):
    data = copy.deepcopy(SPEC)
    data["datasets"] = [{"name": "file", "data": {"twin": "", "path": "missing.npz"}}]
    with pytest.raises(ConfigError, match=r"'file'.*missing.npz.*does not exist"):
        BenchSpec.from_dict(data, base_dir=tmp_path)


def test_load_spec_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read bench spec"):
        load_spec(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[bench]\nseeds = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml.*\[bench\] seeds must be a list"):
        load_spec(bad)


def test_merge_config_rejects_unknown_sections():
    with pytest.raises(ConfigError, match="unknown key 'plicy'"):
        merge_config({}, {"plicy": {}})
    with pytest.raises(ConfigError, match=r"\[pool\] must be a table"):
        merge_config({}, {"pool": 3})
