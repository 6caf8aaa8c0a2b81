"""Navigators: where to scan next in a :class:`~autoscope.gym.env.STEMEnv`.

A navigator chooses the next action ``(tile, dose_level)`` from the observation
(mosaic and dose map), the analyst's findings and the step's info; any
navigator works with any analyst. An agent configuration is a navigator plus an
analyst; :func:`run_episode` runs one on one world and returns its
:class:`Episode` (per-step scores of every task, dose fractions, rewards,
actions, states and DEC-AUC).

Navigators (:data:`NAVIGATORS`, :func:`make_navigator`):

* ``"random"``: a uniformly random unscanned tile at the middle dose.
* ``"raster"``: the tiles in serpentine order (left to right, then right to
  left on the next row) at the middle dose.
* ``"gp-ucb"``: a Gaussian process (scikit-learn, RBF + white-noise kernel,
  fixed hyperparameters by default) over tile centres, fitted to the *interest*
  of each scanned tile (:func:`tile_interest`: defects found + nanoparticles
  found + rare-feature candidates in the tile, divided by the largest value
  over the scanned tiles); the next tile maximises ``mu + beta * sigma`` over
  the unscanned tiles, at the middle dose.
* ``"stem-agent"``: the STEMAgent planner, a finite-state machine over GP-UCB
  (see :class:`STEMAgentNavigator`).

Every navigator issues STOP (``tile = n_tiles``) when it has nothing left to
scan.
"""

from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

from autoscope.errors import ConfigError
from autoscope.gym.analysts import Analyst, Findings
from autoscope.gym.decauc import dec_auc
from autoscope.gym.env import STEMEnv, tile_doses
from autoscope.gym.registry import register_envs
from autoscope.gym.world import WorldInfo

__all__ = [
    "NAVIGATORS",
    "Episode",
    "GPUCBNavigator",
    "Navigator",
    "RandomNavigator",
    "RasterNavigator",
    "STEMAgentNavigator",
    "make_navigator",
    "run_episode",
    "tile_interest",
]


def tile_interest(findings: Findings, info: WorldInfo) -> np.ndarray:
    """How interesting each tile looks from the findings so far.

    Args:
        findings: The analyst's findings (world pixels).
        info: The world.

    Returns:
        `(n_tiles,)` float64: defect columns (type > 0) + nanoparticle centres +
        rare-feature candidates lying in each tile (row-major).
    """
    points = [np.asarray(findings.atoms_px, dtype=np.float64).reshape(-1, 2)]
    points[0] = points[0][np.asarray(findings.atom_types).ravel() > 0]
    points.append(np.asarray(findings.particle_centres_px, dtype=np.float64).reshape(-1, 2))
    points.append(np.asarray(findings.rare_px, dtype=np.float64).reshape(-1, 2))
    xy = np.concatenate(points)
    n_y, n_x, t = info.n_tiles_y, info.n_tiles_x, info.tile_px
    if not len(xy):
        return np.zeros(n_y * n_x)
    rows = np.clip(np.floor((xy[:, 0] + 0.5) / t).astype(np.int64), 0, n_y - 1)
    cols = np.clip(np.floor((xy[:, 1] + 0.5) / t).astype(np.int64), 0, n_x - 1)
    return np.bincount(rows * n_x + cols, minlength=n_y * n_x).astype(np.float64)


class Navigator(ABC):
    """Chooses the next action of an episode.

    Args:
        dose_level: Dose level index of every scan; None = the middle level
            (``n_dose_levels // 2``).
    """

    name: str = "navigator"

    def __init__(self, *, dose_level: int | None = None) -> None:
        if dose_level is not None and (
            isinstance(dose_level, bool) or not isinstance(dose_level, (int, np.integer))
        ):
            raise ConfigError(f"dose_level must be an int or None, got {dose_level!r}")
        if dose_level is not None and dose_level < 0:
            raise ConfigError(f"dose_level must be >= 0, got {dose_level}")
        self.dose_level = dose_level
        self._info: WorldInfo | None = None
        self.rng = np.random.default_rng(0)
        self.history: list[str] = []

    @property
    def info(self) -> WorldInfo:
        """The world of the episode (set by :meth:`reset`)."""
        if self._info is None:
            raise ConfigError(f"{type(self).__name__}: call reset(info, seed=...) first")
        return self._info

    @property
    def state(self) -> str:
        """The navigator's current state (``"RUN"`` for navigators without states)."""
        return "RUN"

    def reset(self, info: WorldInfo, *, seed: int) -> None:
        """Start a new episode on the world ``info`` with the random seed ``seed``."""
        self._info = info
        self.rng = np.random.default_rng(seed)
        self.history = []

    @abstractmethod
    def act(self, observation: dict[str, np.ndarray], findings: Findings, info: dict) -> np.ndarray:
        """The next action.

        Args:
            observation: ``{"image": (H, W), "dose": (H, W)}`` from the environment.
            findings: The analyst's latest findings.
            info: The environment's latest info (``dose_fraction``, ``n_dose_levels``, ...).

        Returns:
            `(2,)` int64 ``(tile, dose_level)``; ``tile = n_tiles`` is STOP.
        """

    # ------------------------------------------------------------------ helpers

    def _level(self, info: dict, level: int | None = None) -> int:
        n_levels = int(info.get("n_dose_levels", 3))
        chosen = self.dose_level if level is None else level
        if chosen is None:
            return n_levels // 2
        if chosen >= n_levels:
            raise ConfigError(
                f"{self.name}: dose_level {chosen} does not exist; the environment has "
                f"{n_levels} dose levels"
            )
        return int(chosen)

    def _tile_doses(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        return tile_doses(np.asarray(observation["dose"]), self.info.tile_px)

    def _action(self, tile: int, level: int) -> np.ndarray:
        self.history.append(self.state)
        return np.array([tile, level], dtype=np.int64)

    def _stop(self) -> np.ndarray:
        return self._action(self.info.n_tiles, 0)


class RandomNavigator(Navigator):
    """A uniformly random unscanned tile at one dose level (the middle one by default)."""

    name = "random"

    def act(self, observation: dict[str, np.ndarray], findings: Findings, info: dict) -> np.ndarray:
        """A random unscanned tile; STOP when every tile is scanned."""
        candidates = np.flatnonzero(self._tile_doses(observation) <= 0)
        if not len(candidates):
            return self._stop()
        return self._action(int(self.rng.choice(candidates)), self._level(info))


def serpentine(n_tiles_y: int, n_tiles_x: int) -> np.ndarray:
    """Tile indices `(n_tiles,)` in serpentine order (even rows left to right, odd rows back)."""
    grid = np.arange(n_tiles_y * n_tiles_x).reshape(n_tiles_y, n_tiles_x)
    grid[1::2] = grid[1::2, ::-1]
    return grid.ravel()


class RasterNavigator(Navigator):
    """The tiles in serpentine order at one dose level (the middle one by default)."""

    name = "raster"

    def act(self, observation: dict[str, np.ndarray], findings: Findings, info: dict) -> np.ndarray:
        """The next unscanned tile in serpentine order; STOP when every tile is scanned."""
        scanned = self._tile_doses(observation) > 0
        for tile in serpentine(self.info.n_tiles_y, self.info.n_tiles_x):
            if not scanned[tile]:
                return self._action(int(tile), self._level(info))
        return self._stop()


class GPUCBNavigator(Navigator):
    """GP-UCB over tile centres on the interest of the scanned tiles.

    The GP (:class:`sklearn.gaussian_process.GaussianProcessRegressor`, kernel
    ``RBF(length_scale) + WhiteKernel(noise)``, zero prior mean, unit prior
    variance) is fitted to :func:`tile_interest` of the scanned tiles divided by
    its maximum (all zeros while nothing interesting was found, which makes the
    choice space-filling). Tile centres are in tile units. Ties are broken at
    random (seeded).

    Args:
        beta: Exploration weight of ``mu + beta * sigma``.
        length_scale: RBF length scale in tiles.
        noise: White-noise variance.
        optimize: Fit the length scale and noise by maximum likelihood (within
            [0.5, 8] tiles and [1e-4, 1]) instead of keeping them fixed.
        dose_level: Dose level of every scan; None = the middle one.
    """

    name = "gp-ucb"

    def __init__(
        self,
        *,
        beta: float = 2.0,
        length_scale: float = 1.5,
        noise: float = 0.05,
        optimize: bool = False,
        dose_level: int | None = None,
    ) -> None:
        super().__init__(dose_level=dose_level)
        for label, value in (("beta", beta), ("length_scale", length_scale), ("noise", noise)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ConfigError(f"{label} must be a number, got {value!r}")
        if not beta >= 0 or not length_scale > 0 or not noise > 0:
            raise ConfigError(
                f"need beta >= 0, length_scale > 0 and noise > 0; got beta={beta}, "
                f"length_scale={length_scale}, noise={noise}"
            )
        self.beta = float(beta)
        self.length_scale = float(length_scale)
        self.noise = float(noise)
        self.optimize = bool(optimize)

    def act(self, observation: dict[str, np.ndarray], findings: Findings, info: dict) -> np.ndarray:
        """The unscanned tile of largest UCB; STOP when every tile is scanned."""
        doses = self._tile_doses(observation)
        tile = self._ucb_tile(doses, findings, doses <= 0, self.beta)
        if tile is None:
            return self._stop()
        return self._action(tile, self._level(info))

    def _ucb_tile(
        self, doses: np.ndarray, findings: Findings, candidates: np.ndarray, beta: float
    ) -> int | None:
        """The candidate tile maximising ``mu + beta * sigma`` (None without candidates)."""
        if not candidates.any():
            return None
        mu, sigma = self.posterior(doses, findings)
        ucb = mu + beta * sigma + 1e-9 * self.rng.random(len(mu))
        ucb[~candidates] = -np.inf
        return int(np.argmax(ucb))

    def posterior(self, doses: np.ndarray, findings: Findings) -> tuple[np.ndarray, np.ndarray]:
        """GP mean and standard deviation of the normalised interest of every tile.

        Args:
            doses: `(n_tiles,)` mean dose per tile; tiles with dose > 0 are training data.
            findings: The latest findings.

        Returns:
            ``(mu, sigma)``, each `(n_tiles,)`.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, WhiteKernel

        info = self.info
        yy, xx = np.divmod(np.arange(info.n_tiles), info.n_tiles_x)
        centres = np.stack([yy, xx], axis=1).astype(np.float64)
        scanned = doses > 0
        if not scanned.any():
            return np.zeros(info.n_tiles), np.ones(info.n_tiles)
        interest = tile_interest(findings, info)[scanned]
        top = interest.max()
        target = interest / top if top > 0 else np.zeros_like(interest)
        if self.optimize:
            kernel = RBF(self.length_scale, (0.5, 8.0)) + WhiteKernel(self.noise, (1e-4, 1.0))
            gp = GaussianProcessRegressor(kernel, alpha=1e-8)
        else:
            kernel = RBF(self.length_scale, "fixed") + WhiteKernel(self.noise, "fixed")
            gp = GaussianProcessRegressor(kernel, alpha=1e-8, optimizer=None)
        with warnings.catch_warnings():
            # Hyperparameters at a bound are expected with few tiles; the fit is still usable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(centres[scanned], target)
        mu, sigma = gp.predict(centres, return_std=True)
        return np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)


class STEMAgentNavigator(GPUCBNavigator):
    """The STEMAgent planner: a finite-state machine over GP-UCB.

    States and their UCB exploration weight ``beta``:
    ``SURVEY`` (3.0) -> ``INVESTIGATE`` (2.0) -> ``CHARACTERIZE`` (0.5) -> ``CENSUS`` (1.0)
    -> ``TERMINATE`` (issues STOP). Transitions, checked before every action:

    * SURVEY -> INVESTIGATE once the coverage (fraction of tiles scanned) >= ``survey_coverage``
      (15 %);
    * INVESTIGATE -> CHARACTERIZE once >= ``min_features`` (2) features were found
      (defect columns + nanoparticles + rare-feature candidates, so the rule also
      works on nanoparticle worlds);
    * CHARACTERIZE -> CENSUS once the coverage >= ``census_coverage`` (50 %);
    * any state -> TERMINATE once the remaining budget <= ``terminate_remaining`` (20 %);
    * a state with no candidate tile left passes to the next one;
    * a scan is never allowed to eat into the reserve: when the state's dose level
      costs more than the budget left above ``terminate_remaining``, the highest
      lower level that fits is used, and when none fits the machine terminates
      (so an episode ends with STOP, not by running out of budget).

    Dose: each state scans at its own level (``state_levels``). The default is
    low for SURVEY (level 0: a cheap look at many tiles), middle for INVESTIGATE
    and CENSUS, high (the last level) for CHARACTERIZE. A tile is a candidate of
    a state while its dose is below the state's level, so CHARACTERIZE re-scans
    interesting tiles that were surveyed at a lower dose (the mosaic keeps the
    dose-weighted mean), and INVESTIGATE may re-scan surveyed tiles.

    The state under which each action was chosen is recorded in :attr:`history`,
    the transitions (step, from, to) in :attr:`transitions`.

    Args:
        betas: Overrides of the per-state ``beta`` (state name -> value).
        state_levels: Overrides of the per-state dose level (state name -> index;
            clipped to the environment's levels).
        survey_coverage: Coverage that ends SURVEY.
        min_features: Features that end INVESTIGATE.
        census_coverage: Coverage that ends CHARACTERIZE.
        terminate_remaining: Remaining budget fraction at which to STOP.
        length_scale, noise, optimize: GP options (see :class:`GPUCBNavigator`).
    """

    name = "stem-agent"
    STATES = ("SURVEY", "INVESTIGATE", "CHARACTERIZE", "CENSUS", "TERMINATE")
    BETAS = {"SURVEY": 3.0, "INVESTIGATE": 2.0, "CHARACTERIZE": 0.5, "CENSUS": 1.0}

    def __init__(
        self,
        *,
        betas: dict[str, float] | None = None,
        state_levels: dict[str, int] | None = None,
        survey_coverage: float = 0.15,
        min_features: int = 2,
        census_coverage: float = 0.5,
        terminate_remaining: float = 0.2,
        length_scale: float = 1.5,
        noise: float = 0.05,
        optimize: bool = False,
    ) -> None:
        super().__init__(beta=2.0, length_scale=length_scale, noise=noise, optimize=optimize)
        self.betas = dict(self.BETAS)
        self.state_levels: dict[str, int | None] = {
            "SURVEY": 0,
            "INVESTIGATE": None,
            "CHARACTERIZE": -1,
            "CENSUS": None,
        }
        for label, given, target in (
            ("betas", betas, self.betas),
            ("state_levels", state_levels, self.state_levels),
        ):
            for key, value in (given or {}).items():
                if key not in target:
                    raise ConfigError(
                        f"{label}: unknown state {key!r}; states: {', '.join(target)}"
                    )
                target[key] = value  # type: ignore[assignment]
        for label, value in (
            ("survey_coverage", survey_coverage),
            ("census_coverage", census_coverage),
            ("terminate_remaining", terminate_remaining),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"{label} must lie in [0, 1], got {value!r}")
        self.survey_coverage = float(survey_coverage)
        self.min_features = int(min_features)
        self.census_coverage = float(census_coverage)
        self.terminate_remaining = float(terminate_remaining)
        self._state = "SURVEY"
        self.transitions: list[tuple[int, str, str]] = []

    @property
    def state(self) -> str:
        """The current state of the machine."""
        return self._state

    def reset(self, info: WorldInfo, *, seed: int) -> None:
        """Start in SURVEY with an empty history."""
        super().reset(info, seed=seed)
        self._state = "SURVEY"
        self.transitions = []

    def _go(self, state: str) -> None:
        self.transitions.append((len(self.history), self._state, state))
        self._state = state

    def _state_level(self, state: str, info: dict) -> int:
        n_levels = int(info.get("n_dose_levels", 3))
        level = self.state_levels[state]
        if level is None:
            return n_levels // 2
        return int(np.clip(level if level >= 0 else n_levels + level, 0, n_levels - 1))

    def _affordable(self, level: int, info: dict, remaining: float) -> int | None:
        """The highest level <= ``level`` whose scan leaves the reserve untouched (None: none)."""
        levels = tuple(info.get("dose_levels", ()))
        budget = float(info.get("budget_electrons", 0.0))
        if not levels or budget <= 0:
            return level
        tile_area = (self.info.tile_px * self.info.pixel_size_A) ** 2
        spare = remaining - self.terminate_remaining
        for candidate in range(level, -1, -1):
            if levels[candidate] * tile_area / budget <= spare + 1e-12:
                return candidate
        return None

    def act(self, observation: dict[str, np.ndarray], findings: Findings, info: dict) -> np.ndarray:
        """Update the state, then GP-UCB with the state's beta and dose (STOP in TERMINATE)."""
        doses = self._tile_doses(observation)
        coverage = float(np.mean(doses > 0))
        remaining = 1.0 - float(info.get("dose_fraction", 0.0))
        features = findings.n_defects + len(findings.particle_centres_px) + len(findings.rare_px)
        levels = tuple(info.get("dose_levels", ()))
        while True:
            state = self._state
            if state == "TERMINATE":
                return self._stop()
            if remaining <= self.terminate_remaining:
                self._go("TERMINATE")
                continue
            if (
                (state == "SURVEY" and coverage >= self.survey_coverage)
                or (state == "INVESTIGATE" and features >= self.min_features)
                or (state == "CHARACTERIZE" and coverage >= self.census_coverage)
            ):
                self._go(self.STATES[self.STATES.index(state) + 1])
                continue
            level = self._affordable(self._state_level(state, info), info, remaining)
            if level is None:
                self._go("TERMINATE")
                continue
            if levels:
                candidates = doses < float(levels[level]) * (1.0 - 1e-9)
            else:
                candidates = doses <= 0
            tile = self._ucb_tile(doses, findings, candidates, float(self.betas[state]))
            if tile is None:
                self._go(self.STATES[self.STATES.index(state) + 1])
                continue
            return self._action(tile, level)


#: Navigator name -> class.
NAVIGATORS: dict[str, type[Navigator]] = {
    "random": RandomNavigator,
    "raster": RasterNavigator,
    "gp-ucb": GPUCBNavigator,
    "stem-agent": STEMAgentNavigator,
}


def make_navigator(name: str, **options: Any) -> Navigator:
    """Create the navigator registered as ``name`` with keyword ``options``.

    Raises:
        ConfigError: Unknown name (the message lists the known ones) or bad options.

    Example:
        >>> make_navigator("gp-ucb", beta=1.0).beta
        1.0
    """
    if not isinstance(name, str) or name not in NAVIGATORS:
        raise ConfigError(f"unknown navigator {name!r}; known navigators: {', '.join(NAVIGATORS)}")
    try:
        return NAVIGATORS[name](**options)
    except TypeError as error:
        raise ConfigError(f"bad options for navigator {name!r}: {error}") from None


@dataclass
class Episode:
    """One episode of an agent configuration (navigator + analyst) on one world.

    Attributes:
        env_id: The environment's id (its rewarded task is ``task``).
        navigator: Navigator name.
        analyst: Analyst name (the environment's reward analyst).
        seed: Seed of the world and of the navigator.
        scores: Score of the environment's task after each step `(K,)`.
        task_scores: Task -> scores `(K,)` of every task applicable to the world.
        dose_fractions: Budget fraction spent after each step `(K,)`.
        rewards: Environment rewards `(K,)` (sum = ``dec_auc``).
        actions: Actions `(K, 2)` ``(tile, dose_level)``, STOP included.
        states: The navigator's state when it chose each action (``"RUN"`` without states).
        dec_auc: DEC-AUC of the environment's task.
        dec_auc_by_task: Task -> DEC-AUC of every applicable task.
        wall_seconds: Wall-clock time of the episode.
        task: The environment's task.
        extra: Free-form extras attached by callers (empty by default).
    """

    env_id: str
    navigator: str
    analyst: str
    seed: int
    scores: np.ndarray
    task_scores: dict[str, np.ndarray]
    dose_fractions: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray
    states: list[str]
    dec_auc: float
    dec_auc_by_task: dict[str, float]
    wall_seconds: float
    task: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        """Number of steps ``K`` (STOP included)."""
        return len(self.dose_fractions)


def _analyst_name(analyst: str | Analyst | None) -> str:
    if analyst is None:
        return "none"
    return analyst if isinstance(analyst, str) else analyst.name


def run_episode(
    env_id_or_env: str | gymnasium.Env,
    *,
    navigator: str | Navigator,
    analyst: str | Analyst | None,
    seed: int,
    env_options: dict[str, Any] | None = None,
    max_steps: int | None = None,
) -> Episode:
    """Run one episode of ``navigator`` with ``analyst`` and record it.

    The analyst is the environment's reward analyst, so the return is this
    configuration's DEC-AUC.

    Args:
        env_id_or_env: A benchmark id (made with ``gymnasium.make(id, analyst=analyst,
            **env_options)`` and closed afterwards) or an environment whose analyst is
            ``analyst``.
        navigator: Navigator name or instance.
        analyst: Analyst name (``"classical"``, ``"cnn"``, ``"none"``) or instance.
        seed: Seed of the world (``reset(seed=seed)``) and of the navigator.
        env_options: Further :class:`STEMEnv` options (only with an id).
        max_steps: Stop recording after this many steps (None: until STOP or the
            budget is spent).

    Returns:
        The :class:`Episode`.

    Raises:
        ConfigError: Bad navigator, analyst or options, or an environment whose analyst
            differs from ``analyst``.
    """
    started = time.perf_counter()
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"max_steps must be >= 1 or None, got {max_steps}")
    nav = make_navigator(navigator) if isinstance(navigator, str) else navigator
    if not isinstance(nav, Navigator):
        raise ConfigError(f"navigator must be a name or a Navigator, got {type(nav).__name__}")
    owned = isinstance(env_id_or_env, str)
    if owned:
        options = dict(env_options or {})
        if "analyst" in options:
            raise ConfigError("pass the analyst as run_episode(analyst=...), not in env_options")
        register_envs()
        env = gymnasium.make(env_id_or_env, analyst=analyst, **options)
        name = str(env_id_or_env)
    else:
        env = env_id_or_env
        if env_options:
            raise ConfigError("env_options apply only when run_episode makes the env from an id")
        name = env.spec.id if env.spec is not None else ""
    base = env.unwrapped
    if not isinstance(base, STEMEnv):
        raise ConfigError(f"run_episode needs a STEMEnv, got {type(base).__name__}")
    if not owned and (
        (isinstance(analyst, Analyst) and analyst is not base.analyst)
        or (not isinstance(analyst, Analyst) and _analyst_name(analyst) != base.analyst.name)
    ):
        raise ConfigError(
            f"the environment's analyst is {base.analyst.name!r}, not "
            f"{_analyst_name(analyst)!r}: the reward analyst is the configuration's analyst"
        )
    try:
        observation, info = env.reset(seed=seed)
        nav.reset(base.world_info, seed=seed)
        tasks = tuple(base.world_info.tasks)
        scores: list[float] = []
        fractions: list[float] = []
        rewards: list[float] = []
        actions: list[np.ndarray] = []
        states: list[str] = []
        by_task: dict[str, list[float]] = {t: [] for t in tasks}
        done = False
        while not done and (max_steps is None or len(actions) < max_steps):
            action = nav.act(observation, base.findings, info)
            states.append(nav.state)
            observation, reward, terminated, truncated, info = env.step(action)
            done = bool(terminated or truncated)
            actions.append(np.asarray(action, dtype=np.int64))
            scores.append(float(info["score"]))
            fractions.append(float(info["dose_fraction"]))
            rewards.append(float(reward))
            for t in tasks:
                by_task[t].append(float(info["scores"][t]))
    finally:
        if owned:
            env.close()
    task_scores = {t: np.array(v, dtype=np.float64) for t, v in by_task.items()}
    fraction_array = np.array(fractions, dtype=np.float64)
    return Episode(
        env_id=name,
        navigator=nav.name,
        analyst=base.analyst.name,
        seed=int(seed),
        scores=np.array(scores, dtype=np.float64),
        task_scores=task_scores,
        dose_fractions=fraction_array,
        rewards=np.array(rewards, dtype=np.float64),
        actions=np.array(actions, dtype=np.int64).reshape(-1, 2),
        states=states,
        dec_auc=dec_auc(scores, fraction_array),
        dec_auc_by_task={t: dec_auc(s, fraction_array) for t, s in task_scores.items()},
        wall_seconds=time.perf_counter() - started,
        task=base.task,
    )
