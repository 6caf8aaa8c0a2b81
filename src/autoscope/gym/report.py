"""The report of a gym sweep: DEC-AUC per configuration, the statistics, transfer.

:func:`write_gym_report` reads every ``episode.json`` of a sweep directory and
writes ``report.md`` (tables and figures), ``dec_auc.csv`` (one row per
episode and task) and ``summary.json``. The statistics follow the issue:

* **DEC-AUC** per configuration and task, mean with a 95 % bootstrap interval
  over (world, seed) pairs;
* **navigator tests**: every navigator against the reference navigator under
  the same analyst, paired Wilcoxon signed-rank over (world, seed) pairs,
  Holm-adjusted over every navigator comparison of the report (the family the
  paper corrected by Bonferroni; both are given);
* **equivalence**: paired TOST of each navigator swap with the spec's margin;
* **perception**: each analyst against the classical one under the same
  navigator (same test and correction), with the ratio of mean DEC-AUCs;
* **rank stability**: configurations ranked by mean DEC-AUC per task, with
  Kendall's W over tasks (1: the same order on every task);
* **reliability**: per configuration, the share of episodes that reach a
  positive score, the 10th percentile and the spread of DEC-AUC;
* **transfer matrix**: configurations tagged with ``train_material`` give
  rows (analyst trained on one material), columns are the evaluated world's
  material; cells are mean DEC-AUC on the world's primary task.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from autoscope.bench.stats import bootstrap_ci, compare, holm, tost_paired
from autoscope.errors import RunStoreError

__all__ = ["kendall_w", "write_gym_report"]


def kendall_w(ranks: np.ndarray) -> float:
    """Kendall's coefficient of concordance of ``m`` rankings of ``n`` items.

    Args:
        ranks: `(m, n)` ranks (1..n, ties as average ranks), one row per ranking.

    Returns:
        ``W`` in [0, 1] (no tie correction); NaN for fewer than 2 rankings or items.

    Example:
        >>> kendall_w(np.array([[1, 2, 3], [1, 2, 3]]))
        1.0
        >>> kendall_w(np.array([[1, 2, 3], [3, 2, 1]]))
        0.0
    """
    ranks = np.asarray(ranks, dtype=float)
    m, n = ranks.shape
    if m < 2 or n < 2:
        return math.nan
    totals = ranks.sum(axis=0)
    s = float(((totals - totals.mean()) ** 2).sum())
    return 12.0 * s / (m**2 * (n**3 - n))


def _load(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from autoscope.gym.bench import read_episodes

    spec_path = root / "spec.json"
    if not spec_path.exists():
        raise RunStoreError(f"{root} is not a gym sweep directory (no spec.json)")
    return json.loads(spec_path.read_text()), read_episodes(root)


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(x) else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:.1e}" if x < 1e-3 else f"{x:.3f}"


def write_gym_report(sweep_dir: str | Path, *, confidence: float = 0.95) -> Path:
    """Write ``report.md``, ``dec_auc.csv``, ``summary.json`` and figures of a gym sweep.

    Works on a partly finished sweep (statistics use the pairs there are).

    Args:
        sweep_dir: A directory written by ``autoscope bench`` with a gym spec.
        confidence: Coverage of every interval.

    Returns:
        Path of ``report.md``.

    Raises:
        RunStoreError: ``sweep_dir`` is not a gym sweep directory.
    """
    root = Path(sweep_dir)
    spec, episodes = _load(root)
    gym = spec["gym"]
    n_boot = int(gym.get("n_boot", 2000))
    alpha = float(gym.get("alpha", 0.05))
    margin = float(gym.get("tost_margin", 0.05))
    reference = str(gym.get("reference", "raster"))
    configs = {c["label"]: c for c in spec["configurations"]}
    # Transfer rows are reported in their own matrix; a transfer-only sweep still
    # gets the per-configuration tables.
    main = [c for c in configs.values() if not c.get("train_material")] or list(configs.values())
    figures = root / "figures"
    figures.mkdir(exist_ok=True)

    # value[(label, task)][(world, seed)] = DEC-AUC
    value: dict[tuple[str, str], dict[tuple[str, int], float]] = defaultdict(dict)
    for ep in episodes:
        for task, auc in ep["dec_auc"].items():
            value[(ep["configuration"], task)][(ep["world"], ep["seed"])] = float(auc)
    tasks = sorted({t for (_, t) in value})
    _write_csv(root / "dec_auc.csv", episodes)

    lines = [
        f"# Gym benchmark `{gym['name']}`",
        "",
        f"{len(episodes)} episodes; worlds {', '.join(gym['materials'])} × "
        f"{', '.join(gym['difficulties'])}; seeds {len(gym['seeds'])}; "
        f"environment options {json.dumps(gym.get('env', {}))}.",
        "",
        "DEC-AUC is the area under the task score against the dose fraction used "
        "(0: nothing found, 1: everything at no dose). Pairs are (world, seed). "
        f"Intervals: {confidence:.0%} bootstrap over pairs ({n_boot} resamples).",
        "",
    ]
    summary: dict[str, Any] = {"dec_auc": {}, "navigator_tests": [], "perception_tests": []}

    # 1. DEC-AUC table.
    lines += ["## DEC-AUC per configuration and task", ""]
    lines += ["| configuration | " + " | ".join(tasks) + " |"]
    lines += ["|---|" + "---|" * len(tasks)]
    for conf in main:
        cells = []
        for task in tasks:
            vals = np.array(list(value.get((conf["label"], task), {}).values()))
            if vals.size == 0:
                cells.append("–")
                continue
            ci = bootstrap_ci(vals, confidence=confidence, n_boot=n_boot)
            cells.append(f"{float(ci.estimate):.3f} [{float(ci.low):.3f}, {float(ci.high):.3f}]")
            summary["dec_auc"].setdefault(conf["label"], {})[task] = {
                "mean": float(ci.estimate),
                "low": float(ci.low),
                "high": float(ci.high),
                "n": int(vals.size),
            }
        lines.append(f"| {conf['label']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(_figure_bars(figures, summary["dec_auc"], tasks))
    lines.append("")

    # 2. Navigator tests under a fixed analyst, and TOST.
    def paired(a_label: str, b_label: str, task: str) -> tuple[np.ndarray, np.ndarray]:
        a, b = value.get((a_label, task), {}), value.get((b_label, task), {})
        keys = sorted(set(a) & set(b))
        return np.array([a[k] for k in keys]), np.array([b[k] for k in keys])

    by_pair = {(c["navigator"], c["analyst"]): c["label"] for c in main}
    nav_rows = []
    for (navigator, analyst), label in sorted(by_pair.items()):
        ref = by_pair.get((reference, analyst))
        if navigator == reference or ref is None:
            continue
        for task in tasks:
            a, b = paired(label, ref, task)
            if a.size < 2:
                continue
            cmp = compare(a, b, paired=True, confidence=confidence, n_boot=n_boot)
            eq = tost_paired(a, b, margin, alpha=alpha)
            nav_rows.append((label, ref, task, a, b, cmp, eq))
    if nav_rows:
        p = np.array([row[5].p_value for row in nav_rows])
        p_holm = holm(p)
        p_bonf = np.minimum(1.0, p * np.isfinite(p).sum())
        lines += [
            f"## Navigators against {reference} under the same analyst",
            "",
            f"Paired Wilcoxon signed-rank over (world, seed); Holm and Bonferroni over the "
            f"{len(nav_rows)} comparisons below. Equivalence: paired TOST with margin "
            f"±{margin} DEC-AUC at α = {alpha} (equivalent when the {1 - 2 * alpha:.0%} CI of "
            "the mean difference lies inside the margin).",
            "",
            "| configuration | vs | task | n | mean diff [90 % CI] | p | Holm | Bonferroni "
            "| equivalent (TOST p) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for i, (label, ref, task, _a, _b, cmp, eq) in enumerate(nav_rows):
            lines.append(
                f"| {label} | {ref} | {task} | {cmp.n_a} | {eq.mean_difference:+.3f} "
                f"[{eq.ci_low:+.3f}, {eq.ci_high:+.3f}] | {_p(cmp.p_value)} | {_p(p_holm[i])} "
                f"| {_p(p_bonf[i])} | {'yes' if eq.equivalent else 'no'} ({_p(eq.p_value)}) |"
            )
            summary["navigator_tests"].append(
                {
                    "configuration": label,
                    "reference": ref,
                    "task": task,
                    "n": cmp.n_a,
                    "mean_difference": eq.mean_difference,
                    "p": cmp.p_value,
                    "p_holm": float(p_holm[i]),
                    "p_bonferroni": float(p_bonf[i]),
                    "tost_p": eq.p_value,
                    "equivalent": bool(eq.equivalent),
                    "margin": margin,
                }
            )
        lines.append("")

    # 3. Perception: each analyst against the classical one under the same navigator.
    perc_rows = []
    for (navigator, analyst), label in sorted(by_pair.items()):
        base = by_pair.get((navigator, "classical"))
        if analyst == "classical" or base is None:
            continue
        for task in tasks:
            a, b = paired(label, base, task)
            if a.size < 2:
                continue
            perc_rows.append((label, base, task, a, b, compare(a, b, paired=True, n_boot=n_boot)))
    if perc_rows:
        p = np.array([row[5].p_value for row in perc_rows])
        p_holm = holm(p)
        lines += [
            "## Analysts against the classical analyst under the same navigator",
            "",
            "| configuration | vs | task | n | mean | vs mean | ratio | p | Holm |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for i, (label, base, task, a, b, cmp) in enumerate(perc_rows):
            ratio = a.mean() / b.mean() if b.mean() > 0 else math.inf
            lines.append(
                f"| {label} | {base} | {task} | {cmp.n_a} | {a.mean():.3f} | {b.mean():.3f} "
                f"| {ratio:.2f}× | {_p(cmp.p_value)} | {_p(p_holm[i])} |"
            )
            summary["perception_tests"].append(
                {
                    "configuration": label,
                    "reference": base,
                    "task": task,
                    "mean": float(a.mean()),
                    "reference_mean": float(b.mean()),
                    "p": cmp.p_value,
                    "p_holm": float(p_holm[i]),
                }
            )
        lines.append("")

    # 4. Rank stability across tasks.
    labels = [c["label"] for c in main]
    means = np.array(
        [
            [
                np.mean(list(value[(lab, t)].values())) if value.get((lab, t)) else np.nan
                for lab in labels
            ]
            for t in tasks
        ]
    )
    usable = ~np.isnan(means).any(axis=1)
    if usable.sum() >= 2 and len(labels) >= 2:
        ranks = np.array([stats.rankdata(-row) for row in means[usable]])
        w = kendall_w(ranks)
        summary["kendall_w"] = w
        lines += [
            "## Rank stability across tasks",
            "",
            f"Configurations ranked by mean DEC-AUC on each task (1 = best); Kendall's W = "
            f"{w:.2f} over {int(usable.sum())} tasks.",
            "",
            "| configuration | " + " | ".join(np.array(tasks)[usable]) + " |",
            "|---|" + "---|" * int(usable.sum()),
        ]
        for j, lab in enumerate(labels):
            lines.append(f"| {lab} | " + " | ".join(f"{r[j]:g}" for r in ranks) + " |")
        lines.append("")

    # 5. Per-episode reliability.
    lines += [
        "## Per-episode reliability",
        "",
        "Share of episodes with DEC-AUC > 0 (the task score rose at all), the 10th "
        "percentile and the coefficient of variation, per task.",
        "",
        "| configuration | task | episodes | share > 0 | P10 | median | CV |",
        "|---|---|---|---|---|---|---|",
    ]
    for lab in labels:
        for task in tasks:
            vals = np.array(list(value.get((lab, task), {}).values()))
            if vals.size == 0:
                continue
            cv = vals.std() / vals.mean() if vals.mean() > 0 else math.nan
            lines.append(
                f"| {lab} | {task} | {vals.size} | {np.mean(vals > 0):.2f} "
                f"| {np.percentile(vals, 10):.3f} | {np.median(vals):.3f} | {_fmt(cv, 2)} |"
            )
    lines.append("")

    # 6. Transfer matrix.
    transfer = [c for c in configs.values() if c.get("train_material")]
    if transfer:
        from autoscope.gym.world import TASKS_BY_MATERIAL

        trained = sorted({c["train_material"] for c in transfer})
        evaluated = sorted({ep["material"] for ep in episodes if ep["train_material"]})
        matrix = np.full((len(trained), len(evaluated)), np.nan)
        for i, tm in enumerate(trained):
            for j, em in enumerate(evaluated):
                primary = TASKS_BY_MATERIAL[em][0]
                vals = [
                    ep["dec_auc"][primary]
                    for ep in episodes
                    if ep["train_material"] == tm and ep["material"] == em
                ]
                if vals:
                    matrix[i, j] = float(np.mean(vals))
        summary["transfer"] = {
            "trained_on": trained,
            "evaluated_on": evaluated,
            "dec_auc": [[None if np.isnan(v) else v for v in row] for row in matrix],
        }
        lines += [
            "## Cross-material transfer",
            "",
            "Mean DEC-AUC on each world's primary task (defect census on crystals, "
            "nanoparticle characterisation on particles) of the CNN analyst trained on one "
            "material (rows) and evaluated on another (columns).",
            "",
            "| trained on \\ evaluated on | " + " | ".join(evaluated) + " |",
            "|---|" + "---|" * len(evaluated),
        ]
        for i, tm in enumerate(trained):
            lines.append(f"| {tm} | " + " | ".join(_fmt(v) for v in matrix[i]) + " |")
        lines.append("")
        lines.append(_figure_transfer(figures, matrix, trained, evaluated))
        lines.append("")

    lines.append(_figure_curves(figures, episodes, main))
    report = root / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (root / "summary.json").write_text(json.dumps(_json_safe(summary), indent=2))
    return report


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _write_csv(path: Path, episodes: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["world", "material", "difficulty", "configuration", "navigator", "analyst",
             "train_material", "seed", "task", "dec_auc", "final_score", "n_steps"]
        )  # fmt: skip
        for ep in episodes:
            for task, auc in sorted(ep["dec_auc"].items()):
                scores = ep["task_scores"].get(task) or [0.0]
                writer.writerow(
                    [ep["world"], ep["material"], ep["difficulty"], ep["configuration"],
                     ep["navigator"], ep["analyst"], ep["train_material"], ep["seed"], task,
                     f"{auc:.6f}", f"{scores[-1]:.6f}", ep["n_steps"]]
                )  # fmt: skip


def _figure_bars(
    folder: Path, table: dict[str, dict[str, dict[str, float]]], tasks: list[str]
) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(table)
    if not labels:
        return ""
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(labels) * len(tasks) / 2), 3.6))
    width = 0.8 / max(1, len(tasks))
    x = np.arange(len(labels))
    for k, task in enumerate(tasks):
        mean = np.array([table[lab].get(task, {}).get("mean", np.nan) for lab in labels])
        low = np.array([table[lab].get(task, {}).get("low", np.nan) for lab in labels])
        high = np.array([table[lab].get(task, {}).get("high", np.nan) for lab in labels])
        ax.bar(x + k * width, mean, width, label=task)
        ax.errorbar(x + k * width, mean, yerr=[mean - low, high - mean], fmt="none", c="k", lw=0.8)
    ax.set_xticks(x + width * (len(tasks) - 1) / 2, labels, rotation=30, ha="right")
    ax.set_ylabel("DEC-AUC")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "dec_auc.png", dpi=120)
    plt.close(fig)
    return "![DEC-AUC per configuration and task](figures/dec_auc.png)"


def _figure_transfer(folder: Path, matrix: np.ndarray, rows: list[str], cols: list[str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2, 1.0 * len(rows) + 1.5))
    im = ax.imshow(matrix, cmap="viridis", vmin=0)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(matrix[i, j]):
                ax.text(
                    j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8
                )
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("analyst trained on")
    fig.colorbar(im, ax=ax, label="DEC-AUC")
    fig.tight_layout()
    fig.savefig(folder / "transfer.png", dpi=120)
    plt.close(fig)
    return "![Cross-material transfer matrix](figures/transfer.png)"


def _figure_curves(folder: Path, episodes: list[dict[str, Any]], main: list[dict[str, Any]]) -> str:
    """Mean score against dose fraction per configuration, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({t for ep in episodes for t in ep["task_scores"]})
    if not tasks:
        return ""
    grid = np.linspace(0.0, 1.0, 101)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks), 3.0), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for conf in main:
            curves = []
            for ep in episodes:
                if ep["configuration"] != conf["label"] or task not in ep["task_scores"]:
                    continue
                d = np.asarray(ep["dose_fractions"], dtype=float)
                s = np.asarray(ep["task_scores"][task], dtype=float)
                idx = np.searchsorted(d, grid, side="right") - 1
                curves.append(np.where(idx >= 0, s[np.clip(idx, 0, None)], 0.0))
            if curves:
                ax.step(grid, np.mean(curves, axis=0), where="post", label=conf["label"], lw=1)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("dose fraction")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("mean task score")
    if axes[0][-1].get_legend_handles_labels()[0]:
        axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(folder / "dec_curves.png", dpi=120)
    plt.close(fig)
    return "![Dose-efficiency curves (mean over worlds and seeds)](figures/dec_curves.png)"
