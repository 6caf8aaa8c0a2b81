"""Print the time-to-error tables of library sweeps as Markdown (for docs/library.md).

Reads ``<sweep>/<dataset>-time-to-error.csv``, which ``autoscope bench`` writes
with the report of a library sweep.

Run: ``python examples/library/time_to_error_table.py bench/library-d3 bench/library-d4 ...``
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from autoscope.viz.report import format_interval, format_or_dash


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
                    x = {k: float(v) for k, v in row.items() if k not in ("policy", "threshold")}
                    delta = format_interval(
                        x["difference"], x["difference_low"], x["difference_high"], "+.0f"
                    )
                    time = (
                        f"{format_or_dash(x['median'], '.0f')} [{format_or_dash(x['low'], '.0f')}, "
                        f"{format_or_dash(x['high'], '.0f')}]"
                    )
                    print(
                        f"| {dataset.rsplit('d', 1)[-1]} | {row['threshold']} | {row['policy']} | "
                        f"{time} | {row['reached']}/{row['n']} | "
                        f"{format_or_dash(x['ratio'], '.2f')} | {delta} | "
                        f"{format_or_dash(x['p_holm'], '.3g')} |"
                    )


if __name__ == "__main__":
    main()
