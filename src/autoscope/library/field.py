"""The target property of a random library as a function of composition.

:class:`TargetField` is a sum of isotropic Gaussians over composition space,

    f(c) = sum_j a_j exp(-|c - m_j|^2 / (2 w^2)),

with centres ``m_j`` uniform on the simplex, width ``w`` and distances taken in
the full ``D``-dimensional composition space. With signed amplitudes the
landscape has peaks and valleys (on the 3-simplex with the defaults, 2 to 9
strict local maxima, mean 5, over 100 seeds); with positive ones the bumps add
up to one broad hill over the middle of the simplex with small ripples, so
``"signed"`` is the default.

Evaluation is exact (no truncation of far Gaussians) and bounded in memory:
points and Gaussians are processed in tiles of at most ``chunk_elements``
pairs. Each tile is one matrix product of augmented coordinates giving the
exponent ``(2 c·m - |c|^2 - |m|^2) / (2 w^2)`` directly, one in-place ``exp``
and one matrix-vector product with the amplitudes, all in float64.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from autoscope.errors import ConfigError, DataError
from autoscope.library.simplex import check_compositions, sample_simplex

__all__ = ["TargetField", "reference_points"]

Amplitudes = Literal["signed", "positive"]


class TargetField:
    """A multimodal property landscape over the ``D``-component simplex.

    Amplitudes are standard normal (``"signed"``) or their absolute values
    (``"positive"``). To keep the scale independent of ``n_gaussians``, signed
    amplitudes are divided by ``sqrt(n_gaussians)`` (the field's variance then
    stays at the mean squared Gaussian, below one: standard deviation about 0.2
    for ``D = 3`` and ``width = 0.1``, smaller in higher ``D``) and positive
    amplitudes by ``n_gaussians`` (the field is then a weighted average of the
    Gaussians: about 0.05 in the middle of the 3-simplex).

    Args:
        n_components: ``D >= 2``.
        n_gaussians: Number of Gaussians (>= 1).
        width: Standard deviation ``w`` of each Gaussian, in composition units.
        amplitudes: ``"signed"`` (multimodal) or ``"positive"`` (one broad hill).
        seed: Seed of the centres and amplitudes.

    Attributes:
        centres_: `(n_gaussians, D)` centres on the simplex.
        amplitudes_: `(n_gaussians,)` scaled amplitudes.

    Raises:
        ConfigError: An option is out of range.

    Example:
        >>> field = TargetField(3, n_gaussians=50, seed=1)
        >>> field(reference_points(3, n=4)).shape
        (4,)
    """

    def __init__(
        self,
        n_components: int,
        *,
        n_gaussians: int = 1000,
        width: float = 0.1,
        amplitudes: Amplitudes = "signed",
        seed: int = 0,
    ) -> None:
        if int(n_components) != n_components or n_components < 2:
            raise ConfigError(f"n_components must be an integer >= 2, got {n_components}")
        if int(n_gaussians) != n_gaussians or n_gaussians < 1:
            raise ConfigError(f"n_gaussians must be an integer >= 1, got {n_gaussians}")
        if not (np.isfinite(width) and width > 0):
            raise ConfigError(f"width must be finite and > 0, got {width}")
        if amplitudes not in ("signed", "positive"):
            raise ConfigError(f"amplitudes must be 'signed' or 'positive', got {amplitudes!r}")
        self.n_components = int(n_components)
        self.n_gaussians = int(n_gaussians)
        self.width = float(width)
        self.amplitudes = amplitudes
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.centres_ = sample_simplex(self.n_gaussians, self.n_components, rng)
        raw = rng.standard_normal(self.n_gaussians)
        if amplitudes == "signed":
            self.amplitudes_ = raw / np.sqrt(self.n_gaussians)
        else:
            self.amplitudes_ = np.abs(raw) / self.n_gaussians
        # Augmented centres [m, -|m|^2 / (2 w^2), 1]: with points augmented as
        # [c / w^2, 1, -|c|^2 / (2 w^2)] one product gives the whole exponent.
        inv = 1.0 / (2.0 * self.width**2)
        self._centres_aug = np.hstack(
            [
                self.centres_,
                -inv * (self.centres_**2).sum(axis=1, keepdims=True),
                np.ones((self.n_gaussians, 1)),
            ]
        )

    def __repr__(self) -> str:
        return (
            f"TargetField({self.n_components}, n_gaussians={self.n_gaussians}, "
            f"width={self.width}, amplitudes={self.amplitudes!r}, seed={self.seed!r})"
        )

    def __call__(self, c: np.ndarray, *, chunk_elements: int = 2**20) -> np.ndarray:
        """Evaluate the field at compositions.

        Args:
            c: `(N, D)` compositions on the simplex.
            chunk_elements: Most point-Gaussian pairs held at once (8 bytes
                each); the default tiles are 1024 x 1024 (8 MB).

        Returns:
            `(N,)` float64 field values.

        Raises:
            DataError: ``c`` is not `(N, D)` on the simplex with this field's ``D``.
            ConfigError: ``chunk_elements < 1``.
        """
        if int(chunk_elements) != chunk_elements or chunk_elements < 1:
            raise ConfigError(f"chunk_elements must be an integer >= 1, got {chunk_elements}")
        x = check_compositions(c)
        if x.shape[1] != self.n_components:
            raise DataError(
                f"this field has {self.n_components} components, got compositions with {x.shape[1]}"
            )
        inv = 1.0 / (2.0 * self.width**2)
        points_aug = np.hstack(
            [2.0 * inv * x, np.ones((len(x), 1)), -inv * (x**2).sum(axis=1, keepdims=True)]
        )
        # Square-ish tiles that stay in cache run fastest (1024 x 1024 by default).
        p_chunk = max(1, min(len(x), math.isqrt(int(chunk_elements))))
        g_chunk = max(1, min(self.n_gaussians, int(chunk_elements) // p_chunk))
        out = np.zeros(len(x))
        for g0 in range(0, self.n_gaussians, g_chunk):
            centres = self._centres_aug[g0 : g0 + g_chunk].T
            amps = self.amplitudes_[g0 : g0 + g_chunk]
            for p0 in range(0, len(x), p_chunk):
                tile = points_aug[p0 : p0 + p_chunk] @ centres
                np.exp(tile, out=tile)
                out[p0 : p0 + p_chunk] += tile @ amps
        return out


def reference_points(n_components: int, n: int = 2000, seed: int = 0) -> np.ndarray:
    """Fixed compositions, uniform on the simplex, for error metrics.

    Args:
        n_components: ``D >= 2``.
        n: Number of points.
        seed: Seed; the same arguments always give the same points.

    Returns:
        `(n, D)` compositions.

    Raises:
        ConfigError: ``n < 0`` or ``n_components < 2``.

    Example:
        >>> reference_points(4, n=3).shape
        (3, 4)
    """
    return sample_simplex(n, n_components, np.random.default_rng(seed))
