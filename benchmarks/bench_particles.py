"""Speed of particle chemistry on the real SiO2 HAADF + EDX cube (128² x 2048 channels).

Times, as the median of ``--repeats`` runs after one untimed warm-up:

* ``segment``: the default mask generator of
  :func:`~autoscope.library.chemistry.particle_chemistry`
  (``ThresholdWatershed(sigma=0.5, min_distance=3)``) on the 128² HAADF;
* ``sum+fit``: summing the cube over every particle and the support, and the
  line fit of every sum (:func:`~autoscope.analysis.edx.fit_spectra` with
  ``calibrate=True``: one offset/resolution refinement on the total, then one
  Poisson fit per row) and :func:`~autoscope.analysis.edx.quantify`;
* ``classes``: the class-model comparison (BIC weights, 4 + 1 models per row);
* ``total``: the whole ``particle_chemistry`` call (all of the above plus the
  geometry). The issue's target for segmentation + per-particle fits is <= 5 s.

File reading (about 0.5 s) is not timed. One thread (``OMP_NUM_THREADS=1``).

Data: ``$AUTOSCOPE_DATA`` or ``../shared/data`` next to the repository root.

Run: ``python benchmarks/bench_particles.py [--repeats 5]``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from autoscope.analysis.edx import fit_spectra, quantify  # noqa: E402
from autoscope.analysis.masks import ThresholdWatershed  # noqa: E402
from autoscope.campaign.config import default_data_dir  # noqa: E402
from autoscope.library.chemistry import load_particle_data, particle_chemistry  # noqa: E402

ELEMENTS = ["Si", "O", "C", "Cu"]


def _median_time(function, repeats: int) -> tuple[float, object]:
    result = function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    """Print the timing table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = default_data_dir() / "nanoparticles_sio2_edx_si"
    data = load_particle_data(
        folder / "SiO2_HAADF_Image.hspy", folder / "SiO2_EDS_Spectrum_Image.hspy"
    )
    generator = ThresholdWatershed(sigma=0.5, min_distance=3, min_area=4)
    t_segment, masks = _median_time(lambda: generator(data.image), args.repeats)
    union = masks.any(axis=0)
    cube = data.edx.astype(float)

    def sum_and_fit():
        rows = np.array([cube[~union].sum(axis=0)] + [cube[m].sum(axis=0) for m in masks])
        fits = fit_spectra(rows, data.energy_keV, ELEMENTS, calibrate=True)
        return quantify(fits)

    t_fit, _ = _median_time(sum_and_fit, args.repeats)

    def total():
        return particle_chemistry(
            data.image, data.edx, data.energy_keV, elements=ELEMENTS, pixel_size=data.pixel_size
        )

    t_total, table = _median_time(total, args.repeats)
    print(f"SiO2 HAADF {data.image.shape} + EDX {data.edx.shape}; {len(masks)} particles")
    print(f"median of {args.repeats} runs, one thread")
    print(f"  segment            {t_segment:8.3f} s")
    print(f"  sum+fit            {t_fit:8.3f} s  ({t_fit / (len(masks) + 1) * 1e3:.1f} ms per row)")
    print(f"  segment + sum+fit  {t_segment + t_fit:8.3f} s  (target <= 5 s)")
    print(f"  total (+ classes)  {t_total:8.3f} s  ({table.n_particles} particles)")


if __name__ == "__main__":
    main()
