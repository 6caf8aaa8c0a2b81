import numpy as np
import pytest
import torch

from autoscope.errors import DataError
from autoscope.models import VAE, encode, fit_vae


def _families(n: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:8, :8]
    stripes = np.where(yy % 4 < 2, 1.0, 0.0)
    spot = np.exp(-((yy - 3.5) ** 2 + (xx - 3.5) ** 2) / 4.0)
    a = stripes + rng.normal(0, 0.05, (n, 8, 8))
    b = spot + rng.normal(0, 0.05, (n, 8, 8))
    return np.concatenate([a, b]).astype(np.float32)


def test_vae_is_deterministic_and_restores_torch_settings():
    patches = np.random.default_rng(0).random((64, 8, 8))
    threads = torch.get_num_threads()
    before = torch.random.get_rng_state()
    z1 = encode(fit_vae(patches, epochs=2, batch_size=32, seed=1), patches)
    z2 = encode(fit_vae(patches, epochs=2, batch_size=32, seed=1), patches)
    z3 = encode(fit_vae(patches, epochs=2, batch_size=32, seed=2), patches)
    assert z1.shape == (64, 2) and z1.dtype == np.float64
    assert np.array_equal(z1, z2) and not np.array_equal(z1, z3)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), before)
    assert not torch.are_deterministic_algorithms_enabled()


def test_vae_latent_dim_and_shape_checks():
    patches = np.random.default_rng(0).random((20, 4, 4))
    vae = fit_vae(patches, latent_dim=3, epochs=1, seed=0)
    assert isinstance(vae, VAE) and len(vae.loss_history) == 1
    assert encode(vae, patches).shape == (20, 3)
    with pytest.raises(DataError, match="expected"):
        encode(vae, np.zeros((3, 5, 5)))
    with pytest.raises(DataError, match="finite"):
        fit_vae(np.full((3, 4, 4), np.nan))


def test_vae_separates_two_patch_families():
    patches = _families(100, np.random.default_rng(1))
    vae = fit_vae(patches, epochs=15, batch_size=32, seed=0)
    z = encode(vae, patches)
    za, zb = z[:100], z[100:]
    ca, cb = za.mean(axis=0), zb.mean(axis=0)
    spread = max(np.linalg.norm(za - ca, axis=1).mean(), np.linalg.norm(zb - cb, axis=1).mean())
    assert np.linalg.norm(ca - cb) > 3 * spread
