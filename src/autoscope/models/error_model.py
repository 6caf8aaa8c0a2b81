"""Error models of curiosity-driven learning and the patch latents they read.

Curiosity-driven Im2spec learning measures where the structure→spectrum model
is expected to be *wrong*. An :class:`ErrorPredictor` (the published head: a
latent `(N, d)` → 128 → 1 MLP with dropout 0.1) learns the spectral mismatch
of the measured points from a latent description of their patches and
predicts it, with Monte-Carlo-dropout uncertainty, over the whole pool. The
latents come from one of two places:

* **workflow 1**: the best Im2spec's frozen encoder, latent layer included
  (:meth:`~autoscope.models.im2spec.Im2SpecEnsemble.encode`); the targets are
  each training patch's L1 mismatch between predicted and measured spectrum
  (:func:`l1_mismatch`). Frozen encoder + this new decoder is the published
  error network;
* **workflow 2**: a :class:`PatchAutoencoder` trained once, unsupervised, on
  every patch of the pool.

Monte-Carlo dropout is vectorised: the model's one dropout layer sits between
the hidden layer and the linear output, so the hidden activations `(N, H)` are
computed once and each stochastic pass is one dropout mask `(H,)` applied to
the output weights; all passes are a single `(N, H) × (H, T)` product. Each
pass thus samples one *network* and applies it to every point, which gives
each point exactly the marginal distribution of per-example masks (500
passes over 1 700 points take about a millisecond on one thread).

Both models are deterministic under ``seed`` on the CPU (see
:mod:`autoscope.models.im2spec`), and pin torch to ``num_threads`` threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from autoscope._torch import resolve_device, torch_settings
from autoscope.errors import ConfigError, DataError
from autoscope.models.im2spec import PatchDecoder, PatchEncoder, Seed, _seed_int, train

__all__ = ["ErrorPredictor", "PatchAutoencoder", "l1_mismatch"]


def l1_mismatch(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Mean absolute difference `(M,)` between predicted and measured spectra `(M, S)`.

    Raises:
        DataError: If the shapes differ or are not `(M, S)`.
    """
    a, b = np.asarray(predicted, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise DataError(
            f"predicted and measured spectra must both be (M, S), got {a.shape} and {b.shape}"
        )
    return np.abs(a - b).mean(axis=1)


def _check_patches(patches: Any, window: int | None = None) -> np.ndarray:
    p = np.asarray(patches, dtype=np.float64)
    if p.ndim != 3 or p.shape[1] != p.shape[2] or len(p) == 0:
        raise DataError(f"patches must be a non-empty (N, w, w) array, got shape {p.shape}")
    if window is not None and p.shape[1] != window:
        raise DataError(
            f"patches must be (N, {window}, {window}) like the training ones, got {p.shape}"
        )
    finite = np.isfinite(p.reshape(len(p), -1)).all(axis=1)
    if not finite.all():
        raise DataError(f"patches must be finite; patch {int(np.flatnonzero(~finite)[0])} is not")
    return p


class _Autoencoder(nn.Module):
    def __init__(self, window: int, latent_dim: int, channels: int) -> None:
        super().__init__()
        self.encoder = PatchEncoder(window, latent_dim=latent_dim, channels=channels)
        self.decoder = PatchDecoder(window, latent_dim=latent_dim, channels=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class PatchAutoencoder:
    """Convolutional autoencoder giving every pool patch a small latent.

    The encoder is a :class:`~autoscope.models.im2spec.PatchEncoder` (stem +
    one 3-convolution block, no dropout) and the decoder a
    :class:`~autoscope.models.im2spec.PatchDecoder`; it is trained with MSE on
    standardised patches (one global mean and standard deviation). Each
    :meth:`fit` starts from fresh weights drawn from ``seed``. With the
    defaults (10 epochs, batches of 128, learning rate 3e-3) 1 700 patches of
    9×9 train in about 1.3 s on one CPU thread.

    Args:
        latent_dim: Latent dimension ``d``.
        channels: Feature maps of the convolutions.
        seed: Seed of weights and shuffling.
        device: Torch device.
        num_threads: Torch CPU threads while training and encoding.

    Attributes:
        loss_history_: Mean training loss of every epoch of the last fit.

    Example:
        >>> patches = np.random.default_rng(0).random((64, 9, 9))
        >>> ae = PatchAutoencoder(latent_dim=3).fit(patches, epochs=2)
        >>> ae.encode(patches).shape
        (64, 3)
    """

    def __init__(
        self,
        *,
        latent_dim: int = 3,
        channels: int = 8,
        seed: int = 0,
        device: str | torch.device = "cpu",
        num_threads: int | None = 1,
    ) -> None:
        if latent_dim < 1 or channels < 1:
            raise ConfigError(
                f"latent_dim and channels must be >= 1, got {latent_dim} and {channels}"
            )
        self.latent_dim = int(latent_dim)
        self.channels = int(channels)
        self.seed = _seed_int(seed)
        self.device = device
        self.num_threads = num_threads
        self._dev = resolve_device(device)
        self.net_: _Autoencoder | None = None
        self.offset_ = 0.0
        self.scale_ = 1.0
        self.loss_history_: list[float] = []

    def fit(
        self, patches: np.ndarray, *, epochs: int = 10, lr: float = 3e-3, batch_size: int = 128
    ) -> PatchAutoencoder:
        """Train on every patch `(N, w, w)` of the pool (w >= 5); returns ``self``.

        Raises:
            DataError: If the patches are empty, not square or not finite.
            ConfigError: If an option is out of range.
        """
        p = _check_patches(patches)
        spread = float(p.std())
        self.offset_, self.scale_ = float(p.mean()), spread if spread > 0 else 1.0
        x = ((p - self.offset_) / self.scale_).astype(np.float32)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = _Autoencoder(p.shape[1], self.latent_dim, self.channels)
        result = train(
            net,
            x,
            x,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=self.seed,
            device=self._dev,
            num_threads=self.num_threads,
        )
        self.net_ = net
        self.loss_history_ = result.train_loss
        return self

    def encode(self, patches: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Latents `(N, d)` (float64) of patches `(N, w, w)`.

        Raises:
            ConfigError: If the autoencoder is not fitted.
            DataError: If the patches differ in shape from the training ones.
        """
        if self.net_ is None:
            raise ConfigError("PatchAutoencoder is not fitted; call fit(patches) first")
        p = _check_patches(patches, self.net_.encoder.window)
        x = ((p - self.offset_) / self.scale_).astype(np.float32)
        out = []
        with torch_settings(self.num_threads, deterministic=False), torch.no_grad():
            self.net_.eval()
            for start in range(0, len(x), int(batch_size)):
                xb = torch.from_numpy(x[start : start + int(batch_size)]).to(self._dev)
                out.append(self.net_.encoder(xb).double().cpu().numpy())
        return np.concatenate(out)

    def get_params(self) -> dict[str, Any]:
        """The constructor options."""
        return {
            "latent_dim": self.latent_dim,
            "channels": self.channels,
            "seed": self.seed,
            "device": str(self.device),
            "num_threads": self.num_threads,
        }

    def state_dict(self) -> dict[str, Any]:
        """Options, patch side, weights, scaling and loss history."""
        if self.net_ is None:
            raise ConfigError("PatchAutoencoder is not fitted; call fit(patches) first")
        return {
            "options": self.get_params(),
            "window": self.net_.encoder.window,
            "net": {k: v.detach().cpu().clone() for k, v in self.net_.state_dict().items()},
            "offset": self.offset_,
            "scale": self.scale_,
            "loss_history": list(self.loss_history_),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the options of ``self`` must match the saved ones)."""
        _check_options(self, state)
        net = _Autoencoder(int(state["window"]), self.latent_dim, self.channels)
        net.load_state_dict(state["net"])
        self.net_ = net.to(self._dev).eval()
        self.offset_, self.scale_ = float(state["offset"]), float(state["scale"])
        self.loss_history_ = list(state["loss_history"])


def _check_options(model: Any, state: Mapping[str, Any]) -> None:
    mine, theirs = model.get_params(), dict(state["options"])
    differ = sorted(
        k for k in mine if k not in ("device", "num_threads") and mine[k] != theirs.get(k)
    )
    if differ:
        raise ConfigError(
            f"{type(model).__name__}.load_state_dict: options differ from the saved ones: {differ}"
        )


class _ErrorNet(nn.Module):
    def __init__(self, latent_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.1))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.hidden(z))).squeeze(-1)


class ErrorPredictor:
    """MLP with dropout from a latent `(N, d)` to one number (the expected model error).

    Inputs are standardised per latent dimension and targets by their mean
    and standard deviation, both recomputed on every :meth:`fit`; the weights
    carry over between fits (warm start), each fit running ``epochs`` of
    full-batch Adam (the published recipe needs a high learning rate and
    several epochs per step, hence the defaults). The latent dimension is
    fixed by the first fit.

    Args:
        hidden: Width of the hidden layer (128 as published).
        dropout: Dropout probability after the hidden layer (0.1 as published).
        seed: Seed of the weights, of every fit's dropout and of the default
            Monte-Carlo passes.
        device: Torch device.
        num_threads: Torch CPU threads while training and predicting.

    Attributes:
        n_fits_: Number of calls to :meth:`fit`.
        loss_history_: Training loss (standardised units) of every epoch of every fit.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.normal(size=(100, 3))
        >>> model = ErrorPredictor().fit(z, np.abs(z[:, 0]))
        >>> mean, std = model.predict(z, mc_samples=50)
        >>> mean.shape, std.shape
        ((100,), (100,))
    """

    def __init__(
        self,
        *,
        hidden: int = 128,
        dropout: float = 0.1,
        seed: int = 0,
        device: str | torch.device = "cpu",
        num_threads: int | None = 1,
    ) -> None:
        if hidden < 1 or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"need hidden >= 1 and dropout in [0, 1), got {hidden}, {dropout}")
        self.hidden = int(hidden)
        self.dropout = float(dropout)
        self.seed = _seed_int(seed)
        self.device = device
        self.num_threads = num_threads
        self._dev = resolve_device(device)
        self.net_: _ErrorNet | None = None
        self.n_fits_ = 0
        self.loss_history_: list[float] = []
        self._x_offset = np.zeros(0)
        self._x_scale = np.ones(0)
        self._y_offset = 0.0
        self._y_scale = 1.0

    def get_params(self) -> dict[str, Any]:
        """The constructor options."""
        return {
            "hidden": self.hidden,
            "dropout": self.dropout,
            "seed": self.seed,
            "device": str(self.device),
            "num_threads": self.num_threads,
        }

    def _latents(self, latents: Any) -> np.ndarray:
        z = np.asarray(latents, dtype=np.float64)
        if z.ndim != 2 or len(z) == 0:
            raise DataError(f"latents must be a non-empty (N, d) array, got shape {z.shape}")
        if self.net_ is not None and z.shape[1] != len(self._x_offset):
            raise DataError(
                f"latents have {z.shape[1]} dimensions but the model was fitted on "
                f"{len(self._x_offset)}; make a new ErrorPredictor for another latent space"
            )
        finite = np.isfinite(z).all(axis=1)
        if not finite.all():
            raise DataError(f"latents must be finite; row {int(np.flatnonzero(~finite)[0])} is not")
        return z

    def _scaled(self, z: np.ndarray) -> torch.Tensor:
        x = (z - self._x_offset) / self._x_scale
        return torch.from_numpy(x.astype(np.float32)).to(self._dev)

    def fit(
        self,
        latents: np.ndarray,
        targets: np.ndarray,
        *,
        epochs: int = 50,
        lr: float = 1e-2,
        batch_size: int | None = None,
    ) -> ErrorPredictor:
        """Train (warm-started after the first call) on latents `(N, d)` and targets `(N,)`.

        Returns:
            ``self``.

        Raises:
            DataError: If the arrays are empty, not finite or do not pair up,
                or the latent dimension changed since the first fit.
            ConfigError: If an option is out of range.
        """
        z = self._latents(latents)
        y = np.asarray(targets, dtype=np.float64)
        if y.shape != (len(z),):
            raise DataError(f"targets must have shape ({len(z)},) like the latents, got {y.shape}")
        if not np.isfinite(y).all():
            bad = int(np.flatnonzero(~np.isfinite(y))[0])
            raise DataError(f"targets must be finite; row {bad} is not")
        fit_seed = int(np.random.SeedSequence([self.seed, self.n_fits_]).generate_state(1)[0])
        if self.net_ is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(fit_seed)
                self.net_ = _ErrorNet(z.shape[1], self.hidden, self.dropout).to(self._dev)
        self._x_offset = z.mean(axis=0)
        spread = z.std(axis=0)
        self._x_scale = np.where(spread > 0, spread, 1.0)
        self._y_offset = float(y.mean())
        y_spread = float(y.std())
        self._y_scale = y_spread if y_spread > 0 else 1.0
        target = ((y - self._y_offset) / self._y_scale).astype(np.float32)
        result = train(
            self.net_,
            self._scaled(z),
            target,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=fit_seed,
            device=self._dev,
            num_threads=self.num_threads,
        )
        self.loss_history_ += result.train_loss
        self.n_fits_ += 1
        return self

    def predict(
        self, latents: np.ndarray, *, mc_samples: int = 0, rng: Seed | None = None
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted targets of latents `(N, d)`.

        Args:
            latents: Latents `(N, d)`.
            mc_samples: Number ``T`` of Monte-Carlo dropout passes; 0 gives the
                deterministic (dropout-off) prediction.
            rng: Seed or generator of the dropout masks; ``None`` uses ``seed``,
                so repeated calls give identical answers.

        Returns:
            The mean `(N,)`; with ``mc_samples > 0`` the tuple (mean, std),
            each `(N,)`, over the ``T`` passes (std with ``1/T``).

        Raises:
            ConfigError: If the model is not fitted or ``mc_samples < 0``.
            DataError: If the latents are malformed.
        """
        if self.net_ is None:
            raise ConfigError("ErrorPredictor is not fitted; call fit(latents, targets) first")
        if mc_samples < 0:
            raise ConfigError(f"mc_samples must be >= 0, got {mc_samples}")
        net = self.net_
        x = self._scaled(self._latents(latents))
        with torch_settings(self.num_threads, deterministic=False), torch.no_grad():
            net.eval()
            if mc_samples == 0:
                mean = net(x).double().cpu().numpy()
                return mean * self._y_scale + self._y_offset
            gen = torch.Generator(device=self._dev)
            gen.manual_seed(_seed_int(self.seed if rng is None else rng))
            keep = 1.0 - self.dropout
            uniform = torch.rand(int(mc_samples), self.hidden, generator=gen, device=self._dev)
            masks = uniform < keep
            weights = masks * (net.out.weight / keep)  # (T, H): one sampled output layer a pass
            passes = net.hidden(x) @ weights.T + net.out.bias  # (N, T)
            mean_t = passes.mean(dim=1).double().cpu().numpy()
            std_t = passes.std(dim=1, correction=0).double().cpu().numpy()
        return mean_t * self._y_scale + self._y_offset, std_t * self._y_scale

    def state_dict(self) -> dict[str, Any]:
        """Options, weights, scalings and fit count."""
        if self.net_ is None:
            raise ConfigError("ErrorPredictor is not fitted; call fit(latents, targets) first")
        return {
            "options": self.get_params(),
            "latent_dim": len(self._x_offset),
            "net": {k: v.detach().cpu().clone() for k, v in self.net_.state_dict().items()},
            "x_offset": self._x_offset.tolist(),
            "x_scale": self._x_scale.tolist(),
            "y_offset": self._y_offset,
            "y_scale": self._y_scale,
            "n_fits": self.n_fits_,
            "loss_history": list(self.loss_history_),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the options of ``self`` must match the saved ones)."""
        _check_options(self, state)
        net = _ErrorNet(int(state["latent_dim"]), self.hidden, self.dropout)
        net.load_state_dict(state["net"])
        self.net_ = net.to(self._dev).eval()
        self._x_offset = np.asarray(state["x_offset"], dtype=np.float64)
        self._x_scale = np.asarray(state["x_scale"], dtype=np.float64)
        self._y_offset = float(state["y_offset"])
        self._y_scale = float(state["y_scale"])
        self.n_fits_ = int(state["n_fits"])
        self.loss_history_ = list(state["loss_history"])
