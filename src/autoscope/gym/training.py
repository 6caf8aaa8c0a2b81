"""Training the CNN analyst of the STEM benchmark on simulated worlds.

The CNN analyst (:mod:`autoscope.gym.analysts.cnn`) runs three kinds of small
networks on the mosaic an agent scans:

* a **column finder**: an ensemble of :class:`~autoscope.analysis.atomnet.AtomNet`
  U-Nets (3 members, each with its own seed and bootstrap of the training
  windows) mapping a standardised window `(1, h, w)` to a column-centre heatmap;
* a **defect classifier** (:class:`DefectNet`): a small CNN on a
  ``PATCH_PX x PATCH_PX`` patch around a column (two channels: the patch
  standardised by its window's mean and spread, and the raw patch divided by the
  material's intensity scale) plus the log dose, giving pristine / vacancy /
  substitution;
* a **phase network** (:class:`PhaseNet`): a small fully convolutional net on a
  window (same two channels) giving per-pixel logits over the union of the phase
  names of all training materials; names absent from a world are masked out.

Training data come from :func:`autoscope.gym.world.make_world`: every world is
scanned tile by tile at doses drawn from :data:`DOSE_LEVELS` (some tiles twice,
dose-weighted like the environment's mosaic), so the networks learn on exactly
the noisy images the environment delivers; targets come from the world's
:class:`~autoscope.gym.world.GroundTruth`. Nanoparticle (AuNP) worlds have no
columns to find at their pixel size; they only add to the per-material intensity
table and are segmented classically by the analyst.

:func:`train_analyst` is deterministic under ``seed`` on the CPU (seeded data,
weights and batches; deterministic torch algorithms; torch's global RNG state
restored). :func:`save_analyst_weights` writes one versioned file;
:func:`load_analyst_weights` refuses another format, version or mismatched
tensor shapes with a :class:`~autoscope.errors.DataError`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from torch.nn import functional as F

from autoscope._torch import torch_settings
from autoscope.analysis.atomnet import AtomNet, heatmap_targets
from autoscope.errors import ConfigError, DataError

__all__ = [
    "ANALYST_FORMAT",
    "ANALYST_VERSION",
    "DOSE_LEVELS",
    "PATCH_PX",
    "AnalystWeights",
    "DefectNet",
    "PhaseNet",
    "TrainingSet",
    "analyst_training_set",
    "calibrate_defect_bias",
    "load_analyst_weights",
    "save_analyst_weights",
    "phase_input",
    "standardise_window",
    "train_analyst",
]

#: Tag stored in every weights file.
ANALYST_FORMAT = "autoscope.gym.analyst"
#: Version of the weights-file layout; :func:`load_analyst_weights` refuses any other.
ANALYST_VERSION = 1
#: Doses (e/Å²) the training tiles are scanned at (the environment's dose levels).
DOSE_LEVELS = (2e3, 1e4, 5e4)
#: Side (pixels) of the defect classifier's patch.
PATCH_PX = 19
#: Side (pixels) of the training windows (a 32 px tile plus an 8 px margin each side).
WINDOW_PX = 48
#: Materials of the benchmark, the default training set.
DEFAULT_MATERIALS = ("SrTiO3", "BaTiO3", "SiGe", "GaN", "AuNP")
#: Difficulties of the benchmark.
DEFAULT_DIFFICULTIES = ("Easy", "Medium", "Hard")
#: Worlds whose column spacing is below this many pixels are not used for columns.
MIN_SPACING_PX = 4.0
#: Number of column-finder ensemble members.
N_MEMBERS = 3


# ---------------------------------------------------------------------------- networks


def _conv(c_in: int, c_out: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation), nn.ReLU(inplace=True)
    )


class DefectNet(nn.Module):
    """Small CNN typing a column from a patch around it: pristine, vacancy, substitution.

    Args:
        channels: Widths ``(c1, c2)`` of the full- and half-resolution convolutions.
        hidden: Width of the hidden dense layer.

    Example:
        >>> net = DefectNet()
        >>> tuple(net(torch.zeros(4, 2, PATCH_PX, PATCH_PX), torch.zeros(4, 1)).shape)
        (4, 3)
    """

    def __init__(self, *, channels: Sequence[int] = (16, 24), hidden: int = 32) -> None:
        super().__init__()
        c1, c2 = (int(c) for c in channels)
        self.channels = (c1, c2)
        self.hidden = int(hidden)
        self.features = nn.Sequential(
            _conv(2, c1), _conv(c1, c1), nn.MaxPool2d(2), _conv(c1, c2), nn.AdaptiveAvgPool2d(3)
        )
        self.centre = nn.Linear(9, 8)
        self.head = nn.Sequential(
            nn.Linear(c2 * 9 + 8 + 1, self.hidden), nn.ReLU(inplace=True), nn.Linear(self.hidden, 3)
        )
        #: Subtracted from the logits: set by :func:`train_analyst`'s calibration so that the
        #: argmax maximises the defect F1 at the true class frequencies (zero while training).
        self.register_buffer("logit_bias", torch.zeros(3))

    def forward(self, patches: torch.Tensor, log_dose: torch.Tensor) -> torch.Tensor:
        """Class logits.

        Args:
            patches: `(B, 2, PATCH_PX, PATCH_PX)` standardised and scaled patches.
            log_dose: `(B, 1)` normalised log dose at the column.

        Returns:
            Logits `(B, 3)` over pristine / vacancy / substitution.
        """
        c = PATCH_PX // 2
        centre = patches[:, 1, c - 1 : c + 2, c - 1 : c + 2].reshape(len(patches), 9)
        feats = self.features(patches).flatten(1)
        logits = self.head(torch.cat([feats, F.relu(self.centre(centre)), log_dose], dim=1))
        return logits - self.logit_bias


class PhaseNet(nn.Module):
    """Fully convolutional per-pixel phase classifier (logits at 1/8 resolution, upsampled).

    Args:
        n_phases: Number of phase names (the union over the training materials).
        channels: Widths ``(c1, c2, c3)`` at full, 1/2 and 1/4-1/8 resolution.

    Example:
        >>> net = PhaseNet(n_phases=6)
        >>> tuple(net(torch.zeros(2, 3, 40, 48)).shape)
        (2, 6, 40, 48)
    """

    def __init__(self, *, n_phases: int, channels: Sequence[int] = (12, 16, 24)) -> None:
        super().__init__()
        if int(n_phases) < 1:
            raise ConfigError(f"n_phases must be >= 1, got {n_phases!r}")
        c1, c2, c3 = (int(c) for c in channels)
        self.n_phases = int(n_phases)
        self.channels = (c1, c2, c3)
        self.body = nn.Sequential(
            _conv(3, c1),
            _conv(c1, c1),
            nn.MaxPool2d(2),
            _conv(c1, c2),
            nn.MaxPool2d(2),
            _conv(c2, c3),
            nn.MaxPool2d(2),
            _conv(c3, c3),
            _conv(c3, c3, dilation=2),
            nn.Conv2d(c3, self.n_phases, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits.

        Args:
            x: `(B, 3, H, W)` windows (:func:`phase_input`).

        Returns:
            Logits `(B, n_phases, H, W)`.
        """
        h, w = x.shape[-2:]
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        out = self.body(x)
        out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out[..., :h, :w]


# ---------------------------------------------------------------------------- inputs


def standardise_window(image: np.ndarray, scanned: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Standardise a mosaic window over its scanned pixels (unscanned pixels become 0).

    Args:
        image: `(h, w)` mosaic window.
        scanned: `(h, w)` bool, pixels scanned at least once.

    Returns:
        ``(standardised (h, w) float32, mean, std)``; a window with fewer than two
        scanned pixels or no spread gives zeros and ``std = 1``.
    """
    values = image[scanned]
    if values.size < 2:
        return np.zeros(image.shape, dtype=np.float32), 0.0, 1.0
    mean = float(values.mean())
    std = float(values.std())
    if not std > 0:
        std = 1.0
    out = np.where(scanned, (image - mean) / std, 0.0).astype(np.float32)
    return out, mean, std


def phase_input(standardised: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """Input `(3, h, w)` float32 of the phase network.

    Channels: the standardised window, the raw window over the material's intensity
    scale, and the local anisotropy ``d2/dx2 - d2/dy2`` of the standardised window
    (Gaussian derivatives, sigma 1 px), which tells columns elongated along x from those
    elongated along y (the BaTiO3 variants differ by a ~1 px Ti off-centring along x or y).
    """
    std = np.asarray(standardised, dtype=np.float32)
    dyy = ndimage.gaussian_filter(std, 1.0, order=(2, 0), mode="nearest")
    dxx = ndimage.gaussian_filter(std, 1.0, order=(0, 2), mode="nearest")
    return np.stack([std, np.asarray(scaled, dtype=np.float32), dxx - dyy]).astype(np.float32)


def log_dose_feature(dose: np.ndarray | float) -> np.ndarray:
    """Normalised log dose ``log10(dose) - 4`` (0 for an unscanned pixel)."""
    d = np.asarray(dose, dtype=np.float64)
    return np.where(d > 0, np.log10(np.maximum(d, 1e-12)) - 4.0, -3.0).astype(np.float32)


def extract_patches(
    standardised: np.ndarray, scaled: np.ndarray, centres: np.ndarray
) -> np.ndarray:
    """Patches `(K, 2, PATCH_PX, PATCH_PX)` around rounded ``centres`` `(K, 2)` (zero padded)."""
    half = PATCH_PX // 2
    stack = np.stack([standardised, scaled]).astype(np.float32)
    padded = np.pad(stack, ((0, 0), (half, half), (half, half)))
    h, w = standardised.shape
    idx = np.rint(np.asarray(centres, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    idx[:, 0] = np.clip(idx[:, 0], 0, h - 1)
    idx[:, 1] = np.clip(idx[:, 1], 0, w - 1)
    off = np.arange(PATCH_PX)
    rows = (idx[:, 0, None] + off)[:, :, None]
    cols = (idx[:, 1, None] + off)[:, None, :]
    return np.ascontiguousarray(padded[:, rows, cols].transpose(1, 0, 2, 3))


# ---------------------------------------------------------------------------- weights


@dataclass
class AnalystWeights:
    """The trained networks of the CNN analyst and what they were trained on.

    Attributes:
        column_nets: Column-finder ensemble (:class:`AtomNet` members, eval mode).
        defect_net: The defect classifier.
        phase_net: The phase network, or None when no training material has phases.
        phase_names: Names of the phase net's outputs (union over the materials).
        materials: Materials trained on.
        intensity_scale: Material -> mean mosaic value of its training worlds (the raw
            intensity channel is divided by it).
        defect_bias: Material -> logit offsets `(3,)` of the defect classes calibrated on
            held-out worlds of that material (used instead of ``defect_net.logit_bias``,
            the offsets calibrated over all materials, on a known material).
        settings: Training options.
        meta: Loss histories, training time, library versions.
    """

    column_nets: list[AtomNet]
    defect_net: DefectNet
    phase_net: PhaseNet | None
    phase_names: tuple[str, ...]
    materials: tuple[str, ...]
    intensity_scale: dict[str, float]
    defect_bias: dict[str, list[float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def save_analyst_weights(weights: AnalystWeights, path: str | os.PathLike[str]) -> Path:
    """Write the analyst's networks and metadata to one file (``torch.save`` of a dict).

    Args:
        weights: The trained weights.
        path: Destination (conventionally ``.pt``); parent folders are created.

    Returns:
        The path written.
    """
    if not isinstance(weights, AnalystWeights):
        raise ConfigError(f"weights must be AnalystWeights, got {type(weights).__name__}")

    def state(module: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

    first = weights.column_nets[0]
    payload = {
        "format": ANALYST_FORMAT,
        "version": ANALYST_VERSION,
        "materials": list(weights.materials),
        "phase_names": list(weights.phase_names),
        "intensity_scale": {k: float(v) for k, v in weights.intensity_scale.items()},
        "defect_bias": {k: [float(b) for b in v] for k, v in weights.defect_bias.items()},
        "settings": dict(weights.settings),
        "meta": dict(weights.meta),
        "architecture": {
            "column_channels": list(first.channels),
            "target_sigma_px": float(first.target_sigma_px),
            "n_members": len(weights.column_nets),
            "defect_channels": list(weights.defect_net.channels),
            "defect_hidden": int(weights.defect_net.hidden),
            "phase_channels": None
            if weights.phase_net is None
            else list(weights.phase_net.channels),
        },
        "state_dicts": {
            "columns": [state(net) for net in weights.column_nets],
            "defect": state(weights.defect_net),
            "phase": None if weights.phase_net is None else state(weights.phase_net),
        },
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_analyst_weights(path: str | os.PathLike[str]) -> AnalystWeights:
    """Read a weights file written by :func:`save_analyst_weights`.

    Args:
        path: The file.

    Returns:
        The weights, networks in eval mode on the CPU.

    Raises:
        DataError: If the file is missing or unreadable, has another format tag or
            version, or its tensors do not fit the architecture it declares.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such analyst weights file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise DataError(f"{path}: not a readable analyst weights file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != ANALYST_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise DataError(
            f"{path}: format {found!r} is not an analyst weights file "
            f"(expected format {ANALYST_FORMAT!r}; train one with `autoscope gym train-analyst`)"
        )
    if payload.get("version") != ANALYST_VERSION:
        raise DataError(
            f"{path}: analyst weights version {payload.get('version')!r}, this autoscope reads "
            f"version {ANALYST_VERSION}; retrain with `autoscope gym train-analyst`"
        )
    try:
        arch = payload["architecture"]
        states = payload["state_dicts"]
        phase_names = tuple(str(n) for n in payload["phase_names"])
        columns = []
        for sd in states["columns"]:
            net = AtomNet(
                channels=arch["column_channels"], target_sigma_px=float(arch["target_sigma_px"])
            )
            net.load_state_dict(sd)
            columns.append(net.eval())
        if len(columns) != int(arch["n_members"]) or not columns:
            raise ValueError(f"{len(columns)} column members, declared {arch['n_members']}")
        defect = DefectNet(channels=arch["defect_channels"], hidden=int(arch["defect_hidden"]))
        defect.load_state_dict(states["defect"])
        phase = None
        if states["phase"] is not None:
            phase = PhaseNet(n_phases=len(phase_names), channels=arch["phase_channels"])
            phase.load_state_dict(states["phase"])
            phase.eval()
    except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as exc:
        raise DataError(
            f"{path}: analyst weights do not match the declared networks (tensor shapes or "
            f"fields): {exc}"
        ) from exc
    return AnalystWeights(
        column_nets=columns,
        defect_net=defect.eval(),
        phase_net=phase,
        phase_names=phase_names,
        materials=tuple(str(m) for m in payload.get("materials", ())),
        intensity_scale={str(k): float(v) for k, v in payload["intensity_scale"].items()},
        defect_bias={
            str(k): [float(b) for b in v] for k, v in (payload.get("defect_bias") or {}).items()
        },
        settings=dict(payload.get("settings") or {}),
        meta=dict(payload.get("meta") or {}),
    )


# ---------------------------------------------------------------------------- data


@dataclass
class TrainingSet:
    """Samples cut from simulated, noisily scanned worlds.

    Attributes:
        column_x: `(N, 1, WINDOW_PX, WINDOW_PX)` standardised windows.
        column_y: `(N, 1, WINDOW_PX, WINDOW_PX)` heatmap targets.
        column_world: `(N,)` index of the world each window comes from (for bootstraps).
        defect_x: `(M, 2, PATCH_PX, PATCH_PX)` patches around true columns.
        defect_dose: `(M, 1)` normalised log dose.
        defect_y: `(M,)` true type 0/1/2.
        defect_material: `(M,)` material of each patch's world.
        phase_x: `(P, 3, WINDOW_PX, WINDOW_PX)` windows (:func:`phase_input`).
        phase_y: `(P, WINDOW_PX, WINDOW_PX)` union phase index, -1 to ignore.
        phase_allowed: `(P, n_phases)` bool: names present in each sample's world.
        phase_names: Union of the phase names.
        intensity_scale: Material -> mean mosaic value.
    """

    column_x: np.ndarray
    column_y: np.ndarray
    column_world: np.ndarray
    defect_x: np.ndarray
    defect_dose: np.ndarray
    defect_y: np.ndarray
    defect_material: np.ndarray
    phase_x: np.ndarray
    phase_y: np.ndarray
    phase_allowed: np.ndarray
    phase_names: tuple[str, ...]
    intensity_scale: dict[str, float]


def scan_world(world: Any, rng: np.random.Generator, *, repeat_fraction: float = 0.2):
    """Scan every tile of ``world`` at a random dose level, like the environment's mosaic.

    Args:
        world: A :class:`~autoscope.gym.world.World`.
        rng: Generator of the doses and the scan noise.
        repeat_fraction: Probability that a tile is scanned a second time (the mosaic then
            holds the dose-weighted mean of the two frames).

    Returns:
        ``(mosaic (H, W) float64, dose_map (H, W) float64)``.
    """
    info = world.info
    shape = tuple(int(s) for s in info.shape)
    weighted = np.zeros(shape)
    dose_map = np.zeros(shape)
    for index in range(info.n_tiles):
        r0, r1, c0, c1 = info.tile_bounds(index)
        n_scans = 2 if rng.random() < repeat_fraction else 1
        for _ in range(n_scans):
            dose = float(DOSE_LEVELS[int(rng.integers(len(DOSE_LEVELS)))])
            frame = world.acquire((r0, r1, c0, c1), dose, rng)
            weighted[r0:r1, c0:c1] += dose * frame
            dose_map[r0:r1, c0:c1] += dose
    mosaic = np.where(dose_map > 0, weighted / np.maximum(dose_map, 1e-12), 0.0)
    return mosaic, dose_map


def _tile_stats(mosaic: np.ndarray, tile_px: int, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile mean and std of the tile-plus-margin window `(n_ty, n_tx)` each."""
    h, w = mosaic.shape
    ny, nx = h // tile_px, w // tile_px
    means, stds = np.zeros((ny, nx)), np.ones((ny, nx))
    scanned = np.ones_like(mosaic, dtype=bool)
    for i in range(ny):
        for j in range(nx):
            r0, c0 = max(i * tile_px - margin, 0), max(j * tile_px - margin, 0)
            r1, c1 = min((i + 1) * tile_px + margin, h), min((j + 1) * tile_px + margin, w)
            _, means[i, j], stds[i, j] = standardise_window(
                mosaic[r0:r1, c0:c1], scanned[r0:r1, c0:c1]
            )
    return means, stds


def _blank(rng: np.random.Generator, size: int, margin: int) -> np.ndarray:
    """Scanned mask of a window whose margin strips are randomly unscanned."""
    mask = np.ones((size, size), dtype=bool)
    if rng.random() < 0.5:
        for side in range(4):
            if rng.random() < 0.4:
                width = int(rng.integers(1, margin + 1))
                if side == 0:
                    mask[:width] = False
                elif side == 1:
                    mask[-width:] = False
                elif side == 2:
                    mask[:, :width] = False
                else:
                    mask[:, -width:] = False
    return mask


def analyst_training_set(
    *,
    materials: Sequence[str] = DEFAULT_MATERIALS,
    difficulties: Sequence[str] = DEFAULT_DIFFICULTIES,
    n_worlds: int = 20,
    windows_per_world: int = 24,
    max_columns_per_world: int = 600,
    world_shape: Sequence[int] = (256, 256),
    seed: int = 0,
    progress: bool = False,
) -> TrainingSet:
    """Simulate ``n_worlds`` worlds, scan them noisily and cut training samples.

    Worlds cycle through ``materials`` (so each gets ``n_worlds / len(materials)``) with a
    random difficulty and seed; each is scanned with :func:`scan_world`.

    Args:
        materials: Materials to simulate.
        difficulties: Difficulties to draw from.
        n_worlds: Number of worlds (>= 1).
        windows_per_world: Random ``WINDOW_PX`` windows per world for the column and phase nets.
        max_columns_per_world: Most columns per world for the defect classifier (all
            defects are kept, pristine columns subsampled).
        world_shape: Shape of the simulated worlds.
        seed: Seed of everything.
        progress: Show a progress bar.

    Returns:
        The samples.

    Raises:
        ConfigError: If an option is out of range or a material/difficulty is unknown.
    """
    from autoscope.gym.world import make_world

    if int(n_worlds) != n_worlds or n_worlds < 1:
        raise ConfigError(f"n_worlds must be an int >= 1, got {n_worlds!r}")
    if not materials or not difficulties:
        raise ConfigError("materials and difficulties must each name at least one entry")
    rng = np.random.default_rng(seed)
    margin = (WINDOW_PX - 32) // 2
    col_x, col_y, col_w = [], [], []
    dx, dd, dy, dm = [], [], [], []
    ph_x, ph_y, ph_allowed_names = [], [], []
    scales: dict[str, list[float]] = {}
    phase_names: list[str] = []
    iterator: Any = range(int(n_worlds))
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="worlds", unit="world")
    worlds = []
    for k in iterator:
        material = str(materials[k % len(materials)])
        difficulty = str(difficulties[int(rng.integers(len(difficulties)))])
        world_seed = int(rng.integers(2**31))
        world = make_world(material, difficulty, seed=world_seed, shape=tuple(world_shape))
        info, truth = world.info, world.truth
        mosaic, dose_map = scan_world(world, rng)
        scales.setdefault(material, []).append(float(mosaic.mean()))
        for name in info.phase_names:
            if name not in phase_names:
                phase_names.append(name)
        worlds.append((world, mosaic, dose_map, k))
    intensity_scale = {m: float(np.mean(v)) for m, v in scales.items()}
    for world, mosaic, dose_map, k in worlds:
        info, truth = world.info, world.truth
        h, w = mosaic.shape
        px = float(info.pixel_size_A)
        scaled_world = (mosaic / intensity_scale[info.material]).astype(np.float32)
        spacing_px = float(info.column_spacing_A) / px
        has_columns = spacing_px >= MIN_SPACING_PX and len(truth.atom_positions_nm) > 0
        positions = np.asarray(truth.atom_positions_nm, dtype=np.float64).reshape(-1, 2) * 10 / px
        phase_index = None
        if truth.phase_map is not None and info.phase_names:
            lut = np.array([phase_names.index(n) for n in info.phase_names] + [-1])
            pm = np.asarray(truth.phase_map)
            phase_index = np.where(pm >= 0, lut[np.clip(pm, 0, len(lut) - 2)], -1)
            allowed = np.zeros(len(phase_names), dtype=bool)
            allowed[[phase_names.index(n) for n in info.phase_names]] = True
        for _ in range(int(windows_per_world)):
            r = int(rng.integers(0, h - WINDOW_PX + 1))
            c = int(rng.integers(0, w - WINDOW_PX + 1))
            scanned = _blank(rng, WINDOW_PX, margin)
            raw = mosaic[r : r + WINDOW_PX, c : c + WINDOW_PX]
            std_win, _, _ = standardise_window(raw, scanned)
            if has_columns:
                col_x.append(std_win)
                target = heatmap_targets(positions - [r, c], (WINDOW_PX, WINDOW_PX))
                col_y.append(np.where(scanned, target, 0.0).astype(np.float32))
                col_w.append(k)
            if phase_index is not None:
                scaled = np.where(scanned, scaled_world[r : r + WINDOW_PX, c : c + WINDOW_PX], 0)
                ph_x.append(phase_input(std_win, scaled))
                target = phase_index[r : r + WINDOW_PX, c : c + WINDOW_PX]
                ph_y.append(np.where(scanned, target, -1).astype(np.int64))
                ph_allowed_names.append(allowed)
        if not has_columns:
            continue
        types = np.asarray(truth.atom_types, dtype=np.int64).ravel()
        inside = (
            (positions[:, 0] >= -0.5)
            & (positions[:, 0] < h - 0.5)
            & (positions[:, 1] >= -0.5)
            & (positions[:, 1] < w - 0.5)
        )
        idx = np.flatnonzero(inside)
        defects = idx[types[idx] > 0]
        pristine = idx[types[idx] == 0]
        n_keep = max(int(max_columns_per_world) - len(defects), 0)
        if len(pristine) > n_keep:
            pristine = rng.choice(pristine, size=n_keep, replace=False)
        chosen = np.concatenate([defects, pristine])
        if not len(chosen):
            continue
        tile = int(info.tile_px)
        means, stds = _tile_stats(mosaic, tile, margin)
        centres = positions[chosen] + rng.uniform(-0.6, 0.6, size=(len(chosen), 2))
        ti = np.clip(np.rint(positions[chosen, 0]).astype(int) // tile, 0, means.shape[0] - 1)
        tj = np.clip(np.rint(positions[chosen, 1]).astype(int) // tile, 0, means.shape[1] - 1)
        ms = np.stack([means[ti, tj], stds[ti, tj]], axis=1)
        raw_patches = extract_patches(mosaic.astype(np.float32), scaled_world, centres)
        valid_px = extract_patches(np.ones_like(scaled_world), np.ones_like(scaled_world), centres)
        raw_patches[:, 0] = np.where(
            valid_px[:, 0] > 0,
            (raw_patches[:, 0] - ms[:, 0, None, None]) / ms[:, 1, None, None],
            0.0,
        )
        rows = np.clip(np.rint(centres[:, 0]).astype(int), 0, h - 1)
        cols = np.clip(np.rint(centres[:, 1]).astype(int), 0, w - 1)
        dx.append(raw_patches.astype(np.float32))
        dd.append(log_dose_feature(dose_map[rows, cols])[:, None])
        dy.append(types[chosen])
        dm.append(np.full(len(chosen), info.material))
    n_ph = len(phase_names)

    def stack(items: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.stack(items).astype(dtype) if items else np.zeros((0, *shape), dtype=dtype)

    return TrainingSet(
        column_x=stack(col_x, (WINDOW_PX, WINDOW_PX), np.float32)[:, None],
        column_y=stack(col_y, (WINDOW_PX, WINDOW_PX), np.float32)[:, None],
        column_world=np.asarray(col_w, dtype=np.int64),
        defect_x=np.concatenate(dx) if dx else np.zeros((0, 2, PATCH_PX, PATCH_PX), np.float32),
        defect_dose=np.concatenate(dd) if dd else np.zeros((0, 1), np.float32),
        defect_y=np.concatenate(dy) if dy else np.zeros(0, np.int64),
        defect_material=np.concatenate(dm) if dm else np.zeros(0, dtype=str),
        phase_x=stack(ph_x, (3, WINDOW_PX, WINDOW_PX), np.float32),
        phase_y=stack(ph_y, (WINDOW_PX, WINDOW_PX), np.int64),
        phase_allowed=stack(ph_allowed_names, (n_ph,), bool),
        phase_names=tuple(phase_names),
        intensity_scale=intensity_scale,
    )


# ---------------------------------------------------------------------------- training


def _augment(
    gen: torch.Generator, *tensors: torch.Tensor, transpose: bool = True
) -> list[torch.Tensor]:
    """Random flips (and transpose) applied identically to the last two axes of every tensor.

    The transpose swaps x and y, which turns one BaTiO3 variant into the other, so the
    phase network is trained with flips only.
    """
    flips = torch.randint(0, 2, (3,), generator=gen).tolist()
    flips[2] = flips[2] and transpose
    out = list(tensors)
    if flips[0]:
        out = [t.flip(-1) for t in out]
    if flips[1]:
        out = [t.flip(-2) for t in out]
    if flips[2]:
        out = [t.transpose(-1, -2) for t in out]
    return [t.contiguous() for t in out]


def _fit(
    model: nn.Module,
    n: int,
    steps: int,
    batch_size: int,
    learning_rate: float,
    gen: torch.Generator,
    loss_fn: Any,
    bar: Any,
) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(steps, 1), eta_min=0.05 * learning_rate
    )
    model.train()
    history: list[float] = []
    for _ in range(steps):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
        loss = loss_fn(idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
    model.eval()
    # compact history: mean per 10 % of the fit
    chunks = np.array_split(np.asarray(history), min(10, max(len(history), 1)))
    return [float(c.mean()) for c in chunks if len(c)]


def _f1(pred: np.ndarray, true: np.ndarray, label: int) -> float:
    tp = np.count_nonzero((pred == label) & (true == label))
    total = np.count_nonzero(pred == label) + np.count_nonzero(true == label)
    return 2.0 * tp / total if total else 1.0


def calibrate_defect_bias(
    net: DefectNet, patches: np.ndarray, log_dose: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Logit offsets of the defect classes that maximise each class's F1 on held-out columns.

    The classifier is trained with class weights (defects are rare), which inflates the
    defect classes; this picks, by coordinate search over a grid, the offsets ``b`` such
    that ``argmax(logits - b)`` maximises the F1 of vacancies and substitutions at the
    classes' true frequencies.

    Args:
        net: The trained classifier (its ``logit_bias`` is ignored).
        patches: `(M, 2, PATCH_PX, PATCH_PX)` patches of held-out columns (all of them).
        log_dose: `(M, 1)` their normalised log doses.
        labels: `(M,)` their true types.

    Returns:
        Offsets `(3,)` (0 for pristine).
    """
    with torch.inference_mode():
        logits = torch.cat(
            [
                net(
                    torch.from_numpy(patches[i : i + 4096]),
                    torch.from_numpy(log_dose[i : i + 4096]),
                )
                for i in range(0, len(labels), 4096)
            ]
        )
    logits = logits.numpy() + net.logit_bias.numpy()
    bias = np.zeros(3)
    grid = np.arange(-2.0, 8.01, 0.25)
    for _ in range(2):
        for label in (1, 2):
            if not np.any(labels == label):
                continue
            scores = []
            for b in grid:
                trial = bias.copy()
                trial[label] = b
                scores.append(_f1(np.argmax(logits - trial, axis=1), labels, label))
            bias[label] = grid[int(np.argmax(scores))]
    return bias


def train_analyst(
    *,
    materials: Sequence[str] = DEFAULT_MATERIALS,
    difficulties: Sequence[str] = DEFAULT_DIFFICULTIES,
    n_worlds: int = 120,
    windows_per_world: int = 12,
    world_shape: Sequence[int] = (256, 256),
    column_steps: int = 900,
    defect_steps: int = 1500,
    phase_steps: int = 800,
    batch_size: int = 16,
    learning_rate: float = 3e-3,
    column_channels: Sequence[int] = (12, 16, 16),
    seed: int = 0,
    num_threads: int | None = 1,
    progress: bool = True,
) -> AnalystWeights:
    """Train the CNN analyst's networks on simulated, noisily scanned worlds.

    Args:
        materials: Materials to train on (one or more of the benchmark's).
        difficulties: Difficulties the worlds are drawn from.
        n_worlds: Number of simulated worlds (cycled over ``materials``).
        windows_per_world: Training windows cut from each world.
        world_shape: Shape of the simulated worlds.
        column_steps: Adam steps of EACH column-finder member.
        defect_steps: Adam steps of the defect classifier.
        phase_steps: Adam steps of the phase network.
        batch_size: Samples per step (patches: 8x as many).
        learning_rate: Initial Adam learning rate (cosine decay to 5 %).
        column_channels: Widths of the column U-Nets.
        seed: Seed of the worlds, weights and batches.
        num_threads: Torch CPU threads during the fit (restored); None keeps the setting.
        progress: Show progress bars.

    Returns:
        The weights; ``meta`` holds the loss histories and the training seconds.

    Raises:
        ConfigError: If an option is out of range, a material is unknown or the worlds
            hold no columns to learn from.

    Example:
        >>> w = train_analyst(materials=("GaN",), n_worlds=1, windows_per_world=2,
        ...                   world_shape=(64, 64), column_steps=1, defect_steps=1,
        ...                   phase_steps=1, progress=False)  # doctest: +SKIP
    """
    for name, value in (
        ("column_steps", column_steps),
        ("defect_steps", defect_steps),
        ("phase_steps", phase_steps),
        ("batch_size", batch_size),
        ("windows_per_world", windows_per_world),
    ):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate!r}")
    materials = tuple(str(m) for m in materials)
    start = time.perf_counter()
    data_seed, model_seed, calib_seed = np.random.SeedSequence(int(seed)).generate_state(3)
    data = analyst_training_set(
        materials=materials,
        difficulties=difficulties,
        n_worlds=n_worlds,
        windows_per_world=windows_per_world,
        world_shape=world_shape,
        seed=int(data_seed),
        progress=progress,
    )
    data_seconds = time.perf_counter() - start
    if len(data.column_x) == 0 or len(data.defect_y) == 0:
        raise ConfigError(
            f"the worlds of {materials} hold no atomic columns to learn from; add a crystal "
            f"material (e.g. 'SrTiO3') or more worlds"
        )
    n_phase = len(data.phase_names)
    total = N_MEMBERS * int(column_steps) + int(defect_steps)
    total += int(phase_steps) if n_phase and len(data.phase_x) else 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="analyst", unit="step")
    cx, cy = torch.from_numpy(data.column_x), torch.from_numpy(data.column_y)
    worlds = np.unique(data.column_world)
    history: dict[str, Any] = {}
    with torch_settings(num_threads, deterministic=True), torch.random.fork_rng(devices=[]):
        members = []
        for m in range(N_MEMBERS):
            torch.manual_seed(int(model_seed) + 101 * m)
            gen = torch.Generator().manual_seed(int(model_seed) + 101 * m + 1)
            brng = np.random.default_rng([int(model_seed), m])
            # bootstrap of the training worlds (member 0 sees every world once)
            picked = worlds if m == 0 else brng.choice(worlds, size=len(worlds), replace=True)
            rows = np.concatenate([np.flatnonzero(data.column_world == wk) for wk in picked])
            rows_t = torch.from_numpy(rows)
            net = AtomNet(channels=column_channels)

            def column_loss(
                idx: torch.Tensor,
                net: AtomNet = net,
                rows_t: torch.Tensor = rows_t,
                gen: torch.Generator = gen,
            ) -> torch.Tensor:
                sel = rows_t[idx]
                xb, yb = _augment(gen, cx[sel], cy[sel])
                return F.binary_cross_entropy_with_logits(net(xb), yb)

            history[f"column_{m}"] = _fit(
                net, len(rows), int(column_steps), batch_size, learning_rate, gen, column_loss, bar
            )
            members.append(net.eval())

        torch.manual_seed(int(model_seed) + 7)
        gen = torch.Generator().manual_seed(int(model_seed) + 8)
        defect = DefectNet()
        dx, dd = torch.from_numpy(data.defect_x), torch.from_numpy(data.defect_dose)
        dy = torch.from_numpy(data.defect_y)
        counts = np.bincount(data.defect_y, minlength=3).astype(np.float64)
        class_w = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** 0.75, 0.0)
        class_w = torch.tensor(class_w / class_w[counts > 0].mean(), dtype=torch.float32)

        def defect_loss(idx: torch.Tensor) -> torch.Tensor:
            (xb,) = _augment(gen, dx[idx])
            return F.cross_entropy(defect(xb, dd[idx]), dy[idx], weight=class_w)

        history["defect"] = _fit(
            defect, len(dy), int(defect_steps), 8 * batch_size, learning_rate, gen, defect_loss, bar
        )
        calib = analyst_training_set(
            materials=materials,
            difficulties=difficulties,
            n_worlds=max(len(materials), int(n_worlds) // 4),
            windows_per_world=1,
            max_columns_per_world=10**9,
            world_shape=world_shape,
            seed=int(calib_seed),
        )
        bias = np.zeros(3)
        defect_bias: dict[str, list[float]] = {}
        if len(calib.defect_y):
            bias = calibrate_defect_bias(defect, calib.defect_x, calib.defect_dose, calib.defect_y)
            for material in np.unique(calib.defect_material):
                sel = calib.defect_material == material
                found = calibrate_defect_bias(
                    defect, calib.defect_x[sel], calib.defect_dose[sel], calib.defect_y[sel]
                )
                defect_bias[str(material)] = [float(b) for b in found]
        defect.logit_bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        phase = None
        if n_phase and len(data.phase_x):
            torch.manual_seed(int(model_seed) + 9)
            gen = torch.Generator().manual_seed(int(model_seed) + 10)
            phase = PhaseNet(n_phases=n_phase)
            px_, py_ = torch.from_numpy(data.phase_x), torch.from_numpy(data.phase_y)
            pa = torch.from_numpy(data.phase_allowed)

            def phase_loss(idx: torch.Tensor) -> torch.Tensor:
                xb, yb = _augment(gen, px_[idx], py_[idx], transpose=False)
                logits = phase(xb).masked_fill(~pa[idx][:, :, None, None], -1e4)
                return F.cross_entropy(logits, yb, ignore_index=-1)

            # a third of the rate: at the full rate the net can stall at uniform output
            history["phase"] = _fit(
                phase,
                len(py_),
                int(phase_steps),
                batch_size,
                learning_rate / 3,
                gen,
                phase_loss,
                bar,
            )
    if bar is not None:
        bar.close()
    settings = {
        "materials": list(materials),
        "difficulties": [str(d) for d in difficulties],
        "n_worlds": int(n_worlds),
        "windows_per_world": int(windows_per_world),
        "world_shape": [int(s) for s in world_shape],
        "column_steps": int(column_steps),
        "defect_steps": int(defect_steps),
        "phase_steps": int(phase_steps),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "column_channels": [int(c) for c in column_channels],
        "dose_levels": list(DOSE_LEVELS),
        "seed": int(seed),
    }
    meta = {
        "loss_history": history,
        "data_seconds": float(data_seconds),
        "train_seconds": float(time.perf_counter() - start),
        "n_column_windows": len(data.column_x),
        "n_defect_patches": len(data.defect_y),
        "defect_class_counts": np.bincount(data.defect_y, minlength=3).tolist(),
        "defect_logit_bias": [float(b) for b in defect.logit_bias],
        "defect_bias_by_material": defect_bias,
        "n_phase_windows": len(data.phase_x),
        "torch_version": str(torch.__version__),
    }
    return AnalystWeights(
        column_nets=members,
        defect_net=defect.eval(),
        phase_net=phase,
        phase_names=data.phase_names,
        materials=materials,
        intensity_scale=data.intensity_scale,
        defect_bias=defect_bias,
        settings=settings,
        meta=meta,
    )
