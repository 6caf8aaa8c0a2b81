"""The trained CNN analyst: a U-Net ensemble, a defect classifier and a phase network.

For every scanned tile, :class:`CNNAnalyst` takes the tile plus a margin of
already scanned neighbours (the base class's window), standardises it over its
scanned pixels and

1. runs the column-finder ensemble (3 :class:`~autoscope.analysis.atomnet.AtomNet`
   members): the mean of the members' probabilities gives the columns (sub-pixel
   peaks, :func:`~autoscope.analysis.atomnet.heatmap_peaks`), twice the standard
   deviation of the members' probabilities at each peak its uncertainty in [0, 1];
2. types each column with the defect classifier
   (:class:`~autoscope.gym.training.DefectNet`) from a patch around it, the
   material's intensity scale and the dose it received;
3. labels every pixel with the phase network
   (:class:`~autoscope.gym.training.PhaseNet`), its output restricted to the
   world's phase names that the network knows (pixels stay -1 when it knows none,
   e.g. on a material it was not trained on).

Rare-feature candidates of crystal worlds are the centroids of clusters of
substitutions (single linkage within 2.5 column spacings), largest first.
Nanoparticle worlds are segmented with the classical analyst's particle routine
(the column nets are not used at their ~1 Å pixel size).

The networks come from a weights file (:mod:`autoscope.gym.training`); by default
the one shipped with autoscope, trained on all five materials.
"""

from __future__ import annotations

import dataclasses
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autoscope._torch import torch_settings
from autoscope.analysis.atomnet import heatmap_peaks
from autoscope.errors import ConfigError
from autoscope.gym.analysts.base import DEFAULT_MARGIN_PX, Analyst, Findings, TileFindings
from autoscope.gym.training import (
    MIN_SPACING_PX,
    AnalystWeights,
    extract_patches,
    load_analyst_weights,
    log_dose_feature,
    phase_input,
    standardise_window,
)

if TYPE_CHECKING:
    from autoscope.gym.world import WorldInfo

__all__ = ["CNNAnalyst", "default_weights_path", "substitution_clusters"]

_DEFAULT_CACHE: dict[str, AnalystWeights] = {}


def default_weights_path() -> Path:
    """Path of the weights file shipped with autoscope (``autoscope/gym/weights/analyst.pt``)."""
    return Path(str(resources.files("autoscope.gym").joinpath("weights", "analyst.pt")))


def substitution_clusters(
    points: np.ndarray, *, link_px: float, min_size: int = 2, max_clusters: int = 5
) -> np.ndarray:
    """Centroids of single-linkage clusters of points, largest cluster first.

    Args:
        points: `(N, 2)` positions (pixels).
        link_px: Largest distance between two linked points.
        min_size: Smallest cluster reported; when none is that large, the single points
            are reported instead (up to ``max_clusters``).
        max_clusters: Most centroids returned.

    Returns:
        `(R, 2)` centroids.

    Example:
        >>> pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [20.0, 20.0]])
        >>> substitution_clusters(pts, link_px=1.5).round(2).tolist()
        [[0.67, 0.33]]
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return np.empty((0, 2))
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    linked = d2 <= float(link_px) ** 2
    labels = -np.ones(n, dtype=np.int64)
    current = 0
    for start in range(n):
        if labels[start] >= 0:
            continue
        stack = [start]
        labels[start] = current
        while stack:
            i = stack.pop()
            for j in np.flatnonzero(linked[i] & (labels < 0)):
                labels[j] = current
                stack.append(int(j))
        current += 1
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    big = [k for k in order if sizes[k] >= min_size]
    if not big:
        return pts[: int(max_clusters)].copy()
    return np.array([pts[labels == k].mean(axis=0) for k in big[: int(max_clusters)]])


def _classical_particles() -> Any:
    """The classical analyst's particle routine, or None when it is not available."""
    try:
        from autoscope.gym.analysts import classical
    except ImportError:  # pragma: no cover - the classical analyst ships with autoscope
        return None
    return getattr(classical, "ClassicalAnalyst", None)


class CNNAnalyst(Analyst):
    """Trained CNN analyst (column ensemble, defect classifier, phase network).

    Args:
        weights: None for the shipped weights, a path to a weights file, or
            :class:`~autoscope.gym.training.AnalystWeights`.
        threshold: Smallest mean ensemble probability of a column peak, in (0, 1).
        min_distance_px: Smallest distance between two column peaks (pixels, >= 1).
        num_threads: Torch CPU threads while the nets run (restored after each update).
        margin_px: Pixels of scanned neighbours analysed with each tile.

    Raises:
        ConfigError: If an option is out of range.
        DataError: If the weights file is missing or invalid.

    Example:
        >>> analyst = CNNAnalyst()
        >>> len(analyst.weights.column_nets)
        3
    """

    name = "cnn"

    def __init__(
        self,
        *,
        weights: AnalystWeights | str | os.PathLike[str] | None = None,
        threshold: float = 0.4,
        min_distance_px: int = 2,
        num_threads: int | None = 1,
        margin_px: int = DEFAULT_MARGIN_PX,
    ) -> None:
        super().__init__(margin_px=margin_px)
        if not (0.0 < float(threshold) < 1.0):
            raise ConfigError(f"threshold must lie in (0, 1), got {threshold!r}")
        if isinstance(min_distance_px, bool) or int(min_distance_px) != min_distance_px:
            raise ConfigError(f"min_distance_px must be an int >= 1, got {min_distance_px!r}")
        if min_distance_px < 1:
            raise ConfigError(f"min_distance_px must be an int >= 1, got {min_distance_px!r}")
        if weights is None:
            key = str(default_weights_path())
            if key not in _DEFAULT_CACHE:
                _DEFAULT_CACHE[key] = load_analyst_weights(key)
            weights = _DEFAULT_CACHE[key]
        elif not isinstance(weights, AnalystWeights):
            weights = load_analyst_weights(weights)
        self.weights: AnalystWeights = weights
        self.threshold = float(threshold)
        self.min_distance_px = int(min_distance_px)
        self.num_threads = num_threads
        self._particle_analyst: Any = None

    # ------------------------------------------------------------------ hooks

    def on_reset(self, info: WorldInfo) -> None:
        """Per-world constants: intensity scale, phase look-up, column spacing."""
        self._scale = self.weights.intensity_scale.get(info.material)
        known = [n in self.weights.phase_names for n in info.phase_names]
        self._phase_allowed = np.zeros(len(self.weights.phase_names), dtype=bool)
        self._phase_lut = -np.ones(len(self.weights.phase_names), dtype=np.int32)
        for local, name in enumerate(info.phase_names):
            if known[local]:
                union = self.weights.phase_names.index(name)
                self._phase_allowed[union] = True
                self._phase_lut[union] = local
        self._spacing_px = float(info.column_spacing_A) / float(info.pixel_size_A)
        net_bias = self.weights.defect_net.logit_bias.detach().clone()
        own = self.weights.defect_bias.get(info.material)
        # offset added to the net's (globally calibrated) logits: the material's own calibration
        self._bias_shift = (
            net_bias - torch.tensor(own, dtype=torch.float32) if own is not None else None
        )
        self._particle_analyst = None
        if "nanoparticle" in info.tasks:
            cls = _classical_particles()
            if cls is not None:
                self._particle_analyst = cls()
                self._particle_analyst.reset(info)

    def update(
        self, mosaic: np.ndarray, dose_map: np.ndarray, bounds: tuple[int, int, int, int]
    ) -> Findings:
        """Re-analyse the tile just scanned; see :meth:`Analyst.update`."""
        info = self.info
        if info.material not in self.weights.intensity_scale:
            scanned = np.asarray(dose_map) > 0
            mean = float(np.asarray(mosaic)[scanned].mean()) if scanned.any() else 0.0
            self._scale = mean if mean > 0 else 1.0
        findings = super().update(mosaic, dose_map, bounds)
        if "nanoparticle" in info.tasks:
            return findings
        subs = findings.atoms_px[np.asarray(findings.atom_types) == 2]
        rare = substitution_clusters(subs, link_px=2.5 * self._spacing_px)
        self._findings = dataclasses.replace(findings, rare_px=rare)
        return self._findings

    def analyse_tile(
        self,
        image: np.ndarray,
        dose: np.ndarray,
        window: tuple[int, int, int, int],
        tile: tuple[int, int, int, int],
    ) -> TileFindings:
        """Columns, their types and uncertainties, and the phases of one window.

        Args:
            image: `(h, w)` mosaic over the window (0 where unscanned).
            dose: `(h, w)` dose over the window.
            window: ``(r0, r1, c0, c1)`` of the window in world pixels.
            tile: ``(r0, r1, c0, c1)`` of the tile (inside the window).

        Returns:
            The window's findings in window coordinates (only the tile's columns).
        """
        image = np.asarray(image, dtype=np.float64)
        dose = np.asarray(dose, dtype=np.float64)
        scanned = dose > 0
        std_win, _, _ = standardise_window(image, scanned)
        scaled = np.where(scanned, image / float(self._scale or 1.0), 0.0).astype(np.float32)
        weights = self.weights
        out = TileFindings()
        x = torch.from_numpy(std_win)[None, None]
        with torch_settings(self.num_threads, deterministic=False), torch.inference_mode():
            if self._spacing_px >= MIN_SPACING_PX:
                probs = torch.cat([torch.sigmoid(net(x)) for net in weights.column_nets])
                probs_np = probs[:, 0].double().numpy()
                prob = probs_np.mean(axis=0)
                peaks = heatmap_peaks(
                    prob, threshold=self.threshold, min_distance=self.min_distance_px
                )
                lr0, lr1 = tile[0] - window[0], tile[1] - window[0]
                lc0, lc1 = tile[2] - window[2], tile[3] - window[2]
                inside = (
                    (peaks[:, 0] >= lr0 - 0.5)
                    & (peaks[:, 0] < lr1 - 0.5)
                    & (peaks[:, 1] >= lc0 - 0.5)
                    & (peaks[:, 1] < lc1 - 0.5)
                )
                peaks = peaks[inside]
                types = np.zeros(len(peaks), dtype=np.int64)
                uncertainty = np.zeros(len(peaks))
                if len(peaks):
                    h, w = image.shape
                    rows = np.clip(np.rint(peaks[:, 0]).astype(np.int64), 0, h - 1)
                    cols = np.clip(np.rint(peaks[:, 1]).astype(np.int64), 0, w - 1)
                    spread = probs_np[:, rows, cols].std(axis=0)
                    uncertainty = np.clip(2.0 * spread, 0.0, 1.0)
                    patches = torch.from_numpy(extract_patches(std_win, scaled, peaks))
                    log_dose = torch.from_numpy(log_dose_feature(dose[rows, cols])[:, None])
                    logits = weights.defect_net(patches, log_dose)
                    if self._bias_shift is not None:
                        logits = logits + self._bias_shift
                    types = logits.argmax(dim=1).numpy()
                out.atoms_px = peaks
                out.atom_types = types.astype(np.int64)
                out.atom_uncertainty = uncertainty
            if weights.phase_net is not None and self._phase_allowed.any():
                xp = torch.from_numpy(phase_input(std_win, scaled))[None]
                logits = weights.phase_net(xp)[0]
                mask = torch.from_numpy(~self._phase_allowed)[:, None, None]
                union = logits.masked_fill(mask, -1e4).argmax(dim=0).numpy()
                phase = self._phase_lut[union]
                out.phase = np.where(scanned, phase, -1).astype(np.int32)
        return out

    def analyse_particles(
        self, mosaic: np.ndarray, dose_map: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nanoparticles and rare candidates, from the classical analyst's particle routine.

        Args:
            mosaic: `(H, W)` scanned mosaic.
            dose_map: `(H, W)` dose map.

        Returns:
            ``(centres (P, 2), diameters (P,), rare candidates (R, 2))`` in world pixels.
        """
        if self._particle_analyst is None:
            return super().analyse_particles(mosaic, dose_map)
        return self._particle_analyst.analyse_particles(mosaic, dose_map)
