"""The gym analysts on real atomic-resolution images (the issue's real-data check).

Runs the classical and the shipped CNN analyst (:func:`autoscope.gym.apply.analyse_image`)
on three real images in ``../shared/data`` and prints one Markdown table: columns
found, the lattice measured from the found columns and from the FFT against the
known values, and the columns flagged as defects. Writes an overlay figure per
image and analyst into ``--out``.

* SrTiO3 [110] ADF (``stem_adf_abf_srtio3``, 0.00933 nm/px): column repeats
  a = 0.3905 nm along [001] and a√2 = 0.552 nm along [1-10]; analysed as SrTiO3
  (whose phases are the [001] and [110] grains, so the phase the analyst assigns
  is a check too).
* SrTiO3 survey (``stem_eels_si_sto``, pixel size not calibrated): spacings in
  pixels and their ratios; to resample it for the analyst, the zone axis is read
  from the FFT cell (sides in ratio √2: [110], a/√2 × a; equal: [001]) and the
  cell is assumed to be SrTiO3's (a = 0.3905 nm) — an assumption, not a calibration.
* Se-implanted MoS2 (``haadf_mos2_se_implanted``, 0.0127 nm/px): Mo–Mo a = 0.316 nm,
  nearest projected Mo–S2 spacing a/√3 = 0.182 nm; not a simulated material, so an
  out-of-distribution test (analysed with the GaN vocabulary, the other hexagonal
  crystal of the gym).

    .venv/bin/python examples/gym/real_data_check.py --out docs/figures/gym
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("AUTOSCOPE_DATA", REPO.parent / "shared" / "data"))


def lattice_from_columns(positions: np.ndarray) -> tuple[float, float]:
    """Median nearest-neighbour spacing and median second-neighbour spacing (px)."""
    from scipy.spatial import cKDTree

    if len(positions) < 3:
        return math.nan, math.nan
    d, _ = cKDTree(positions).query(positions, k=3)
    return float(np.median(d[:, 1])), float(np.median(d[:, 2]))


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autoscope.analysis.lattice import estimate_lattice
    from autoscope.data.readers import read
    from autoscope.gym.analysts import make_analyst
    from autoscope.gym.apply import analyse_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("real-data-check"))
    parser.add_argument("--analysts", nargs="+", default=["classical", "cnn"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    cases = []
    adf = read(DATA / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5", reader="hspy").image
    # The scan has [001] along its rows; the simulated [110] grain along its columns.
    cases.append(("SrTiO3 [110] ADF", "srtio3-adf", adf, 0.0933, "SrTiO3",
                  "a = 0.3905 nm along [001], a√2 = 0.552 nm along [1-10]", True))  # fmt: skip
    survey = read(DATA / "stem_eels_si_sto" / "DMReader_Image_SI-Survey.dm3").image
    survey_lattice = estimate_lattice(np.asarray(survey, dtype=float))
    short, long = sorted(survey_lattice.lengths)
    # A rectangular cell with sides in ratio √2 is the [110] projection (a/√2 × a); a
    # square one is [001] (a × a). The ratio is measured; a = 0.3905 nm is assumed.
    view_110 = abs(long / short - math.sqrt(2)) < abs(long / short - 1.0)
    survey_px = (3.905 / math.sqrt(2) if view_110 else 3.905) / short
    cases.append(("SrTiO3 survey", "srtio3-survey", survey, survey_px, "SrTiO3",
                  "uncalibrated: px and ratios", False))  # fmt: skip
    mos2 = read(DATA / "haadf_mos2_se_implanted" / "example_Se_implanted_MoS2.dm3").image
    cases.append(("MoS2:Se HAADF", "mos2", mos2, 0.127, "GaN",
                  "a = 0.316 nm, Mo–S2 a/√3 = 0.182 nm", False))  # fmt: skip

    print("| image | analyst | columns | NN spacing | 2nd NN | FFT lattice | defects "
          "(vac/sub) | phase | known |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for title, stem, image, pixel_A, material, known, transpose in cases:
        image = np.asarray(image, dtype=float)
        fft = estimate_lattice(image)
        a1, a2 = sorted(fft.lengths)
        nm_per_px = pixel_A / 10 if stem != "srtio3-survey" else None

        def unit(px: float, nm_per_px: float | None = nm_per_px) -> str:
            return f"{px * nm_per_px:.3f} nm" if nm_per_px else f"{px:.1f} px"

        fft_text = f"{unit(a1)} × {unit(a2)} ({a2 / a1:.3f}, {fft.angle_deg:.0f}°)"
        for name in args.analysts:
            result = analyse_image(
                image, pixel_A, analyst=make_analyst(name), material=material, transpose=transpose
            )
            atoms = result.atoms_px
            types = np.asarray(result.findings.atom_types)
            nn1, nn2 = lattice_from_columns(atoms)
            phase = "–"
            if result.findings.phase_map is not None:
                shares = [
                    np.mean(result.findings.phase_map == i)
                    for i in range(len(result.info.phase_names))
                ]
                phase = ", ".join(
                    f"{n} {s:.2f}" for n, s in zip(result.info.phase_names, shares, strict=True)
                )
            ratio = f" (ratio {nn2 / nn1:.3f})" if np.isfinite(nn1) else ""
            print(
                f"| {title} | {name} | {len(atoms)} | {unit(nn1)} | {unit(nn2)}{ratio} "
                f"| {fft_text} "
                f"| {int(np.sum(types == 1))}/{int(np.sum(types == 2))} | {phase} | {known} |"
            )
            fig, ax = plt.subplots(figsize=(5.2, 5.2))
            ax.imshow(image, cmap="gray")
            ax.scatter(
                atoms[types == 0, 1], atoms[types == 0, 0], s=6, c="tab:cyan", label="column"
            )
            ax.scatter(atoms[types == 1, 1], atoms[types == 1, 0], s=24, facecolors="none",
                       edgecolors="tab:orange", label="vacancy")  # fmt: skip
            ax.scatter(atoms[types == 2, 1], atoms[types == 2, 0], s=24, facecolors="none",
                       edgecolors="tab:red", label="substitution")  # fmt: skip
            ax.set_title(f"{title}: {name} analyst, {len(atoms)} columns", fontsize=9)
            ax.legend(loc="lower right", fontsize=7)
            ax.set_axis_off()
            fig.tight_layout()
            fig.savefig(args.out / f"real-{stem}-{name}.png", dpi=80)
            plt.close(fig)


if __name__ == "__main__":
    main()
