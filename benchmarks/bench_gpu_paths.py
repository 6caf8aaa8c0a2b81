"""Check the CUDA paths on a GPU machine and time them against the CPU in one process.

Three things, each with ``device="cuda"`` and ``device="cpu"`` on the same data:

(a) the deep kernel GP (``autoscope.models.dkl.DeepKernelGP``): a cold fit and
    the posterior over the whole pool, at pool sizes ``--sizes`` with
    ``--train`` measured points (16x16 patches of the ferroelectric twin);
(b) the curiosity-driven policies ``curiosity-ae`` (workflow 2),
    ``curiosity-spec2im`` and ``curiosity-im2spec`` (workflow 1, ensemble): the
    initial training (30 points) and the median seconds per ``ask`` over
    ``--steps`` steps of a campaign on the ferroelectric twin (48 x 48 grid),
    with the first ten measured indices under both devices (equal indices are
    not promised: float reductions differ between devices).

Without CUDA only the CPU rows are printed (with a note). Torch/BLAS pinned to
one CPU thread, as everywhere in autoscope.

    python benchmarks/bench_gpu_paths.py            # about 2 min on an H100 machine
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.campaign import Budget, Campaign  # noqa: E402
from autoscope.data import extract_patches, make_scalarizer, make_twin  # noqa: E402
from autoscope.instruments import ReplayInstrument  # noqa: E402
from autoscope.models.dkl import DeepKernelGP  # noqa: E402
from autoscope.policies import make_policy  # noqa: E402


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_dkl(size: int, n_train: int, device: str) -> tuple[float, float]:
    side = int(np.ceil(np.sqrt(size))) + 15
    twin = make_twin("ferroelectric", size=side, seed=0)
    pool = extract_patches(twin, window=16)
    x = pool.features["patches"][:size]
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), n_train, replace=False)
    y = x[idx].mean(axis=(1, 2))
    model = DeepKernelGP(device=device, seed=0)
    start = time.perf_counter()
    model.fit(x[idx], y)
    _sync(device)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(x)
    _sync(device)
    return fit, time.perf_counter() - start


def time_curiosity(name: str, device: str, steps: int) -> tuple[float, float, list[int]]:
    twin = make_twin("ferroelectric", size=48, seed=0)
    pool = extract_patches(twin, window=8)
    policy = make_policy(name, n_initial=30, budget=30 + steps + 1, device=device)
    budget = Budget(measurements=30 + steps + 1)
    scalarizer = make_scalarizer("loop-area")
    axis = twin.spectral_axis
    campaign = Campaign(pool, policy, scalarizer, spectral_axis=axis, budget=budget, seed=0,
                        n_initial=0)  # fmt: skip
    instrument = ReplayInstrument(twin)
    times = []
    for _ in range(30 + steps):
        start = time.perf_counter()
        index = campaign.ask(1)[0].index
        _sync(device)
        times.append(time.perf_counter() - start)
        campaign.tell(index, instrument.measure(pool.coords[[index]]).spectra[0])
    initial = sum(times[:30])
    return initial, statistics.median(times[30:]), list(map(int, campaign.measured[:10]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--train", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--parts", nargs="+", default=["dkl", "curiosity"])
    parser.add_argument(
        "--policies",
        nargs="+",
        default=["curiosity-ae", "curiosity-spec2im", "curiosity-im2spec"],
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    if len(devices) == 1:
        print("CUDA is not available: CPU rows only")
    else:
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    if "dkl" in args.parts:
        print("(a) deep kernel GP: cold fit and posterior over the pool (s)")
    for size in args.sizes if "dkl" in args.parts else []:
        for n in args.train:
            row = []
            for device in devices:
                fit, post = time_dkl(size, n, device)
                row.append(f"{device} fit {fit:7.2f} posterior {post:6.2f}")
            print(f"    N={size:6d} n={n:5d}  " + "   ".join(row))
    if "curiosity" not in args.parts:
        return
    print(f"(b) curiosity campaigns, 48x48 twin: initial training and median ask over "
          f"{args.steps} steps (s)")  # fmt: skip
    for name in args.policies:
        for device in devices:
            initial, per_step, first = time_curiosity(name, device, args.steps)
            print(f"    {name:18s} {device}: initial {initial:6.2f}  per step {per_step:6.3f}  "
                  f"first {first}")  # fmt: skip


if __name__ == "__main__":
    main()
