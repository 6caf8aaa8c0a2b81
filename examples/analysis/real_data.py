"""Reward-driven analysis of every real image family in ``../shared/data``.

Runs ``autoscope analyze`` (through :func:`autoscope.analysis.pipeline.analyze_file`)
with the default search (NSGA-II, population 100 × 10 generations, seed 0) on:
atoms in the SrTiO3 [110] ADF/ABF pair, the SrTiO3 EELS survey and Se-implanted
MoS2; domain walls in two PFM phase images; particles in the SiO2 HAADF and the Au
nanoparticle image. Writes each report folder under ``--out``, copies the overlay
and Pareto figures into ``--figures`` and prints one Markdown table of the numbers
against the known lattices.

    .venv/bin/python examples/analysis/real_data.py --workers 2     # ~15 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: name, file, task, load options, workflow options, known values for the table
CASES = [
    (
        "srtio3-adf",
        "stem_adf_abf_srtio3/test_ADF_cropped.hdf5",
        "atoms",
        {"pixel_size": 0.00933},
        {"atoms_per_cell": 2},
        "SrTiO3 [110]: cell a/√2 × a = 0.276 × 0.3905 nm; Sr–Ti columns a/2 = 0.195 nm",
    ),
    (
        "srtio3-abf",
        "stem_adf_abf_srtio3/test_ABF_cropped.hdf5",
        "atoms",
        {"pixel_size": 0.00933, "invert": True},
        {"atoms_per_cell": 3},
        "as ADF; bright-field also shows the pure O columns: 3 columns per cell",
    ),
    (
        "srtio3-survey",
        "stem_eels_si_sto/DMReader_Image_SI-Survey.dm3",
        "atoms",
        {},
        {"atoms_per_cell": 1},
        "uncalibrated: spacings in px and their ratio",
    ),
    (
        "mos2",
        "haadf_mos2_se_implanted/example_Se_implanted_MoS2.dm3",
        "atoms",
        {},
        {"atoms_per_cell": 2},
        "MoS2: a = 0.316 nm, Mo–S2 columns a/√3 = 0.182 nm",
    ),
    (
        "pfm-pto110",
        "pfm_domains_scifidatasets/PTO_110_Virgin0001.gwy",
        "walls",
        {"channel": "PhaseRetrace"},
        {},
        "PbTiO3 (110) a/c domains, phase",
    ),
    (
        "pfm-pzt",
        "pfm_domains_dtmicroscope/PZT_thick0009.h5",
        "walls",
        {"channel": "PhaseRetrace"},
        {},
        "PZT thick film, phase",
    ),
    (
        "sio2",
        "nanoparticles_sio2_edx_si/SiO2_HAADF_Image.hspy",
        "particles",
        {},
        {"diameter": 43.0},
        "silica spheres, prior 43 ± 13 nm",
    ),
    (
        "au",
        "haadf_au_nanoparticle/example_Au_nanoparticle.emd",
        "particles",
        {"binning": 8},
        {"diameter": 6.0},
        "Au particles, prior 6 ± 1.8 nm (binned 8×)",
    ),
]



def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _row(name: str, task: str, summary: dict, unit: str, note: str) -> str:
    keys = {
        "atoms": [
            "count",
            "expected_count",
            f"lattice_lengths_{unit}",
            "lattice_lengths_px",
            "lattice_angle_deg",
            f"nearest_spacing_median_{unit}",
            "nearest_spacing_median_px",
        ],
        "walls": ["count", f"wall_length_{unit}", "straightness", "branches_per_100_px"],
        "particles": ["count", "expected_count", f"diameter_mean_{unit}", f"diameter_std_{unit}"],
    }[task]
    keys = list(dict.fromkeys(keys))  # uncalibrated: the unit is px
    numbers = "; ".join(f"{k} {_fmt(summary[k])}" for k in keys if k in summary)
    if task == "atoms":
        numbers += f"; bright columns {len(summary.get('bright_columns', []))}"
    return f"| {name} | {task} | {numbers} | {note} |"


def _zoom(outcome, folder: Path, path: Path, size: int = 200) -> None:
    """The chosen columns on a central ``size``² crop (big images are unreadable whole)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from autoscope.analysis import AtomsWorkflow
    from autoscope.analysis.report import plot_overlay

    image = outcome.loaded.image
    r0, c0 = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    found = np.loadtxt(folder / "detections.csv", delimiter=",", skiprows=1, ndmin=2)[:, :3]
    bright = set(json.loads((folder / "result.json").read_text())["summary"]["bright_columns"])
    keep = np.flatnonzero(
        (found[:, 0] >= r0)
        & (found[:, 0] < r0 + size)
        & (found[:, 1] >= c0)
        & (found[:, 1] < c0 + size)
    )
    crop = found[keep] - np.array([r0, c0, 0.0])
    highlight = [i for i, k in enumerate(keep) if k in bright]
    fig = plot_overlay(
        AtomsWorkflow(),
        image[r0 : r0 + size, c0 : c0 + size],
        crop,
        title=f"central {size}×{size} px",
        highlight=highlight,
    )
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "analysis")
    parser.add_argument("--figures", type=Path, default=REPO / "docs" / "figures" / "analysis")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from autoscope.analysis.pipeline import analyze_file
    from autoscope.campaign.config import default_data_dir

    data = default_data_dir()
    args.figures.mkdir(parents=True, exist_ok=True)
    lines = ["| image | task | measured (knee point) | known |", "|---|---|---|---|"]
    for name, relative, task, load, options, note in CASES:
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        outcome = analyze_file(
            data / relative,
            task,
            args.out / name,
            workflow_options=options,
            population=args.population,
            generations=args.generations,
            seed=0,
            workers=args.workers,
            progress=False,
            **load,
        )
        seconds = time.perf_counter() - start
        zoom = task == "atoms" and min(outcome.loaded.image.shape) > 300
        for figure in ("pareto",) if zoom else ("overlay_chosen", "pareto"):
            shutil.copy(args.out / name / f"{figure}.png", args.figures / f"{name}_{figure}.png")
        if zoom:  # the whole image is in the report folder; the docs show a readable crop
            _zoom(outcome, args.out / name, args.figures / f"{name}_overlay_zoom.png")
        unit = outcome.loaded.unit if outcome.loaded.pixel_size else "px"
        line = _row(name, task, outcome.summary, unit, note)
        lines.append(line)
        result = json.loads((args.out / name / "result.json").read_text())
        print(
            f"{name}: {len(outcome.result.evaluations)} evaluations, front "
            f"{len(outcome.result.pareto)}, {seconds:.0f} s; "
            f"knee rewards {result['front'][result['knee']]['rewards']}",
            flush=True,
        )
        if task == "atoms" and outcome.summary["lattice_lengths_px"]:
            a, b = outcome.summary["lattice_lengths_px"]
            print(
                f"  lattice ratio {max(a, b) / min(a, b):.3f} "
                f"(SrTiO3 [110]: √2 = {math.sqrt(2):.3f})",
                flush=True,
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
