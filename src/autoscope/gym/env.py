"""The dose-budget STEM environment (a Gymnasium ``Env``).

An episode explores one simulated world (:func:`~autoscope.gym.world.make_world`)
tile by tile under an electron-dose budget. Each step scans one tile at one of a
few dose levels; an analyst turns the mosaic scanned so far into findings, and
the findings are scored on the environment's task
(:func:`~autoscope.gym.tasks.task_score`). The reward of step ``k`` is

    r_k = (S_k - S_{k-1}) (1 - d_k),   S_0 = 0,

(:func:`~autoscope.gym.decauc.dec_reward`) with ``S_k`` the task score and ``d_k``
the fraction of the budget spent after the step, so the undiscounted return of
an episode equals its DEC-AUC (:func:`~autoscope.gym.decauc.dec_auc`) exactly.

Budget and dose
---------------
The budget is a number of electrons: ``budget`` times the electrons that would
scan the whole world once at the middle dose level (``dose_levels[len // 2]``),
i.e. ``budget * H * W * pixel_size_A² * middle`` (the default 0.5 scans half of
the world at 1e4 e/Å²). A step at level ``l`` spends ``dose_levels[l] * tile
area`` electrons. A step that asks for more than what remains is scanned with
what remains (a lower dose: the frame is noisier, never refused); the episode is
then *truncated*. The action ``tile = n_tiles`` (STOP) ends the episode
(*terminated*, reward 0, no scan). Scanning a tile again is allowed: its image
becomes the dose-weighted mean of its frames.

Errors
------
Every error the environment raises on purpose is a
:class:`~autoscope.errors.ConfigError` (a ``ValueError``): bad constructor options,
an unknown world, a task that does not apply to the material, and an action
outside the action space (:class:`InvalidActionError`, whose message names the
action and the space). ``step`` before ``reset`` or after the episode ended
raises :class:`EpisodeOverError` (also a ``ConfigError``) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from autoscope.errors import ConfigError
from autoscope.gym._checks import positive as _positive
from autoscope.gym.analysts import Analyst, Findings, make_analyst
from autoscope.gym.decauc import dec_auc, dec_reward
from autoscope.gym.registry import check_world
from autoscope.gym.tasks import task_score
from autoscope.gym.world import GroundTruth, World, WorldInfo, make_world

__all__ = [
    "DEFAULT_DOSE_LEVELS",
    "EpisodeOverError",
    "InvalidActionError",
    "NullAnalyst",
    "STEMEnv",
    "add_frame",
    "tile_doses",
]

#: Default dose levels (e/Å²): low (survey), middle (the budget's unit), high.
DEFAULT_DOSE_LEVELS: tuple[float, ...] = (2e3, 1e4, 5e4)


class InvalidActionError(ConfigError):
    """An action lies outside the environment's action space."""


class EpisodeOverError(ConfigError):
    """``step`` was called before ``reset`` or after the episode ended."""


class NullAnalyst(Analyst):
    """An analyst that finds nothing (``analyst="none"``), to time navigation alone.

    Every task score is then that of empty findings (0 for the benchmark's tasks).
    """

    name = "none"

    def update(
        self, mosaic: np.ndarray, dose_map: np.ndarray, bounds: tuple[int, int, int, int]
    ) -> Findings:
        """Return the (empty) findings without looking at the mosaic."""
        del mosaic, dose_map, bounds
        return self.findings

    def analyse_tile(
        self,
        image: np.ndarray,
        dose: np.ndarray,
        window: tuple[int, int, int, int],
        tile: tuple[int, int, int, int],
    ) -> Any:  # pragma: no cover - update() never calls it
        """Not used: :meth:`update` is overridden."""
        raise NotImplementedError


def tile_doses(dose_map: np.ndarray, tile_px: int) -> np.ndarray:
    """Mean dose per tile, row-major.

    Args:
        dose_map: `(H, W)` dose received (e/Å²); H and W multiples of ``tile_px``.
        tile_px: Tile edge in pixels.

    Returns:
        `(n_tiles,)` mean dose of each tile (0 for an unscanned tile).
    """
    h, w = dose_map.shape
    blocks = dose_map.reshape(h // tile_px, tile_px, w // tile_px, tile_px)
    return blocks.mean(axis=(1, 3), dtype=np.float64).ravel()


def add_frame(
    weighted: np.ndarray,
    dose_total: np.ndarray,
    image: np.ndarray,
    dose_map: np.ndarray,
    bounds: tuple[int, int, int, int],
    frame: np.ndarray,
    dose: float,
) -> None:
    """Add one frame to a dose-weighted mosaic, in place.

    Args:
        weighted: `(H, W)` float64 running sum of dose times frame.
        dose_total: `(H, W)` float64 running dose (e/Å²).
        image: `(H, W)` mosaic, set to ``weighted / dose_total`` (0 unscanned, clipped at 0)
            over ``bounds``.
        dose_map: `(H, W)` copy of ``dose_total`` in the observation's dtype, set over
            ``bounds``.
        bounds: ``(r0, r1, c0, c1)`` of the frame.
        frame: `(r1 - r0, c1 - c0)` acquired frame.
        dose: Dose of the frame (e/Å²).
    """
    r0, r1, c0, c1 = bounds
    weighted[r0:r1, c0:c1] += dose * np.asarray(frame, dtype=np.float64)
    dose_total[r0:r1, c0:c1] += dose
    tile_dose = dose_total[r0:r1, c0:c1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(tile_dose > 0, weighted[r0:r1, c0:c1] / tile_dose, 0.0)
    image[r0:r1, c0:c1] = np.maximum(mean, 0.0)
    dose_map[r0:r1, c0:c1] = tile_dose


def _resolve_analyst(analyst: str | Analyst | None) -> Analyst:
    if analyst is None or analyst == "none":
        return NullAnalyst()
    if isinstance(analyst, Analyst):
        return analyst
    if isinstance(analyst, str):
        return make_analyst(analyst)
    raise ConfigError(
        f"analyst must be an analyst name ('classical', 'cnn', 'none') or an Analyst, "
        f"got {type(analyst).__name__}"
    )


class STEMEnv(gymnasium.Env[dict[str, np.ndarray], np.ndarray]):
    """Explore a simulated STEM world tile by tile under a dose budget.

    Args:
        material: One of ``MATERIALS`` (``"SrTiO3"``, ``"BaTiO3"``, ``"SiGe"``, ``"GaN"``,
            ``"AuNP"``).
        difficulty: ``"Easy"``, ``"Medium"`` or ``"Hard"``.
        task: The rewarded task; must apply to the material (``TASKS_BY_MATERIAL``).
        analyst: Analyst name (``"classical"``, ``"cnn"``, ``"none"`` = finds nothing,
            score 0, for timing navigation alone) or an :class:`Analyst` instance
            (reset by the environment at every ``reset``).
        shape: `(H, W)` world size in pixels, multiples of ``tile_px``.
        tile_px: Tile edge in pixels.
        dose_levels: Dose of each level (e/Å²), positive, increasing.
        budget: Electron budget as a fraction of one scan of the whole world at the
            middle dose level (``dose_levels[len // 2]``); positive (may exceed 1).
        render_mode: ``None`` or ``"rgb_array"`` (the mosaic as `(H, W, 3)` uint8).

    Spaces:
        action: ``MultiDiscrete([n_tiles + 1, n_dose_levels])``: (tile, dose level);
            tile ``n_tiles`` is STOP. Tiles are numbered row-major.
        observation: ``Dict(image=Box(0, inf, (H, W), float32), dose=Box(0, inf, (H, W),
            float32))``: the dose-weighted mean of the frames so far (0 unscanned) and
            the dose map (e/Å²).

    Info (``reset`` and every ``step``): ``dose_step`` (e/Å² of this frame),
    ``electrons_step``, ``dose_fraction`` (``d_k``), ``score`` (``S_k`` on ``task``),
    ``score_details``, ``scores`` (task -> score of every task applicable to the world,
    so one trajectory scores every task), ``tile`` (-1 at reset, ``n_tiles`` for
    STOP), ``dose_level``, ``n_steps``, ``n_dose_levels``, ``dose_levels``,
    ``budget_electrons``.

    Raises:
        ConfigError: Unknown world (the message lists the valid materials,
            difficulties and tasks), a task that does not apply to the material or
            another bad option.

    Example:
        >>> env = STEMEnv("SrTiO3", "Easy", "defect-census", shape=(128, 128), analyst="none")
        >>> obs, info = env.reset(seed=0)
        >>> obs["image"].shape, env.action_space
        ((128, 128), MultiDiscrete([17  3]))
        >>> obs, reward, terminated, truncated, info = env.step(np.array([0, 1]))
        >>> info["dose_step"]
        10000.0
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        material: str,
        difficulty: str,
        task: str,
        *,
        analyst: str | Analyst | None = "classical",
        shape: Sequence[int] = (256, 256),
        tile_px: int = 32,
        dose_levels: Sequence[float] = DEFAULT_DOSE_LEVELS,
        budget: float = 0.5,
        render_mode: str | None = None,
    ) -> None:
        check_world(material, difficulty, task)
        self.material, self.difficulty, self.task = material, difficulty, task
        if isinstance(tile_px, bool) or not isinstance(tile_px, (int, np.integer)) or tile_px < 1:
            raise ConfigError(f"tile_px must be a positive int, got {tile_px!r}")
        try:
            h, w = (int(s) for s in shape)
        except (TypeError, ValueError):
            raise ConfigError(f"shape must be (H, W) ints, got {shape!r}") from None
        if h < tile_px or w < tile_px or h % tile_px or w % tile_px:
            raise ConfigError(
                f"shape {tuple(shape)!r} must be positive multiples of tile_px={tile_px} "
                f"(e.g. ({4 * tile_px}, {4 * tile_px}))"
            )
        levels = tuple(_positive("dose level", v) for v in dose_levels)
        if not levels or any(b <= a for a, b in zip(levels, levels[1:], strict=False)):
            raise ConfigError(f"dose_levels must be non-empty and increasing, got {dose_levels!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.shape = (h, w)
        self.tile_px = int(tile_px)
        self.dose_levels = levels
        self.budget = _positive("budget", budget)
        self.render_mode = render_mode
        self.analyst = _resolve_analyst(analyst)
        self.n_tiles_y, self.n_tiles_x = h // self.tile_px, w // self.tile_px
        self.n_tiles = self.n_tiles_y * self.n_tiles_x
        self.action_space = spaces.MultiDiscrete([self.n_tiles + 1, len(levels)])
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0.0, np.inf, (h, w), np.float32),
                "dose": spaces.Box(0.0, np.inf, (h, w), np.float32),
            }
        )
        self._world: World | None = None
        self._done = True
        self.world_seed: int | None = None

    # ------------------------------------------------------------------ accessors

    @property
    def world(self) -> World:
        """The current world (after :meth:`reset`)."""
        if self._world is None:
            raise EpisodeOverError("call reset() first: there is no world yet")
        return self._world

    @property
    def world_info(self) -> WorldInfo:
        """What an agent may know about the current world."""
        return self.world.info

    @property
    def ground_truth(self) -> GroundTruth:
        """The current world's ground truth (for scoring and analysis only)."""
        return self.world.truth

    @property
    def findings(self) -> Findings:
        """The reward analyst's latest findings."""
        self.world  # noqa: B018 - raises before reset
        return self.analyst.findings

    @property
    def budget_electrons(self) -> float:
        """The episode's electron budget."""
        info = self.world_info
        middle = self.dose_levels[len(self.dose_levels) // 2]
        return self.budget * info.shape[0] * info.shape[1] * info.pixel_size_A**2 * middle

    @property
    def trajectory(self) -> dict[str, np.ndarray]:
        """The episode so far.

        Returns:
            ``scores``, ``dose_fractions``, ``rewards`` `(K,)`, ``actions`` `(K, 2)` (STOP
            included) and ``dec_auc`` (= the sum of the rewards).
        """
        scores = np.array(self._scores, dtype=np.float64)
        fractions = np.array(self._fractions, dtype=np.float64)
        return {
            "scores": scores,
            "dose_fractions": fractions,
            "rewards": np.array(self._rewards, dtype=np.float64),
            "actions": np.array(self._actions, dtype=np.int64).reshape(-1, 2),
            "dec_auc": np.float64(dec_auc(scores, fractions)),
        }

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Build a new world and forget the previous episode.

        Args:
            seed: World seed (``make_world(..., seed=seed)``) and seed of the scan noise.
                ``None`` draws the world seed from the environment's generator (a new
                world per episode, reproducible from the first seeded reset).
            options: Unused (accepted for the Gymnasium API).

        Returns:
            ``(observation, info)``; the observation is all zeros.
        """
        super().reset(seed=seed)
        del options
        world_seed = int(seed) if seed is not None else int(self.np_random.integers(2**31 - 1))
        self.world_seed = world_seed
        self._world = make_world(
            self.material, self.difficulty, seed=world_seed, shape=self.shape, tile_px=self.tile_px
        )
        info = self._world.info
        if self.task not in info.tasks:  # pragma: no cover - guarded by check_world
            raise ConfigError(f"task {self.task!r} does not apply to this world ({info.tasks})")
        self._budget_e = self.budget_electrons
        self._tile_area_A2 = (self.tile_px * info.pixel_size_A) ** 2
        self._spent_e = 0.0
        self._weighted = np.zeros(self.shape, dtype=np.float64)
        self._dose64 = np.zeros(self.shape, dtype=np.float64)
        self._image = np.zeros(self.shape, dtype=np.float32)
        self._dose = np.zeros(self.shape, dtype=np.float32)
        self.analyst.reset(info)
        self._null_scores: dict[str, Any] | None = None
        self._score = 0.0
        self._scores: list[float] = []
        self._fractions: list[float] = []
        self._rewards: list[float] = []
        self._actions: list[tuple[int, int]] = []
        self._done = False
        zero_scores = {t: 0.0 for t in info.tasks}
        return self._observation(), self._info(
            tile=-1, level=-1, dose=0.0, electrons=0.0, scores=zero_scores, details={}
        )

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Scan one tile at one dose level, or STOP.

        Args:
            action: ``(tile, dose_level)`` in the action space; ``tile = n_tiles`` stops.

        Returns:
            ``(observation, reward, terminated, truncated, info)``.

        Raises:
            InvalidActionError: The action is not in the action space.
            EpisodeOverError: The episode has ended (or never started); call ``reset``.
        """
        if self._done:
            raise EpisodeOverError(
                "the episode has ended (or reset() was never called); call reset() before "
                "step() - nothing was scanned"
            )
        tile, level = self._check_action(action)
        if tile == self.n_tiles:
            self._done = True
            self._record(tile, level, self._score, 0.0)
            info = self._info(
                tile=tile,
                level=level,
                dose=0.0,
                electrons=0.0,
                scores=dict(self._last_scores),
                details=dict(self._last_details),
            )
            return self._observation(), 0.0, True, False, info
        world = self.world
        bounds = world.info.tile_bounds(tile)
        electrons = self.dose_levels[level] * self._tile_area_A2
        remaining = self._budget_e - self._spent_e
        if electrons >= remaining * (1.0 - 1e-12):
            electrons = remaining
            truncated = True
        else:
            truncated = False
        dose = electrons / self._tile_area_A2
        frame = world.acquire(bounds, dose, self.np_random)
        add_frame(self._weighted, self._dose64, self._image, self._dose, bounds, frame, dose)
        self._spent_e = self._budget_e if truncated else self._spent_e + electrons
        findings = self.analyst.update(self._image, self._dose, bounds)
        scores, details = self._score_all(findings)
        score = scores[self.task]
        fraction = self.dose_fraction
        reward = dec_reward(self._score, score, fraction)
        self._score = score
        self._record(tile, level, score, reward)
        if truncated:
            self._done = True
        info = self._info(
            tile=tile, level=level, dose=dose, electrons=electrons, scores=scores, details=details
        )
        return self._observation(), float(reward), False, truncated, info

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """The mosaic as an `(H, W, 3)` uint8 image (unscanned pixels dark blue).

        Returns:
            The RGB image with ``render_mode="rgb_array"``; None otherwise.
        """
        if self.render_mode != "rgb_array":
            return None
        if self._world is None:
            return np.zeros((*self.shape, 3), dtype=np.uint8)
        scanned = self._dose > 0
        top = float(np.percentile(self._image[scanned], 99.5)) if scanned.any() else 1.0
        grey = np.clip(self._image / max(top, 1e-12), 0.0, 1.0)
        grey = (255 * grey).astype(np.uint8)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        rgb[~scanned] = (16, 16, 48)
        return rgb

    # ------------------------------------------------------------------ internals

    @property
    def dose_fraction(self) -> float:
        """Fraction of the budget spent so far, in [0, 1]."""
        if self._world is None:
            return 0.0
        return min(self._spent_e / self._budget_e, 1.0)

    def _check_action(self, action: Any) -> tuple[int, int]:
        values: np.ndarray | None = None
        try:
            array = np.asarray(action)
            if array.shape == (2,) and array.dtype != bool:
                if np.issubdtype(array.dtype, np.integer):
                    values = array.astype(np.int64)
                elif np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array)):
                    values = array.astype(np.int64)
        except (TypeError, ValueError, OverflowError):
            values = None
        if values is None or values not in self.action_space:
            raise InvalidActionError(
                f"action {action!r} is not in the action space {self.action_space}: expected "
                f"(tile, dose_level) ints with 0 <= tile <= {self.n_tiles} (= STOP) and "
                f"0 <= dose_level < {len(self.dose_levels)}"
            )
        return int(values[0]), int(values[1])

    def _score_all(self, findings: Findings) -> tuple[dict[str, float], dict[str, float]]:
        """Score ``findings`` on every task of the world (cached for the null analyst)."""
        if isinstance(self.analyst, NullAnalyst) and self._null_scores is not None:
            scores, details = self._null_scores
            return dict(scores), dict(details)
        info, truth = self.world.info, self.world.truth
        scores: dict[str, float] = {}
        details: dict[str, float] = {}
        for task in info.tasks:
            result = task_score(task, findings, truth, info)
            scores[task] = float(result.value)
            if task == self.task:
                details = {k: float(v) for k, v in result.details.items()}
        if isinstance(self.analyst, NullAnalyst):
            self._null_scores = (scores, details)
        self._last_scores, self._last_details = scores, details
        return dict(scores), dict(details)

    def _record(self, tile: int, level: int, score: float, reward: float) -> None:
        self._scores.append(score)
        self._fractions.append(self.dose_fraction)
        self._rewards.append(reward)
        self._actions.append((tile, level))

    def _observation(self) -> dict[str, np.ndarray]:
        return {"image": self._image.copy(), "dose": self._dose.copy()}

    def _info(
        self,
        *,
        tile: int,
        level: int,
        dose: float,
        electrons: float,
        scores: dict[str, float],
        details: dict[str, float],
    ) -> dict[str, Any]:
        if tile == -1:
            self._last_scores, self._last_details = dict(scores), dict(details)
        return {
            "dose_step": float(dose),
            "electrons_step": float(electrons),
            "dose_fraction": float(self.dose_fraction),
            "score": float(self._score),
            "score_details": dict(details),
            "scores": dict(scores),
            "tile": int(tile),
            "dose_level": int(level),
            "n_steps": len(self._scores),
            "n_dose_levels": len(self.dose_levels),
            "dose_levels": tuple(self.dose_levels),
            "budget_electrons": float(self._budget_e),
        }
