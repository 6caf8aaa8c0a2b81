"""Per-step cost of MetricsMonitor on a 4 096-candidate pool (target: <= 5 ms per step).

Builds a 64x64 grid of 16x16 patches cut from a twin-like image (an atomic
lattice with two domains and noise), constructs the monitor once (setup time
split into clustering and VAE training), then times 1 000 ``update`` calls of
one new point each, with a prediction, and prints the median and p95.

Run: ``python benchmarks/bench_metrics.py``
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.data.pool import CandidatePool  # noqa: E402
from autoscope.metrics import MetricsMonitor  # noqa: E402

torch.set_num_threads(1)

GRID, WINDOW, STEPS, TARGET_MS = 64, 16, 1000, 5.0


def twin_image(rng: np.random.Generator) -> np.ndarray:
    """An `(H, H)` atomic lattice whose spacing and contrast change across a domain wall."""
    size = GRID + WINDOW - 1
    yy, xx = np.mgrid[:size, :size].astype(float)
    wall = xx + 0.3 * yy > 0.6 * size
    lattice_a = np.cos(2 * np.pi * xx / 4.0) * np.cos(2 * np.pi * yy / 4.0)
    lattice_b = 0.6 * np.cos(2 * np.pi * (xx + yy) / 5.5) * np.cos(2 * np.pi * (xx - yy) / 5.5)
    image = np.where(wall, lattice_b, lattice_a) + 0.2 * rng.normal(size=(size, size))
    return (image - image.min()) / (image.max() - image.min())


def main() -> None:
    rng = np.random.default_rng(0)
    image = twin_image(rng)
    patches = np.lib.stride_tricks.sliding_window_view(image, (WINDOW, WINDOW))
    patches = np.ascontiguousarray(patches.reshape(-1, WINDOW, WINDOW), dtype=np.float32)
    coords = np.argwhere(np.ones((GRID, GRID), dtype=bool))
    pool = CandidatePool(coords, {"patches": patches}, (GRID, GRID))
    noise = 0.1 * rng.normal(size=len(pool))
    truth = np.sin(coords[:, 0] / 9.0) + np.cos(coords[:, 1] / 7.0) + noise

    t0 = time.perf_counter()
    monitor = MetricsMonitor(pool, truth, seed=0, n_initial=10)
    setup = time.perf_counter() - t0
    print(f"pool: {len(pool)} candidates, patches {patches.shape[1:]}")
    print(
        f"setup: {setup:.2f} s total (clustering {monitor.setup_seconds['clustering']:.2f} s, "
        f"VAE fit+encode {monitor.setup_seconds['vae']:.2f} s)"
    )

    order = rng.permutation(len(pool))[:STEPS]
    means = truth + 0.1 * rng.normal(size=(8, len(pool)))
    stds = rng.random((8, len(pool)))
    times = np.empty(STEPS)
    for step in range(STEPS):
        prediction = (means[step % 8], stds[step % 8])
        t0 = time.perf_counter()
        values = monitor.update(order[step : step + 1], prediction=prediction)
        times[step] = time.perf_counter() - t0
    ms = times * 1e3
    median, p95 = np.median(ms), np.percentile(ms, 95)
    print(f"per-step update ({len(values)} metrics, with prediction), {STEPS} steps:")
    print(
        f"  median {median:.3f} ms, p95 {p95:.3f} ms, max {ms.max():.3f} ms "
        f"(target <= {TARGET_MS} ms: {'OK' if p95 <= TARGET_MS else 'MISSED'})"
    )
    print(
        f"  final coverage_patch {values['coverage_patch']:.3f}, "
        f"coverage_feature {values['coverage_feature']:.3f}, "
        f"coverage_target_100 {values['coverage_target_100']:.3f}, mae {values['mae']:.4f}"
    )


if __name__ == "__main__":
    main()
