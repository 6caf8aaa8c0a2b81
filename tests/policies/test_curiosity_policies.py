"""Curiosity policies through the campaign: end to end, never twice, seeded, trap guard."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from autoscope.campaign.core import Budget, Campaign
from autoscope.campaign.driver import run_campaign
from autoscope.data.pool import extract_patches
from autoscope.data.twins import make_twin
from autoscope.errors import ConfigError
from autoscope.instruments.replay import ReplayInstrument
from autoscope.metrics.reconstruction import ReconstructionMonitor
from autoscope.policies import POLICIES, make_policy

FAST = {"n_initial": 6, "ae_epochs": 3, "update_epochs": 3, "error_epochs": 5}
CURIOSITY = sorted(name for name in POLICIES if name.startswith("curiosity-"))


def twin(size: int = 20, seed: int = 0):
    return make_twin("ferroelectric", size=size, seed=seed)


def run(name: str, *, n: int = 16, seed: int = 0, image=None, monitor: bool = False, **options):
    image = image if image is not None else twin()
    pool = extract_patches(image, window=6)
    options = {**FAST, "budget": n, **options}
    if name == "curiosity-im2spec":
        options.update(ensemble_epochs=3, n_initial=8)
    policy = make_policy(name, **options)
    campaign = Campaign(
        pool,
        policy,
        lambda s, a: s.mean(axis=1),
        spectral_axis=image.spectral_axis,
        budget=Budget(measurements=n),
        seed=seed,
    )
    watcher = None
    if monitor:
        truth = image.spectra[pool.coords[:, 0], pool.coords[:, 1]]
        watcher = ReconstructionMonitor(policy, truth)
    run_campaign(campaign, ReplayInstrument(image), progress=False, monitor=watcher)
    return campaign, watcher


def test_the_four_policies_are_registered() -> None:
    assert CURIOSITY == [
        "curiosity-ae",
        "curiosity-ae-mcd",
        "curiosity-im2spec",
        "curiosity-spec2im",
    ]


@pytest.mark.parametrize("name", CURIOSITY)
def test_runs_end_to_end_never_twice_and_seeded(name: str) -> None:
    a, monitor = run(name, monitor=True)
    measured = a.measured.tolist()
    assert len(measured) == len(set(measured)) == 16
    b, _ = run(name)
    assert b.measured.tolist() == measured  # same seed, same trajectory
    c, _ = run(name, seed=1)
    assert c.measured.tolist() != measured
    assert np.isfinite(monitor.last["test_mse"])


@pytest.mark.parametrize(
    "options",
    [
        {"epsilon": 0.5},
        {"top_k": 5},
        {"epsilon": 0.3, "top_k": 3},
        {"selection": "random"},
        {"selection": "space-filling"},
        {"init": "random", "schedule": "paper"},
    ],
)
def test_options_never_measure_twice(options: dict) -> None:
    campaign, _ = run("curiosity-ae", n=20, **options)
    assert len(set(campaign.measured.tolist())) == 20


def test_kmeans_initial_points_come_first_and_differ_by_seed() -> None:
    a, _ = run("curiosity-ae", n=8)
    b, _ = run("curiosity-ae", n=8, seed=3)
    assert a.measured[:6].tolist() != b.measured[:6].tolist()


def test_reconstruction_losses_fall_with_measurements() -> None:
    campaign, monitor = run("curiosity-ae", n=40, monitor=True, update_epochs=20)
    losses = monitor.history
    early = np.nanmean([h["test_mse"] for h in losses[6:10]])
    late = np.nanmean([h["test_mse"] for h in losses[-4:]])
    assert late < early


def test_bad_options_are_errors() -> None:
    with pytest.raises(ConfigError, match="budget"):
        make_policy("curiosity-ae")  # the code schedule needs the budget
    with pytest.raises(ConfigError, match="beta"):
        make_policy("curiosity-im2spec", beta=2.0)
    with pytest.raises(ConfigError, match="selection"):
        make_policy("curiosity-ae", budget=10, selection="greedy")


def noisy_twin():
    """A twin with a distinct texture in its lower-right corner whose spectra are pure noise.

    Every candidate whose whole 6 x 6 patch lies in the texture (centres
    15..21, 49 of 361) has a random spectrum: no model can learn it, so a
    curiosity policy keeps finding a high error there.
    """
    image = twin(size=24, seed=2)
    rng = np.random.default_rng(0)
    spectra = image.spectra.copy()
    structure = image.structure.copy()
    structure[:, 12:, 12:] = 3.0 + 0.05 * rng.random(structure[:, 12:, 12:].shape)
    spectra[15:, 15:] = rng.normal(0.0, float(np.ptp(spectra)), spectra[15:, 15:].shape)
    return replace(image, spectra=spectra, structure=structure)


def noise_share(coords: np.ndarray) -> float:
    return float(np.mean((coords[:, 0] >= 15) & (coords[:, 1] >= 15)))


@pytest.mark.parametrize("seed", [0, 1])
def test_trap_guard_keeps_a_pure_noise_region_below_twice_its_share(seed: int) -> None:
    image = noisy_twin()
    area_share = noise_share(extract_patches(image, window=6).coords)
    options = {"n": 60, "image": image, "seed": seed, "update_epochs": 10,
               "schedule": "paper", "lam": 0.5}
    unguarded, _ = run("curiosity-ae", **options)
    guarded, _ = run("curiosity-ae", trap_guard=True, **options)
    spent = {name: noise_share(c.pool.coords[c.measured[6:]])
             for name, c in (("unguarded", unguarded), ("guarded", guarded))}
    assert spent["unguarded"] > 2 * area_share, spent
    assert spent["guarded"] <= 2 * area_share, spent


def test_error_model_learns_a_planted_error_pattern() -> None:
    """The error predictor finds the region no model can learn (the planted noise)."""
    image = noisy_twin()
    campaign, _ = run("curiosity-ae", n=40, image=image, update_epochs=10, trap_guard=True)
    policy = campaign.policy
    predicted = policy._error.predict(policy._error_latents())
    noise = (campaign.pool.coords[:, 0] >= 15) & (campaign.pool.coords[:, 1] >= 15)
    assert predicted[noise].mean() > 3 * predicted[~noise].mean()


def test_bad_input_gets_specific_errors() -> None:
    from autoscope.data.spectra_prep import check_spectra
    from autoscope.errors import DataError

    image = twin()
    pool = extract_patches(image, window=6)
    campaign = Campaign(pool, make_policy("curiosity-ae", **FAST, budget=10),
                        lambda s, a: s.mean(axis=1), spectral_axis=image.spectral_axis,
                        budget=Budget(measurements=10))
    [s] = campaign.ask()
    with pytest.raises(DataError, match="shape"):  # a spectrum of another length
        campaign.tell(s.index, np.ones(len(image.spectral_axis) + 1))
    with pytest.raises(DataError, match="NaN"):
        campaign.tell(s.index, np.full(len(image.spectral_axis), np.nan))
    with pytest.raises(DataError, match="monotonic"):
        check_spectra(np.ones((2, 3)), np.array([0.0, 2.0, 1.0]))
    with pytest.raises(DataError, match="ragged|lengths"):
        check_spectra([np.ones(3), np.ones(4)])
    with pytest.raises(DataError, match="larger than the structure image"):
        extract_patches(image, window=40)


def test_a_resumed_run_continues_like_an_uninterrupted_one(tmp_path) -> None:
    from autoscope.campaign.config import Config
    from autoscope.campaign.experiment import prepare, resume_run, start_run
    from autoscope.campaign.store import RunStore

    config = Config.from_dict({
        "run": {"seed": 4, "progress": False},
        "data": {"twin": "ferroelectric", "twin_options": {"size": 20}},
        "pool": {"window": 6},
        "scalarizer": {"name": "loop-area"},
        "metrics": {"feature_space": False},
        "policy": {"name": "curiosity-ae", "n_initial": 0, "options": {**FAST, "budget": 16}},
        "budget": {"measurements": 16},
    })
    reference = start_run(config, run_dir=tmp_path / "reference", progress=False)
    experiment = prepare(config)
    run_dir = tmp_path / "resumed"
    store = RunStore.create(run_dir, meta=experiment.meta(), overview=experiment.dataset.structure,
                            pool_coords=experiment.pool.coords, truth_map=experiment.truth_map)
    with store:
        campaign = experiment.campaign(store)
        run_campaign(campaign, experiment.instrument, max_steps=10, progress=False,
                     monitor=experiment.monitor(campaign.policy))
    resume_run(run_dir, progress=False)
    with RunStore.open(reference) as a, RunStore.open(run_dir) as b:
        ra, rb = a.load(), b.load()
    assert ra.index.tolist() == rb.index.tolist()
    np.testing.assert_allclose(ra.metrics["test_mse"], rb.metrics["test_mse"], rtol=1e-6,
                               equal_nan=True)
