"""Speed of the STEM gym: world generation, environment steps, analyst inference.

(a) World generation: the first ``make_world`` of the process (ASE cells and
the damage kernel are built then, and cached), then ``make_world`` of every
material at the Medium difficulty, 256 × 256 pixels (median of ``--repeats``
seeds), and one ``World.acquire`` of a 32 × 32 tile at the middle dose with
its beam damage (median over 200 scans).

(b) Environment steps per second without an agent: random valid actions from
a pre-drawn list at the middle dose level, on a 256 × 256 world, with the
reward analyst switched off (``analyst="none"``: world scan + mosaic + dose
map + observation; target ≥ 1 000 steps/s), and with the default classical
reward analyst. Episodes are reset when the budget runs out; the reset time is
excluded (reported separately under (a)).

(c) Analyst inference: the time of one ``Analyst.update`` after a 32 × 32
tile (tile plus margin), classical and CNN, on a fully scanned Medium world.

One thread everywhere (``OMP/OPENBLAS/MKL_NUM_THREADS=1``, torch pinned);
medians. Run: ``python benchmarks/bench_gym.py`` (about a minute) or
``--quick``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.gym.analysts import make_analyst  # noqa: E402
from autoscope.gym.env import STEMEnv  # noqa: E402
from autoscope.gym.world import MATERIALS, TASKS_BY_MATERIAL, make_world  # noqa: E402


def time_world(material: str, seed: int) -> float:
    start = time.perf_counter()
    make_world(material, "Medium", seed=seed)
    return time.perf_counter() - start


def time_acquire(material: str, n: int = 200) -> float:
    world = make_world(material, "Medium", seed=0)
    rng = np.random.default_rng(0)
    times = []
    for k in range(n):
        bounds = world.info.tile_bounds(k % world.info.n_tiles)
        start = time.perf_counter()
        world.acquire(bounds, 1e4, rng)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def steps_per_second(material: str, analyst: str, n_steps: int) -> float:
    env = STEMEnv(material, "Medium", TASKS_BY_MATERIAL[material][0], analyst=analyst)
    rng = np.random.default_rng(0)
    n_tiles = int(env.action_space.nvec[0]) - 1
    actions = [np.array([rng.integers(n_tiles), 1]) for _ in range(n_steps)]
    env.reset(seed=0)
    elapsed, done = 0.0, 0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += time.perf_counter() - start
        done += 1
        if terminated or truncated:
            env.reset(seed=done)
    return done / elapsed


def time_analyst(name: str, material: str, repeats: int) -> float:
    world = make_world(material, "Medium", seed=1)
    info = world.info
    rng = np.random.default_rng(0)
    mosaic = np.zeros(info.shape, dtype=np.float32)
    dose = np.zeros(info.shape, dtype=np.float32)
    for index in range(info.n_tiles):
        r0, r1, c0, c1 = info.tile_bounds(index)
        mosaic[r0:r1, c0:c1] = world.acquire((r0, r1, c0, c1), 1e4, rng)
        dose[r0:r1, c0:c1] = 1e4
    analyst = make_analyst(name)
    analyst.reset(info)
    times = []
    for k in range(repeats):
        bounds = info.tile_bounds(k % info.n_tiles)
        start = time.perf_counter()
        analyst.update(mosaic, dose, bounds)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:] if len(times) > 1 else times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.steps = 2, 500
    torch.set_num_threads(1)

    print(f"(a) first world of the process (cold caches): {time_world('SrTiO3', 99) * 1e3:.0f} ms")
    print("    world generation, 256x256, Medium (median over seeds); one 32x32 tile scan")
    for material in MATERIALS:
        t = statistics.median(time_world(material, s) for s in range(args.repeats))
        scan = time_acquire(material)
        print(f"    {material:8s} {t * 1e3:7.1f} ms   acquire {scan * 1e6:6.0f} us")

    print("(b) environment steps per second, 256x256, middle dose, no agent")
    for material in MATERIALS:
        bare = steps_per_second(material, "none", args.steps)
        classical = steps_per_second(material, "classical", args.steps // 2)
        print(
            f"    {material:8s} no analyst {bare:7.0f} steps/s   "
            f"classical reward analyst {classical:6.0f} steps/s"
        )

    print("(c) analyst update after one 32x32 tile (median)")
    for material in MATERIALS:
        row = []
        for name in ("classical", "cnn"):
            t = time_analyst(name, material, 4 * args.repeats)
            row.append(f"{name} {t * 1e3:6.2f} ms")
        print(f"    {material:8s} " + "   ".join(row))


if __name__ == "__main__":
    main()
