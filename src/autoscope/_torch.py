"""Small torch helpers shared by the networks (VAE, atom finder): threads, determinism, device."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from autoscope.errors import ConfigError

__all__ = ["resolve_device", "torch_settings"]


@contextlib.contextmanager
def torch_settings(num_threads: int | None, *, deterministic: bool) -> Iterator[None]:
    """Pin torch threads and deterministic algorithms, restoring both on exit."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    try:
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        if deterministic:
            torch.use_deterministic_algorithms(True)
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device, or a :class:`ConfigError` when CUDA is asked for and absent."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} requested but CUDA is not available")
    return dev
