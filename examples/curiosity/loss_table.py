"""Print the final/best-ever loss table of a curiosity sweep as Markdown (for docs/curiosity.md).

Run: ``python examples/curiosity/loss_table.py bench/curiosity-beps beps [--metrics test_mse ...]``
"""

from __future__ import annotations

import argparse

from autoscope.bench.curiosity import loss_rows
from autoscope.bench.results import load_sweep
from autoscope.viz.report import format_interval, format_or_dash


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("dataset")
    parser.add_argument("--metrics", nargs="*", default=None)
    parser.add_argument("--reference", default=None, help="policy to compare with")
    args = parser.parse_args()
    data = load_sweep(args.sweep)
    reference = args.reference or data.spec.reference
    print(f"| loss | policy | mean [95 % CI] | n | Δ vs {reference} [95 % CI] "
          "| p_Holm | r |")
    print("|---|---|---|---|---|---|---|")
    for r in loss_rows(data, args.dataset, reference=reference):
        if args.metrics and r.metric not in args.metrics:
            continue
        delta = format_interval(r.difference, r.difference_low, r.difference_high, "+.3g")
        p = format_or_dash(r.p_holm, ".3g")
        rb = format_or_dash(r.rank_biserial, "+.2f")
        print(f"| {r.metric} | {r.policy} | {r.mean:.4g} [{r.low:.4g}, {r.high:.4g}] | {r.n} "
              f"| {delta} | {p} | {rb} |")


if __name__ == "__main__":
    main()
