"""Model-based policies: every registered preset runs, is deterministic, resumes identically."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.campaign import Budget, Campaign, RunStore
from autoscope.data import extract_patches, make_scalarizer, make_twin
from autoscope.errors import ConfigError
from autoscope.policies import POLICIES, make_policy
from autoscope.policies.model_based import ModelPolicy

MODEL_POLICIES = sorted(name for name, cls in POLICIES.items() if issubclass(cls, ModelPolicy))
FAST = {
    "dkl": {"iterations": 3, "first_iterations": 15, "channels": (4, 8)},
    "gp": {"iterations": 15},
}


@pytest.fixture(scope="module")
def twin():
    return make_twin("ferroelectric", size=20, seed=1)


def fast_policy(name, **options):
    surrogate = POLICIES[name].defaults.get("surrogate", "dkl")
    return make_policy(name, surrogate_options=FAST[surrogate], **options)


def campaign(twin, policy, store=None, seed=0):
    pool = extract_patches(twin, window=8)
    return Campaign(pool, policy, make_scalarizer("loop-area"), spectral_axis=twin.spectral_axis,
                    budget=Budget(measurements=14), seed=seed, n_initial=5, store=store)


def drive(c, twin, steps, batch=1):
    for _ in range(steps):
        for s in c.ask(batch):
            c.tell(s.index, twin.spectra[s.coords])
    return c.measured.tolist()


def test_presets_are_registered():
    assert {"dkl-ei", "dkl-ucb", "dkl-mu", "dkl-beacon", "dkl-beacon-elite", "gp-beacon"} <= set(
        MODEL_POLICIES
    )
    assert make_policy("dkl-beacon-elite").acquisition_options == {"archive": "elite"}
    assert make_policy("dkl-beacon").acquisition_options == {"archive": "all"}
    assert make_policy("dkl-ei", recipe="published").recipe == "published"


@pytest.mark.parametrize("name", MODEL_POLICIES)
def test_each_preset_runs_deterministically_with_batches(twin, name):
    first = campaign(twin, fast_policy(name))
    trajectory = drive(first, twin, 5, batch=3)
    assert len(trajectory) == len(set(trajectory)) == 14
    again = drive(campaign(twin, fast_policy(name)), twin, 5, batch=3)
    assert trajectory == again
    state = first.state()
    mean, std = first.policy.predict(state)
    assert mean.shape == std.shape == (len(first.pool),)
    assert np.all(std >= 0)
    assert first.pending == []


def test_suggestions_carry_model_values(twin):
    c = campaign(twin, fast_policy("dkl-ucb"))
    drive(c, twin, 2, batch=3)
    [s] = c.ask(1)
    assert np.isfinite([s.acquisition, s.mean, s.std]).all()
    assert "model_collapsed" in c.policy.diagnostics()


def test_resumed_dkl_run_continues_with_the_same_model(twin, tmp_path):
    reference = drive(campaign(twin, fast_policy("dkl-beacon")), twin, 9)
    pool = extract_patches(twin, window=8)
    store = RunStore.create(tmp_path / "run", meta={}, overview=twin.image,
                            pool_coords=pool.coords)
    head = drive(campaign(twin, fast_policy("dkl-beacon"), store), twin, 6)
    store.close()
    with RunStore.open(tmp_path / "run") as reopened:
        resumed = campaign(twin, fast_policy("dkl-beacon"), reopened)
        assert resumed.policy.model_ is not None  # restored from the checkpoint
        assert resumed.measured.tolist() == head
        assert drive(resumed, twin, 3) == reference


def test_unknown_surrogate_or_acquisition():
    with pytest.raises(ConfigError):
        make_policy("dkl-ei", surrogate="forest")
    with pytest.raises(ConfigError):
        make_policy("dkl-ei", acquisition="magic")
    with pytest.raises(ConfigError):
        make_policy("dkl-ucb", acquisition_options={"bogus": 1})
