"""Simulated STEM worlds.

For now this holds the physical image model shared by the atom-finding noise
study and, later, the Gymnasium benchmark: :mod:`autoscope.gym.haadf` renders
incoherent HAADF (Z-contrast) images of atomic columns with a physical probe,
thermal smearing, Poisson dose noise, scan jitter and drift.
"""

from __future__ import annotations

from autoscope.gym.haadf import (
    SRTIO3_BASIS,
    Columns,
    Probe,
    SimulatedImage,
    column_intensity,
    electron_wavelength,
    haadf_image,
    simulate_lattice_image,
    synthetic_lattice,
)

__all__ = [
    "SRTIO3_BASIS",
    "Columns",
    "Probe",
    "SimulatedImage",
    "column_intensity",
    "electron_wavelength",
    "haadf_image",
    "simulate_lattice_image",
    "synthetic_lattice",
]
