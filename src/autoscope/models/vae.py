"""A small variational autoencoder over the patches of a candidate pool.

The VAE gives every candidate a low-dimensional latent (2-D by default) in
which feature-space coverage is measured. It is a plain MLP (flattened patch
-> 128 -> 64 -> latent mean and log-variance, mirrored decoder) with a
unit-variance Gaussian likelihood, trained with Adam on every patch of the
pool. Inputs are standardised with one global mean and standard deviation
stored in the model, so :func:`encode` sees patches exactly as training did.

Training is deterministic under ``seed`` on the CPU: weights, shuffling and
reparameterisation noise all come from ``torch.manual_seed(seed)`` inside
:func:`torch.random.fork_rng` (the caller's RNG state is restored), and
``torch.use_deterministic_algorithms`` is switched on for the duration of the
fit. Torch threads are pinned to ``num_threads`` (1 by default: the model is
too small to gain from more, and oversubscribed cores make torch far slower)
and restored afterwards. CUDA runs are not guaranteed bit-identical.

With the defaults a pool of 1 225 patches of 16x16 trains in about a second on
one CPU thread.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from autoscope._torch import resolve_device, torch_settings
from autoscope.errors import ConfigError, DataError

__all__ = ["VAE", "encode", "fit_vae"]


class VAE(nn.Module):
    """MLP variational autoencoder on flattened patches.

    Args:
        in_shape: Shape of one patch, e.g. `(w, w)`.
        latent_dim: Dimension ``d`` of the latent space.
        hidden: Widths of the hidden layers of the encoder (the decoder mirrors them).

    Example:
        >>> vae = VAE((8, 8), latent_dim=2)
        >>> mu, logvar = vae.posterior(torch.zeros(5, 64))
        >>> tuple(mu.shape), tuple(vae.decode(mu).shape)
        ((5, 2), (5, 64))
    """

    def __init__(
        self, in_shape: tuple[int, ...], *, latent_dim: int = 2, hidden: tuple[int, ...] = (128, 64)
    ) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ConfigError(f"latent_dim must be >= 1, got {latent_dim}")
        self.in_shape = tuple(int(s) for s in in_shape)
        self.latent_dim = int(latent_dim)
        n_in = math.prod(self.in_shape)
        widths = (n_in, *hidden)
        enc: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            enc += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc, nn.Linear(widths[-1], 2 * self.latent_dim))
        dec: list[nn.Module] = []
        back = (self.latent_dim, *hidden[::-1])
        for a, b in zip(back[:-1], back[1:], strict=True):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*dec, nn.Linear(back[-1], n_in))
        self.register_buffer("offset", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))
        self.loss_history: list[float] = []

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and log-variance, each `(B, d)`, of standardised `(B, F)` inputs."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction `(B, F)` (standardised units) of latents `(B, d)`."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction, mean and log-variance of standardised inputs `(B, F)`."""
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def _flat_patches(patches: np.ndarray) -> np.ndarray:
    patches = np.asarray(patches)
    if patches.ndim < 2 or len(patches) == 0:
        raise DataError(f"patches must be a non-empty (N, w, w) array, got shape {patches.shape}")
    flat = patches.reshape(len(patches), -1).astype(np.float32)
    if not np.isfinite(flat).all():
        bad = int(np.flatnonzero(~np.isfinite(flat).all(axis=1))[0])
        raise DataError(f"patches must be finite; patch {bad} holds NaN or inf")
    return flat


def fit_vae(
    patches: np.ndarray,
    *,
    latent_dim: int = 2,
    epochs: int = 30,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden: tuple[int, ...] = (128, 64),
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_threads: int | None = 1,
) -> VAE:
    """Train a :class:`VAE` on every patch of a pool.

    Args:
        patches: Patches `(N, w, w)` (any `(N, ...)` works; they are flattened).
        latent_dim: Latent dimension ``d``.
        epochs: Passes over the patches.
        batch_size: Patches per Adam step.
        learning_rate: Adam learning rate.
        hidden: Encoder hidden widths.
        seed: Seed of weights, shuffling and noise.
        device: Torch device to train on.
        num_threads: Torch CPU threads during the fit (restored afterwards);
            ``None`` keeps the caller's setting.

    Returns:
        The trained VAE in eval mode, on ``device``; ``loss_history`` holds the
        mean loss (negative ELBO per patch) of every epoch.

    Raises:
        DataError: If the patches are empty or not finite.
        ConfigError: If an option is out of range or the device is unavailable.
    """
    patches = np.asarray(patches)
    flat = _flat_patches(patches)
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise ConfigError(
            f"epochs and batch_size must be >= 1 and learning_rate > 0, got epochs={epochs}, "
            f"batch_size={batch_size}, learning_rate={learning_rate}"
        )
    dev = resolve_device(device)
    offset = float(flat.mean())
    spread = float(flat.std())
    scale = spread if spread > 0 else 1.0
    rng_devices = [dev.index or 0] if dev.type == "cuda" else []
    with (
        torch_settings(num_threads, deterministic=dev.type == "cpu"),
        torch.random.fork_rng(devices=rng_devices),
    ):
        torch.manual_seed(int(seed))
        vae = VAE(patches.shape[1:], latent_dim=latent_dim, hidden=hidden).to(dev)
        vae.offset.fill_(offset)
        vae.scale.fill_(scale)
        x = (torch.from_numpy(flat).to(dev) - offset) / scale
        optimizer = torch.optim.Adam(vae.parameters(), lr=learning_rate)
        n = len(x)
        vae.train()
        for _ in range(int(epochs)):
            order = torch.randperm(n, device=dev)
            total = 0.0
            for start in range(0, n, int(batch_size)):
                batch = x[order[start : start + int(batch_size)]]
                recon, mu, logvar = vae(batch)
                rec = 0.5 * (recon - batch).pow(2).sum(dim=1)
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
                loss = (rec + kl).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            vae.loss_history.append(total / n)
    return vae.eval()


def encode(
    vae: VAE, patches: np.ndarray, *, batch_size: int = 4096, num_threads: int | None = 1
) -> np.ndarray:
    """Mean latents of patches under a trained VAE.

    Args:
        vae: A trained :class:`VAE`.
        patches: Patches `(N, *vae.in_shape)`.
        batch_size: Patches per forward pass.
        num_threads: Torch CPU threads (restored afterwards); ``None`` keeps the
            caller's setting.

    Returns:
        Posterior means `(N, latent_dim)` float64.

    Raises:
        DataError: If the patch shape differs from the training patches.
    """
    patches = np.asarray(patches)
    if tuple(patches.shape[1:]) != vae.in_shape:
        raise DataError(
            f"patches have shape {patches.shape}, expected (N, {', '.join(map(str, vae.in_shape))})"
        )
    flat = _flat_patches(patches)
    dev = vae.offset.device
    out = []
    with torch_settings(num_threads, deterministic=False), torch.no_grad():
        was_training = vae.training
        vae.eval()
        for start in range(0, len(flat), int(batch_size)):
            x = torch.from_numpy(flat[start : start + int(batch_size)]).to(dev)
            mu, _ = vae.posterior((x - vae.offset) / vae.scale)
            out.append(mu.double().cpu().numpy())
        vae.train(was_training)
    return np.concatenate(out)
