import time

import numpy as np
import pytest
from scipy.stats import spearmanr

from autoscope.errors import ConfigError, DataError
from autoscope.models.error_model import ErrorPredictor, PatchAutoencoder, l1_mismatch


def _planted(n: int, rng: np.random.Generator):
    z = rng.normal(size=(n, 3))
    return z, np.sin(2 * z[:, 0]) + 0.5 * z[:, 1] ** 2


def test_error_predictor_learns_a_planted_pattern():
    rng = np.random.default_rng(0)
    z, y = _planted(300, rng)
    z_test, y_test = _planted(300, rng)
    model = ErrorPredictor(seed=0).fit(z, y, epochs=300)
    assert spearmanr(model.predict(z_test), y_test).statistic > 0.8
    mean, std = model.predict(z_test, mc_samples=200)
    assert mean.shape == std.shape == (300,)
    assert (std > 0).all()
    assert spearmanr(mean, y_test).statistic > 0.8


def test_error_predictor_warm_starts():
    z, y = _planted(100, np.random.default_rng(1))
    model = ErrorPredictor().fit(z, y, epochs=60)
    first = list(model.loss_history_)
    model.fit(z, y, epochs=5)
    assert model.n_fits_ == 2 and len(model.loss_history_) == 65
    assert model.loss_history_[60] < 0.5 * first[0]


def test_error_predictor_is_deterministic():
    z, y = _planted(80, np.random.default_rng(2))

    def fitted(seed):
        return ErrorPredictor(seed=seed).fit(z, y, epochs=20)

    a, b, c = fitted(0), fitted(0), fitted(1)
    for first, second in zip(a.predict(z, mc_samples=30), b.predict(z, mc_samples=30), strict=True):
        assert np.array_equal(first, second)
    assert not np.array_equal(a.predict(z), c.predict(z))
    _, std1 = a.predict(z, mc_samples=30)
    _, std2 = a.predict(z, mc_samples=30)
    _, std3 = a.predict(z, mc_samples=30, rng=5)
    assert np.array_equal(std1, std2) and not np.array_equal(std1, std3)

    restored = ErrorPredictor(seed=0)
    restored.load_state_dict(a.state_dict())
    assert np.array_equal(restored.predict(z), a.predict(z))
    a.fit(z, y, epochs=3)
    restored.fit(z, y, epochs=3)
    assert np.array_equal(restored.predict(z, mc_samples=10)[1], a.predict(z, mc_samples=10)[1])


def test_mc_dropout_matches_its_analytic_moments_and_is_vectorised():
    z, y = _planted(1700, np.random.default_rng(3))
    model = ErrorPredictor(dropout=0.1).fit(z[:200], y[:200], epochs=10)
    start = time.perf_counter()
    mean, std = model.predict(z, mc_samples=500)
    assert time.perf_counter() - start < 0.5
    # one dropout layer before a linear output: E and Var have closed forms
    import torch

    net = model.net_
    with torch.no_grad():
        x = model._scaled(z)
        terms = net.hidden(x) * net.out.weight[0]
        var = (0.1 / 0.9) * (terms**2).sum(dim=1).double().numpy() * model._y_scale**2
    assert np.allclose(mean, model.predict(z), atol=4 * np.sqrt(var.max() / 500))
    assert np.median(np.abs(std / np.sqrt(var) - 1)) < 0.1


def test_error_predictor_bad_input():
    model = ErrorPredictor()
    with pytest.raises(ConfigError, match="not fitted"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(DataError, match=r"\(4,\)"):
        model.fit(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(DataError, match="finite"):
        model.fit(np.full((4, 3), np.nan), np.zeros(4))
    model.fit(np.random.default_rng(0).normal(size=(4, 3)), np.arange(4.0), epochs=1)
    with pytest.raises(DataError, match="3"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ConfigError, match="mc_samples"):
        model.predict(np.zeros((2, 3)), mc_samples=-1)
    with pytest.raises(ConfigError, match="dropout"):
        ErrorPredictor(dropout=1.0)


def test_l1_mismatch():
    a = np.array([[0.0, 1.0], [2.0, 2.0]])
    assert np.allclose(l1_mismatch(a, np.zeros((2, 2))), [0.5, 2.0])
    with pytest.raises(DataError, match=r"\(M, S\)"):
        l1_mismatch(a, np.zeros((2, 3)))


def _families(n: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:9, :9]
    stripes = np.where(yy % 4 < 2, 1.0, 0.0)
    spot = np.exp(-((yy - 4) ** 2 + (xx - 4) ** 2) / 4.0)
    return np.concatenate(
        [stripes + rng.normal(0, 0.1, (n, 9, 9)), spot + rng.normal(0, 0.1, (n, 9, 9))]
    )


def test_autoencoder_separates_two_patch_families_deterministically():
    patches = _families(100, np.random.default_rng(4))
    ae = PatchAutoencoder(seed=0).fit(patches, epochs=8, batch_size=50)
    z = ae.encode(patches)
    assert z.shape == (200, 3) and z.dtype == np.float64
    assert ae.loss_history_[-1] < 0.5 * ae.loss_history_[0]
    za, zb = z[:100], z[100:]
    spread = max(
        np.linalg.norm(za - za.mean(0), axis=1).mean(),
        np.linalg.norm(zb - zb.mean(0), axis=1).mean(),
    )
    assert np.linalg.norm(za.mean(0) - zb.mean(0)) > 3 * spread
    again = PatchAutoencoder(seed=0).fit(patches, epochs=8, batch_size=50)
    assert np.array_equal(again.encode(patches), z)
    restored = PatchAutoencoder(seed=0)
    restored.load_state_dict(ae.state_dict())
    assert np.array_equal(restored.encode(patches), z)
    with pytest.raises(ConfigError, match="options differ"):
        PatchAutoencoder(latent_dim=2).load_state_dict(ae.state_dict())


def test_autoencoder_bad_input():
    ae = PatchAutoencoder()
    with pytest.raises(ConfigError, match="not fitted"):
        ae.encode(np.zeros((2, 9, 9)))
    with pytest.raises(DataError, match="finite"):
        ae.fit(np.full((3, 9, 9), np.nan))
    ae.fit(np.random.default_rng(0).random((10, 9, 9)), epochs=1)
    with pytest.raises(DataError, match=r"\(N, 9, 9\)"):
        ae.encode(np.zeros((2, 11, 11)))
