"""Learned models: GP surrogates, the coverage VAE, and the curiosity networks.

Exact and deep-kernel GPs; the small VAE behind feature-space coverage; the
Im2spec/Spec2im networks, their five-variant ensemble, the patch autoencoder
and the error predictor of the curiosity policies.
"""

from autoscope.models.base import SampleMethod, Surrogate
from autoscope.models.dkl import DeepKernelGP, FeatureNet
from autoscope.models.error_model import ErrorPredictor, PatchAutoencoder
from autoscope.models.gp import ExactGP
from autoscope.models.im2spec import ENCODERS, Im2Spec, Im2SpecEnsemble, Spec2Im
from autoscope.models.recipes import RECIPES, make_surrogate
from autoscope.models.vae import VAE, encode, fit_vae

__all__ = [
    "ENCODERS",
    "RECIPES",
    "VAE",
    "DeepKernelGP",
    "ErrorPredictor",
    "ExactGP",
    "FeatureNet",
    "Im2Spec",
    "Im2SpecEnsemble",
    "PatchAutoencoder",
    "SampleMethod",
    "Spec2Im",
    "Surrogate",
    "encode",
    "fit_vae",
    "make_surrogate",
]
