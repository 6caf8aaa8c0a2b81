"""Gymnasium ids of the STEM benchmark environments.

Every (material, difficulty, task) with the task applicable to the material
(``TASKS_BY_MATERIAL``) is one environment, 39 in all::

    autoscope/STEM-{material}-{difficulty}-{TaskCamel}-v0
    e.g. autoscope/STEM-SrTiO3-Easy-DefectCensus-v0

made with ``gymnasium.make(id, **options)`` once :func:`register_envs` has run
(``import autoscope.gym`` runs it); the options are those of
:class:`~autoscope.gym.env.STEMEnv` (``shape``, ``analyst``, ``budget``, ...).
"""

from __future__ import annotations

import re

import gymnasium

from autoscope.errors import ConfigError
from autoscope.gym.world import DIFFICULTIES, MATERIALS, TASKS, TASKS_BY_MATERIAL

__all__ = [
    "ENTRY_POINT",
    "TASK_CAMEL",
    "check_world",
    "env_id",
    "env_ids",
    "parse_env_id",
    "register_envs",
]

#: Task name -> its CamelCase form in environment ids.
TASK_CAMEL: dict[str, str] = {
    task: "".join(part.capitalize() for part in task.split("-")) for task in TASKS
}

#: Where gymnasium finds the environment class.
ENTRY_POINT = "autoscope.gym.env:STEMEnv"

_ID = re.compile(r"^autoscope/STEM-(?P<material>[^-]+)-(?P<difficulty>[^-]+)-(?P<task>\w+)-v0$")


def check_world(material: str, difficulty: str, task: str) -> None:
    """Check that ``(material, difficulty, task)`` names a benchmark world.

    Raises:
        ConfigError: Unknown material, difficulty or task (the message lists the valid
            ones), or a task that does not apply to the material.
    """
    if material not in MATERIALS:
        raise ConfigError(f"unknown material {material!r}; valid materials: {', '.join(MATERIALS)}")
    if difficulty not in DIFFICULTIES:
        raise ConfigError(
            f"unknown difficulty {difficulty!r}; valid difficulties: {', '.join(DIFFICULTIES)}"
        )
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    if task not in TASKS_BY_MATERIAL[material]:
        raise ConfigError(
            f"task {task!r} does not apply to {material}; its tasks are "
            f"{', '.join(TASKS_BY_MATERIAL[material])}"
        )


def env_id(material: str, difficulty: str, task: str) -> str:
    """The Gymnasium id of a world and task.

    Raises:
        ConfigError: The combination is not a benchmark environment (see :func:`check_world`).

    Example:
        >>> env_id("SrTiO3", "Easy", "defect-census")
        'autoscope/STEM-SrTiO3-Easy-DefectCensus-v0'
    """
    check_world(material, difficulty, task)
    return f"autoscope/STEM-{material}-{difficulty}-{TASK_CAMEL[task]}-v0"


def parse_env_id(id: str) -> tuple[str, str, str]:  # noqa: A002 - gymnasium's name
    """``(material, difficulty, task)`` of an environment id.

    Raises:
        ConfigError: ``id`` is not the id of a benchmark environment.

    Example:
        >>> parse_env_id("autoscope/STEM-AuNP-Hard-Nanoparticle-v0")
        ('AuNP', 'Hard', 'nanoparticle')
    """
    match = _ID.match(id) if isinstance(id, str) else None
    camel_to_task = {camel: task for task, camel in TASK_CAMEL.items()}
    if match is None or match["task"] not in camel_to_task:
        raise ConfigError(
            f"{id!r} is not a STEM benchmark id; expected "
            "'autoscope/STEM-{material}-{difficulty}-{TaskCamel}-v0' with TaskCamel one of "
            f"{', '.join(TASK_CAMEL.values())} (see autoscope.gym.registry.env_ids())"
        )
    material, difficulty, task = (
        match["material"],
        match["difficulty"],
        camel_to_task[match["task"]],
    )
    check_world(material, difficulty, task)
    return material, difficulty, task


def env_ids() -> list[str]:
    """Every benchmark id: materials × difficulties × the material's tasks (39)."""
    return [
        env_id(material, difficulty, task)
        for material in MATERIALS
        for difficulty in DIFFICULTIES
        for task in TASKS_BY_MATERIAL[material]
    ]


def register_envs() -> list[str]:
    """Register every benchmark environment with Gymnasium (idempotent).

    Ids already registered are left alone, so calling this again (or after a
    reload) neither duplicates nor warns.

    Returns:
        All benchmark ids.
    """
    ids = env_ids()
    for name in ids:
        if name in gymnasium.registry:
            continue
        material, difficulty, task = parse_env_id(name)
        gymnasium.register(
            id=name,
            entry_point=ENTRY_POINT,
            kwargs={"material": material, "difficulty": difficulty, "task": task},
        )
    return ids
