"""Speed of the reward-driven image analysis: one reward evaluation and one full search.

(a) One reward evaluation, ``workflow.evaluate(image, params, context)``, per
workflow on a 512² and a 1024² real image, plus ``workflow.prepare`` (done once
per image by the search):

* ``atoms``: ``AtomsWorkflow(atoms_per_cell=2)`` on the Se-implanted MoS2 HAADF
  (``haadf_mos2_se_implanted/example_Se_implanted_MoS2.dm3``, 1024²; 512² is
  the ``[:512, :512]`` crop).
* ``walls``: ``WallsWorkflow`` on the PbTiO3 PFM phase
  (``pfm_domains_scifidatasets/PTO_110_Virgin0001.gwy``, channel
  ``PhaseRetrace``, 256²) upsampled with ``skimage.transform.resize(order=1)``;
  the pixel size is scaled by 256 / size.
* ``particles``: ``ParticlesWorkflow(diameter=43, pixel_size=...)`` on the
  SiO2 HAADF (``nanoparticles_sio2_edx_si/SiO2_HAADF_Image.hspy``, 128² at
  8.55 nm/px) upsampled the same way; pixel size 8.55 × 128 / size nm, so the
  43 nm diameter prior stays the same physical size.

Parameter sets: the unit-cube centre decoded by ``workflow.space.from_unit``
(median of ``--repeats`` timed calls after one untimed warm-up), and ``--random``
random unit-cube points (seeded; each timed ``--repeats`` times, the per-set
median kept; the table gives the median and the maximum over the sets, and how
many raised, which the search would penalise). ``1000 x rand`` is the serial
cost of the default search's 100 × 10 evaluations at the random-set median.

(b) The full default search, ``search(AtomsWorkflow(atoms_per_cell=2), crop)``
(NSGA-II, population 100 × 10 generations, seed 0) on the 512² MoS2 crop with
``workers=1`` and ``workers=2``: wall time (``time.perf_counter`` around the
call, process-pool start included), candidates requested by the optimiser,
unique evaluations (the rest were cache hits), the first and the median
generation, the speed-up of two workers and the ratio to the issue's target
(<= 120 s).

One thread everywhere (``OMP/OPENBLAS/MKL_NUM_THREADS=1``); the machine is
assumed to be shared, so repeat a run before trusting a single figure.

Data: ``$AUTOSCOPE_DATA`` or ``../shared/data`` next to the repository root.

Run: ``python benchmarks/bench_analysis.py`` (everything, several minutes), or
``python benchmarks/bench_analysis.py --quick`` (2 repeats, 5 random sets, no
search; about 30 s). Options: ``--repeats``, ``--random``, ``--sizes``,
``--workflows``, ``--workers``, ``--no-search``, ``--profile`` (cProfile of one
centre evaluation per case, top functions by own time), ``--seed``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from autoscope.campaign.config import default_data_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MOS2 = Path("haadf_mos2_se_implanted") / "example_Se_implanted_MoS2.dm3"
PFM = Path("pfm_domains_scifidatasets") / "PTO_110_Virgin0001.gwy"
SIO2 = Path("nanoparticles_sio2_edx_si") / "SiO2_HAADF_Image.hspy"
SIO2_PIXEL_NM, SIO2_DIAMETER_NM = 8.55, 43.0
WORKFLOW_NAMES = ("atoms", "walls", "particles")
SIZES = (512, 1024)
SEARCH_SIZE = 512
POPULATION, GENERATIONS = 100, 10
TARGET_S = 120.0



def require(relative: Path) -> Path:
    """The data file's path, or exit with a message saying where it was looked for."""
    path = default_data_dir() / relative
    if not path.is_file():
        raise SystemExit(
            f"bench_analysis: data file not found: {path}\n"
            f"Set AUTOSCOPE_DATA to the folder holding {relative.parent}/ "
            f"(default: {REPO.parent / 'shared' / 'data'})."
        )
    return path


def upsample(image: np.ndarray, size: int) -> np.ndarray:
    from skimage.transform import resize

    return resize(image, (size, size), order=1, preserve_range=True, anti_aliasing=False)


def make_cases(names: list[str], sizes: list[int]) -> list[dict[str, Any]]:
    """One (workflow, image) case per workflow name and size."""
    from autoscope.analysis import AtomsWorkflow, ParticlesWorkflow, WallsWorkflow
    from autoscope.analysis.pipeline import load_image

    cases = []
    if "atoms" in names:
        mos2 = load_image(require(MOS2)).image
        if max(sizes) > min(mos2.shape):
            raise SystemExit(f"MoS2 image is {mos2.shape}; cannot crop {max(sizes)}²")
        for n in sizes:
            cases.append(
                {
                    "workflow": "atoms",
                    "size": n,
                    "source": f"MoS2 HAADF [:{n}, :{n}]",
                    "wf": AtomsWorkflow(atoms_per_cell=2),
                    "image": np.ascontiguousarray(mos2[:n, :n]),
                }
            )
    if "walls" in names:
        pfm = load_image(require(PFM), channel="PhaseRetrace")
        side = pfm.image.shape[0]
        for n in sizes:
            cases.append(
                {
                    "workflow": "walls",
                    "size": n,
                    "source": f"PFM PhaseRetrace {side}² -> {n}²",
                    "wf": WallsWorkflow(pixel_size=(pfm.pixel_size or 1.0) * side / n),
                    "image": upsample(pfm.image, n),
                }
            )
    if "particles" in names:
        sio2 = load_image(require(SIO2)).image
        side = sio2.shape[0]
        for n in sizes:
            pixel = SIO2_PIXEL_NM * side / n
            cases.append(
                {
                    "workflow": "particles",
                    "size": n,
                    "source": f"SiO2 HAADF {side}² -> {n}² ({pixel:.3g} nm/px)",
                    "wf": ParticlesWorkflow(diameter=SIO2_DIAMETER_NM, pixel_size=pixel),
                    "image": upsample(sio2, n),
                }
            )
    order = {name: i for i, name in enumerate(WORKFLOW_NAMES)}
    return sorted(cases, key=lambda c: (c["size"], order[c["workflow"]]))


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Exception | None]:
    """Median seconds of ``repeats`` calls of ``fn`` (and the exception, if it raised)."""
    times = []
    error = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - a failing candidate is timed like any other
            error = err
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), error


def bench_evaluation(case: dict[str, Any], repeats: int, n_random: int, seed: int) -> dict:
    wf, image = case["wf"], case["image"]
    prepare_s, _ = timed(lambda: wf.prepare(image), repeats)
    context = wf.prepare(image)
    centre = wf.space.from_unit(np.full(len(wf.space), 0.5))
    rewards = wf.evaluate(image, centre, context)  # warm-up, untimed
    centre_s, _ = timed(lambda: wf.evaluate(image, centre, context), repeats)
    rng = np.random.default_rng(seed)
    per_set, failed = [], 0
    for _ in range(n_random):
        params = wf.space.from_unit(rng.random(len(wf.space)))
        seconds, error = timed(lambda p=params: wf.evaluate(image, p, context), repeats)
        per_set.append(seconds)
        failed += error is not None
    shown = {k: round(v, 4) for k, v in rewards.items()}
    extra = {k: round(float(v), 2) for k, v in context.items() if k in ("spacing", "n_expected")}
    print(
        f"  {case['workflow']:>9} {case['size']:>4}²: prepare {prepare_s:7.4f} s, "
        f"centre {centre_s:7.4f} s, random median {np.median(per_set):7.4f} s "
        f"(max {np.max(per_set):.4f} s, {failed}/{n_random} raised) | {case['source']}; "
        f"context {extra}; centre rewards {shown}",
        flush=True,
    )
    return {
        "workflow": case["workflow"],
        "size": case["size"],
        "prepare": prepare_s,
        "centre": centre_s,
        "random": float(np.median(per_set)),
        "random_max": float(np.max(per_set)),
        "failed": failed,
        "n_random": n_random,
    }


def profile_case(case: dict[str, Any], top: int = 12) -> None:
    """cProfile one centre evaluation; print the functions with the most own time."""
    wf, image = case["wf"], case["image"]
    context = wf.prepare(image)
    centre = wf.space.from_unit(np.full(len(wf.space), 0.5))
    wf.evaluate(image, centre, context)
    profiler = cProfile.Profile()
    profiler.enable()
    wf.evaluate(image, centre, context)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "function calls" in ln)
    print(f"\ncProfile, one centre evaluation of {case['workflow']} at {case['size']}²:")
    print("\n".join("    " + ln for ln in lines[start:]))


@contextmanager
def counting_requests() -> Any:
    """Count the candidates the optimiser asks for (before the search's cache)."""
    module = importlib.import_module("autoscope.analysis.search")
    original = module._Evaluator.__call__
    log: dict[str, list] = {"rows": [], "seconds": []}

    def wrapped(self: Any, unit: np.ndarray, generation: int) -> np.ndarray:
        t0 = time.perf_counter()
        out = original(self, unit, generation)
        log["rows"].append(len(np.atleast_2d(unit)))
        log["seconds"].append(time.perf_counter() - t0)
        return out

    module._Evaluator.__call__ = wrapped
    try:
        yield log
    finally:
        module._Evaluator.__call__ = original


def bench_search(workers: int, seed: int) -> dict:
    from autoscope.analysis import AtomsWorkflow, search
    from autoscope.analysis.pipeline import load_image

    mos2 = load_image(require(MOS2)).image
    crop = np.ascontiguousarray(mos2[:SEARCH_SIZE, :SEARCH_SIZE])
    workflow = AtomsWorkflow(atoms_per_cell=2)
    with counting_requests() as log:
        t0 = time.perf_counter()
        result = search(
            workflow,
            crop,
            population=POPULATION,
            generations=GENERATIONS,
            seed=seed,
            workers=workers,
        )
        wall = time.perf_counter() - t0
    requested = int(sum(log["rows"]))
    unique = len(result.evaluations)
    penalised = sum(e.penalised for e in result.evaluations)
    row = {
        "workers": workers,
        "wall": wall,
        "requested": requested,
        "unique": unique,
        "hits": requested - unique,
        "penalised": penalised,
        "first_gen": log["seconds"][0] if log["seconds"] else float("nan"),
        "median_gen": float(np.median(log["seconds"][1:])) if len(log["seconds"]) > 1 else 0.0,
        "outside": wall - float(sum(log["seconds"])),
        "front": len(result.pareto),
        "hv": result.hypervolume[-1],
    }
    print(
        f"  workers={workers}: {wall:7.1f} s wall, {requested} requested, {unique} unique "
        f"({row['hits']} cache hits, {penalised} penalised), first generation "
        f"{row['first_gen']:.1f} s, median generation {row['median_gen']:.1f} s, outside "
        f"evaluation {row['outside']:.1f} s; front {row['front']} points, final HV "
        f"{row['hv']:.3f}; knee {result.pick()}",
        flush=True,
    )
    return row


def print_tables(evals: list[dict], searches: list[dict], repeats: int) -> None:
    print(
        f"\n### (a) One reward evaluation (median of {repeats} timed calls, seconds, one thread)\n"
    )
    print(
        "| workflow | image | prepare s | eval s (centre) | eval s (random, median) "
        "| eval s (random, max) | raised | 1000 x rand s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in evals:
        print(
            f"| {r['workflow']} | {r['size']}² | {r['prepare']:.4f} | {r['centre']:.4f} | "
            f"{r['random']:.4f} | {r['random_max']:.4f} | {r['failed']}/{r['n_random']} | "
            f"{1000 * r['random']:.0f} |"
        )
    if not searches:
        return
    base = next((s["wall"] for s in searches if s["workers"] == 1), None)
    print(
        f"\n### (b) Full default search: atoms (atoms_per_cell=2), MoS2 {SEARCH_SIZE}² crop, "
        f"NSGA-II {POPULATION} x {GENERATIONS}, seed 0\n"
    )
    print(
        "| workers | wall s | requested | unique evals | cache hits | penalised "
        "| first gen s | median gen s | speed-up vs 1 | wall / 120 s target | status |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in searches:
        speedup = f"{base / s['wall']:.2f}" if base else "-"
        ratio = s["wall"] / TARGET_S
        print(
            f"| {s['workers']} | {s['wall']:.1f} | {s['requested']} | {s['unique']} | "
            f"{s['hits']} | {s['penalised']} | {s['first_gen']:.1f} | {s['median_gen']:.1f} | "
            f"{speedup} | {ratio:.2f} | {'OK' if ratio <= 1 else 'over'} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats, 5 random sets, no search")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls (default 5)")
    parser.add_argument("--random", type=int, default=None, help="random sets (default 20)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--workflows", nargs="+", default=list(WORKFLOW_NAMES), choices=WORKFLOW_NAMES
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="for (b)")
    parser.add_argument("--no-search", action="store_true", help="skip (b)")
    parser.add_argument("--profile", action="store_true", help="cProfile one evaluation per case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    n_random = args.random or (5 if args.quick else 20)
    if any(w < 1 or w > 2 for w in args.workers):
        raise SystemExit("--workers: 1 or 2 (the benchmark is meant for a 2-core machine)")

    t_start = time.perf_counter()
    print(
        f"Data: {default_data_dir()}; threads pinned to 1; "
        f"repeats {repeats}, random sets {n_random}"
    )
    cases = make_cases(args.workflows, args.sizes)
    print(f"\n(a) reward evaluation, {len(cases)} cases", flush=True)
    evals = [bench_evaluation(c, repeats, n_random, args.seed) for c in cases]
    if args.profile:
        for case in cases:
            profile_case(case)
    searches = []
    if not (args.quick or args.no_search):
        print(
            f"\n(b) full search, atoms on the MoS2 {SEARCH_SIZE}² crop, NSGA-II "
            f"{POPULATION} x {GENERATIONS} (target <= {TARGET_S:.0f} s)",
            flush=True,
        )
        searches = [bench_search(w, args.seed) for w in args.workers]
    print_tables(evals, searches, repeats)
    print(f"\nTotal wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
