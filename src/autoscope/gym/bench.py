"""The STEM gym benchmark: worlds × configurations × seeds through the sweep harness.

A gym spec is a TOML file with a ``[gym]`` table (``autoscope bench SPEC.toml``
recognises it; the commented example is ``examples/gym/gym.toml``)::

    [gym]
    name = "gym"                       # names the sweep (default output bench/<name>)
    materials = ["SrTiO3", "GaN"]      # default: all five
    difficulties = ["Easy", "Medium"]  # default: all three
    n_seeds = 10                       # or seeds = [0, 1, ...]
    reference = "raster"               # navigator every other navigator is compared to
    tost_margin = 0.05                 # equivalence margin on DEC-AUC for navigator swaps
    alpha = 0.05
    n_boot = 2000
    env = { shape = [256, 256], budget = 0.5 }   # STEMEnv options shared by every episode

    [[configurations]]                 # one per agent configuration
    label = "raster+cnn"               # required; a folder name
    navigator = "raster"               # random | raster | gp-ucb | stem-agent
    analyst = "cnn"                    # classical | cnn
    navigator_options = {}             # optional
    analyst_options = {}               # optional (cnn: weights = "path/to/analyst.pt")
    materials = ["GaN"]                # optional: only these worlds (transfer studies)
    difficulties = ["Medium"]
    train_material = "GaN"             # optional: marks a transfer-matrix row

One episode per world × configuration × seed. The navigator does not know the
task, so one trajectory is scored for every task of its world: the environment
reports every applicable task's score after each step and the episode stores
all of them, from which :func:`~autoscope.gym.decauc.dec_auc` gives one DEC-AUC
per task. Pairs for the statistics are (world, seed): every configuration of
one seed sees the same sample. Each episode writes ``episode.json`` atomically
in ``runs/<world>/<configuration>/seed-<k>/``; a finished episode is skipped
when the sweep runs again with the same settings, so a sweep resumes after a
crash.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.bench.replication import _write_atomic, config_hash, limit_threads
from autoscope.campaign.config import read_toml
from autoscope.errors import ConfigError, DataError

__all__ = [
    "EPISODE_FILE",
    "EpisodeTask",
    "GymBenchSpec",
    "GymConfiguration",
    "is_gym_spec",
    "load_gym_spec",
    "read_episodes",
    "run_episode_task",
]

#: Name of an episode's result file.
EPISODE_FILE = "episode.json"
EPISODE_SCHEMA = 1
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_GYM_KEYS = {
    "name",
    "materials",
    "difficulties",
    "seeds",
    "n_seeds",
    "reference",
    "tost_margin",
    "alpha",
    "n_boot",
    "env",
    "output",
}
_CONFIG_KEYS = {
    "label",
    "navigator",
    "analyst",
    "navigator_options",
    "analyst_options",
    "materials",
    "difficulties",
    "train_material",
}


@dataclass(frozen=True)
class GymConfiguration:
    """One agent configuration: a navigator with an analyst.

    Attributes:
        label: Name of the configuration (a folder name).
        navigator: Navigator name (see :data:`autoscope.gym.agents.NAVIGATORS`).
        analyst: Analyst name (see :data:`autoscope.gym.analysts.ANALYSTS`).
        navigator_options: Keyword options of the navigator.
        analyst_options: Keyword options of the analyst.
        materials: Worlds it runs on (empty: all of the spec's).
        difficulties: Difficulties it runs on (empty: all of the spec's).
        train_material: The material its analyst was trained on, for the
            transfer matrix (empty when not a transfer row).
    """

    label: str
    navigator: str
    analyst: str
    navigator_options: dict[str, Any] = field(default_factory=dict)
    analyst_options: dict[str, Any] = field(default_factory=dict)
    materials: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()
    train_material: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable)."""
        return {
            "label": self.label,
            "navigator": self.navigator,
            "analyst": self.analyst,
            "navigator_options": dict(self.navigator_options),
            "analyst_options": dict(self.analyst_options),
            "materials": list(self.materials),
            "difficulties": list(self.difficulties),
            "train_material": self.train_material,
        }


@dataclass(frozen=True)
class EpisodeTask:
    """One episode of a gym sweep (picklable: plain data only).

    Attributes:
        material: World material.
        difficulty: World difficulty.
        configuration: The agent configuration.
        seed: Seed of the world and of the agent.
        env_options: Extra :class:`~autoscope.gym.env.STEMEnv` options.
        out_dir: ``<sweep>/runs/<material>-<difficulty>/<label>/seed-<seed>``.
    """

    material: str
    difficulty: str
    configuration: GymConfiguration
    seed: int
    env_options: dict[str, Any]
    out_dir: Path

    @property
    def world(self) -> str:
        """``"<material>-<difficulty>"``."""
        return f"{self.material}-{self.difficulty}"

    @property
    def key(self) -> tuple[str, str, int]:
        """``(world, configuration label, seed)``."""
        return (self.world, self.configuration.label, self.seed)

    @property
    def result_path(self) -> Path:
        """Path of ``episode.json``."""
        return Path(self.out_dir) / EPISODE_FILE

    @property
    def error_path(self) -> Path:
        """Path of the traceback of a failed attempt."""
        return Path(self.out_dir) / "error.txt"

    @property
    def config_hash(self) -> str:
        """Hash of everything that determines the episode."""
        return config_hash(
            {
                "material": self.material,
                "difficulty": self.difficulty,
                "configuration": self.configuration.to_dict(),
                "seed": self.seed,
                "env": self.env_options,
            }
        )


@dataclass
class GymBenchSpec:
    """A validated gym sweep (build it with :func:`load_gym_spec` or :meth:`from_dict`).

    Attributes:
        name: Name of the sweep.
        materials: Materials of the worlds.
        difficulties: Difficulty levels of the worlds.
        seeds: Seeds; a seed fixes the world and the agents' random choices.
        configurations: The agent configurations.
        reference: Navigator the others are compared to under the same analyst.
        tost_margin: Equivalence margin (DEC-AUC units) of the navigator swaps.
        alpha: Significance level.
        n_boot: Bootstrap resamples of each confidence interval.
        env: STEMEnv options shared by every episode.
        output: The sweep directory.
    """

    name: str
    materials: tuple[str, ...]
    difficulties: tuple[str, ...]
    seeds: tuple[int, ...]
    configurations: tuple[GymConfiguration, ...]
    reference: str = "raster"
    tost_margin: float = 0.05
    alpha: float = 0.05
    n_boot: int = 2000
    env: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GymBenchSpec:
        """Validate a parsed spec (the TOML's tables).

        Raises:
            ConfigError: Unknown keys, unknown materials/difficulties/navigators/
                analysts, duplicate labels, no configurations or no seeds.
        """
        from autoscope.gym.agents import NAVIGATORS
        from autoscope.gym.analysts import ANALYSTS
        from autoscope.gym.world import DIFFICULTIES, MATERIALS

        if not isinstance(data.get("gym"), dict):
            raise ConfigError("a gym spec needs a [gym] table")
        unknown = set(data) - {"gym", "configurations"}
        if unknown:
            raise ConfigError(f"unknown tables in the gym spec: {sorted(unknown)}")
        gym = dict(data["gym"])
        bad = set(gym) - _GYM_KEYS
        if bad:
            raise ConfigError(f"unknown [gym] keys {sorted(bad)}; known: {sorted(_GYM_KEYS)}")
        name = str(gym.get("name", "gym"))
        if not _LABEL.match(name):
            raise ConfigError(f"[gym] name {name!r} must be a plain folder name")
        materials = _choices("[gym] materials", gym.get("materials", MATERIALS), MATERIALS)
        difficulties = _choices(
            "[gym] difficulties", gym.get("difficulties", DIFFICULTIES), DIFFICULTIES
        )
        if "seeds" in gym and "n_seeds" in gym:
            raise ConfigError("give [gym] seeds or n_seeds, not both")
        try:
            if "seeds" in gym:
                seeds = tuple(int(s) for s in gym["seeds"])
            else:
                seeds = tuple(range(int(gym.get("n_seeds", 10))))
        except (TypeError, ValueError):
            raise ConfigError(
                f"[gym] seeds must be a list of integers or n_seeds an integer, got "
                f"{gym.get('seeds', gym.get('n_seeds'))!r}"
            ) from None
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ConfigError(f"[gym] seeds must be distinct integers >= 0, got {list(seeds)}")
        raw = data.get("configurations")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("a gym spec needs at least one [[configurations]] entry")
        configurations = []
        for i, entry in enumerate(raw):
            where = f"[[configurations]] #{i + 1}"
            if not isinstance(entry, dict) or "label" not in entry:
                raise ConfigError(f"{where} needs a label")
            extra = set(entry) - _CONFIG_KEYS
            if extra:
                raise ConfigError(f"{where}: unknown keys {sorted(extra)}")
            label = str(entry["label"])
            if not _LABEL.match(label):
                raise ConfigError(f"{where}: label {label!r} must be a plain folder name")
            navigator = str(entry.get("navigator", "raster"))
            analyst = str(entry.get("analyst", "classical"))
            if navigator not in NAVIGATORS:
                raise ConfigError(
                    f"{where}: unknown navigator {navigator!r}; known: {sorted(NAVIGATORS)}"
                )
            if analyst not in ANALYSTS:
                raise ConfigError(
                    f"{where}: unknown analyst {analyst!r}; known: {sorted(ANALYSTS)}"
                )
            configurations.append(
                GymConfiguration(
                    label=label,
                    navigator=navigator,
                    analyst=analyst,
                    navigator_options=dict(entry.get("navigator_options", {})),
                    analyst_options=dict(entry.get("analyst_options", {})),
                    materials=_choices(f"{where} materials", entry.get("materials", ()), MATERIALS),
                    difficulties=_choices(
                        f"{where} difficulties", entry.get("difficulties", ()), DIFFICULTIES
                    ),
                    train_material=str(entry.get("train_material", "")),
                )
            )
        labels = [c.label for c in configurations]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"configuration labels must be unique, got {labels}")
        margin = float(gym.get("tost_margin", 0.05))
        if not 0 < margin < 1:
            raise ConfigError(f"[gym] tost_margin must be in (0, 1), got {margin}")
        env = dict(gym.get("env", {}))
        if "shape" in env:
            env["shape"] = [int(v) for v in env["shape"]]
        return cls(
            name=name,
            materials=materials,
            difficulties=difficulties,
            seeds=seeds,
            configurations=tuple(configurations),
            reference=str(gym.get("reference", "raster")),
            tost_margin=margin,
            alpha=float(gym.get("alpha", 0.05)),
            n_boot=int(gym.get("n_boot", 2000)),
            env=env,
            output=str(gym.get("output", f"bench/{name}")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec as the TOML's tables (written to the sweep directory)."""
        return {
            "gym": {
                "name": self.name,
                "materials": list(self.materials),
                "difficulties": list(self.difficulties),
                "seeds": list(self.seeds),
                "reference": self.reference,
                "tost_margin": self.tost_margin,
                "alpha": self.alpha,
                "n_boot": self.n_boot,
                "env": self.env,
                "output": self.output,
            },
            "configurations": [c.to_dict() for c in self.configurations],
        }

    def tasks(self, sweep_dir: str | Path | None = None) -> list[EpisodeTask]:
        """Every episode, world-major then configuration then seed."""
        root = Path(self.output if sweep_dir is None else sweep_dir)
        out = []
        for material in self.materials:
            for difficulty in self.difficulties:
                for conf in self.configurations:
                    if conf.materials and material not in conf.materials:
                        continue
                    if conf.difficulties and difficulty not in conf.difficulties:
                        continue
                    for seed in self.seeds:
                        folder = root / "runs" / f"{material}-{difficulty}" / conf.label
                        out.append(
                            EpisodeTask(
                                material=material,
                                difficulty=difficulty,
                                configuration=conf,
                                seed=seed,
                                env_options=dict(self.env),
                                out_dir=folder / f"seed-{seed}",
                            )
                        )
        return out


def _choices(name: str, values: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    out = tuple(str(v) for v in values)
    bad = [v for v in out if v not in allowed]
    if bad:
        raise ConfigError(f"{name}: unknown {bad}; known: {list(allowed)}")
    return out


def is_gym_spec(path: str | Path) -> bool:
    """True when the TOML file at ``path`` (or ``spec.json`` of a sweep) has a ``[gym]`` table."""
    path = Path(path)
    try:
        if path.is_dir():
            data = json.loads((path / "spec.json").read_text())
        else:
            data = read_toml(path, "gym spec")
    except (OSError, ValueError, ConfigError):
        return False
    return isinstance(data.get("gym"), dict)


def load_gym_spec(path: str | Path) -> GymBenchSpec:
    """Read and validate a gym spec TOML file.

    Raises:
        ConfigError: The file is missing or invalid.
    """
    return GymBenchSpec.from_dict(read_toml(Path(path), "gym spec"))


def run_episode_task(task: EpisodeTask) -> Path:
    """Run one episode and write its ``episode.json`` (the sweep's worker function).

    The worker pins torch and BLAS to one thread. The file holds, per step, the
    action, the dose fraction after it and every applicable task's score, and
    the DEC-AUC of each task.

    Returns:
        The path of the result file.
    """
    limit_threads()
    from autoscope.gym.agents import make_navigator, run_episode
    from autoscope.gym.analysts import make_analyst
    from autoscope.gym.registry import env_id
    from autoscope.gym.world import TASKS_BY_MATERIAL

    conf = task.configuration
    started = time.perf_counter()
    primary = TASKS_BY_MATERIAL[task.material][0]
    episode = run_episode(
        env_id(task.material, task.difficulty, primary),
        navigator=make_navigator(conf.navigator, **conf.navigator_options),
        analyst=make_analyst(conf.analyst, **conf.analyst_options),
        seed=task.seed,
        env_options=dict(task.env_options),
    )
    result = {
        "schema": EPISODE_SCHEMA,
        "world": task.world,
        "material": task.material,
        "difficulty": task.difficulty,
        "configuration": conf.label,
        "navigator": conf.navigator,
        "analyst": conf.analyst,
        "train_material": conf.train_material,
        "seed": task.seed,
        "config_hash": task.config_hash,
        "actions": np.asarray(episode.actions, dtype=int).tolist(),
        "dose_fractions": [float(v) for v in episode.dose_fractions],
        "task_scores": {k: [float(v) for v in s] for k, s in episode.task_scores.items()},
        "dec_auc": {k: float(v) for k, v in episode.dec_auc_by_task.items()},
        "states": list(episode.states),
        "n_steps": len(episode.dose_fractions),
        "wall_seconds": time.perf_counter() - started,
    }
    task.out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(task.result_path, json.dumps(result, allow_nan=False))
    return task.result_path


def read_episodes(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Every ``episode.json`` under ``sweep_dir/runs``, sorted by world, configuration and seed.

    Raises:
        DataError: A result file is unreadable or of another schema.
    """
    out = []
    for path in sorted(Path(sweep_dir).glob(f"runs/*/*/seed-*/{EPISODE_FILE}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: unreadable episode result ({err})") from None
        if record.get("schema") != EPISODE_SCHEMA:
            raise DataError(f"{path}: episode schema {record.get('schema')!r}, expected 1")
        if not all(math.isfinite(v) for v in record["dec_auc"].values()):
            raise DataError(f"{path}: non-finite DEC-AUC")
        out.append(record)
    out.sort(key=lambda r: (r["world"], r["configuration"], r["seed"]))
    return out
