"""The measurements behind the analysis defaults that differ from the published recipe.

Walls: the knee of the two published rewards (straightness, length) against the
default three (+ continuity) on the PZT phase image. Particles: the knee without a
count reward against the default estimated count on the SiO2 HAADF. Default
search (NSGA-II 100 × 10, seed 0), one worker; about 2 min.

    .venv/bin/python examples/analysis/deviations.py
"""

from __future__ import annotations

from autoscope.analysis import ParticlesWorkflow, WallsWorkflow, search
from autoscope.analysis.pipeline import load_image
from autoscope.campaign.config import default_data_dir


def main() -> None:
    data = default_data_dir()
    pzt = load_image(data / "pfm_domains_dtmicroscope" / "PZT_final0001.h5", channel="PhaseRetrace")
    for objectives in [
        ("straightness", "wall_length"),
        ("straightness", "wall_length", "continuity"),
    ]:
        walls = WallsWorkflow(pixel_size=pzt.pixel_size, objectives=objectives)
        found = search(walls, pzt.image, seed=0)
        n = len(walls.run(pzt.image, found.pick(), found.context))
        print(f"walls, objectives {objectives}: knee has {n} branches")
    sio2 = load_image(data / "nanoparticles_sio2_edx_si" / "SiO2_HAADF_Image.hspy")
    for count in (None, "auto"):
        particles = ParticlesWorkflow(diameter=43, pixel_size=sio2.pixel_size, expected_count=count)
        found = search(particles, sio2.image, seed=0)
        n = len(particles.run(sio2.image, found.pick(), found.context))
        print(f"particles, expected_count={count}: knee has {n} particles")


if __name__ == "__main__":
    main()
