"""Check the gym's fast HAADF model against a frozen-phonon multislice simulation (abTEM).

The fast model (:mod:`autoscope.gym.haadf`) treats HAADF as incoherent imaging:
a column scatters ``cross_section * sum Z^1.7`` of the probe onto the detector,
blurred by the probe intensity and thermal smearing, with no channelling. Here
both are run on the same small crop: one unit cell of SrTiO3 along [001],
23.4 Å thick (6 cells, the gym's thickness), scanned at the gym's 0.2 Å pixel,
with the gym's beam (200 kV, 21 mrad, no aberrations) and detector
(68–200 mrad). abTEM (an optional extra: ``pip install abtem``) runs the
multislice with frozen phonons (``--configs`` configurations, 0.08 Å rms
displacement, Lobato potentials, 0.05 Å sampling, 1 Å slices) on a 3 × 3-cell
periodic supercell; the central cell is scanned.

Printed: the Pearson correlation of the two images, the scattered fraction on
the Sr, TiO and O columns and the background in each, and their ratios. A
figure with both images and their row profiles goes to ``--out``.

    .venv/bin/python examples/gym/multislice_check.py --out docs/figures/gym   # ~2 min
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def fast_image(cell, n_repeats: int, pixel_A: float, n_px: int) -> np.ndarray:
    """The gym's fast model over one cell, `(n_px, n_px)`, pixel (0, 0) at the cell origin."""
    from autoscope.gym.haadf import Columns, haadf_image

    ly, lx = cell.size_A
    positions, zs = [], []
    for i in range(-2, 3):
        for j in range(-2, 3):
            positions.append(cell.positions_A + np.array([i * ly, j * lx]))
            zs.append(cell.counts * n_repeats)
    positions = np.concatenate(positions)
    counts = np.concatenate(zs)
    z_lists = [np.repeat(cell.species, row) for row in counts]
    columns = Columns.from_atoms(positions, z_lists)
    return haadf_image(columns, shape=(n_px, n_px), pixel_size_A=pixel_A, dose_e_per_A2=None).image


def multislice_image(atoms, cell_A: float, pixel_A: float, configs: int) -> np.ndarray:
    """abTEM frozen-phonon HAADF over the central cell of a 3 x 3 supercell, `(rows, cols)`."""
    import abtem

    abtem.config.set({"device": "cpu"})
    supercell = atoms.repeat((3, 3, 1))
    frozen = abtem.FrozenPhonons(supercell, num_configs=configs, sigmas=0.08, seed=0)
    potential = abtem.Potential(frozen, sampling=0.05, slice_thickness=1.0)
    probe = abtem.Probe(energy=200e3, semiangle_cutoff=21.0)
    probe.grid.match(potential)
    scan = abtem.GridScan(
        start=(cell_A, cell_A), end=(2 * cell_A, 2 * cell_A), sampling=pixel_A, endpoint=False
    )
    detector = abtem.AnnularDetector(inner=68.0, outer=200.0)
    measurement = probe.scan(potential, scan=scan, detectors=detector).compute(progress_bar=False)
    array = np.asarray(measurement.array)
    if array.ndim == 3:  # one image per frozen-phonon configuration
        array = array.mean(axis=0)
    return array.T  # abTEM is (x, y); the gym is (row = y, col = x)


def main() -> None:
    from autoscope.gym.materials import SRTIO3_A, oriented_structure, projected_cell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=8, help="frozen-phonon configurations")
    parser.add_argument("--out", type=Path, default=None, help="folder for the figure")
    args = parser.parse_args()

    pixel_A = SRTIO3_A / 20  # 0.195 Å: 20 x 20 pixels per cell
    n_cells = 6  # 23.4 Å
    cell = projected_cell("SrTiO3", "[001]")
    atoms = oriented_structure("SrTiO3", "[001]").repeat((1, 1, n_cells))
    start = time.perf_counter()
    slow = multislice_image(atoms, SRTIO3_A, pixel_A, args.configs)
    seconds = time.perf_counter() - start
    fast = fast_image(cell, n_cells, pixel_A, slow.shape[0])
    r = float(np.corrcoef(fast.ravel(), slow.ravel())[0, 1])
    print(f"multislice: {args.configs} frozen-phonon configurations, {seconds:.0f} s")
    print(f"Pearson correlation fast vs multislice: {r:.3f}")
    print("| site | fast | multislice | multislice / fast |")
    print("|---|---|---|---|")
    px = cell.positions_A / pixel_A

    def row(label: str, i: int, j: int) -> None:
        print(f"| {label} | {fast[i, j]:.4f} | {slow[i, j]:.4f} | {slow[i, j] / fast[i, j]:.2f} |")

    for name in ("Sr", "TiO", "O"):
        rows = [i for i, n in enumerate(cell.names) if n == name]
        if not rows:
            continue
        i, j = (int(round(v)) % fast.shape[0] for v in px[rows[0]])
        row(f"{name} column", i, j)
    # background: the pixel farthest from every column
    yy, xx = np.mgrid[: fast.shape[0], : fast.shape[1]]
    d = np.min(
        [np.hypot((yy - p[0] + 10) % 20 - 10, (xx - p[1] + 10) % 20 - 10) for p in px], axis=0
    )
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    row("background", int(i), int(j))
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        args.out.mkdir(parents=True, exist_ok=True)
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for ax, image, title in ((axes[0], fast, "fast model"), (axes[1], slow, "multislice")):
            shown = ax.imshow(image, cmap="gray")
            ax.set_title(f"{title} (scattered fraction)", fontsize=9)
            ax.set_axis_off()
            fig.colorbar(shown, ax=ax, fraction=0.046)
        sr_row = int(round(px[0][0])) % fast.shape[0]
        axes[2].plot(np.arange(fast.shape[1]) * pixel_A, fast[sr_row], label="fast model")
        axes[2].plot(np.arange(fast.shape[1]) * pixel_A, slow[sr_row], label="multislice")
        axes[2].set_xlabel("x (Å)")
        axes[2].set_title(f"row through the Sr column (r = {r:.2f})", fontsize=9)
        axes[2].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.out / "multislice_check.png", dpi=100)
        plt.close(fig)


if __name__ == "__main__":
    main()
