"""Library policies through the campaign: never twice, seeded, knowledge-gated, resumable."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.campaign.config import Config
from autoscope.campaign.core import Budget, Campaign
from autoscope.campaign.driver import run_campaign
from autoscope.campaign.experiment import prepare, resume_run, start_run
from autoscope.campaign.store import RunStore
from autoscope.data.pool import CandidatePool
from autoscope.errors import DataError
from autoscope.library import LibrarySpec, make_library
from autoscope.library.instrument import LibraryInstrument
from autoscope.library.policies import library_pool
from autoscope.policies import POLICIES, make_policy
from autoscope.policies.base import CampaignState

SMALL = {"area_um": 90.0, "n_gaussians": 100}
LIBRARY_POLICIES = sorted(name for name in POLICIES if name.startswith("library-"))


def run(policy: str, *, seed: int = 0, n: int = 30, **options) -> Campaign:
    library = make_library(LibrarySpec(**SMALL), seed=seed)
    campaign = Campaign(
        library_pool(library),
        make_policy(policy, **options),
        lambda s, a: s[:, 0],
        spectral_axis=np.zeros(1),
        budget=Budget(measurements=n),
        seed=seed,
        n_initial=3,
    )
    run_campaign(campaign, LibraryInstrument(library, seed=seed), progress=False)
    return campaign


def test_all_five_policies_are_registered() -> None:
    assert LIBRARY_POLICIES == [
        "library-cost-aware",
        "library-cost-unaware",
        "library-random",
        "library-raster",
        "library-stay",
    ]


@pytest.mark.parametrize("policy", LIBRARY_POLICIES)
def test_policy_never_measures_twice_and_is_seeded(policy: str) -> None:
    a = run(policy, n=25)
    measured = a.measured.tolist()
    assert len(measured) == len(set(measured)) == 25
    b = run(policy, n=25)
    assert b.measured.tolist() == measured
    assert b.spent["seconds"] == pytest.approx(a.spent["seconds"])


def test_batch_asks_stay_distinct() -> None:
    library = make_library(LibrarySpec(**SMALL), seed=1)
    campaign = Campaign(
        library_pool(library),
        make_policy("library-cost-aware"),
        lambda s, a: s[:, 0],
        spectral_axis=np.zeros(1),
        budget=Budget(measurements=40),
        seed=1,
        n_initial=3,
    )
    run_campaign(campaign, LibraryInstrument(library), batch_size=4, progress=False)
    assert len(set(campaign.measured.tolist())) == 40


def test_stay_exhausts_its_region_and_raster_visits_regions_in_order() -> None:
    campaign = run("library-stay", n=40)
    library = make_library(LibrarySpec(**SMALL), seed=0)
    regions = library.region[campaign.measured[3:]]
    changes = np.flatnonzero(np.diff(regions)) + 1
    for start in changes:  # a region is left only when all its particles are measured
        left = regions[start - 1]
        measured = set(campaign.measured[: start + 3].tolist())
        assert set(np.flatnonzero(library.region == left)) <= measured
    raster = run("library-raster", n=40)
    visited = library.region[raster.measured[3:]]
    distinct = visited[np.r_[True, np.diff(visited) != 0]]
    assert len(distinct) == len(set(distinct.tolist()))  # each region exhausted in one visit
    serpentine = [0, 1, 2, 5, 4, 3, 6, 7, 8]
    start = serpentine.index(int(library.region[raster.measured[2]]))
    order = serpentine[start:] + serpentine[:start]
    assert [order.index(int(r)) for r in distinct] == sorted(order.index(int(r)) for r in distinct)


def test_cost_aware_spends_less_time_than_cost_unaware_and_random() -> None:
    aware = run("library-cost-aware", n=40).spent["seconds"]
    assert aware < run("library-cost-unaware", n=40).spent["seconds"]
    assert aware < run("library-random", n=40).spent["seconds"]


def test_cost_aware_never_reads_undiscovered_compositions() -> None:
    library = make_library(LibrarySpec(**SMALL), seed=2)
    pool = library_pool(library)
    campaign = Campaign(
        pool,
        make_policy("library-cost-aware"),
        lambda s, a: s[:, 0],
        spectral_axis=np.zeros(1),
        budget=Budget(measurements=12),
        seed=2,
        n_initial=3,
    )
    run_campaign(campaign, LibraryInstrument(library), progress=False)
    state = campaign.state()
    discovered = np.isin(library.region, library.region[state.measured])
    scrambled = np.array(pool.features["edx_fraction"])
    scrambled[~discovered] = np.random.default_rng(0).dirichlet(np.ones(3), (~discovered).sum())
    features = {k: np.array(v) for k, v in pool.features.items()}
    features["edx_fraction"] = scrambled
    other = CandidatePool(pool.coords, features, pool.grid_shape, spec=pool.spec)
    choices = []
    for p in (pool, other):
        policy = make_policy("library-cost-aware")
        s = CampaignState(
            p,
            state.measured,
            state.targets,
            state.pending,
            state.excluded,
            state.step,
            np.random.default_rng([2, state.step]),
        )
        choices.append([x.index for x in policy.ask(s, 3)])
    assert choices[0] == choices[1]


def test_cost_aware_switches_when_the_region_is_exhausted() -> None:
    campaign = run("library-cost-aware", n=60)
    library = make_library(LibrarySpec(**SMALL), seed=0)
    regions = library.region[campaign.measured]
    assert len(np.unique(regions)) >= 3  # it left the seed regions
    per_region = np.bincount(regions, minlength=library.n_regions)
    assert per_region.max() < 60


def test_library_policy_on_an_image_pool_is_a_clear_error() -> None:
    pool = CandidatePool(np.array([[0, 0], [0, 1]]))
    state = CampaignState(
        pool,
        np.array([0]),
        np.array([1.0]),
        np.array([], int),
        np.array([], int),
        0,
        np.random.default_rng(0),
    )
    with pytest.raises(DataError, match="particle-library pool"):
        make_policy("library-cost-aware").ask(state, 1)


def library_config(tmp_path, n: int = 16) -> Config:
    return Config.from_dict(
        {
            "run": {"seed": 5, "progress": False, "output": str(tmp_path / "run")},
            "data": {"library": SMALL},
            "policy": {"name": "library-cost-aware", "n_initial": 3},
            "budget": {"measurements": n},
        }
    )


def test_run_records_stage_path_and_resumes_to_the_same_trajectory(tmp_path) -> None:
    config = library_config(tmp_path)
    reference = start_run(config, run_dir=tmp_path / "reference", progress=False)
    experiment = prepare(config)
    run_dir = tmp_path / "resumed"
    store = RunStore.create(
        run_dir,
        meta=experiment.meta(),
        overview=experiment.dataset.structure,
        pool_coords=experiment.pool.coords,
        truth_map=experiment.truth_map,
    )
    with store:
        campaign = experiment.campaign(store)
        run_campaign(
            campaign,
            experiment.instrument,
            max_steps=7,
            progress=False,
            monitor=experiment.monitor(),
        )
    resume_run(run_dir, progress=False)
    with RunStore.open(reference) as a, RunStore.open(run_dir) as b:
        ra, rb = a.load(), b.load()
        assert ra.index.tolist() == rb.index.tolist()
        np.testing.assert_allclose(ra.seconds, rb.seconds)
        np.testing.assert_allclose(
            ra.metrics["mae_relative"], rb.metrics["mae_relative"], equal_nan=True
        )
        moves = [e.info for e in a.events() if e.kind == "measured"]
    assert {"region", "stage_um", "moved", "new_region", "clock"} <= set(moves[0])
    clock = [m["clock"] for m in moves]
    np.testing.assert_allclose(clock, np.cumsum(ra.seconds))
    assert ra.metrics["regions_discovered"][-1] >= 1
