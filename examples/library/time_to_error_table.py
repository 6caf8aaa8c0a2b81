"""Print the time-to-error tables of library sweeps as Markdown (for docs/library.md).

Reads ``<sweep>/<dataset>-time-to-error.csv``, which ``autoscope bench`` writes
with the report of a library sweep.

Run: ``python examples/library/time_to_error_table.py bench/library-d3 bench/library-d4 ...``
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def fmt(value: str, spec: str) -> str:
    x = float(value)
    return "—" if math.isnan(x) else format(x, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="+", type=Path)
    args = parser.parse_args()
    print("| D | error ≤ | policy | median time (s) [95 % CI] | reached | ratio to cost-aware "
          "| Δ (s) [95 % CI] | p_Holm |")
    print("|---|---|---|---|---|---|---|---|")
    for sweep in args.sweeps:
        for path in sorted(sweep.glob("*-time-to-error.csv")):
            dataset = path.name.removesuffix("-time-to-error.csv")
            with open(path, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    delta = (
                        "—" if math.isnan(float(row["difference"])) else
                        f"{fmt(row['difference'], '+.0f')} [{fmt(row['difference_low'], '+.0f')}, "
                        f"{fmt(row['difference_high'], '+.0f')}]"
                    )
                    print(
                        f"| {dataset.rsplit('d', 1)[-1]} | {row['threshold']} | {row['policy']} | "
                        f"{fmt(row['median'], '.0f')} [{fmt(row['low'], '.0f')}, "
                        f"{fmt(row['high'], '.0f')}] | {row['reached']}/{row['n']} | "
                        f"{fmt(row['ratio'], '.2f')} | {delta} | {fmt(row['p_holm'], '.3g')} |"
                    )


if __name__ == "__main__":
    main()
