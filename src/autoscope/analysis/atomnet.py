"""A small CNN atom finder trained on synthetic HAADF images.

:class:`AtomNet` is a tiny fully convolutional encoder-decoder (two 2x
downsamplings, two learned upsamplings with skip connections, 12-16 channels,
about 20 k weights) that maps a standardised image `(1, H, W)` to the logit of a
heatmap whose targets are Gaussians (``target_sigma_px``) centred on the true
columns. It is the learned baseline of the atom-finding noise study: by default
it is trained on *clean* images from :mod:`autoscope.gym.haadf` with the
lattice, basis, thickness, defects, rotation, pixel size, probe and thermal
smearing drawn at random for every image, so it knows nothing about one
particular crystal.

:func:`find_atoms_cnn` runs the network, keeps the local maxima of the
probability map above ``threshold`` (:func:`skimage.feature.peak_local_max`),
and refines each to sub-pixel precision with a parabola through the logarithm
of the probabilities of its neighbours along each axis, which is exact for the
Gaussian targets the network learns to draw.

Training is deterministic under ``seed`` on the CPU (weights, data and
augmentation are seeded and ``torch.use_deterministic_algorithms`` is on during
the fit; torch's global RNG state is restored afterwards). Torch threads are
pinned to ``num_threads`` (1 by default) during the fit. With the defaults the
fit takes well under a minute on one CPU thread. Only the network and its
training loop are written here; images come from :mod:`autoscope.gym.haadf`,
peaks from scikit-image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skimage.feature import peak_local_max
from torch import nn
from torch.nn import functional as F

from autoscope._torch import resolve_device, torch_settings
from autoscope.errors import ConfigError, DataError
from autoscope.gym.haadf import Probe, haadf_image, synthetic_lattice

__all__ = [
    "ATOMNET_FORMAT",
    "ATOMNET_VERSION",
    "AtomNet",
    "atomnet_training_set",
    "find_atoms_cnn",
    "heatmap_peaks",
    "heatmap_targets",
    "load_atomnet",
    "predict_heatmap",
    "save_atomnet",
    "train_atomnet",
]

#: Tag stored in every saved model.
ATOMNET_FORMAT = "autoscope.atomnet"
#: Version of the saved-model layout; :func:`load_atomnet` refuses any other.
ATOMNET_VERSION = 1


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


class AtomNet(nn.Module):
    """Fully convolutional encoder-decoder from an image to a column-centre heatmap.

    Any input size works: the input is padded (edge-replicated) to a multiple of 4
    and the output cropped back.

    Args:
        channels: Widths ``(c1, c2, c3)`` of the full-, half- and quarter-resolution levels.
        target_sigma_px: Width (pixels) of the Gaussian targets the model was trained on
            (stored with the model; used by :func:`heatmap_targets`).

    Example:
        >>> net = AtomNet()
        >>> tuple(net(torch.zeros(2, 1, 30, 41)).shape)
        (2, 1, 30, 41)
    """

    def __init__(
        self, *, channels: Sequence[int] = (12, 16, 16), target_sigma_px: float = 1.25
    ) -> None:
        super().__init__()
        chans = tuple(int(c) for c in channels)
        if len(chans) != 3 or min(chans) < 1:
            raise ConfigError(f"channels must be three positive ints, got {channels!r}")
        if not math.isfinite(target_sigma_px) or target_sigma_px <= 0:
            raise ConfigError(f"target_sigma_px must be > 0, got {target_sigma_px!r}")
        c1, c2, c3 = chans
        self.channels = chans
        self.target_sigma_px = float(target_sigma_px)
        #: Training options and per-epoch mean loss, filled by :func:`train_atomnet`.
        self.meta: dict[str, Any] = {}
        self.enc1 = nn.Sequential(_conv(1, c1), _conv(c1, c1))
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), _conv(c1, c2), _conv(c2, c2))
        self.bottom = nn.Sequential(nn.MaxPool2d(2), _conv(c2, c3), _conv(c3, c3))
        self.up2 = nn.ConvTranspose2d(c3, c3, 2, stride=2)
        self.dec2 = _conv(c3 + c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c2, 2, stride=2)
        self.dec1 = _conv(c2 + c1, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Heatmap logits.

        Args:
            x: Standardised images `(B, 1, H, W)`.

        Returns:
            Logits `(B, 1, H, W)`; ``sigmoid`` gives the column-centre probability.
        """
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        b = self.bottom(e2)
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)[..., :h, :w]


def _image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise DataError(f"image must be a 2-D (H, W) array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DataError(f"image must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise DataError("image must be finite; it holds NaN or inf")
    return arr


def _standardise(image: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation (a constant image becomes zeros)."""
    std = image.std()
    centred = image - image.mean()
    return (centred / std if std > 0 else centred).astype(np.float32)


def heatmap_targets(
    positions_px: np.ndarray, shape: Sequence[int], *, sigma_px: float = 1.25
) -> np.ndarray:
    """Training targets: the maximum over columns of unit-height Gaussians.

    Args:
        positions_px: Array `(N, 2)` of column centres ``(row, col)`` in pixels.
        shape: Heatmap shape ``(H, W)``.
        sigma_px: Gaussian width in pixels.

    Returns:
        Array `(H, W)` float32 in [0, 1], 1 at a column centre lying on a pixel.

    Example:
        >>> t = heatmap_targets(np.array([[2.0, 3.0]]), (5, 6), sigma_px=1.0)
        >>> float(t[2, 3]), round(float(t[2, 4]), 4)
        (1.0, 0.6065)
    """
    h, w = (int(s) for s in shape)
    pos = np.asarray(positions_px, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(h * w, dtype=np.float64)
    r = int(math.ceil(4.0 * sigma_px))
    pos = pos[
        (pos[:, 0] > -r) & (pos[:, 0] < h - 1 + r) & (pos[:, 1] > -r) & (pos[:, 1] < w - 1 + r)
    ]
    if len(pos):
        off = np.arange(-r, r + 1)
        iy = np.round(pos[:, :1]).astype(np.int64) + off[None, :]
        ix = np.round(pos[:, 1:]).astype(np.int64) + off[None, :]
        gy = np.exp(-0.5 * ((iy - pos[:, :1]) / sigma_px) ** 2)
        gx = np.exp(-0.5 * ((ix - pos[:, 1:]) / sigma_px) ** 2)
        vals = gy[:, :, None] * gx[:, None, :]
        valid = ((iy >= 0) & (iy < h))[:, :, None] & ((ix >= 0) & (ix < w))[:, None, :]
        flat = iy[:, :, None] * w + ix[:, None, :]
        np.maximum.at(out, flat[valid], vals[valid])
    return out.reshape(h, w).astype(np.float32)


def atomnet_training_set(
    n_images: int,
    *,
    image_shape: Sequence[int] = (128, 128),
    pixel_size_range: tuple[float, float] = (0.15, 0.3),
    lattice_constant_range: tuple[float, float] = (3.0, 5.0),
    dose_e_per_A2: float | tuple[float, float] | None = None,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Random synthetic HAADF images with their true column positions.

    Every image draws its own crystal and microscope: lattice constant ``a`` in
    ``lattice_constant_range``, ``b/a`` in [0.85, 1.15], ``gamma`` in [60, 120] degrees,
    any rotation, a random origin; one column per cell (Z in 20-83) plus, in two
    images out of three, a second one at ``(1/2, 1/2)``, ``(1/2, 0)`` or ``(0, 1/2)``
    (Z in 14-83); 3-10 atoms per column with 10 % vacancies and 5 % substitutions;
    pixel size in ``pixel_size_range``; 200 or 300 kV, 18-30 mrad, defocus within
    +-20 Å; thermal smearing 0.05-0.12 Å; background 0.05-0.5 %.

    Args:
        n_images: Number of images (>= 1).
        image_shape: Shape ``(H, W)`` of every image.
        pixel_size_range: Range of pixel sizes (Å).
        lattice_constant_range: Range of the lattice constant ``a`` (Å).
        dose_e_per_A2: None for clean images (the scattered fraction); a dose or a
            ``(low, high)`` range (sampled log-uniformly) for Poisson counts.
        seed: Seed or generator.

    Returns:
        Images `(n_images, H, W)` float64 and, per image, the true positions `(N_i, 2)`
        in pixels of the columns inside the frame.

    Raises:
        ConfigError: If an option is out of range.
    """
    if int(n_images) != n_images or n_images < 1:
        raise ConfigError(f"n_images must be an int >= 1, got {n_images!r}")
    h, w = (int(s) for s in image_shape)
    if h < 8 or w < 8:
        raise ConfigError(f"image_shape must be at least (8, 8), got {image_shape!r}")
    for name, (lo, hi) in (
        ("pixel_size_range", pixel_size_range),
        ("lattice_constant_range", lattice_constant_range),
    ):
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ConfigError(f"{name} must satisfy 0 < low <= high, got {(lo, hi)!r}")
    if dose_e_per_A2 is None:
        dose_lo = dose_hi = None
    else:
        dose_lo, dose_hi = (
            (float(dose_e_per_A2),) * 2
            if np.ndim(dose_e_per_A2) == 0
            else (float(d) for d in dose_e_per_A2)  # type: ignore[union-attr]
        )
        if not (0 < dose_lo <= dose_hi and math.isfinite(dose_hi)):
            raise ConfigError(f"dose_e_per_A2 must be > 0 (or 0 < low <= high): {dose_e_per_A2!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    images = np.empty((int(n_images), h, w))
    truths: list[np.ndarray] = []
    for k in range(int(n_images)):
        px = rng.uniform(*pixel_size_range)
        a = rng.uniform(*lattice_constant_range)
        basis: list[tuple[float, float, int]] = [(0.0, 0.0, int(rng.integers(20, 84)))]
        if rng.random() < 2 / 3:
            u, v = [(0.5, 0.5), (0.5, 0.0), (0.0, 0.5)][int(rng.integers(0, 3))]
            basis.append((u, v, int(rng.integers(14, 84))))
        columns = synthetic_lattice(
            (h, w),
            pixel_size_A=px,
            a_A=a,
            b_A=a * rng.uniform(0.85, 1.15),
            gamma_deg=rng.uniform(60.0, 120.0),
            basis=basis,
            rotation_deg=rng.uniform(0.0, 360.0),
            column_atoms=int(rng.integers(3, 11)),
            vacancy_fraction=0.1,
            substitution_fraction=0.05,
            substitution_Z=int(rng.integers(14, 84)),
            seed=rng,
        )
        probe = Probe(
            voltage_kv=float(rng.choice([200.0, 300.0])),
            convergence_mrad=rng.uniform(18.0, 30.0),
            defocus_A=rng.uniform(-20.0, 20.0),
        )
        dose = None
        if dose_lo is not None and dose_hi is not None:
            dose = float(np.exp(rng.uniform(np.log(dose_lo), np.log(dose_hi))))
        sim = haadf_image(
            columns,
            shape=(h, w),
            pixel_size_A=px,
            probe=probe,
            thermal_sigma_A=rng.uniform(0.05, 0.12),
            background=rng.uniform(0.0005, 0.005),
            dose_e_per_A2=dose,
            seed=rng,
        )
        images[k] = sim.image
        truths.append(sim.positions_px)
    return images, truths


def train_atomnet(
    *,
    n_images: int = 32,
    epochs: int = 60,
    image_shape: Sequence[int] = (128, 128),
    crop: int | None = 64,
    batch_size: int = 8,
    learning_rate: float = 3e-3,
    pixel_size_range: tuple[float, float] = (0.15, 0.3),
    lattice_constant_range: tuple[float, float] = (3.0, 5.0),
    dose_e_per_A2: float | tuple[float, float] | None = None,
    channels: Sequence[int] = (12, 16, 16),
    target_sigma_px: float = 1.25,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_threads: int | None = 1,
    progress: bool = False,
) -> AtomNet:
    """Train an :class:`AtomNet` on random synthetic HAADF images.

    Images come from :func:`atomnet_training_set` (clean by default, as the noise
    study prescribes). Every step draws ``batch_size`` images, a random
    ``crop x crop`` window of each (``crop=None`` trains on whole images) and a random
    flip/transpose, and takes one Adam step on the binary cross-entropy between the
    logits and :func:`heatmap_targets`. An epoch is ``ceil(n_images / batch_size)``
    steps; the learning rate decays by cosine annealing to 5 % over the fit.

    Args:
        n_images: Number of training images.
        epochs: Passes over the images.
        image_shape: Shape of the training images.
        crop: Side of the random training crops (a multiple of 4, at most the image
            size), or None for whole images.
        batch_size: Images per step.
        learning_rate: Initial Adam learning rate.
        pixel_size_range: Pixel sizes (Å) of the training images.
        lattice_constant_range: Lattice constants (Å) of the training images.
        dose_e_per_A2: None (clean images) or a dose / ``(low, high)`` range for noisy ones.
        channels: Widths of the network (see :class:`AtomNet`).
        target_sigma_px: Width of the Gaussian targets (pixels).
        seed: Seed of the images, weights, crops and augmentation.
        device: Torch device to train on.
        num_threads: Torch CPU threads during the fit (restored afterwards); None keeps
            the caller's setting.
        progress: Show a progress bar.

    Returns:
        The trained model in eval mode on ``device``; ``model.meta`` holds the training
        options and ``model.meta["loss_history"]`` the mean loss of every epoch.

    Raises:
        ConfigError: If an option is out of range or the device is unavailable.

    Example:
        >>> net = train_atomnet(n_images=2, epochs=1, image_shape=(32, 32), crop=None)
        >>> len(net.meta["loss_history"])
        1
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate!r}")
    h, w = (int(s) for s in image_shape)
    if crop is not None and (int(crop) != crop or crop < 8 or crop % 4 or crop > min(h, w)):
        raise ConfigError(f"crop must be a multiple of 4 in [8, {min(h, w)}] or None, got {crop!r}")
    dev = resolve_device(device)
    model_seed, data_seed = np.random.SeedSequence(int(seed)).generate_state(2)
    images, truths = atomnet_training_set(
        n_images,
        image_shape=(h, w),
        pixel_size_range=pixel_size_range,
        lattice_constant_range=lattice_constant_range,
        dose_e_per_A2=dose_e_per_A2,
        seed=int(data_seed),
    )
    x_all = torch.from_numpy(np.stack([_standardise(im) for im in images]))[:, None]
    y_all = torch.from_numpy(
        np.stack([heatmap_targets(t, (h, w), sigma_px=target_sigma_px) for t in truths])
    )[:, None]
    steps_per_epoch = math.ceil(int(n_images) / int(batch_size))
    total = int(epochs) * steps_per_epoch
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="AtomNet", unit="step")
    rng_devices = [dev] if dev.type == "cuda" else []
    with (
        torch_settings(num_threads, deterministic=dev.type == "cpu"),
        torch.random.fork_rng(devices=rng_devices),
    ):
        torch.manual_seed(int(model_seed))
        model = AtomNet(channels=channels, target_sigma_px=target_sigma_px).to(dev)
        gen = torch.Generator().manual_seed(int(model_seed) + 1)
        opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=total, eta_min=0.05 * learning_rate
        )
        history: list[float] = []
        model.train()
        for _ in range(int(epochs)):
            order = torch.randperm(int(n_images), generator=gen)
            losses = []
            for s in range(steps_per_epoch):
                idx = order[(s * batch_size) % n_images :][:batch_size]
                if len(idx) < batch_size:
                    idx = torch.cat([idx, order[: batch_size - len(idx)]])
                xb, yb = x_all[idx], y_all[idx]
                if crop is not None:
                    r0 = torch.randint(0, h - crop + 1, (1,), generator=gen).item()
                    c0 = torch.randint(0, w - crop + 1, (1,), generator=gen).item()
                    xb = xb[..., r0 : r0 + crop, c0 : c0 + crop]
                    yb = yb[..., r0 : r0 + crop, c0 : c0 + crop]
                flips = torch.randint(0, 2, (3,), generator=gen).tolist()
                if flips[0]:
                    xb, yb = xb.flip(-1), yb.flip(-1)
                if flips[1]:
                    xb, yb = xb.flip(-2), yb.flip(-2)
                if flips[2] and xb.shape[-1] == xb.shape[-2]:
                    xb, yb = xb.transpose(-1, -2), yb.transpose(-1, -2)
                xb, yb = xb.contiguous().to(dev), yb.contiguous().to(dev)
                loss = F.binary_cross_entropy_with_logits(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                if bar is not None:
                    bar.update(1)
            history.append(float(np.mean(losses)))
        model.eval()
    if bar is not None:
        bar.close()
    model.meta = {
        "n_images": int(n_images),
        "epochs": int(epochs),
        "image_shape": [h, w],
        "crop": None if crop is None else int(crop),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "pixel_size_range": [float(v) for v in pixel_size_range],
        "lattice_constant_range": [float(v) for v in lattice_constant_range],
        "dose_e_per_A2": None if dose_e_per_A2 is None else np.atleast_1d(dose_e_per_A2).tolist(),
        "seed": int(seed),
        "loss_history": history,
    }
    return model


def predict_heatmap(
    image: np.ndarray,
    model: AtomNet,
    *,
    device: str | torch.device | None = None,
    num_threads: int | None = 1,
) -> np.ndarray:
    """The model's column-centre probability map of one image.

    Args:
        image: Image `(H, W)` (any real scale: it is standardised first).
        model: A trained :class:`AtomNet`.
        device: Device to run on (the model is moved there); the model's device when None.
        num_threads: Torch CPU threads during the call (restored); None keeps the setting.

    Returns:
        Array `(H, W)` float64 of probabilities in [0, 1].

    Raises:
        DataError: If the image is not a finite 2-D real array.
    """
    arr = _image(image)
    if not isinstance(model, AtomNet):
        raise ConfigError(f"model must be an AtomNet, got {type(model).__name__}")
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    x = torch.from_numpy(_standardise(arr))[None, None].to(dev)
    with torch_settings(num_threads, deterministic=False), torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            prob = torch.sigmoid(model.to(dev)(x))[0, 0]
        finally:
            model.train(was_training)
    return prob.double().cpu().numpy()


def find_atoms_cnn(
    image: np.ndarray,
    model: AtomNet,
    *,
    threshold: float = 0.5,
    min_distance: int = 2,
    device: str | torch.device | None = None,
    num_threads: int | None = 1,
) -> np.ndarray:
    """Column centres found by an :class:`AtomNet`.

    Args:
        image: Image `(H, W)`.
        model: A trained :class:`AtomNet`.
        threshold: Smallest probability of a peak, in (0, 1).
        min_distance: Smallest distance (pixels, >= 1) between two peaks.
        device: Device to run on; the model's device when None.
        num_threads: Torch CPU threads during the call; None keeps the setting.

    Returns:
        Array `(N, 2)` float64 of sub-pixel positions ``(row, col)``, sorted by row then
        column; empty `(0, 2)` when nothing passes the threshold.

    Raises:
        DataError: If the image is not a finite 2-D real array.
        ConfigError: If ``threshold`` or ``min_distance`` is out of range.

    Example:
        >>> net = AtomNet()
        >>> find_atoms_cnn(np.zeros((16, 16)), net, threshold=0.99).shape
        (0, 2)
    """
    if not (0.0 < float(threshold) < 1.0):
        raise ConfigError(f"threshold must lie in (0, 1), got {threshold!r}")
    if int(min_distance) != min_distance or min_distance < 1:
        raise ConfigError(f"min_distance must be an int >= 1, got {min_distance!r}")
    prob = predict_heatmap(image, model, device=device, num_threads=num_threads)
    return heatmap_peaks(prob, threshold=threshold, min_distance=min_distance)


def heatmap_peaks(prob: np.ndarray, *, threshold: float = 0.5, min_distance: int = 2) -> np.ndarray:
    """Sub-pixel local maxima of a column-centre probability map.

    Keeps the local maxima above ``threshold`` and refines each with a parabola through
    the logarithm of the probabilities of its neighbours along each axis.

    Args:
        prob: Probability map `(H, W)` in [0, 1] (e.g. from :func:`predict_heatmap`).
        threshold: Smallest probability of a peak.
        min_distance: Smallest distance (pixels) between two peaks.

    Returns:
        Array `(N, 2)` float64 of positions ``(row, col)``, sorted by row then column.

    Example:
        >>> p = np.zeros((5, 5)); p[2, 1:4] = [0.3, 0.9, 0.45]; p[1:4:2, 2] = 0.3
        >>> heatmap_peaks(p).round(2).tolist()
        [[2.0, 2.11]]
    """
    prob = np.asarray(prob, dtype=np.float64)
    peaks = peak_local_max(
        prob, min_distance=int(min_distance), threshold_abs=float(threshold), exclude_border=False
    )
    if len(peaks) == 0:
        return np.zeros((0, 2))
    logp = np.log(np.clip(prob, 1e-12, None))
    pos = peaks.astype(np.float64)
    h, w = prob.shape
    for axis, size in ((0, h), (1, w)):
        lo = np.clip(peaks[:, axis] - 1, 0, size - 1)
        hi = np.clip(peaks[:, axis] + 1, 0, size - 1)
        at = [peaks[:, 0], peaks[:, 1]]
        before, after = list(at), list(at)
        before[axis], after[axis] = lo, hi
        l0 = logp[at[0], at[1]]
        lm = logp[before[0], before[1]]
        lp = logp[after[0], after[1]]
        curv = lm - 2.0 * l0 + lp
        inner = (lo != peaks[:, axis]) & (hi != peaks[:, axis]) & (curv < 0)
        offset = np.zeros(len(peaks))
        offset[inner] = 0.5 * (lm[inner] - lp[inner]) / curv[inner]
        pos[:, axis] += np.clip(offset, -0.5, 0.5)
    order = np.lexsort((pos[:, 1], pos[:, 0]))
    return pos[order]


def save_atomnet(model: AtomNet, path: str | os.PathLike[str]) -> Path:
    """Save a model (weights, architecture and training metadata) to one file.

    Args:
        model: The model.
        path: Destination file (conventionally ``.pt``).

    Returns:
        The path written.
    """
    if not isinstance(model, AtomNet):
        raise ConfigError(f"model must be an AtomNet, got {type(model).__name__}")
    path = Path(path)
    payload = {
        "format": ATOMNET_FORMAT,
        "version": ATOMNET_VERSION,
        "channels": list(model.channels),
        "target_sigma_px": model.target_sigma_px,
        "meta": model.meta,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(payload, path)
    return path


def load_atomnet(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> AtomNet:
    """Load a model written by :func:`save_atomnet`.

    Args:
        path: The file.
        device: Device to put the model on.

    Returns:
        The model in eval mode.

    Raises:
        DataError: If the file is missing, unreadable, of another format or version, or
            its weights do not fit the architecture it declares.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such AtomNet file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise DataError(f"{path}: not a readable AtomNet file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != ATOMNET_FORMAT:
        raise DataError(f"{path}: not an AtomNet file (expected format {ATOMNET_FORMAT!r})")
    if payload.get("version") != ATOMNET_VERSION:
        raise DataError(
            f"{path}: AtomNet file version {payload.get('version')!r}, "
            f"this autoscope reads version {ATOMNET_VERSION}"
        )
    try:
        model = AtomNet(
            channels=payload["channels"], target_sigma_px=float(payload["target_sigma_px"])
        )
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise DataError(f"{path}: AtomNet weights do not match the declared model ({exc})") from exc
    model.meta = dict(payload.get("meta") or {})
    return model.to(resolve_device(device)).eval()
