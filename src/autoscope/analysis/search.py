"""Multi-objective search over a workflow's parameters.

Two optimisers stand behind one interface, both working on the unit cube of a
:class:`~autoscope.analysis.space.ParameterSpace` (integers and choices are
decoded by rounding, so repeated decoded vectors hit the cache):

* ``"nsga2"`` (default): pymoo's NSGA-II, population × generations (100 × 10,
  as published), seeded.
* ``"qnehvi"``: BoTorch's qLogNEHVI on a multi-output GP: a scrambled Sobol
  design of ``n_initial`` points, then one batch of ``batch_size`` per
  generation. Meant for expensive evaluations; compare the two by hypervolume
  against the number of evaluations (:attr:`SearchResult.hypervolume`).

Evaluations run in the calling process or on a local process pool
(``workers > 1``); each worker receives the workflow and the image once. A
candidate whose operators raise or whose rewards are NaN is *penalised* (a
loss of :data:`PENALTY` on every objective), logged on the
``autoscope.analysis`` logger and recorded with its message; the search goes
on. The returned :class:`SearchResult` holds every evaluation, the Pareto set,
hypervolume per generation and a knee-point default pick.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope.analysis.image import as_image
from autoscope.analysis.space import ParameterSpace
from autoscope.analysis.workflows import Objective, Workflow
from autoscope.errors import ConfigError

__all__ = [
    "OPTIMIZERS",
    "PENALTY",
    "Evaluation",
    "SearchResult",
    "WindowResult",
    "hypervolume",
    "knee_index",
    "minimize",
    "pareto_mask",
    "search",
    "search_windows",
]

logger = logging.getLogger("autoscope.analysis")

#: Loss given to every objective of a failed candidate (minimisation form).
PENALTY = 1e6
#: Names accepted by ``optimizer=``.
OPTIMIZERS = ("nsga2", "qnehvi")

LossFunction = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class Evaluation:
    """One evaluated candidate.

    Attributes:
        params: Operator keywords (decoded from the unit cube).
        rewards: Reward values by objective name (NaN when penalised).
        generation: Generation (or BO batch) in which it was first evaluated.
        penalised: Whether the candidate failed and got :data:`PENALTY`.
        message: Why it was penalised.
    """

    params: dict[str, Any]
    rewards: dict[str, float]
    generation: int
    penalised: bool = False
    message: str = ""


@dataclass
class SearchResult:
    """Every evaluation of a search, its Pareto set and convergence.

    Attributes:
        workflow: Task name of the workflow.
        objectives: The workflow's objectives.
        evaluations: Unique evaluated candidates, in order of evaluation.
        pareto: Indices into ``evaluations`` of the non-dominated, non-penalised
            candidates, sorted by the first objective's loss.
        knee: Index into ``evaluations`` of the default pick: the Pareto point
            closest to the utopia point after scaling each objective to [0, 1]
            over the front.
        hypervolume: Normalised hypervolume of the front after each generation
            (objectives scaled by the ideal and nadir of the final front,
            reference point 1.1 per objective; at most 1.1^m).
        evaluations_per_generation: Cumulative evaluations after each generation.
        optimizer: ``"nsga2"`` or ``"qnehvi"``.
        seed: The search's seed.
        context: The workflow's per-image context (lattice, expected count, ...).
    """

    workflow: str
    objectives: tuple[Objective, ...]
    evaluations: list[Evaluation]
    pareto: list[int]
    knee: int
    hypervolume: list[float]
    evaluations_per_generation: list[int]
    optimizer: str
    seed: int
    context: dict[str, Any] = field(default_factory=dict)

    def losses(self) -> np.ndarray:
        """Losses of every evaluation, shape ``(n, m)`` (maximised rewards negated)."""
        return np.array([_losses(e, self.objectives) for e in self.evaluations])

    def front(self) -> list[Evaluation]:
        """The Pareto set, sorted by the first objective."""
        return [self.evaluations[i] for i in self.pareto]

    def pick(self, index: int | None = None) -> dict[str, Any]:
        """Parameters of a Pareto point: the knee by default, else ``front()[index]``."""
        if index is None:
            return dict(self.evaluations[self.knee].params)
        if not -len(self.pareto) <= index < len(self.pareto):
            raise ConfigError(
                f"Pareto index {index} out of range; the front has {len(self.pareto)} points"
            )
        return dict(self.evaluations[self.pareto[index]].params)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (front, knee, convergence)."""
        return {
            "workflow": self.workflow,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "objectives": [vars(o) for o in self.objectives],
            "n_evaluations": len(self.evaluations),
            "n_penalised": sum(e.penalised for e in self.evaluations),
            "knee": self.pareto.index(self.knee),
            "front": [{"params": e.params, "rewards": e.rewards} for e in self.front()],
            "hypervolume": self.hypervolume,
            "evaluations_per_generation": self.evaluations_per_generation,
        }


def _losses(evaluation: Evaluation, objectives: Sequence[Objective]) -> list[float]:
    if evaluation.penalised:
        return [PENALTY] * len(objectives)
    return [o.to_loss(evaluation.rewards[o.name]) for o in objectives]


def pareto_mask(losses: np.ndarray) -> np.ndarray:
    """Which rows of ``losses`` `(n, m)` are non-dominated (minimisation)."""
    losses = np.asarray(losses, dtype=float)
    n = len(losses)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(losses[i] <= losses, axis=1) & np.any(losses[i] < losses, axis=1)
        keep &= ~dominated
        duplicate = np.all(losses == losses[i], axis=1)
        duplicate[: i + 1] = False
        keep &= ~duplicate
    return keep


def hypervolume(losses: np.ndarray, reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``losses`` `(n, m)` up to ``reference`` (pymoo's HV)."""
    from pymoo.indicators.hv import HV

    losses = np.asarray(losses, dtype=float).reshape(-1, len(reference))
    inside = np.all(losses < np.asarray(reference), axis=1)
    if not inside.any():
        return 0.0
    return float(HV(ref_point=np.asarray(reference, dtype=float))(losses[inside]))


def knee_index(losses: np.ndarray) -> int:
    """Row of a front ``losses`` `(n, m)` closest to the utopia point after [0, 1] scaling."""
    losses = np.asarray(losses, dtype=float)
    lo, hi = losses.min(axis=0), losses.max(axis=0)
    scaled = (losses - lo) / np.where(hi > lo, hi - lo, 1.0)
    return int(np.argmin(np.linalg.norm(scaled, axis=1)))


# --------------------------------------------------------------------------- optimisers


def minimize(
    fun: LossFunction,
    n_var: int,
    n_obj: int,
    *,
    optimizer: str = "nsga2",
    population: int = 100,
    generations: int = 10,
    seed: int = 0,
    n_initial: int | None = None,
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Minimise ``fun(U, generation) -> losses`` over the unit cube ``[0, 1]^n_var``.

    ``fun`` receives a batch `(n, n_var)` and returns losses `(n, n_obj)`; the
    caller keeps the history (see :func:`search`). ``progress(generation)`` is
    called after each generation.

    Raises:
        ConfigError: Unknown optimiser or a non-positive population/generations.
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {optimizer!r}; known: {list(OPTIMIZERS)}")
    if population < 2 or generations < 1:
        raise ConfigError(
            f"population must be >= 2 and generations >= 1, got {population} and {generations}"
        )
    if optimizer == "nsga2":
        _nsga2(fun, n_var, n_obj, population, generations, seed, progress)
    else:
        _qnehvi(fun, n_var, n_obj, generations, seed, n_initial, batch_size, progress)


def _nsga2(
    fun: LossFunction,
    n_var: int,
    n_obj: int,
    population: int,
    generations: int,
    seed: int,
    progress: Callable[[int], None] | None,
) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize as pymoo_minimize

    state = {"generation": 0}

    class _Problem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=n_var, n_obj=n_obj, xl=0.0, xu=1.0)

        def _evaluate(self, x: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:
            out["F"] = fun(np.asarray(x), state["generation"])

    class _Progress(Callback):
        def notify(self, algorithm: Any) -> None:
            if progress is not None:
                progress(state["generation"])
            state["generation"] += 1

    pymoo_minimize(
        _Problem(),
        NSGA2(pop_size=population),
        ("n_gen", generations),
        seed=seed,
        callback=_Progress(),
        verbose=False,
    )


def _qnehvi(
    fun: LossFunction,
    n_var: int,
    n_obj: int,
    generations: int,
    seed: int,
    n_initial: int | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> None:
    from autoscope.models import _gp_core  # first: imports GPyTorch without its jit warning

    quiet_numerics = _gp_core.quiet_numerics
    import torch
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    n_initial = n_initial or 2 * (n_var + 1)
    sobol = qmc.Sobol(n_var, scramble=True, seed=seed)
    x = sobol.random_base2(max(int(np.ceil(np.log2(n_initial))), 0))[:n_initial]
    losses = fun(x, 0)
    if progress is not None:
        progress(0)
    bounds = torch.stack([torch.zeros(n_var), torch.ones(n_var)]).double()
    for generation in range(1, generations + 1):
        ok = np.all(losses < PENALTY, axis=1)
        if ok.sum() < 2:
            batch = np.random.default_rng([seed, generation]).random((batch_size, n_var))
        else:
            torch.manual_seed(seed * 1000 + generation)
            train_x = torch.as_tensor(x[ok], dtype=torch.float64)
            train_y = -torch.as_tensor(losses[ok], dtype=torch.float64)  # BoTorch maximises
            with quiet_numerics(), warnings.catch_warnings():
                # A torch notice raised inside linear_operator's interpolation, not ours to fix.
                warnings.filterwarnings("ignore", message="Sparse invariant checks")
                # BoTorch retries a failed inner optimisation itself and says so; a batch
                # is still returned, so these notices are not the user's to act on.
                warnings.filterwarnings("ignore", message="Optimization failed")
                model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=n_obj))
                fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
                acquisition = qLogNoisyExpectedHypervolumeImprovement(
                    model=model,
                    ref_point=infer_reference_point(train_y).tolist(),
                    X_baseline=train_x,
                    prune_baseline=True,
                )
                candidates, _ = optimize_acqf(
                    acquisition,
                    bounds=bounds,
                    q=batch_size,
                    num_restarts=4,
                    raw_samples=128,
                    sequential=True,
                )
            batch = candidates.detach().numpy()
        x = np.vstack([x, batch])
        losses = np.vstack([losses, fun(batch, generation)])
        if progress is not None:
            progress(generation)


# --------------------------------------------------------------------------- evaluation

_WORKER: dict[str, Any] = {}


def _init_worker(workflow: Workflow, image: np.ndarray, context: dict[str, Any]) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER.update(workflow=workflow, image=image, context=context)


def _evaluate_in_worker(params: dict[str, Any]) -> tuple[dict[str, float] | None, str]:
    return _evaluate_one(_WORKER["workflow"], _WORKER["image"], params, _WORKER["context"])


def _evaluate_one(
    workflow: Workflow, image: np.ndarray, params: dict[str, Any], context: dict[str, Any]
) -> tuple[dict[str, float] | None, str]:
    """Rewards of one candidate, or ``(None, why)`` when it must be penalised."""
    try:
        rewards = workflow.evaluate(image, params, context)
    except Exception as err:  # noqa: BLE001 - any operator failure penalises the candidate only
        return None, f"{type(err).__name__}: {err}"
    missing = [o.name for o in workflow.objectives if o.name not in rewards]
    if missing:
        return None, f"rewards {missing} missing"
    bad = [k for k, v in rewards.items() if not math.isfinite(v)]
    if bad:
        return None, f"non-finite rewards {bad}"
    return rewards, ""


class _Evaluator:
    """Decodes unit-cube batches, evaluates new candidates, keeps the history."""

    def __init__(
        self,
        workflow: Workflow,
        image: np.ndarray,
        context: dict[str, Any],
        space: ParameterSpace,
        executor: Executor | None,
        workers: int = 1,
    ) -> None:
        self.workers = workers
        self.workflow = workflow
        self.image = image
        self.context = context
        self.space = space
        self.executor = executor
        self.evaluations: list[Evaluation] = []
        self.cache: dict[tuple, int] = {}

    def __call__(self, unit: np.ndarray, generation: int) -> np.ndarray:
        params = [self.space.from_unit(u) for u in np.atleast_2d(unit)]
        keys = [self.space.key(p) for p in params]
        new: dict[tuple, dict[str, Any]] = {}
        for key, p in zip(keys, params, strict=True):
            if key not in self.cache and key not in new:
                new[key] = p
        if self.executor is not None and len(new) > 1:
            chunk = max(1, len(new) // (4 * self.workers))
            outcomes = list(self.executor.map(_evaluate_in_worker, new.values(), chunksize=chunk))
        else:
            outcomes = [
                _evaluate_one(self.workflow, self.image, p, self.context) for p in new.values()
            ]
        for (key, p), (rewards, message) in zip(new.items(), outcomes, strict=True):
            penalised = rewards is None
            if penalised:
                logger.warning("candidate %s penalised: %s", p, message)
                rewards = {o.name: float("nan") for o in self.workflow.objectives}
            self.cache[key] = len(self.evaluations)
            self.evaluations.append(Evaluation(p, rewards, generation, penalised, message))
        return np.array(
            [_losses(self.evaluations[self.cache[k]], self.workflow.objectives) for k in keys]
        )


def search(
    workflow: Workflow,
    image: np.ndarray,
    *,
    optimizer: str = "nsga2",
    population: int = 100,
    generations: int = 10,
    seed: int = 0,
    workers: int = 1,
    n_initial: int | None = None,
    batch_size: int = 8,
    progress: bool = False,
) -> SearchResult:
    """Search a workflow's parameters for the Pareto front of its rewards.

    Args:
        workflow: What to optimise (see :data:`~autoscope.analysis.workflows.WORKFLOWS`).
        image: The image `(H, W)`.
        optimizer: ``"nsga2"`` or ``"qnehvi"``.
        population: NSGA-II population size.
        generations: NSGA-II generations, or qNEHVI batches after the initial design.
        seed: Seeds the optimiser; the same seed gives the same result.
        workers: Evaluate candidates on this many local processes (1 = in process).
        n_initial: qNEHVI's initial Sobol design (default ``2 (d + 1)``).
        batch_size: qNEHVI candidates per batch.
        progress: Show a progress bar over generations.

    Returns:
        The :class:`SearchResult`.

    Raises:
        DataError: The image is unusable (constant, NaN, too small).
        ConfigError: An option is out of range.

    Example:
        >>> from autoscope.analysis import make_workflow, search
        >>> result = search(make_workflow("atoms"), image, population=20, generations=3)
        >>> params = result.pick()   # the knee point
    """
    image = as_image(image)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    context = workflow.prepare(image)
    space = workflow.space
    executor = _pool(workflow, image, context, workers)
    evaluator = _Evaluator(workflow, image, context, space, executor, workers)
    counts: list[int] = []
    bar = _progress_bar(progress, generations + (optimizer == "qnehvi"), workflow.name)

    def after_generation(generation: int) -> None:
        counts.append(len(evaluator.evaluations))
        if bar is not None:
            bar.update(1)

    try:
        minimize(
            evaluator,
            len(space),
            len(workflow.objectives),
            optimizer=optimizer,
            population=population,
            generations=generations,
            seed=seed,
            n_initial=n_initial,
            batch_size=batch_size,
            progress=after_generation,
        )
    finally:
        if executor is not None:
            executor.shutdown()
        if bar is not None:
            bar.close()
    return _result(workflow, evaluator.evaluations, counts, optimizer, seed, context)


def _pool(
    workflow: Workflow, image: np.ndarray, context: dict[str, Any], workers: int
) -> Executor | None:
    if workers == 1:
        return None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(workflow, image, context),
    )


def _progress_bar(enabled: bool, total: int, name: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"search {name}", unit="gen")


def _result(
    workflow: Workflow,
    evaluations: list[Evaluation],
    counts: list[int],
    optimizer: str,
    seed: int,
    context: dict[str, Any],
) -> SearchResult:
    objectives = tuple(workflow.objectives)
    losses = np.array([_losses(e, objectives) for e in evaluations])
    valid = np.array([not e.penalised for e in evaluations])
    if not valid.any():
        raise ConfigError(
            f"every one of {len(evaluations)} candidates of {workflow.name!r} failed; first "
            f"error: {evaluations[0].message}"
        )
    valid_idx = np.flatnonzero(valid)
    front = valid_idx[pareto_mask(losses[valid])]
    front = front[np.argsort(losses[front, 0], kind="stable")]
    knee = int(front[knee_index(losses[front])])
    # Scaled by the final front's ideal and nadir: junk candidates (thousands of false
    # detections) would otherwise stretch the scale until every front looks converged.
    ideal = losses[front].min(axis=0)
    nadir = losses[front].max(axis=0)
    scale = np.where(nadir > ideal, nadir - ideal, 1.0)
    reference = np.full(len(objectives), 1.1)
    generation = np.array([e.generation for e in evaluations])
    history = []
    for g in range(len(counts)):
        seen = valid & (generation <= g)
        history.append(
            hypervolume((losses[seen] - ideal) / scale, reference) if seen.any() else 0.0
        )
    return SearchResult(
        workflow=workflow.name,
        objectives=objectives,
        evaluations=evaluations,
        pareto=[int(i) for i in front],
        knee=knee,
        hypervolume=history,
        evaluations_per_generation=counts,
        optimizer=optimizer,
        seed=seed,
        context=context,
    )


@dataclass
class WindowResult:
    """One window of a sliding-window search."""

    offset: tuple[int, int]
    shape: tuple[int, int]
    search: SearchResult
    detections: Any


def search_windows(
    workflow: Workflow,
    image: np.ndarray,
    *,
    window: int,
    stride: int | None = None,
    **options: Any,
) -> tuple[list[WindowResult], Any]:
    """Optimise each window of an image separately (large or inhomogeneous images).

    Windows of ``window × window`` pixels step by ``stride`` (default: the window,
    i.e. tiles); the last row/column of windows is aligned to the image edge so
    every pixel is covered. Each window gets its own search (``options`` as in
    :func:`search`) and its knee point's detections; these are shifted into the
    full image and merged (overlapping strides can detect an object twice).

    Returns:
        The per-window results and the merged detections.
    """
    image = as_image(image)
    stride = stride or window
    if window < 8 or stride < 1:
        raise ConfigError(f"window must be >= 8 and stride >= 1, got {window} and {stride}")
    h, w = image.shape
    if window > min(h, w):
        raise ConfigError(f"window {window} is larger than the image {image.shape}")
    starts_r = _starts(h, window, stride)
    starts_c = _starts(w, window, stride)
    results = []
    for r in starts_r:
        for c in starts_c:
            crop = image[r : r + window, c : c + window]
            found = search(workflow, crop, **options)
            detections = workflow.run(crop, found.pick(), found.context)
            shifted = workflow.shift(detections, (r, c), image.shape)
            results.append(WindowResult((r, c), crop.shape, found, shifted))
    return results, workflow.merge([r.detections for r in results])


def _starts(length: int, window: int, stride: int) -> list[int]:
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts
