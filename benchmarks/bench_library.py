"""Speed of the particle-library simulation and of the cost-aware policy.

(a) Target field: a signed sum of ``--gaussians`` Gaussians (default 10⁶, sd
0.1) evaluated once at every particle of the default 300 × 300 µm library
(~1 800 particles) and at the 2 000 reference compositions, D = 3 and 5
(target ≤ 30 s).

(b) A ``--steps``-iteration (default 300) 5-component campaign with
``library-cost-aware`` (GP fit warm-started every step, acquisition over the
discovered particles, the stay-or-switch evaluation over every undiscovered
region) on the default library with 3 random seed particles, in memory and
without the metrics monitor: wall time and the median per step (target
≤ 60 s for the run). The same run with the monitor (one more GP fit per step,
evaluated on the reference set) is timed as well, and the baseline
``library-random`` (no model) as the floor.

(c) The price of re-optimising the GP hyperparameters only every 5th fit
(the default ``gp_refit_every=5``) against every fit (``1``): wall time and
the final relative model error of the monitor over ``--seeds`` libraries
(D = 5, ``--steps`` steps, cost-aware policy; the monitor uses the same setting).

One thread everywhere (``OMP/OPENBLAS/MKL_NUM_THREADS=1``); median of
``--repeats`` runs. Run: ``python benchmarks/bench_library.py`` (a few
minutes) or ``--quick`` (10⁵ Gaussians, 100 steps, one repeat).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.campaign.core import Budget, Campaign  # noqa: E402
from autoscope.campaign.driver import run_campaign  # noqa: E402
from autoscope.library import LibrarySpec, make_library  # noqa: E402
from autoscope.library.field import TargetField, reference_points  # noqa: E402
from autoscope.library.instrument import LibraryInstrument  # noqa: E402
from autoscope.library.metrics import LibraryMonitor  # noqa: E402
from autoscope.library.policies import library_pool  # noqa: E402
from autoscope.policies import make_policy  # noqa: E402


def time_field(n_components: int, n_gaussians: int) -> tuple[float, int]:
    library = make_library(LibrarySpec(n_components=n_components, n_gaussians=10), seed=0)
    points = np.concatenate([library.composition, reference_points(n_components, n=2000)])
    field = TargetField(n_components, n_gaussians=n_gaussians, seed=0)
    start = time.perf_counter()
    field(points)
    return time.perf_counter() - start, len(points)


def time_campaign(
    policy: str, steps: int, *, monitor: bool, seed: int = 0, refit_every: int = 5
) -> tuple[float, float, float]:
    library = make_library(LibrarySpec(n_components=5), seed=seed)
    options = {"gp_refit_every": refit_every} if policy == "library-cost-aware" else {}
    watcher = LibraryMonitor(library, seed=seed, gp_refit_every=refit_every) if monitor else None
    campaign = Campaign(
        library_pool(library),
        make_policy(policy, **options),
        lambda s, a: s[:, 0],
        spectral_axis=np.zeros(1),
        budget=Budget(measurements=steps + 3),
        seed=seed,
        n_initial=3,
    )
    instrument = LibraryInstrument(library, seed=seed)
    stamps: list[float] = []
    errors: list[float] = []

    def on_measured(campaign: Campaign) -> None:
        stamps.append(time.perf_counter())
        if watcher is not None:
            errors.append(watcher.last.get("mae_relative", float("nan")))

    start = time.perf_counter()
    run_campaign(
        campaign,
        instrument,
        progress=False,
        monitor=watcher,
        on_measured=on_measured,
    )
    wall = time.perf_counter() - start
    final = errors[-1] if errors else float("nan")
    return wall, float(np.median(np.diff(stamps[3:]))), final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaussians", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.gaussians, args.steps, args.repeats, args.seeds = 100_000, 100, 1, 1
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; median of {args.repeats} run(s)\n")
    print(f"(a) target field, {args.gaussians:.0e} Gaussians (target <= 30 s)")
    for d in (3, 5):
        runs = [time_field(d, args.gaussians) for _ in range(args.repeats)]
        seconds = statistics.median(t for t, _ in runs)
        print(f"    D={d}: {runs[0][1]} points in {seconds:6.2f} s  ({seconds / 30:.2f} x target)")
    print(f"\n(b) {args.steps}-step 5-component campaign (target <= 60 s without the monitor)")
    for policy, monitor in (
        ("library-cost-aware", False),
        ("library-cost-aware", True),
        ("library-random", False),
        ("library-random", True),
    ):
        runs = [time_campaign(policy, args.steps, monitor=monitor) for _ in range(args.repeats)]
        wall = statistics.median(r[0] for r in runs)
        per_step = statistics.median(r[1] for r in runs)
        label = f"{policy}{' + monitor' if monitor else ''}"
        print(f"    {label:32s} {wall:6.1f} s  median step {per_step * 1e3:6.1f} ms")
    print(f"\n(c) GP hyperparameters re-optimised every fit vs every 5th ({args.seeds} seeds)")
    for refit_every in (1, 5):
        runs = [
            time_campaign(
                "library-cost-aware", args.steps, monitor=True, seed=seed, refit_every=refit_every
            )
            for seed in range(args.seeds)
        ]
        walls = [r[0] for r in runs]
        finals = [r[2] for r in runs]
        print(
            f"    refit_every={refit_every}: wall median {statistics.median(walls):6.1f} s, "
            f"final relative error per seed {', '.join(f'{e:.3f}' for e in finals)}"
        )


if __name__ == "__main__":
    main()
