"""NSGA-II against qLogNEHVI: hypervolume reached per number of evaluations.

The two optimisers behind ``search(optimizer="nsga2" | "qnehvi")`` (and
``minimize``) run on three problems, several seeds each, and the hypervolume of
the first ``k`` unique evaluations is reported at fixed budgets ``k``
(default 20, 40, 80, 120, 160):

* ``atoms``: ``AtomsWorkflow(atoms_per_cell=2)`` (5 parameters, 2 rewards) on
  the central 256 × 256 crop ``[72:328, 62:318]`` of the real SrTiO3 ADF image
  (``stem_adf_abf_srtio3/test_ADF_cropped.hdf5``, 400 × 380).
* ``particles``: ``ParticlesWorkflow(diameter=43, pixel_size=8.55)`` (4
  parameters, 3 rewards: size distance, circularity, count) on the SiO2 HAADF
  (``nanoparticles_sio2_edx_si/SiO2_HAADF_Image.hspy``, 128²).
* ``zdt1``: the analytic ZDT1 problem with 6 variables through ``minimize()``
  (2 objectives; the true front is ``f2 = 1 - sqrt(f1)``, f1 in [0, 1]).

Settings: NSGA-II with population 20 (so a generation ends at every multiple
of 20 evaluations) and enough generations for the largest budget; qLogNEHVI
with ``n_initial = 2 (d + 1)`` Sobol points and batches of 4, run up to 160
evaluations on atoms and ZDT1 and up to 120 on particles (its 3-objective
acquisition is the slowest; this keeps a BO run near 3-4 min on one idle
core). A budget a run did not reach is shown as ``-``: NSGA-II's 8 generations
on particles give only ~155 unique evaluations, because with two integer
parameters some offspring decode to candidates already evaluated (cache hits
cost nothing and are not counted).

Hypervolume: for the workflows, every run of both optimisers and all seeds is
scaled by ONE normalisation, reference point 1.1 per objective, losses from
``SearchResult.losses()`` without the penalised rows (those count as
evaluations but never add volume). Two such normalisations are printed:

* ``all`` (as asked): the ideal and nadir of the union of all non-penalised
  losses. On these workflows the nadir is set by absurd candidates (thousands
  of noise blobs, zero particles), so the fronts sit in a corner of the box
  and the values differ only in the third or fourth decimal.
* ``front``: the ideal and nadir of the union's Pareto front (the non-dominated
  set of all runs together), the usual choice; a point beyond 1.1 × that
  nadir adds nothing. This one separates the optimisers.

The hypervolume ``SearchResult.hypervolume`` reports is normalised per run and
cannot be compared between runs; these can. For ZDT1 the known ideal (0, 0)
and nadir (1, 1) of the true front are used in both tables (the union's nadir
would be set by the worst random point, f2 up to ~10); its best possible value
is 1.1² - 1/3 = 0.877. "union front" is the hypervolume of the non-dominated
set of all runs together (the best any run could show).

Evaluations are counted as unique candidates (the search's cache answers
repeated decoded parameter sets for free), in the order evaluated. Wall time:
the whole run (``search``/``minimize`` call), and the time at which the k-th
evaluation finished. One thread per process; ``--jobs 2`` runs two runs side
by side (wall times then include that contention; both optimisers see it).

Data: ``$AUTOSCOPE_DATA`` or ``../shared/data`` next to the repository root.

Run: ``python benchmarks/ga_vs_bo.py`` (5 seeds, about 30 min with
``--jobs 2``), or ``python benchmarks/ga_vs_bo.py --quick`` (1 seed, budgets
20 and 24, about 30 s). Options: ``--seeds``, ``--budgets``, ``--problems``,
``--jobs``, ``--bo-max`` (cap the BO evaluations of every problem), ``--save
FILE`` (pickle the raw losses and timings).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from autoscope.campaign.config import default_data_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SRTIO3 = Path("stem_adf_abf_srtio3") / "test_ADF_cropped.hdf5"
SIO2 = Path("nanoparticles_sio2_edx_si") / "SiO2_HAADF_Image.hspy"
SRTIO3_CROP = (slice(72, 328), slice(62, 318))  # central 256 x 256 of 400 x 380
PROBLEMS = ("atoms", "particles", "zdt1")
OPTIMIZERS = ("nsga2", "qnehvi")
BUDGETS = (20, 40, 80, 120, 160)
BO_MAX = {"atoms": 160, "particles": 120, "zdt1": 160}
POPULATION, BATCH = 20, 4
ZDT1_VARS = 6
ZDT1_BEST_HV = 1.1**2 - 1.0 / 3.0
REFERENCE = 1.1



def require(relative: Path) -> Path:
    """The data file's path, or exit with a message saying where it was looked for."""
    path = default_data_dir() / relative
    if not path.is_file():
        raise SystemExit(
            f"ga_vs_bo: data file not found: {path}\n"
            f"Set AUTOSCOPE_DATA to the folder holding {relative.parent}/ "
            f"(default: {REPO.parent / 'shared' / 'data'})."
        )
    return path


def zdt1(x: np.ndarray) -> np.ndarray:
    """ZDT1 objectives of a batch `(n, d)` in [0, 1]^d, shape `(n, 2)`."""
    x = np.atleast_2d(x)
    f1 = x[:, 0]
    g = 1.0 + 9.0 * x[:, 1:].mean(axis=1)
    return np.column_stack([f1, g * (1.0 - np.sqrt(f1 / g))])


# ---------------------------------------------------------------------------- one run
def _timed_workflow(inner: Any, stamps: list[float]) -> Any:
    """The workflow with a timestamp recorded after every evaluation (raised or not)."""
    from autoscope.analysis.workflows import Workflow

    class Timed(Workflow):
        name = inner.name
        objectives = inner.objectives

        @property
        def space(self) -> Any:
            return inner.space

        def prepare(self, image: np.ndarray) -> dict[str, Any]:
            return inner.prepare(image)

        def run(self, image: np.ndarray, params: dict, context: dict) -> Any:
            return inner.run(image, params, context)

        def rewards(self, result: Any, context: dict) -> dict[str, float]:
            return inner.rewards(result, context)

        def evaluate(self, image: np.ndarray, params: dict, context: dict) -> dict[str, float]:
            try:
                return inner.evaluate(image, params, context)
            finally:
                stamps.append(time.perf_counter())

    return Timed()


def _problem(name: str) -> tuple[Any, np.ndarray]:
    from autoscope.analysis import AtomsWorkflow, ParticlesWorkflow
    from autoscope.analysis.pipeline import load_image

    if name == "atoms":
        image = load_image(require(SRTIO3)).image[SRTIO3_CROP]
        return AtomsWorkflow(atoms_per_cell=2), np.ascontiguousarray(image)
    if name == "particles":
        return ParticlesWorkflow(diameter=43.0, pixel_size=8.55), load_image(require(SIO2)).image
    raise ValueError(name)


def n_variables(problem: str) -> int:
    return ZDT1_VARS if problem == "zdt1" else len(_problem(problem)[0].space)


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """One optimiser on one problem with one seed: losses in evaluation order and timings."""
    import torch

    torch.set_num_threads(1)
    logging.getLogger("autoscope.analysis").setLevel(logging.ERROR)  # penalties are counted
    problem, optimizer, seed, max_evals = (
        spec["problem"],
        spec["optimizer"],
        spec["seed"],
        spec["max_evals"],
    )
    d = spec["n_var"]
    n_initial = 2 * (d + 1)
    if optimizer == "nsga2":
        options = {"population": POPULATION, "generations": math.ceil(max_evals / POPULATION)}
    else:
        batches = max(math.ceil((max_evals - n_initial) / BATCH), 1)
        options = {"generations": batches, "n_initial": n_initial, "batch_size": BATCH}
    stamps: list[float] = []
    if problem == "zdt1":
        from autoscope.analysis.search import minimize

        history: list[np.ndarray] = []

        def fun(unit: np.ndarray, generation: int) -> np.ndarray:
            out = zdt1(unit)
            history.append(out)
            stamps.extend([time.perf_counter()] * len(out))
            return out

        t0 = time.perf_counter()
        minimize(fun, d, 2, optimizer=optimizer, seed=seed, **options)
        wall = time.perf_counter() - t0
        losses = np.vstack(history)
        valid = np.ones(len(losses), dtype=bool)
    else:
        from autoscope.analysis import search

        workflow, image = _problem(problem)
        t0 = time.perf_counter()
        timed = _timed_workflow(workflow, stamps)
        result = search(timed, image, optimizer=optimizer, seed=seed, **options)
        wall = time.perf_counter() - t0
        losses = result.losses()
        valid = np.array([not e.penalised for e in result.evaluations])
    return {
        **spec,
        "losses": losses,
        "valid": valid,
        "elapsed": np.asarray(stamps) - t0,
        "wall": wall,
    }


# ---------------------------------------------------------------------------- analysis
def normalisation(problem: str, runs: list[dict], mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Ideal and scale shared by every run of a problem.

    ``mode="all"``: ideal/nadir of every valid evaluation of every run;
    ``mode="front"``: ideal/nadir of the union's Pareto front. ZDT1 always uses
    its true front, ideal (0, 0) and nadir (1, 1).
    """
    from autoscope.analysis.search import pareto_mask

    if problem == "zdt1":
        return np.zeros(2), np.ones(2)
    pooled = np.vstack([r["losses"][r["valid"]] for r in runs])
    if mode == "front":
        pooled = pooled[pareto_mask(pooled)]
    ideal, nadir = pooled.min(axis=0), pooled.max(axis=0)
    return ideal, np.where(nadir > ideal, nadir - ideal, 1.0)


def hv_at(run: dict, budget: int, ideal: np.ndarray, scale: np.ndarray) -> float:
    """Hypervolume of the run's first ``budget`` evaluations (NaN if it made fewer)."""
    from autoscope.analysis.search import hypervolume

    if len(run["losses"]) < budget:
        return float("nan")
    losses, valid = run["losses"][:budget], run["valid"][:budget]
    if not valid.any():
        return 0.0
    reference = np.full(losses.shape[1], REFERENCE)
    return hypervolume((losses[valid] - ideal) / scale, reference)


def union_front_hv(runs: list[dict], ideal: np.ndarray, scale: np.ndarray) -> float:
    from autoscope.analysis.search import hypervolume, pareto_mask

    pooled = np.vstack([r["losses"][r["valid"]] for r in runs])
    front = (pooled[pareto_mask(pooled)] - ideal) / scale
    return hypervolume(front, np.full(front.shape[1], REFERENCE))


def summarise(values: list[float], digits: int = 3) -> str:
    """``median [q25, q75]`` of the finite values, ``-`` if none."""
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if not len(finite):
        return "-"
    q25, q50, q75 = np.percentile(finite, [25, 50, 75])
    short = "" if len(finite) == len(values) else f" (n={len(finite)})"
    return f"{q50:.{digits}f} [{q25:.{digits}f}, {q75:.{digits}f}]{short}"


def time_to(run: dict, budget: int) -> float:
    return float(run["elapsed"][budget - 1]) if len(run["elapsed"]) >= budget else float("nan")


DESCRIBE = {
    "atoms": "atoms, SrTiO3 ADF crop 256², d=5, 2 obj",
    "particles": "particles, SiO2 HAADF 128², d=4, 3 obj",
    "zdt1": f"ZDT1, d={ZDT1_VARS}, 2 obj",
}
MODES = {
    "all": (
        "common normalisation as asked: ideal/nadir of the union of both optimisers' valid "
        "evaluations over all seeds",
        4,
    ),
    "front": (
        "common normalisation by the union's Pareto front: ideal/nadir of the non-dominated "
        "set of all runs together (points beyond 1.1 x that nadir add nothing)",
        3,
    ),
}


def hv_table(results: list[dict], budgets: list[int], seeds: list[int], mode: str) -> None:
    text, digits = MODES[mode]
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in results)]
    print(
        f"\n### Hypervolume after k evaluations ({mode}): median [IQR] over {len(seeds)} "
        f"seed(s)\n\nWorkflows: {text}; reference {REFERENCE} per objective. ZDT1: true-front "
        f"normalisation (ideal 0, nadir 1), best possible {ZDT1_BEST_HV:.3f}.\n"
    )
    head = " | ".join(f"HV@{k}" for k in budgets)
    print(f"| problem | optimizer | {head} | union front |")
    print("|---|---|" + "---:|" * (len(budgets) + 1))
    for problem in problems:
        runs = [r for r in results if r["problem"] == problem]
        ideal, scale = normalisation(problem, runs, mode)
        best = union_front_hv(runs, ideal, scale)
        for optimizer in OPTIMIZERS:
            mine = [r for r in runs if r["optimizer"] == optimizer]
            if mine:
                cells = [
                    summarise([hv_at(r, k, ideal, scale) for r in mine], digits) for k in budgets
                ]
                print(
                    f"| {DESCRIBE[problem]} | {optimizer} | {' | '.join(cells)} | "
                    f"{best:.{digits}f} |"
                )


def report(results: list[dict], budgets: list[int], seeds: list[int]) -> None:
    for mode in MODES:
        hv_table(results, budgets, seeds, mode)
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in results)]
    print(
        "\n### Wall time: per run (median [IQR], s) and until the k-th evaluation finished "
        "(median, s)\n"
    )
    head = " | ".join(f"s@{k}" for k in budgets)
    print(f"| problem | optimizer | wall s / run | evals / run | penalised | {head} |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(budgets))
    for problem in problems:
        for optimizer in OPTIMIZERS:
            mine = [r for r in results if r["problem"] == problem and r["optimizer"] == optimizer]
            if not mine:
                continue
            cells = []
            for k in budgets:
                finite = [v for v in (time_to(r, k) for r in mine) if np.isfinite(v)]
                cells.append(f"{np.median(finite):.1f}" if finite else "-")
            walls = summarise([r["wall"] for r in mine], 1)
            evals = int(np.median([len(r["losses"]) for r in mine]))
            penalised = int(sum((~r["valid"]).sum() for r in mine))
            print(
                f"| {DESCRIBE[problem]} | {optimizer} | {walls} | {evals} | {penalised} | "
                f"{' | '.join(cells)} |"
            )


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, budgets 20 and 24")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="runs side by side")
    parser.add_argument("--bo-max", type=int, default=None, help="cap on BO evaluations")
    parser.add_argument("--save", type=Path, default=None, help="pickle the raw results here")
    args = parser.parse_args()
    seeds = list(range(args.seeds or (1 if args.quick else 5)))
    budgets = sorted(args.budgets or ([20, 24] if args.quick else list(BUDGETS)))
    for problem in args.problems:
        if problem != "zdt1":
            require(SRTIO3 if problem == "atoms" else SIO2)
    n_var = {p: n_variables(p) for p in args.problems}
    specs = []
    for problem in args.problems:
        bo_max = min(BO_MAX[problem], budgets[-1], args.bo_max or budgets[-1])
        for optimizer in OPTIMIZERS:
            for seed in seeds:
                specs.append(
                    {
                        "problem": problem,
                        "optimizer": optimizer,
                        "seed": seed,
                        "n_var": n_var[problem],
                        "max_evals": budgets[-1] if optimizer == "nsga2" else bo_max,
                    }
                )
    # Longest first (BO on particles), so two jobs finish close together.
    specs.sort(key=lambda s: (s["optimizer"] != "qnehvi", s["problem"] != "particles"))
    print(
        f"NSGA-II (population {POPULATION}) vs qLogNEHVI (n_initial 2(d+1), batch {BATCH}); "
        f"problems {args.problems}, seeds {seeds}, budgets {budgets}, {len(specs)} runs, "
        f"{args.jobs} at a time; data {default_data_dir()}",
        flush=True,
    )
    t_start = time.perf_counter()
    results = []
    with ProcessPoolExecutor(
        max_workers=args.jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    ) as pool:
        futures = [pool.submit(run_job, spec) for spec in specs]
        for future in as_completed(futures):
            r = future.result()
            print(
                f"  {r['problem']:>9} {r['optimizer']:>6} seed {r['seed']}: {len(r['losses'])} "
                f"evaluations ({int((~r['valid']).sum())} penalised) in {r['wall']:.1f} s",
                flush=True,
            )
            results.append(r)
    if args.save is not None:
        with open(args.save, "wb") as handle:
            pickle.dump({"budgets": budgets, "seeds": seeds, "results": results}, handle)
        print(f"raw results written to {args.save}")
    report(results, budgets, seeds)
    print(f"\nTotal wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
