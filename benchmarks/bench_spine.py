"""Speed of the spine: campaign bookkeeping, durable commits, reading and pooling.

The spine must never be what a user waits for. This script measures, each
against its target:

1. Per measurement, the campaign's bookkeeping plus its durable commit (one
   ``ask``, one ``measure`` on a :class:`ReplayInstrument`, one ``tell``) with
   the random policy on a pool of 12 100 candidates (a 110x110 ferroelectric
   twin, 16x16 patches, reflected borders), over 10 000 steps: with no store
   (pure in-memory bookkeeping), with a :class:`RunStore` at
   ``synchronous="NORMAL"`` and at the default ``"FULL"``. Target: <= 5 ms.
   Percentiles come from a manual loop that mimics ``run_campaign`` (budget
   check, measure, finiteness check, tell); the whole ``run_campaign`` call is
   timed too. Per-step time at steps 1-1000 and at the last 1000 steps shows
   whether the bookkeeping grows with the history; a cProfile excerpt of the
   last steps of the in-memory run shows where the time goes.
2. Reading the real BEPS file and pooling it (``extract_patches``, window 16):
   median of repeats in one process. Target: <= 1 s.

Run: ``python benchmarks/bench_spine.py`` (about 2-3 minutes on two cores) or
``python benchmarks/bench_spine.py --quick`` (fewer steps and repeats).
The BEPS file is read from ``$AUTOSCOPE_DATA`` or ``../shared/data``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.campaign.config import default_data_dir  # noqa: E402
from autoscope.campaign.core import Budget, Campaign  # noqa: E402
from autoscope.campaign.driver import run_campaign  # noqa: E402
from autoscope.campaign.store import RunStore  # noqa: E402
from autoscope.data.pool import CandidatePool, extract_patches  # noqa: E402
from autoscope.data.readers import read  # noqa: E402
from autoscope.data.scalarizers import make_scalarizer  # noqa: E402
from autoscope.data.spectral_image import SpectralImage  # noqa: E402
from autoscope.data.twins import make_twin  # noqa: E402
from autoscope.instruments.replay import ReplayInstrument  # noqa: E402
from autoscope.policies import make_policy  # noqa: E402

torch.set_num_threads(1)

TWIN_SIZE, WINDOW, STEP_TARGET_MS, POOL_TARGET_S = 110, 16, 5.0, 1.0
REPO = Path(__file__).resolve().parents[1]
BEPS = Path("beps_pto_hysteresis") / "BEPS_PTO_50x50.h5"
MODES = ("memory", "NORMAL", "FULL")



def make_campaign(
    pool: CandidatePool, twin: SpectralImage, steps: int, mode: str, folder: Path
) -> Campaign:
    """A random-policy campaign over ``pool``, stored per ``mode`` (``"memory"``: no store)."""
    store = None
    if mode != "memory":
        store = RunStore.create(
            folder / f"run-{mode}-{time.monotonic_ns()}",
            meta={"benchmark": "spine", "mode": mode},
            overview=twin.structure,
            pool_coords=pool.coords,
            synchronous=mode,
        )
    return Campaign(
        pool,
        make_policy("random"),
        make_scalarizer("loop-area"),
        spectral_axis=twin.spectral_axis,
        budget=Budget(measurements=steps),
        seed=0,
        store=store,
    )


def manual_loop(
    campaign: Campaign, instrument: ReplayInstrument, steps: int, profile_last: int = 0
) -> tuple[np.ndarray, cProfile.Profile | None]:
    """Mimic ``run_campaign`` (``batch_size=1``); seconds `(steps, 3)` of ask, measure, tell.

    With ``profile_last > 0`` the last ``profile_last`` steps run under cProfile.
    """
    times = np.empty((steps, 3))
    profiler = None
    clock = time.perf_counter
    for step in range(steps):
        if profile_last and step == steps - profile_last:
            profiler = cProfile.Profile()
            profiler.enable()
        t0 = clock()
        [suggestion] = campaign.pending or campaign.ask(1)
        t1 = clock()
        point = np.array([suggestion.coords], dtype=np.int64)
        if not campaign.can_afford(instrument.expected_cost(point)):
            raise RuntimeError("budget ran out before the last step")
        campaign.attempts(suggestion.index)
        result = instrument.measure(point)
        spectrum = np.asarray(result.spectra[0], dtype=np.float64)
        if not np.all(np.isfinite(spectrum)):
            raise RuntimeError("the twin returned a non-finite spectrum")
        t2 = clock()
        campaign.tell(
            suggestion.index,
            spectrum,
            seconds=float(result.seconds[0]),
            dose=float(result.dose[0]),
        )
        times[step] = (t1 - t0, t2 - t1, clock() - t2)
    if profiler is not None:
        profiler.disable()
    return times, profiler


def bench_steps(
    pool: CandidatePool, twin: SpectralImage, steps: int, folder: Path
) -> tuple[dict[str, dict[str, float]], str]:
    """Per-step figures of each mode and a profile excerpt of the in-memory run."""
    out: dict[str, dict[str, float]] = {}
    profile_text = ""
    window = min(1000, steps // 2)
    for mode in MODES:
        campaign = make_campaign(pool, twin, steps, mode, folder)
        instrument = ReplayInstrument(twin, seconds_per_point=1.0)
        times, _ = manual_loop(campaign, instrument, steps)
        if campaign.store is not None:
            campaign.store.close()
        total_ms = times.sum(axis=1) * 1e3
        part_ms = np.median(times, axis=0) * 1e3
        campaign = make_campaign(pool, twin, steps, mode, folder)
        instrument = ReplayInstrument(twin, seconds_per_point=1.0)
        t0 = time.perf_counter()
        summary = run_campaign(campaign, instrument, progress=False)
        driver_s = time.perf_counter() - t0
        if campaign.store is not None:
            campaign.store.close()
        assert summary.measured == steps, summary
        out[mode] = {
            "median": float(np.median(total_ms)),
            "p95": float(np.percentile(total_ms, 95)),
            "max": float(total_ms.max()),
            "first": float(np.median(total_ms[:window])),
            "last": float(np.median(total_ms[-window:])),
            "first_mean": float(total_ms[:window].mean()),
            "last_mean": float(total_ms[-window:].mean()),
            "ask": float(part_ms[0]),
            "measure": float(part_ms[1]),
            "tell": float(part_ms[2]),
            "driver_ms": driver_s * 1e3 / steps,
            "window": window,
        }
        r = out[mode]
        print(
            f"  {mode:>6}: median {r['median']:.3f} ms, p95 {r['p95']:.3f} ms, "
            f"max {r['max']:.1f} ms (ask {r['ask']:.3f} / measure {r['measure']:.3f} / "
            f"tell {r['tell']:.3f}); run_campaign {r['driver_ms']:.3f} ms/step"
        )
        print(
            f"          steps 1-{window}: median {r['first']:.3f} ms (mean {r['first_mean']:.3f}); "
            f"steps {steps - window + 1}-{steps}: median {r['last']:.3f} ms "
            f"(mean {r['last_mean']:.3f}); growth x{r['last'] / r['first']:.2f}"
        )
    campaign = make_campaign(pool, twin, steps, "memory", folder)
    instrument = ReplayInstrument(twin, seconds_per_point=1.0)
    _, profiler = manual_loop(campaign, instrument, steps, profile_last=window)
    if profiler is not None:
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(14)
        profile_text = buffer.getvalue()
    return out, profile_text


def bench_beps(repeats: int) -> dict[str, float]:
    """Median seconds of reading the BEPS file and of pooling it."""
    path = default_data_dir() / BEPS
    if not path.exists():
        print(f"  BEPS file not found at {path} (set AUTOSCOPE_DATA); skipped")
        return {}
    read_s, pool_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        image = read(path)
        t1 = time.perf_counter()
        pool = extract_patches(image, window=WINDOW)
        pool_s.append(time.perf_counter() - t1)
        read_s.append(t1 - t0)
    r, p = float(np.median(read_s)), float(np.median(pool_s))
    print(
        f"  {path.name}: structure {image.shape}, spectra {image.spectra.shape}, "
        f"pool {len(pool)} candidates"
    )
    print(
        f"  read median {r * 1e3:.1f} ms (first {read_s[0] * 1e3:.1f} ms), "
        f"pool median {p * 1e3:.1f} ms, over {repeats} repeats"
    )
    return {"read": r, "pool": p, "total": float(np.median(np.add(read_s, pool_s)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 steps, 5 repeats")
    parser.add_argument("--steps", type=int, default=None, help="campaign steps (default 10 000)")
    args = parser.parse_args()
    steps = args.steps or (2000 if args.quick else 10_000)
    repeats = 5 if args.quick else 9

    twin = make_twin("ferroelectric", size=TWIN_SIZE)
    pool = extract_patches(twin, window=WINDOW, border="reflect")
    if steps > len(pool):
        raise SystemExit(f"--steps {steps} exceeds the pool size {len(pool)}")
    print(
        f"1. campaign step (random policy, ReplayInstrument, loop-area), {steps} steps, "
        f"pool {len(pool)} candidates, patches {pool.feature('patches').shape[1:]}:"
    )
    with tempfile.TemporaryDirectory(prefix="bench-spine-") as folder:
        steps_out, profile_text = bench_steps(pool, twin, steps, Path(folder))
    window = steps_out["memory"]["window"]
    print(f"\n   cProfile of steps {steps - window + 1}-{steps}, in memory (top by tottime):")
    lines = [line for line in profile_text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("\n".join("   " + line for line in lines[max(start - 2, 0) :]))

    print(f"\n2. read + pool the real BEPS file (window {WINDOW}):")
    beps = bench_beps(repeats)

    rows = []
    for mode in MODES:
        r = steps_out[mode]
        label = "no store" if mode == "memory" else f"store {mode}"
        rows.append((f"step median ({label})", r["median"], "ms", STEP_TARGET_MS))
        rows.append((f"step p95 ({label})", r["p95"], "ms", STEP_TARGET_MS))
        rows.append((f"step median, last {window} ({label})", r["last"], "ms", STEP_TARGET_MS))
        rows.append((f"run_campaign per step ({label})", r["driver_ms"], "ms", STEP_TARGET_MS))
    if beps:
        rows.append(("BEPS read", beps["read"], "s", POOL_TARGET_S))
        rows.append(("BEPS pool (extract_patches)", beps["pool"], "s", POOL_TARGET_S))
        rows.append(("BEPS read + pool", beps["total"], "s", POOL_TARGET_S))
    print("\n3. summary")
    print(f"   {'figure':<42} {'median':>10} {'target':>10}  status")
    for name, value, unit, target in rows:
        status = "OK" if value <= target else "over"
        print(f"   {name:<42} {value:>7.3f} {unit:<2} {'<= ' + str(target):>7} {unit:<2} {status}")


if __name__ == "__main__":
    main()
