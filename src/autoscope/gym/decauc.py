"""DEC-AUC: the area under a task score's curve against the dose spent.

An episode spends a dose budget step by step; after step ``k`` the agent has
spent the fraction ``d_k`` of it and the analyst's findings score ``S_k`` in
[0, 1] on the task. The dose-efficiency curve is the right-continuous step
function

    S(d) = 0 for d < d_1,   S(d) = S_k on [d_k, d_{k+1}),   S(d) = S_K on [d_K, 1],

and DEC-AUC is its area over ``d in [0, 1]``, which telescopes into

    DEC-AUC = sum_k (S_k - S_{k-1}) (1 - d_k),   S_0 = 0.

An agent reaching a perfect score with almost no dose gets almost 1; one that
does nothing gets 0. Each term is the reward of step ``k``
(:func:`dec_reward`), so the undiscounted return of an episode equals its
DEC-AUC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from autoscope.errors import ConfigError

__all__ = ["dec_auc", "dec_reward"]


def _unit(name: str, value: float) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a finite number in [0, 1], got {value!r}")
    return value


def dec_reward(previous_score: float, score: float, dose_fraction: float) -> float:
    """Reward of one step: the score's gain weighted by the dose fraction still unspent.

    Args:
        previous_score: Score ``S_{k-1}`` before the step, in [0, 1] (0 before the first).
        score: Score ``S_k`` after the step, in [0, 1].
        dose_fraction: Fraction ``d_k`` of the budget spent after the step, in [0, 1].

    Returns:
        ``(S_k - S_{k-1}) (1 - d_k)``; negative when the score dropped.

    Raises:
        ConfigError: If an argument is not a finite number in [0, 1].

    Example:
        >>> dec_reward(0.0, 1.0, 0.25)
        0.75
    """
    previous = _unit("previous_score", previous_score)
    current = _unit("score", score)
    fraction = _unit("dose_fraction", dose_fraction)
    return (current - previous) * (1.0 - fraction)


def dec_auc(scores: Sequence[float], dose_fractions: Sequence[float]) -> float:
    """Area under the dose-efficiency curve of an episode.

    Args:
        scores: Task score after each step `(K,)`, finite, in [0, 1].
        dose_fractions: Fraction of the dose budget spent after each step `(K,)`,
            non-decreasing, in [0, 1].

    Returns:
        ``sum_k (S_k - S_{k-1}) (1 - d_k)`` with ``S_0 = 0``, in [0, 1] (0 for an empty
        episode): the area under the right-continuous step curve held flat to ``d = 1``.

    Raises:
        ConfigError: If the two have different lengths, are not 1-D, a score is not a
            finite number in [0, 1] or the fractions are not non-decreasing in [0, 1].

    Example:
        Half the score after a tenth of the budget, all of it at half the budget:

        >>> dec_auc([0.5, 1.0], [0.1, 0.5])  # 0.5 * 0.9 + 0.5 * 0.5
        0.7
        >>> dec_auc([0.5, 1.0], [0.1, 0.5]) == dec_reward(0, 0.5, 0.1) + dec_reward(0.5, 1, 0.5)
        True
    """
    try:
        s = np.asarray(scores, dtype=np.float64)
        d = np.asarray(dose_fractions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("scores and dose_fractions must be sequences of numbers") from None
    if s.ndim != 1 or d.ndim != 1:
        raise ConfigError(
            f"scores and dose_fractions must be 1-D, got shapes {s.shape} and {d.shape}"
        )
    if len(s) != len(d):
        raise ConfigError(
            f"scores ({len(s)}) and dose_fractions ({len(d)}) must have the same length: "
            "one score and one spent fraction per step"
        )
    if not np.isfinite(s).all() or ((s < 0) | (s > 1)).any():
        bad = int(np.flatnonzero(~(np.isfinite(s) & (s >= 0) & (s <= 1)))[0])
        raise ConfigError(f"scores must be finite numbers in [0, 1]; scores[{bad}] = {s[bad]}")
    if not np.isfinite(d).all() or ((d < 0) | (d > 1)).any():
        bad = int(np.flatnonzero(~(np.isfinite(d) & (d >= 0) & (d <= 1)))[0])
        raise ConfigError(
            f"dose_fractions must be finite numbers in [0, 1]; dose_fractions[{bad}] = {d[bad]}"
        )
    if (np.diff(d) < 0).any():
        bad = int(np.flatnonzero(np.diff(d) < 0)[0]) + 1
        raise ConfigError(
            f"dose_fractions must be non-decreasing (dose is only ever spent); "
            f"dose_fractions[{bad}] = {d[bad]} < dose_fractions[{bad - 1}] = {d[bad - 1]}"
        )
    total = 0.0
    previous = 0.0
    for score, fraction in zip(s.tolist(), d.tolist(), strict=True):
        total += (score - previous) * (1.0 - fraction)
        previous = score
    return total
