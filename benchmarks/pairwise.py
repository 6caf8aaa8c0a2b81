"""Pairwise comparisons inside a finished sweep: one policy against several others.

``autoscope bench`` compares every policy with one reference; the BEACON-DKL
question ("does BEACON's target coverage exceed EI's, MU's and random's?")
needs BEACON against each of them. Paired Wilcoxon signed-rank tests by seed,
Holm-corrected over the policies compared at each metric and step.

    python benchmarks/pairwise.py bench/beps-dkl dkl-beacon dkl-ei dkl-mu random \
        --metrics coverage_target_10_noinit coverage_target_25_noinit --steps 60 110
"""

from __future__ import annotations

import argparse

import numpy as np

from autoscope.bench.results import load_sweep
from autoscope.bench.stats import compare, holm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir")
    parser.add_argument("policy", help="the policy tested against the others")
    parser.add_argument("others", nargs="+")
    parser.add_argument("--metrics", nargs="+", required=True)
    parser.add_argument("--steps", nargs="+", type=int, required=True)
    parser.add_argument("--dataset", default=None, help="default: the sweep's first dataset")
    args = parser.parse_args()
    data = load_sweep(args.sweep_dir)
    dataset = args.dataset or data.spec.datasets[0].name
    print(f"{dataset}: {args.policy} - other (median difference [95% CI]), Wilcoxon p, Holm p")
    for metric in args.metrics:
        for step in args.steps:
            a = data.values_at(dataset, args.policy, metric, step)
            results = [compare(a, data.values_at(dataset, o, metric, step), paired=True)
                       for o in args.others]
            adjusted = holm(np.array([r.p_value for r in results]))
            for other, result, p_holm in zip(args.others, results, adjusted, strict=True):
                low, high = result.difference_low, result.difference_high
                print(f"  {metric:28s} step {step:4d} vs {other:18s} "
                      f"{result.median_difference:+.3f} [{low:+.3f}, {high:+.3f}]  "
                      f"p {result.p_value:.4f}  Holm {p_holm:.4f}")


if __name__ == "__main__":
    main()
