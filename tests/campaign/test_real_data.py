"""End to end on real data: campaigns through the replay instrument on files in shared/data."""

from __future__ import annotations

import numpy as np

from autoscope.campaign import RunStore
from autoscope.campaign.config import Config
from autoscope.campaign.experiment import start_run
from autoscope.viz import write_report


def run_config(tmp_path, data, **sections):
    config = {
        "run": {"name": "real", "seed": 3, "progress": False},
        "data": data,
        "policy": {"name": "space-filling", "n_initial": 5},
        "budget": {"measurements": 40},
        **sections,
    }
    run_dir = start_run(Config.from_dict(config), run_dir=tmp_path / "run")
    with RunStore.open(run_dir) as store:
        return store.load()


def test_beps_loop_area_campaign_reports_three_coverage_curves(tmp_path, beps_path):
    run = run_config(
        tmp_path,
        {"path": str(beps_path), "structure": "abs-mean"},
        pool={"window": 16},
        scalarizer={"name": "loop-area"},
        metrics={"feature_clusters": 80, "patch_clusters": 100},
    )
    assert len(run.pool_coords) == 35 * 35
    assert len(run.index) == len(set(run.index.tolist())) == 40
    assert run.meta["dataset"]["provenance"]["structure"] == "abs-mean"
    assert run.meta["dataset"]["provenance"]["outliers"]["count"] > 0
    assert run.meta["target_outliers"]["count"] > 0
    for name in ("coverage_patch", "coverage_feature", "coverage_target_100"):
        curve = run.metrics[name]
        assert curve.shape == (40,)
        assert np.all(np.diff(curve) >= 0) and 0 < curve[-1] <= 1
    # the spectra told to the campaign are the file's loops
    truth = run.truth_map[run.coords[:, 0], run.coords[:, 1]]
    np.testing.assert_allclose(run.targets, truth)
    html = write_report(run).read_text()
    assert html.count("data:image/png;base64,") >= 3


def test_eels_campaign_with_oversampled_haadf_patches(tmp_path, data_dir):
    folder = data_dir / "stem_eels_si_sto"
    run = run_config(
        tmp_path,
        {"path": str(folder / "DMReader_SI-HAADF.dm3"),
         "spectra": str(folder / "DMReader_SpectrumImage_SI-EELS.dm3")},
        pool={"window": 32},
        scalarizer={"name": "window-integral", "options": {"start": 455.0, "stop": 475.0}},
        metrics={"feature_space": False},
    )
    assert run.spectra_binning == 32
    assert len(run.pool_coords) == 49 * 6
    assert run.spectra.shape == (40, 1024)
    assert np.isfinite(run.targets).all()
