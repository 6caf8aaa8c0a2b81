"""Simulated STEM worlds.

:mod:`autoscope.gym.haadf` renders incoherent HAADF (Z-contrast) images of
atomic columns with a physical probe, thermal smearing, Poisson dose noise,
scan jitter and drift. :mod:`autoscope.gym.materials` builds the crystal
structures (ASE) and projects them into columns; :mod:`autoscope.gym.world`
turns them into whole specimens with defects, phases, a rare feature and a
beam-damage model (:func:`make_world`). :mod:`autoscope.gym.env` wraps a
world and a task as a Gymnasium environment scored by DEC-AUC
(:mod:`autoscope.gym.decauc`, :mod:`autoscope.gym.tasks`); importing this
package registers every environment id (``autoscope/STEM-<material>-
<difficulty>-<Task>-v0``, :func:`~autoscope.gym.registry.env_ids`).
:mod:`autoscope.gym.analysts` holds the classical and CNN analysts,
:mod:`autoscope.gym.agents` the navigators, and :mod:`autoscope.gym.bench` the
benchmark sweep.
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
from autoscope.gym.registry import env_id, env_ids, parse_env_id, register_envs
from autoscope.gym.world import (
    DIFFICULTIES,
    MATERIALS,
    TASKS,
    TASKS_BY_MATERIAL,
    GroundTruth,
    World,
    WorldInfo,
    make_world,
)

__all__ = [
    "DIFFICULTIES",
    "MATERIALS",
    "SRTIO3_BASIS",
    "TASKS",
    "TASKS_BY_MATERIAL",
    "Columns",
    "GroundTruth",
    "Probe",
    "SimulatedImage",
    "World",
    "WorldInfo",
    "column_intensity",
    "electron_wavelength",
    "env_id",
    "env_ids",
    "haadf_image",
    "make_world",
    "parse_env_id",
    "simulate_lattice_image",
    "synthetic_lattice",
]

register_envs()
