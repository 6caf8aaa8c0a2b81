"""Held-out accuracy of the classical and the shipped CNN analyst on fully scanned worlds.

For every material and difficulty, ``--seeds`` worlds (seeds 900 000 + k, never
used in training, which draws seeds from 0), 256 × 256 px, are scanned tile by
tile at one dose (each of ``--doses``); both analysts see the same frames. The
table gives, per material, analyst and dose, the mean over difficulties and
seeds of: column recall and precision (matching radius 0.4 column spacings),
defect-census F1 and its vacancy/substitution F1, phase accuracy, targeted
search found, nanoparticle score, and the median update time per tile.

    .venv/bin/python examples/gym/analyst_accuracy.py            # about 3 min
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from autoscope.gym.analysts import make_analyst  # noqa: E402
from autoscope.gym.tasks import task_score  # noqa: E402
from autoscope.gym.world import DIFFICULTIES, MATERIALS, make_world  # noqa: E402
from autoscope.metrics.detection import match_detections  # noqa: E402

COLUMNS = (
    "recall", "precision", "census", "f1 vac", "f1 sub", "phase", "search", "particles", "ms"
)  # fmt: skip


def evaluate(material: str, difficulty: str, seed: int, dose: float, analysts: dict) -> dict:
    world = make_world(material, difficulty, seed=900_000 + seed)
    info, truth = world.info, world.truth
    rng = np.random.default_rng(seed)
    frames = [(b, world.acquire(b, dose, rng)) for b in map(info.tile_bounds, range(info.n_tiles))]
    rows = {}
    for name, analyst in analysts.items():
        analyst.reset(info)
        mosaic = np.zeros(info.shape, np.float32)
        dose_map = np.zeros(info.shape, np.float32)
        seconds = []
        for (r0, r1, c0, c1), frame in frames:
            mosaic[r0:r1, c0:c1] = frame
            dose_map[r0:r1, c0:c1] = dose
            start = time.perf_counter()
            findings = analyst.update(mosaic, dose_map, (r0, r1, c0, c1))
            seconds.append(time.perf_counter() - start)
        row = {"ms": 1e3 * float(np.median(seconds))}
        if len(truth.atom_positions_nm):
            true_px = np.asarray(truth.atom_positions_nm) * 10 / info.pixel_size_A
            radius = 0.4 * info.column_spacing_A / info.pixel_size_A
            match = match_detections(findings.atoms_px, true_px, radius=radius)
            row |= {"recall": match.recall, "precision": match.precision}
        for task in info.tasks:
            score = task_score(task, findings, truth, info)
            key = {"defect-census": "census", "phase-mapping": "phase",
                   "targeted-search": "search", "nanoparticle": "particles"}[task]  # fmt: skip
            row[key] = score.value
            if task == "defect-census":
                row["f1 vac"] = score.details["f1_vacancy"]
                row["f1 sub"] = score.details["f1_substitution"]
        rows[name] = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--doses", type=float, nargs="+", default=[2e3, 1e4, 5e4])
    parser.add_argument("--materials", nargs="+", default=list(MATERIALS))
    args = parser.parse_args()
    analysts = {"classical": make_analyst("classical"), "cnn": make_analyst("cnn")}
    table: dict[tuple[str, str, float], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for material in args.materials:
        for dose in args.doses:
            for difficulty in DIFFICULTIES:
                for seed in range(args.seeds):
                    for name, row in evaluate(material, difficulty, seed, dose, analysts).items():
                        for key, value in row.items():
                            table[(material, name, dose)][key].append(value)
    print("| material | analyst | dose (e/Å²) | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for (material, name, dose), values in table.items():
        cells = [f"{np.mean(values[k]):.2f}" if k in values else "—" for k in COLUMNS]
        print(f"| {material} | {name} | {dose:.0e} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
