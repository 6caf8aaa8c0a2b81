"""Learned models: GP surrogates (exact, deep-kernel) and the small VAE behind coverage."""

from autoscope.models.base import SampleMethod, Surrogate
from autoscope.models.dkl import DeepKernelGP, FeatureNet
from autoscope.models.gp import ExactGP
from autoscope.models.recipes import RECIPES, make_surrogate
from autoscope.models.vae import VAE, encode, fit_vae

__all__ = [
    "RECIPES",
    "VAE",
    "DeepKernelGP",
    "ExactGP",
    "FeatureNet",
    "SampleMethod",
    "Surrogate",
    "encode",
    "fit_vae",
    "make_surrogate",
]
