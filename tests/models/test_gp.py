"""ExactGP on feature vectors: learning, determinism, state, sampling, BoTorch, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.data.scalarizers import make_scalarizer
from autoscope.data.twins import make_twin
from autoscope.errors import ConfigError, DataError
from autoscope.models import ExactGP

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def coords_data() -> tuple[np.ndarray, np.ndarray]:
    image = make_twin("ferroelectric", size=32)
    rows, cols = np.mgrid[0:32, 0:32]
    x = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(float)
    y = make_scalarizer("loop-area")(image.spectra.reshape(-1, image.spectra.shape[-1]),
                                     image.spectral_axis)
    order = np.random.default_rng(0).permutation(len(y))[:300]
    return x[order], y[order]


@pytest.fixture(scope="module")
def fitted(coords_data) -> ExactGP:
    x, y = coords_data
    return ExactGP(bounds=np.array([[0.0, 0.0], [31.0, 31.0]])).fit(x[:60], y[:60])


def test_fit_improves_likelihood_and_beats_the_mean(coords_data, fitted):
    x, y = coords_data
    d = fitted.diagnostics()
    assert d["loss_final"] < d["loss_initial"]
    assert d["collapsed"] == 0.0
    mean, _ = fitted.predict(x[60:])
    assert np.sqrt(np.mean((mean - y[60:]) ** 2)) < y[60:].std()


def test_deterministic_and_state_round_trip(coords_data, fitted):
    x, y = coords_data
    again = ExactGP(bounds=np.array([[0.0, 0.0], [31.0, 31.0]])).fit(x[:60], y[:60])
    np.testing.assert_array_equal(again.predict(x[60:])[0], fitted.predict(x[60:])[0])
    a = ExactGP().fit(x[:40], y[:40])
    state = a.state_dict()
    pred_a = a.fit(x[:50], y[:50]).predict(x[100:])
    b = ExactGP()
    b.load_state_dict(state)
    pred_b = b.fit(x[:50], y[:50]).predict(x[100:])
    np.testing.assert_array_equal(pred_a[0], pred_b[0])


def test_no_clamping_outside_the_training_range(coords_data):
    x, y = coords_data
    model = ExactGP(iterations=5).fit(x[:30] / 2, y[:30])
    inside = model._transform(np.array([[40.0, 40.0]]))
    assert float(inside.max()) > 1.0


@pytest.mark.parametrize("method", ["marginal", "pathwise", "joint"])
def test_sampling(coords_data, fitted, method):
    x = coords_data[0][60:80]
    mean, std = fitted.predict(x)
    _, noisy = fitted.predict(x, include_noise=True)
    assert np.all(noisy >= std)
    draws = fitted.sample(x, n_samples=3000, rng=np.random.default_rng(0), method=method)
    assert draws.shape == (3000, 20)
    tolerance = 5 * std / np.sqrt(3000) + (0.1 * std if method == "pathwise" else 0)
    assert np.all(np.abs(draws.mean(0) - mean) < tolerance)


def test_botorch_log_expected_improvement(coords_data, fitted):
    from botorch.acquisition import LogExpectedImprovement

    model = fitted.botorch_model(coords_data[0][60:90])
    with torch.no_grad():
        values = LogExpectedImprovement(model, best_f=float(coords_data[1][:60].max()))(
            model.candidates
        )
    assert values.shape == (30,) and torch.isfinite(values).all()


def test_edge_cases(coords_data):
    x, y = coords_data
    model = ExactGP().fit(x[:10], np.zeros(10))
    mean, std = model.predict(x[10:20])
    np.testing.assert_array_equal(mean, 0.0)
    assert np.all(std > 0)
    dup = np.repeat(x[:4], 5, axis=0) + 1e-12
    model = ExactGP(noise_min=1e-10).fit(dup, np.repeat(y[:4], 5) + 1e-8 * np.arange(20))
    assert np.isfinite(model.predict(x[:5])[1]).all()
    with pytest.raises(DataError, match="1 of 5"):
        ExactGP().fit(x[:5], np.array([1.0, np.nan, 2.0, 3.0, 4.0]))
    with pytest.raises(DataError, match="at least 2"):
        ExactGP().fit(x[:1], y[:1])
    with pytest.raises(ConfigError):
        ExactGP(kernel="cubic")
