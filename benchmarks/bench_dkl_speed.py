"""Per-step decision time and peak memory of the DKL policies versus pool and training size.

One *decision* is exactly what :meth:`ModelPolicy.ask` does for one point: a
warm-started fit of the deep kernel GP on the measured points, the posterior
(and for BEACON one pathwise posterior draw) over the whole pool, the
acquisition scores and the greedy pick. The script calls ``ModelPolicy.ask``
itself (``surrogate="dkl"``) on a :class:`CampaignState`, so nothing is left
out or added. Per configuration: ``n`` random measured points, a first ask
(the cold first fit, ``first_iterations`` Adam steps, reported but not part of
the median), then ``K`` consecutive asks, each followed by "measuring" the
pick (its true target joins the training set, so ``n`` grows by one per step
as in a campaign). The figure is the median of those ``K`` asks; the share of
the warm fit in it is timed separately (a wrapper around the model's ``fit``),
the rest is scoring and selection.

Grid: pool size N in {1 225, 4 096, 16 384, 65 536} x training size n in
{50, 300, 1 000}, acquisitions BEACON (``make_acquisition("beacon")``, default
options: pathwise sampler) and log-EI, our ``default`` recipe. At N = 1 225
and n in {50, 300} the ``published`` recipe runs in the same process on the
same data and the same initial points, and the ratio published / ours is
printed. With CUDA available the default recipe is also timed with
``device="cuda"`` (skipped with a note otherwise).

Data: 16x16 patches. N = 1 225 is the real BEPS PbTiO3 file (50x50 grid,
``extract_patches(image, window=16)``, targets ``loop-height``); larger N come
from the ferroelectric twin of side ``S = ceil(sqrt(N))`` (64, 128, 256) with
``border="reflect"``, first N candidates, its ``loop-height`` targets. The
BEPS file is read from ``$AUTOSCOPE_DATA`` or ``../shared/data``; without it
N = 1 225 falls back to the twin (said in the output).

Memory: each (N, n) runs in its own subprocess and its peak is that process's
maximum resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``), covering
every configuration of that (N, n) (both acquisitions, both recipes). This is
the simpler honest option: it counts torch's allocations, which
``tracemalloc`` does not see, and it includes the interpreter, torch and the
data (the RSS after loading the data, before any fit, is printed as the
baseline). GPU memory of CUDA runs is ``torch.cuda.max_memory_allocated``.

Targets (the issue; a 2-core CPU, one thread): median <= 0.12 s per step at
1 225 candidates (every n; the published recipe takes ~0.95 s), <= 0.3 s at
4 096 candidates with 300 measured points, <= 3 s at 65 536 candidates (every
n), peak memory <= 2 GB. Other (N, n) are printed without a target.

Choices that keep the full run near ten minutes on two cores: K = 5 steps by
default, at most 3 for N >= 16 384; n = 1 000 only at N <= 16 384 (the
default grid; an explicit ``--train`` runs every combination asked for). One
thread everywhere (``OMP/OPENBLAS/MKL_NUM_THREADS=1``, ``torch.set_num_threads(1)``
and the model's own ``num_threads=1``).

Run: ``python benchmarks/bench_dkl_speed.py`` (full grid), or
``python benchmarks/bench_dkl_speed.py --quick`` (N in {1 225, 4 096}, n = 50,
2 steps, no published recipe; well under a minute on an idle machine).
Options: ``--steps K``, ``--sizes N ...``, ``--train n ...``,
``--no-published``, ``--no-cuda``, ``--seed``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from autoscope.campaign.config import default_data_dir  # noqa: E402

WINDOW = 16
SIZES = (1225, 4096, 16384, 65536)
TRAIN = (50, 300, 1000)
ACQUISITIONS = ("beacon", "logei")
PUBLISHED_N, PUBLISHED_TRAIN = 1225, (50, 300)
BIG_N, BIG_N_MAX_TRAIN, BIG_N_MAX_STEPS = 16384, 300, 3
MEMORY_TARGET_MB = 2048.0
REPO = Path(__file__).resolve().parents[1]
BEPS = Path("beps_pto_hysteresis") / "BEPS_PTO_50x50.h5"
RESULT = "RESULT "



def time_target(n_pool: int, n_train: int) -> float | None:
    """The issue's per-step target in seconds for (N, n), or ``None`` where it sets none."""
    if n_pool == 1225:
        return 0.12
    if n_pool == 4096 and n_train == 300:
        return 0.3
    if n_pool == 65536:
        return 3.0
    return None


def status(value: float, target: float | None) -> str:
    if target is None:
        return "-"
    return "OK" if value <= target else "over"


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------- worker
def load_pool(n_pool: int) -> tuple[Any, np.ndarray, str]:
    """Pool of ``n_pool`` candidates (16x16 patches), loop-height targets, and a description."""
    from autoscope.data.pool import CandidatePool, extract_patches
    from autoscope.data.readers import read
    from autoscope.data.scalarizers import make_scalarizer
    from autoscope.data.twins import make_twin

    scalarizer = make_scalarizer("loop-height")
    path = default_data_dir() / BEPS
    if n_pool == 1225 and path.exists():
        image = read(path)
        pool = extract_patches(image, window=WINDOW)
        source = f"BEPS {path.name}"
        border = "valid"
    else:
        side = math.isqrt(n_pool - 1) + 1
        image = make_twin("ferroelectric", size=side)
        pool = extract_patches(image, window=WINDOW, border="reflect")
        source = f"ferroelectric twin {side}x{side}"
        border = "reflect"
        if n_pool == 1225:
            source += f" (BEPS file not found at {path})"
    if len(pool) < n_pool:
        raise SystemExit(f"{source} gives {len(pool)} candidates, fewer than {n_pool}")
    coords = pool.coords[:n_pool]
    pool = CandidatePool(
        coords,
        {"patches": pool.feature("patches")[:n_pool]},
        pool.grid_shape,
        spec={"window": WINDOW, "border": border},
    )
    y = scalarizer(image.spectra[coords[:, 0], coords[:, 1]], image.spectral_axis)
    return pool, np.asarray(y, dtype=np.float64), source


def run_config(
    pool: Any,
    y: np.ndarray,
    n_train: int,
    steps: int,
    recipe: str,
    acquisition: str,
    device: str,
    seed: int,
) -> dict[str, Any]:
    """Time one first ask and ``steps`` warm asks of a DKL policy; seconds and model health."""
    import torch

    from autoscope.policies.base import CampaignState
    from autoscope.policies.model_based import ModelPolicy

    policy = ModelPolicy(
        surrogate="dkl",
        recipe=recipe,
        acquisition=acquisition,
        surrogate_options={"device": device},
    )
    rng = np.random.default_rng(seed)
    measured = list(np.random.default_rng(seed).choice(len(y), size=n_train, replace=False))
    empty = np.zeros(0, dtype=np.int64)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    fit_times: list[float] = []
    step_times: list[float] = []
    first = 0.0
    for step in range(steps + 1):
        idx = np.asarray(measured, dtype=np.int64)
        state = CampaignState(pool, idx, y[idx], empty, empty, step, rng)
        t0 = time.perf_counter()
        [suggestion] = policy.ask(state, 1)
        elapsed = time.perf_counter() - t0
        if step == 0:
            first = elapsed
            model = policy.model_
            assert model is not None
            plain_fit = model.fit

            def timed_fit(x: Any, t: Any, _fit: Any = plain_fit) -> Any:
                start = time.perf_counter()
                out = _fit(x, t)
                fit_times.append(time.perf_counter() - start)
                return out

            model.fit = timed_fit  # type: ignore[method-assign]
        else:
            step_times.append(elapsed)
        measured.append(suggestion.index)
    diag = policy.diagnostics()
    return {
        "recipe": recipe,
        "acquisition": acquisition,
        "device": device,
        "first": first,
        "median": float(np.median(step_times)),
        "fit": float(np.median(fit_times)),
        "steps": steps,
        "collapsed": float(diag.get("model_collapsed", float("nan"))),
        "gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
    }


def worker(spec: dict[str, Any]) -> None:
    """Run every configuration of one (N, n) and print a ``RESULT`` JSON line."""
    import torch

    torch.set_num_threads(1)
    n_pool, n_train, steps = spec["n_pool"], spec["n_train"], spec["steps"]
    pool, y, source = load_pool(n_pool)
    base_mb = rss_mb()
    cuda = torch.cuda.is_available() and spec["cuda"]
    configs = [("default", acq, "cpu") for acq in ACQUISITIONS]
    if spec["published"]:
        configs += [("published", acq, "cpu") for acq in ACQUISITIONS]
    if cuda:
        configs += [("default", acq, "cuda") for acq in ACQUISITIONS]
    print(
        f"N={n_pool:>6} n={n_train:>5}: {source}, patches {pool.feature('patches').shape[1:]}, "
        f"{steps} steps, RSS after loading {base_mb:.0f} MB",
        flush=True,
    )
    rows = []
    for recipe, acq, device in configs:
        r = run_config(pool, y, n_train, steps, recipe, acq, device, spec["seed"])
        target = time_target(n_pool, n_train) if recipe == "default" else None
        gpu = f", GPU peak {r['gpu_mb']:.0f} MB" if r["gpu_mb"] is not None else ""
        flag = ", COLLAPSED" if r["collapsed"] == 1.0 else ""
        shown = f"<= {target:g} s {status(r['median'], target)}" if target else "no target"
        print(
            f"   {recipe:>9} {acq:>6} {device:>4}: first ask {r['first']:7.3f} s, "
            f"median {r['median']:7.3f} s/step (warm fit {r['fit']:.3f} s) [{shown}]{gpu}{flag}",
            flush=True,
        )
        rows.append(r)
    out = {
        "n_pool": n_pool,
        "n_train": n_train,
        "source": source,
        "base_mb": base_mb,
        "peak_mb": rss_mb(),
        "cuda": bool(torch.cuda.is_available()),
        "rows": rows,
    }
    print(
        f"   peak RSS of this process {out['peak_mb']:.0f} MB [<= {MEMORY_TARGET_MB:.0f} MB "
        f"{status(out['peak_mb'], MEMORY_TARGET_MB)}]",
        flush=True,
    )
    print(RESULT + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------- driver
def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The (N, n) groups to run, each with its steps and whether the published recipe joins."""
    sizes = args.sizes or ((1225, 4096) if args.quick else SIZES)
    explicit_train = args.train is not None
    train = args.train or ((50,) if args.quick else TRAIN)
    steps = args.steps or (2 if args.quick else 5)
    published = not (args.quick or args.no_published)
    groups = []
    for n_pool in sizes:
        for n_train in train:
            if not explicit_train and n_pool > BIG_N and n_train > BIG_N_MAX_TRAIN:
                print(f"(skipping N={n_pool}, n={n_train}: n = 1 000 only at N <= {BIG_N})")
                continue
            k = min(steps, BIG_N_MAX_STEPS) if n_pool >= BIG_N else steps
            if n_train + k + 1 > n_pool:
                print(f"(skipping N={n_pool}, n={n_train}: not enough candidates)")
                continue
            groups.append(
                {
                    "n_pool": n_pool,
                    "n_train": n_train,
                    "steps": k,
                    "published": published and n_pool == PUBLISHED_N and n_train in PUBLISHED_TRAIN,
                    "cuda": not args.no_cuda,
                    "seed": args.seed,
                }
            )
    return groups


def run_group(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one group in a fresh subprocess, echoing its lines; its parsed result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    result: dict[str, Any] | None = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(RESULT):
                result = json.loads(line[len(RESULT) :])
            else:
                print(line, end="", flush=True)
    if proc.returncode != 0 or result is None:
        raise SystemExit(f"worker for {spec} failed with exit code {proc.returncode}")
    return result


def summary(results: list[dict[str, Any]]) -> None:
    print(
        "\nSummary (median seconds per ask over the warm steps, one CPU thread; fit s: median "
        "warm fit, score s: the rest (posterior, draw, acquisition, pick); first s: the cold "
        "first ask, which in each process also pays one-off warm-up)"
    )
    header = (
        f"{'N':>6} {'n':>5} {'recipe':>9} {'acq':>6} {'dev':>4} {'first s':>8} "
        f"{'s/step':>8} {'fit s':>7} {'score s':>8} {'target':>8} {'status':>6} "
        f"{'peak MB':>8} {'mem':>4}"
    )
    print(header)
    print("-" * len(header))
    for g in results:
        for r in g["rows"]:
            target = time_target(g["n_pool"], g["n_train"]) if r["recipe"] == "default" else None
            mem = r["gpu_mb"] if r["device"] == "cuda" else g["peak_mb"]
            print(
                f"{g['n_pool']:>6} {g['n_train']:>5} {r['recipe']:>9} {r['acquisition']:>6} "
                f"{r['device']:>4} {r['first']:8.3f} {r['median']:8.3f} {r['fit']:7.3f} "
                f"{r['median'] - r['fit']:8.3f} "
                f"{'<= ' + format(target, 'g') if target else '-':>8} "
                f"{status(r['median'], target):>6} {mem:8.0f} "
                f"{status(mem, MEMORY_TARGET_MB) if r['device'] == 'cpu' else 'gpu':>4}"
            )
    ratios = []
    for g in results:
        by = {(r["recipe"], r["acquisition"], r["device"]): r for r in g["rows"]}
        for acq in ACQUISITIONS:
            ours, theirs = by.get(("default", acq, "cpu")), by.get(("published", acq, "cpu"))
            if ours and theirs:
                ratios.append((g["n_pool"], g["n_train"], acq, theirs["median"], ours["median"]))
    if ratios:
        print("\nPublished recipe / ours, same process, same data and initial points:")
        for n_pool, n_train, acq, theirs, ours in ratios:
            print(
                f"  N={n_pool} n={n_train} {acq:>6}: {theirs:.3f} s / {ours:.3f} s = "
                f"x{theirs / ours:.1f}"
            )
    if results and not results[0]["cuda"]:
        print("\nCUDA: not available here; device='cuda' timings skipped.")
    print(
        "\nMemory: peak MB is the maximum RSS of the subprocess that ran this (N, n), all its "
        "configurations together (ru_maxrss; includes interpreter, torch and data); "
        "for cuda rows, torch.cuda.max_memory_allocated."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="N in {1225, 4096}, n = 50, 2 steps, no published recipe",
    )
    parser.add_argument("--steps", type=int, default=None, help="warm steps K (default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="pool sizes N")
    parser.add_argument("--train", type=int, nargs="+", default=None, help="training sizes n")
    parser.add_argument("--no-published", action="store_true", help="skip the published recipe")
    parser.add_argument("--no-cuda", action="store_true", help="skip device='cuda'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(json.loads(args.worker))
        return
    groups = plan(args)
    print(
        f"DKL decision time (ModelPolicy.ask, one point), {len(groups)} (N, n) groups, "
        f"each in its own subprocess; acquisitions {', '.join(ACQUISITIONS)}\n"
        "Targets: <= 0.12 s/step at N=1225, <= 0.3 s at N=4096 n=300, <= 3 s at N=65536, "
        f"peak memory <= {MEMORY_TARGET_MB:.0f} MB"
    )
    t0 = time.perf_counter()
    results = [run_group(spec) for spec in groups]
    summary(results)
    print(f"\nTotal wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
