"""Sweeps: process pool, resume, rerun of one replication, Dask, failures, report, CLI."""

from __future__ import annotations

import copy
import csv
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from autoscope.bench import BenchSpec, load_sweep, read_result, run_sweep, write_bench_report
from autoscope.bench.sweep import SPEC_FILE, plan_sweep
from autoscope.cli import app

SPEC = {
    "bench": {"name": "tiny", "seeds": [0, 1], "reference": "random", "n_boot": 200},
    "base": {
        "data": {"twin": "ferroelectric", "twin_options": {"size": 24}},
        "pool": {"window": 8},
        "policy": {"n_initial": 5},
        "budget": {"measurements": 15},
        "metrics": {"feature_space": False, "target_bins": [10]},
    },
    "datasets": [{"name": "ferro"}],
    "policies": [
        {"label": "random", "policy": {"name": "random"}},
        {"label": "space-filling", "policy": {"name": "space-filling"}},
    ],
}


def make_spec(**bench):
    data = copy.deepcopy(SPEC)
    data["bench"].update(bench)
    return BenchSpec.from_dict(data)


def assert_same_results(tasks, other_root, root):
    for task in tasks:
        mine = read_result(task.result_path)
        theirs = read_result(other_root / task.result_path.relative_to(root))
        np.testing.assert_array_equal(mine["index"], theirs["index"])
        np.testing.assert_array_equal(mine["metric_steps"], theirs["metric_steps"])
        assert mine["metrics"].keys() == theirs["metrics"].keys()
        for name, values in mine["metrics"].items():
            np.testing.assert_array_equal(values, theirs["metrics"][name], err_msg=name)
        assert mine["config_hash"] == theirs["config_hash"]


@pytest.fixture(scope="module")
def pool_sweep(tmp_path_factory):
    """The tiny sweep on a 2-process pool, run once for the module."""
    root = tmp_path_factory.mktemp("bench") / "pool"
    result = run_sweep(make_spec(), sweep_dir=root, workers=2, progress=False)
    return root, result


def test_sweep_runs_every_replication(pool_sweep):
    root, result = pool_sweep
    assert result.ok and len(result.ran) == 4 and not result.skipped
    assert (root / SPEC_FILE).exists()
    for task in result.tasks:
        data = read_result(task.result_path)
        assert data["n_measured"] == 15 and len(data["index"]) == 15
        assert data["metric_steps"].tolist() == list(range(1, 16))
        assert {"coverage_patch", "coverage_target_10"} <= set(data["metrics"])
        assert (task.out_dir / "events.sqlite").exists()
        assert not list(task.out_dir.glob(".result.json.*"))  # no temp file left
    first = {t.key: read_result(t.result_path)["index"] for t in result.tasks}
    # the seed fixes the initial points: both policies start at the same 5 points
    np.testing.assert_array_equal(
        first[("ferro", "random", 0)][:5], first[("ferro", "space-filling", 0)][:5]
    )
    assert not np.array_equal(first[("ferro", "random", 0)], first[("ferro", "random", 1)])


def test_sweep_again_skips_everything(pool_sweep):
    root, _ = pool_sweep
    again = run_sweep(make_spec(), sweep_dir=root, workers=2, progress=False)
    assert len(again.skipped) == 4 and not again.ran and again.ok


def test_deleting_a_result_reruns_only_that_one(pool_sweep, tmp_path):
    root, result = pool_sweep
    copy_root = tmp_path / "copy"
    shutil.copytree(root, copy_root)
    task = make_spec().tasks(copy_root)[2]
    task.result_path.unlink()
    (task.out_dir / "stray").write_text("an interrupted attempt")
    todo, done = plan_sweep(make_spec(), sweep_dir=copy_root)
    assert [t.key for t in todo] == [task.key] and len(done) == 3
    again = run_sweep(make_spec(), sweep_dir=copy_root, workers=1, progress=False)
    assert [t.key for t in again.ran] == [task.key] and len(again.skipped) == 3
    assert not (task.out_dir / "stray").exists()
    assert_same_results(result.tasks, copy_root, root)  # deterministic


def test_changed_spec_reruns_stale_results(pool_sweep, tmp_path):
    root, _ = pool_sweep
    copy_root = tmp_path / "copy"
    shutil.copytree(root, copy_root)
    data = copy.deepcopy(SPEC)
    data["policies"][1]["budget"] = {"measurements": 14}
    todo, done = plan_sweep(BenchSpec.from_dict(data), sweep_dir=copy_root)
    assert {t.policy for t in todo} == {"space-filling"} and len(done) == 2


# None seen so far, but LocalCluster's teardown can, depending on timing, leak a
# socket or warn about a worker it had to kill; that is distributed's shutdown,
# not the sweep.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning:distributed.*")
def test_dask_cluster_gives_identical_results(pool_sweep, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, result = pool_sweep
    dask_root = tmp_path / "dask"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = run_sweep(
            make_spec(), sweep_dir=dask_root, scheduler=cluster.scheduler_address, progress=False
        )
    assert dask.ok and len(dask.ran) == 4
    assert_same_results(result.tasks, dask_root, root)


def test_failing_replication_is_recorded_and_the_rest_finish(tmp_path):
    data = copy.deepcopy(SPEC)
    data["bench"]["seeds"] = [0]
    del data["policies"][1]
    # only detectable at run time: raster checks `by` when the policy is built
    data["policies"].append({"label": "bad", "policy": {"name": "raster", "options": {"by": "x"}}})
    spec = BenchSpec.from_dict(data)
    result = run_sweep(spec, sweep_dir=tmp_path, workers=2, progress=False)
    assert not result.ok
    assert [t.key for t in result.ran] == [("ferro", "random", 0)]
    [(task, message)] = result.failed
    assert task.policy == "bad" and "raster 'by'" in message
    assert "Traceback" in task.error_path.read_text()
    assert not task.result_path.exists()
    loaded = load_sweep(tmp_path)
    assert set(loaded.errors) == {("ferro", "bad", 0)} and len(loaded.results) == 1
    report = write_bench_report(tmp_path).read_text()
    assert "Failed replications" in report and "raster" in report


def test_report_has_curves_trajectories_and_table(pool_sweep):
    root, _ = pool_sweep
    path = write_bench_report(root)
    text = path.read_text()
    assert path == root / "report.html"
    assert text.count("data:image/png;base64,") == 2  # curves + trajectories
    assert "Results after 15 measurements" in text and "(reference)" in text
    assert "p_Holm=" in text and "coverage_patch" in text
    assert (root / "figures" / "ferro-curves.png").exists()
    with (root / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    metrics = read_result(make_spec().tasks(root)[0].result_path)["metrics"]
    assert len(rows) == 2 * len(metrics)  # every recorded metric, two policies, one step
    [row] = [r for r in rows if r["policy"] == "space-filling" and r["metric"] == "coverage_patch"]
    assert row["test"] == "wilcoxon" and row["step"] == "15" and row["n"] == "2"
    summary = json.loads((root / "summary.json").read_text())
    assert summary["finished"] == 4 and summary["failed"] == []
    assert len(summary["results"]) == len(rows)


def test_cli_bench_report_only_and_spec_errors(pool_sweep, tmp_path):
    root, _ = pool_sweep
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--report-only", str(root)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[bench]\nreference = "nope"\n')
    result = runner.invoke(app, ["bench", str(bad)])
    assert result.exit_code == 2 and "[[datasets]]" in result.output
    result = runner.invoke(app, ["bench", "--report-only", str(tmp_path)])
    assert result.exit_code == 2 and "not a sweep directory" in result.output


def test_cli_bench_runs_and_resumes(pool_sweep, tmp_path):
    root, _ = pool_sweep
    shutil.copytree(root, tmp_path / "sweep")
    spec = tmp_path / "spec.toml"
    spec.write_text(
        """
[bench]
name = "tiny"
seeds = [0, 1]
n_boot = 200
[base]
data = { twin = "ferroelectric", twin_options = { size = 24 } }
pool = { window = 8 }
policy = { n_initial = 5 }
budget = { measurements = 15 }
metrics = { feature_space = false, target_bins = [10] }
[[datasets]]
name = "ferro"
[[policies]]
label = "random"
policy = { name = "random" }
[[policies]]
label = "space-filling"
policy = { name = "space-filling" }
"""
    )
    result = CliRunner().invoke(
        app, ["bench", str(spec), "--out", str(tmp_path / "sweep"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "0 run, 4 already done, 0 failed" in result.output
