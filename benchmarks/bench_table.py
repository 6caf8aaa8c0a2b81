"""Print a sweep's results as a Markdown table (the tables in docs/ come from this).

    python benchmarks/bench_table.py bench/beps-dkl --step 110 \
        --metrics coverage_target_10_noinit coverage_target_25_noinit rmse

Each cell is the mean over seeds with its 95 % bootstrap interval, from the
sweep's ``results.csv``; a ``*`` marks a Holm-adjusted difference from the
sweep's reference policy at the sweep's alpha.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--step", required=True)
    parser.add_argument("--metrics", nargs="+", required=True)
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.sweep_dir / "results.csv")))
    rows = [r for r in rows if r["step"] == args.step and r["metric"] in args.metrics]
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    cells = {(r["policy"], r["metric"]): r for r in rows}
    print("| policy | " + " | ".join(args.metrics) + " |")
    print("|---" * (len(args.metrics) + 1) + "|")
    for policy in policies:
        out = []
        for metric in args.metrics:
            r = cells.get((policy, metric))
            if r is None or r["mean"] in ("", "nan"):
                out.append("–")
                continue
            star = "*" if r["significant"] == "True" else ""
            out.append(f"{float(r['mean']):.3f} [{float(r['ci_low']):.2f}, "
                       f"{float(r['ci_high']):.2f}]{star}")
        print(f"| {policy} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    main()
