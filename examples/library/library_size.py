"""How many particles a random library holds, and how many components it can cover.

Prints E[N] for mean radii of 500, 150 and 50 nm (σ = 0.3 μ, 50 % coverage of
a 2 × 2 mm grid of which ⅔ is usable) and the largest number of components D
with E[N] ≥ 10^D, and draws E[N] against μ with the 10^D thresholds.

Run: ``python examples/library/library_size.py [--out docs/figures/library/library_size.png]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autoscope.library.size import expected_particle_count, max_components, plot_library_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures/library/library_size.png"))
    args = parser.parse_args()
    print("mean radius (nm)   E[N]        components (E[N] >= 10^D)")
    for radius in (500.0, 150.0, 50.0):
        count = float(expected_particle_count(radius))
        print(f"{radius:14.0f}   {count:9.3g}   {int(max_components(radius))}")
    fig = plot_library_size()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
