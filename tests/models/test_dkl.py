"""DeepKernelGP: learning, determinism, state, sampling, BoTorch, edge cases, collapse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.data.pool import extract_patches
from autoscope.data.scalarizers import make_scalarizer
from autoscope.data.twins import make_twin
from autoscope.errors import ConfigError, DataError
from autoscope.models import DeepKernelGP, make_surrogate

torch.set_num_threads(1)
FAST = {"iterations": 10, "first_iterations": 60, "channels": (4, 8), "lr": 0.02}


@pytest.fixture(scope="module")
def twin_data() -> tuple[np.ndarray, np.ndarray]:
    image = make_twin("ferroelectric", size=32)
    pool = extract_patches(image, window=8)
    c = pool.coords
    y = make_scalarizer("loop-area")(image.spectra[c[:, 0], c[:, 1]], image.spectral_axis)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))[:260]
    return pool.feature("patches")[order], y[order]


@pytest.fixture(scope="module")
def fitted(twin_data) -> DeepKernelGP:
    x, y = twin_data
    return DeepKernelGP(seed=0, **FAST).fit(x[:60], y[:60])


def test_fit_improves_likelihood_and_beats_the_mean(twin_data, fitted):
    x, y = twin_data
    d = fitted.diagnostics()
    assert d["loss_final"] < d["loss_initial"]
    mean, std = fitted.predict(x[60:])
    rmse = np.sqrt(np.mean((mean - y[60:]) ** 2))
    assert rmse < y[60:].std()
    assert np.all(std > 0)
    assert d["collapsed"] == 0.0


def test_deterministic_under_seed(twin_data, fitted):
    x, y = twin_data
    other = DeepKernelGP(seed=0, **FAST).fit(x[:60], y[:60])
    np.testing.assert_array_equal(other.predict(x[60:100])[0], fitted.predict(x[60:100])[0])


def test_state_round_trip_resumes_identically(twin_data):
    x, y = twin_data
    a = DeepKernelGP(seed=1, **FAST).fit(x[:30], y[:30])
    state = a.state_dict()
    torch.save(state, __import__("io").BytesIO())
    pred_a = a.fit(x[:40], y[:40]).predict(x[100:150])
    b = DeepKernelGP(seed=1, **FAST)
    b.load_state_dict(state)
    pred_b = b.fit(x[:40], y[:40]).predict(x[100:150])
    np.testing.assert_array_equal(pred_a[0], pred_b[0])
    np.testing.assert_array_equal(pred_a[1], pred_b[1])


def test_full_refit_restarts_from_seed(twin_data):
    x, y = twin_data
    model = DeepKernelGP(seed=2, refit="full", **FAST)
    first = model.fit(x[:30], y[:30]).predict(x[200:])[0]
    again = model.fit(x[:30], y[:30]).predict(x[200:])[0]
    np.testing.assert_array_equal(first, again)


def test_include_noise_and_chunks(twin_data, fitted):
    x = twin_data[0][60:]
    mean, latent = fitted.predict(x)
    _, noisy = fitted.predict(x, include_noise=True)
    assert np.all(noisy >= latent)
    fitted.chunk_size = 7
    try:
        np.testing.assert_allclose(fitted.predict(x)[0], mean, rtol=1e-10, atol=1e-12)
    finally:
        fitted.chunk_size = 4096


@pytest.mark.parametrize("method", ["marginal", "pathwise", "joint"])
def test_sample_means_match_predict(twin_data, fitted, method):
    x = twin_data[0][60:90]
    mean, std = fitted.predict(x)
    draws = fitted.sample(x, n_samples=3000, rng=np.random.default_rng(0), method=method)
    assert draws.shape == (3000, 30)
    tolerance = 5 * std / np.sqrt(3000) + (0.1 * std if method == "pathwise" else 0)
    assert np.all(np.abs(draws.mean(0) - mean) < tolerance)
    np.testing.assert_allclose(draws.std(0), std, rtol=0.15)


def test_joint_draws_have_the_posterior_covariance(twin_data, fitted):
    x = twin_data[0][60:63]
    model = fitted.botorch_model(x)
    with torch.no_grad():
        cov = model.posterior(model.candidates.squeeze(-2).unsqueeze(0)).covariance_matrix[0]
    draws = fitted.sample(x, n_samples=20000, rng=np.random.default_rng(1), method="joint")
    atol = 0.05 * cov.diag().max().item()
    np.testing.assert_allclose(np.cov(draws.T), cov.numpy(), rtol=0.1, atol=atol)


def test_sampling_is_seeded_and_joint_refuses_huge_pools(twin_data, fitted):
    x = twin_data[0][60:80]
    a = fitted.sample(x, n_samples=2, rng=np.random.default_rng(5))
    b = fitted.sample(x, n_samples=2, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    big = np.repeat(twin_data[0][:1], 5001, axis=0)
    with pytest.raises(ConfigError, match="pathwise"):
        fitted.sample(big, rng=np.random.default_rng(0), method="joint")


def test_botorch_log_expected_improvement(twin_data, fitted):
    from botorch.acquisition import LogExpectedImprovement

    x = twin_data[0][60:100]
    model = fitted.botorch_model(x)
    acqf = LogExpectedImprovement(model, best_f=float(twin_data[1][:60].max()))
    with torch.no_grad():
        values = acqf(model.candidates)
    assert values.shape == (40,)
    assert torch.isfinite(values).all()
    mean = fitted.predict(x)[0]
    post = model.posterior(model.candidates)
    np.testing.assert_allclose(post.mean.squeeze().detach().numpy(), mean, rtol=1e-8)


def test_svgp_variant(twin_data):
    x, y = twin_data
    model = DeepKernelGP(gp="svgp", n_inducing=16, seed=0, **FAST).fit(x[:80], y[:80])
    mean, std = model.predict(x[80:])
    assert np.sqrt(np.mean((mean - y[80:]) ** 2)) < y[80:].std()
    draws = model.sample(x[80:90], n_samples=4, rng=np.random.default_rng(0))
    assert draws.shape == (4, 10)


def test_constant_targets_fall_back(twin_data):
    x = twin_data[0][:20]
    model = DeepKernelGP(**FAST).fit(x, np.full(20, 2.5))
    mean, std = model.predict(twin_data[0][20:40])
    np.testing.assert_allclose(mean, 2.5)
    assert np.all(std > 0) and np.all(std <= 2.5 + 1e-9)


def test_near_duplicate_inputs(twin_data):
    x = np.repeat(twin_data[0][:5], 4, axis=0) + 1e-9
    y = np.repeat(twin_data[1][:5], 4) + 1e-6 * np.arange(20)
    model = DeepKernelGP(noise_min=1e-9, **FAST).fit(x, y)
    mean, std = model.predict(twin_data[0][:10])
    assert np.isfinite(mean).all() and np.isfinite(std).all()


def test_bad_inputs(twin_data):
    x, y = twin_data
    bad = y[:10].copy()
    bad[[2, 5]] = np.nan
    with pytest.raises(DataError, match="2 of 10"):
        DeepKernelGP(**FAST).fit(x[:10], bad)
    with pytest.raises(DataError, match="at least 2"):
        DeepKernelGP(**FAST).fit(x[:1], y[:1])
    with pytest.raises(ConfigError):
        DeepKernelGP(refit="sometimes")
    with pytest.raises(ConfigError, match="CUDA"):
        if torch.cuda.is_available():
            raise ConfigError("CUDA present: nothing to check")
        DeepKernelGP(device="cuda")
    with pytest.raises(ConfigError, match="not fitted"):
        DeepKernelGP().predict(x[:3])


def test_collapse_flag(twin_data, fitted):
    x, y = twin_data
    assert fitted.diagnostics()["collapsed"] == 0.0
    # a pure CNN feature map (the centre feature alone would keep the features spread)
    collapsed = DeepKernelGP(**FAST, centre_feature=0).fit(x[:30], y[:30])
    with torch.no_grad():  # force the network to map every patch to the same feature
        for p in collapsed.net_.parameters():
            p.zero_()
    collapsed.fit(x[:31], y[:31])
    d = collapsed.diagnostics()
    assert d["collapsed"] == 1.0
    assert d["feature_spread"] < 0.05 or d["mean_spread"] < 1e-3


def test_published_recipe_runs_without_not_psd(twin_data):
    x, y = twin_data
    model = make_surrogate("published", iterations=20, first_iterations=20)
    for n in (10, 11, 12):
        model.fit(x[:n], y[:n])
    assert model.predict(x[:5])[0].shape == (5,)
    with pytest.raises(ConfigError, match="unknown surrogate recipe"):
        make_surrogate("nope")
