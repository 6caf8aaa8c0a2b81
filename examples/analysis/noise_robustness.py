"""Noise robustness of atom finding: rewards re-optimised per image vs fixed vs a CNN.

Synthetic HAADF images of an SrTiO3 [001]-like crystal (``autoscope.gym.haadf``:
probe at 200 kV / 21 mrad, Z^1.7 columns, thermal smearing, Poisson counts) with
known column positions, at doses from 1e2 to 1e5 e/Å². Each image is analysed
three ways and scored by F1 of the detected columns against the truth (one-to-one
matching within ``--radius`` Å):

* ``LoG* rewards``: the atoms workflow re-optimised on *this* image by NSGA-II
  against the physics rewards (count from the calibrated lattice, duplicates +
  gaps); the knee of the Pareto front is used. No labels.
* ``LoG fixed``: the knee found on the *clean* image of the same crystal, applied
  unchanged to the noisy images (hand-tuning once, then using it everywhere).
* ``CNN (clean)``: ``AtomNet`` trained on clean simulated images of random lattices.

The same crystal (seed) is imaged at every dose, so doses differ only by noise.
Runs on a local process pool (one thread per worker).

    .venv/bin/python examples/analysis/noise_robustness.py --out bench/noise   # ~10 min
    .venv/bin/python examples/analysis/noise_robustness.py --quick --out /tmp/n  # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

DOSES = (1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5)
METHODS = ("LoG* rewards", "LoG fixed", "CNN (clean)")
PIXEL_SIZE_A = 0.2
A_A = 3.905


def _pin() -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import torch

    torch.set_num_threads(1)


def _image(seed: int, dose: float | None, shape: int):
    from autoscope.gym import simulate_lattice_image

    rng = np.random.default_rng([seed, 7])
    return simulate_lattice_image(
        (shape, shape),
        pixel_size_A=PIXEL_SIZE_A,
        a_A=A_A,
        dose_e_per_A2=dose,
        rotation_deg=float(rng.uniform(0, 90)),
        vacancy_fraction=0.02,
        seed=seed,
    )


def _workflow():
    from autoscope.analysis import AtomsWorkflow, lattice_from_constants

    lattice = lattice_from_constants(A_A, A_A, 90.0, pixel_size=PIXEL_SIZE_A)
    return AtomsWorkflow(atoms_per_cell=2, lattice=lattice)  # Sr + Ti-O columns per cell


def _search(image: np.ndarray, seed: int, population: int, generations: int):
    from autoscope.analysis import search

    workflow = _workflow()
    result = search(workflow, image, population=population, generations=generations, seed=seed)
    return workflow, result


def _f1(found: np.ndarray, truth: np.ndarray, radius_px: float) -> float:
    from autoscope.metrics import match_detections

    return match_detections(np.asarray(found)[:, :2], truth, radius=radius_px).f1


def _crystal(task: dict) -> list[dict]:
    """Every dose of one crystal: the three methods' F1 (runs in a worker)."""
    _pin()
    from autoscope.analysis.atomnet import find_atoms_cnn, load_atomnet

    seed, shape, radius_px = task["seed"], task["shape"], task["radius_px"]
    population, generations = task["population"], task["generations"]
    model = load_atomnet(task["model"])
    clean = _image(seed, None, shape)
    workflow, clean_result = _search(clean.image, seed, population, generations)
    fixed_params = clean_result.pick()
    rows = []
    for dose in [None, *task["doses"]]:
        sim = clean if dose is None else _image(seed, dose, shape)
        truth = sim.positions_px
        scores: dict[str, float] = {}
        start = time.perf_counter()
        try:
            workflow, result = _search(sim.image, seed, population, generations)
            found = workflow.run(sim.image, result.pick(), result.context)
            scores["LoG* rewards"] = _f1(found, truth, radius_px)
        except Exception as err:  # noqa: BLE001 - a failed search scores 0, with the reason
            scores["LoG* rewards"] = 0.0
            print(f"seed {seed} dose {dose}: search failed: {err}", flush=True)
        search_s = time.perf_counter() - start
        context = workflow.prepare(sim.image)
        scores["LoG fixed"] = _f1(workflow.run(sim.image, fixed_params, context), truth, radius_px)
        scores["CNN (clean)"] = _f1(find_atoms_cnn(sim.image, model), truth, radius_px)
        rows.append(
            {"seed": seed, "dose": dose, "n_truth": len(truth), "search_s": search_s, **scores}
        )
    return rows


def _summarise(rows: list[dict], doses: list[float | None]) -> tuple[str, dict]:
    from autoscope.bench.stats import bootstrap_ci

    lines = ["| dose (e/Å²) | " + " | ".join(METHODS) + " |", "|---" * (len(METHODS) + 1) + "|"]
    summary: dict = {}
    for dose in doses:
        cells = []
        for method in METHODS:
            values = np.array([r[method] for r in rows if r["dose"] == dose])
            ci = bootstrap_ci(values, seed=0)
            summary.setdefault(method, []).append(
                {
                    "dose": dose,
                    "mean": float(values.mean()),
                    "low": float(ci.low),
                    "high": float(ci.high),
                    "n": int(len(values)),
                }
            )
            cells.append(f"{values.mean():.3f} [{float(ci.low):.2f}, {float(ci.high):.2f}]")
        label = "clean" if dose is None else f"{dose:.0e}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def _paired(rows: list[dict], doses: list[float | None]) -> str:
    """LoG* rewards against each other method, paired by crystal: Wilcoxon, Holm per dose."""
    from autoscope.bench.stats import compare, holm

    lines = [
        "| dose (e/Å²) | vs | median ΔF1 [95 % CI] | rank-biserial | Holm p |",
        "|---|---|---|---|---|",
    ]
    for dose in doses:
        by_seed = sorted((r for r in rows if r["dose"] == dose), key=lambda r: r["seed"])
        ours = np.array([r["LoG* rewards"] for r in by_seed])
        others = [m for m in METHODS if m != "LoG* rewards"]
        results = [compare(ours, np.array([r[m] for r in by_seed]), paired=True) for m in others]
        adjusted = holm([c.p_value for c in results])
        label = "clean" if dose is None else f"{dose:.0e}"
        for method, c, p in zip(others, results, adjusted, strict=True):
            lines.append(
                f"| {label} | {method} | {c.median_difference:+.3f} [{c.difference_low:+.3f}, "
                f"{c.difference_high:+.3f}] | {c.rank_biserial:+.2f} | {p:.3f} |"
            )
    return "\n".join(lines)


def _figure(summary: dict, path: Path, n_images: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for method, points in summary.items():
        noisy = [p for p in points if p["dose"] is not None]
        dose = [p["dose"] for p in noisy]
        (line,) = ax.plot(dose, [p["mean"] for p in noisy], "o-", label=method)
        ax.fill_between(
            dose,
            [p["low"] for p in noisy],
            [p["high"] for p in noisy],
            color=line.get_color(),
            alpha=0.2,
        )
    ax.set_xscale("log")
    ax.set_xlabel("dose (e/Å²)")
    ax.set_ylabel("F1 of detected columns")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"SrTiO3-like HAADF, {n_images} crystals per dose, 95 % bootstrap CI", fontsize=9)
    ax.legend()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/noise-robustness"))
    parser.add_argument("--images", type=int, default=10, help="crystals (seeds) per dose")
    parser.add_argument("--shape", type=int, default=256, help="image side (px)")
    parser.add_argument("--population", type=int, default=40)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--radius", type=float, default=0.6, help="matching radius (Å)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--figure", type=Path, default=None, help="also save the figure here")
    parser.add_argument("--quick", action="store_true", help="2 crystals, 2 doses, tiny search")
    parser.add_argument(
        "--summarise", action="store_true", help="only re-read OUT/rows.json and print the tables"
    )
    args = parser.parse_args()
    _pin()
    from autoscope.analysis.atomnet import save_atomnet, train_atomnet

    doses = list(DOSES)
    if args.quick:
        args.images, args.shape, args.population, args.generations = 2, 96, 8, 2
        doses = [1e3, 1e5]
    if args.summarise:
        rows = json.loads((args.out / "rows.json").read_text())
        doses = sorted({r["dose"] for r in rows if r["dose"] is not None})
        tables = _summarise(rows, [None, *doses])[0] + "\n\n" + _paired(rows, [None, *doses])
        (args.out / "table.md").write_text(tables + "\n")
        print(tables)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model_path = args.out / "atomnet.pt"
    epochs = 5 if args.quick else 60
    save_atomnet(train_atomnet(epochs=epochs, n_images=8 if args.quick else 32, seed=0), model_path)
    print(f"AtomNet trained on clean images in {time.perf_counter() - start:.1f} s", flush=True)
    tasks = [
        {
            "seed": seed,
            "shape": args.shape,
            "doses": doses,
            "model": str(model_path),
            "radius_px": args.radius / PIXEL_SIZE_A,
            "population": args.population,
            "generations": args.generations,
        }
        for seed in range(args.images)
    ]
    rows: list[dict] = []
    context = get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        for done, crystal in enumerate(pool.map(_crystal, tasks), start=1):
            rows.extend(crystal)
            print(
                f"crystal {done}/{len(tasks)} done ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    table, summary = _summarise(rows, [None, *doses])
    (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    paired = _paired(rows, [None, *doses])
    (args.out / "table.md").write_text(table + "\n\n" + paired + "\n")
    _figure(summary, args.out / "noise_robustness.png", args.images)
    if args.figure:
        _figure(summary, args.figure, args.images)
    search_s = np.median([r["search_s"] for r in rows])
    print(table)
    print(
        f"median search time per image: {search_s:.1f} s; total {time.perf_counter() - start:.0f} s"
    )
    print(f"outputs: {args.out}")


if __name__ == "__main__":
    main()
