"""Named surrogate recipes: the measured default and the published BEACON-DKL one.

``"default"`` is :class:`~autoscope.models.dkl.DeepKernelGP` with its own
defaults (standardised CNN features, exact GP with priors, robust target
scaling, warm start); the numbers that chose them come from
``benchmarks/bench_dkl_beps.py``.

``"published"`` reproduces the BEACON-DKL recipe as published: CNN conv
1→16, pool, conv 16→32, pool, linear → 2 raw features; a sparse variational GP
with 10 inducing points and an RBF kernel, re-created at every step while the
CNN weights carry over; 100 Adam epochs at lr 0.01 per step; float32; targets
min–max normalised per step. The published loss, "the negative exact
marginal likelihood of the variational predictive", is implemented as
GPyTorch's :class:`~gpytorch.mlls.PredictiveLogLikelihood` (the log of the
approximate predictive density at the training points, Jankowiak et al. 2020),
which is what that phrase describes; no priors. The original stops with
``NotPSDError`` in its second step under current GPyTorch (a float32
inducing-point Cholesky of collapsed features); here that step is retried with
growing ``cholesky_jitter`` instead.

Example:
    >>> make_surrogate("published").n_inducing
    10
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autoscope.errors import ConfigError
from autoscope.models.dkl import DeepKernelGP

__all__ = ["RECIPES", "make_surrogate"]

RECIPES: dict[str, Callable[[], dict[str, Any]]] = {
    "default": dict,
    "published": lambda: {
        "n_features": 2,
        "channels": (16, 32),
        "centre_feature": 0,
        "kernel": "rbf",
        "mean": "constant",
        "gp": "svgp",
        "n_inducing": 10,
        "objective": "pll",
        "iterations": 100,
        "first_iterations": 100,
        "lr": 0.01,
        "refit": "warm",
        "reinit_gp": True,
        "feature_norm": "none",
        "target_scaling": "minmax",
        "priors": False,
        "dtype": "float32",
    },
}
"""Recipe name → constructor options of :class:`DeepKernelGP`."""


def make_surrogate(recipe: str = "default", **overrides: Any) -> DeepKernelGP:
    """Build a named surrogate recipe, with options overridden by keyword.

    Args:
        recipe: A key of :data:`RECIPES` (``"default"``, ``"published"``).
        **overrides: :class:`DeepKernelGP` options replacing the recipe's (e.g. ``seed``).

    Returns:
        An unfitted :class:`DeepKernelGP`.

    Raises:
        ConfigError: Unknown recipe or option.

    Example:
        >>> make_surrogate("default", seed=3).seed
        3
    """
    if recipe not in RECIPES:
        raise ConfigError(f"unknown surrogate recipe {recipe!r}; available: {sorted(RECIPES)}")
    options = {**RECIPES[recipe](), **overrides}
    try:
        return DeepKernelGP(**options)
    except TypeError as err:
        raise ConfigError(f"surrogate recipe {recipe!r}: {err}") from None
