"""Learned models: the small VAE behind feature-space coverage."""

from autoscope.models.vae import VAE, encode, fit_vae

__all__ = ["VAE", "encode", "fit_vae"]
