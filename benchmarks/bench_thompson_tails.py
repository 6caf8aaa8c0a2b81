"""Why Thompson draws default to pathwise: independent marginal draws let the tails pick.

Fits the default deep kernel GP on 50 points of a large ferroelectric-twin pool
and draws one posterior sample per candidate, ``n_draws`` times, with each
sampler. For the argmax of every draw it prints the z-score of the drawn value
against that candidate's own marginal (how extreme the noise that won was) and
the posterior mean's percentile of the winner. With N independent marginal
draws the winner is whichever candidate happened to draw ~sqrt(2 ln N) sigma
high: the tails decide, not the model. A pathwise (joint-consistent) draw is a
smooth function, so its argmax sits where mean and uncertainty are high together.

    python benchmarks/bench_thompson_tails.py [--size 256] [--draws 20]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autoscope.data import extract_patches, make_scalarizer, make_twin  # noqa: E402
from autoscope.models.recipes import make_surrogate  # noqa: E402

torch.set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="twin side: pool of size**2")
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    twin = make_twin("ferroelectric", size=args.size, seed=0)
    pool = extract_patches(twin, window=16, border="reflect")
    x = pool.feature("patches")
    c = pool.coords
    y = make_scalarizer("loop-height")(twin.spectra[c[:, 0], c[:, 1]], twin.spectral_axis)
    rng = np.random.default_rng(0)
    train = rng.choice(len(x), 50, replace=False)
    model = make_surrogate("default", seed=0).fit(x[train], y[train])
    mean, std = model.predict(x)
    print(f"pool {len(x)} candidates, 50 training points; "
          f"expected max of N standard normals ~ {np.sqrt(2 * np.log(len(x))):.2f}")
    for method in ("marginal", "pathwise"):
        z_scores, mean_pct, seconds = [], [], []
        for k in range(args.draws):
            start = time.perf_counter()
            draw = model.sample(x, n_samples=1, rng=np.random.default_rng(k), method=method)[0]
            seconds.append(time.perf_counter() - start)
            winner = int(np.argmax(draw))
            z_scores.append((draw[winner] - mean[winner]) / std[winner])
            mean_pct.append(100.0 * np.mean(mean <= mean[winner]))
        print(f"  {method:9s} winner's z vs its own marginal: median {np.median(z_scores):5.2f}; "
              f"winner's mean percentile: median {np.median(mean_pct):5.1f}; "
              f"{np.median(seconds):.2f} s per draw")


if __name__ == "__main__":
    main()
