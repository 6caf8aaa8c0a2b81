"""The curiosity part of a benchmark report: final and best-ever full-spectrum losses.

For a dataset whose policies are curiosity policies (``curiosity-*``), the
report gets a table of the **final** and the **best-ever** value of each
full-spectrum loss per policy (mean over seeds with a 95 % percentile
bootstrap interval), the difference of means to the reference policy with
its bootstrap interval (paired by seed: every strategy of one seed starts
from the same initial points), a Wilcoxon signed-rank test (Holm-adjusted
over the table) and the rank-biserial effect size, plus latent-space
figures of one seed per policy: the autoencoder latent of every candidate
with the measured points, and its k-means clusters (k = 3) mapped back to
real space. The latent is recomputed from the pool with the run's seed,
as the policy did.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from autoscope.bench.results import SweepData
from autoscope.bench.stats import bootstrap_ci, compare, holm
from autoscope.errors import AutoscopeError
from autoscope.viz.report import figure_html, format_interval, format_or_dash, html_table

__all__ = ["LOSSES", "LossRow", "curiosity_section", "is_curiosity_dataset", "loss_rows"]

#: Losses tabulated (when recorded): name -> running-minimum name.
LOSSES = {
    "test_mse": "best_test_mse",
    "test_l1": "best_test_l1",
    "all_mse_sum": "best_all_mse_sum",
    "worst10_mse": "best_worst10_mse",
    "test_poisson": "",
}


def is_curiosity_dataset(data: SweepData, dataset: str) -> bool:
    """Whether every policy of ``dataset`` is a curiosity policy."""
    tasks = [t for t in data.tasks if t.dataset == dataset]
    return bool(tasks) and all(
        str(t.config.get("policy", {}).get("name", "")).startswith("curiosity-") for t in tasks
    )


@dataclass(frozen=True)
class LossRow:
    """One row: a policy's final or best-ever value of one loss.

    Attributes:
        metric: Loss name (``best_*`` for the best-ever value).
        policy: Policy label.
        mean: Mean over seeds.
        low: Bootstrap interval of the mean, lower bound.
        high: Upper bound.
        n: Seeds.
        difference: Mean of the paired differences policy − reference.
        difference_low: Its bootstrap interval, lower bound.
        difference_high: Upper bound.
        p_value: Wilcoxon signed-rank p-value (NaN for the reference).
        p_holm: Holm-adjusted over the table.
        rank_biserial: Matched-pairs rank-biserial correlation (negative: lower loss).
    """

    metric: str
    policy: str
    mean: float
    low: float
    high: float
    n: int
    difference: float = math.nan
    difference_low: float = math.nan
    difference_high: float = math.nan
    p_value: float = math.nan
    p_holm: float = math.nan
    rank_biserial: float = math.nan


def _final(data: SweepData, dataset: str, policy: str, metric: str) -> dict[int, float]:
    out = {}
    for seed in data.seeds(dataset, policy):
        values = data.results[(dataset, policy, seed)]["metrics"].get(metric)
        if values is not None and len(values):
            out[seed] = float(values[-1])
    return out


def loss_rows(
    data: SweepData, dataset: str, *, confidence: float = 0.95, reference: str | None = None
) -> list[LossRow]:
    """Final and best-ever losses of every policy, compared with ``reference``.

    ``reference`` defaults to the spec's reference policy.
    """
    names = data.metric_names(dataset)
    reference = reference or data.spec.reference
    rows: list[LossRow] = []
    for loss, best in LOSSES.items():
        for metric in (loss, best):
            if not metric or metric not in names:
                continue
            ref = _final(data, dataset, reference, metric)
            for policy in data.spec.policies:
                values = _final(data, dataset, policy.label, metric)
                if not values:
                    continue
                x = np.array(list(values.values()))
                ci = bootstrap_ci(x, confidence=confidence, n_boot=data.spec.n_boot, seed=0)
                row = dict(
                    metric=metric,
                    policy=policy.label,
                    mean=float(ci.estimate),
                    low=float(ci.low),
                    high=float(ci.high),
                    n=len(x),
                )
                common = sorted(set(values) & set(ref))
                if policy.label != reference and len(common) >= 2:
                    a = np.array([values[s] for s in common])
                    b = np.array([ref[s] for s in common])
                    diff = bootstrap_ci(
                        (a - b)[:, None], confidence=confidence, n_boot=data.spec.n_boot, seed=0
                    )
                    test = compare(
                        a, b, paired=True, confidence=confidence, n_boot=data.spec.n_boot, seed=0
                    )
                    row.update(
                        difference=float(diff.estimate[0]),
                        difference_low=float(diff.low[0]),
                        difference_high=float(diff.high[0]),
                        p_value=test.p_value,
                        rank_biserial=test.rank_biserial,
                    )
                rows.append(LossRow(**row))
    adjusted = holm([r.p_value for r in rows])
    return [LossRow(**{**vars(r), "p_holm": float(p)}) for r, p in zip(rows, adjusted, strict=True)]


def curiosity_section(
    data: SweepData, dataset: str, figures: Path, *, confidence: float = 0.95
) -> list[str]:
    """HTML parts of the curiosity section of ``dataset`` (figures written to ``figures``)."""
    esc = html.escape
    rows = loss_rows(data, dataset, confidence=confidence)
    parts = [
        f"<h3>{esc('Full-spectrum losses: final and best-ever')}</h3>",
        "<p>"
        + esc(
            f"Mean over seeds [{confidence:.0%} bootstrap CI]; Δ = mean paired difference to "
            f"{data.spec.reference!r} [{confidence:.0%} bootstrap CI]; Wilcoxon signed-rank "
            "paired by seed, Holm-adjusted over the table; r = rank-biserial (negative: the "
            "policy's loss is lower). best_* = the smallest value over the trajectory (the "
            "published statistic, which rewards noise in the loss)."
        )
        + "</p>",
        html_table(
            ["loss", "policy", "mean [CI]", "n", "Δ [CI]", "p", "p_Holm", "r"],
            [
                [
                    r.metric,
                    r.policy,
                    f"{r.mean:.4g} [{r.low:.4g}, {r.high:.4g}]",
                    str(r.n),
                    format_interval(r.difference, r.difference_low, r.difference_high, "+.3g"),
                    format_or_dash(r.p_value, ".3g"),
                    format_or_dash(r.p_holm, ".3g"),
                    format_or_dash(r.rank_biserial, "+.2f"),
                ]
                for r in rows
            ],
        ),
    ]
    parts.append(
        figure_html(
            _fig_losses(data, dataset, confidence),
            figures / f"{dataset}-curiosity-losses.png",
            alt="losses",
            caption=(
                f"Mean over seeds and its {confidence:.0%} bootstrap band of each full-spectrum "
                "loss against the number of measurements (log scale)."
            ),
        )
    )
    fig = _fig_latents(data, dataset)
    if fig is not None:
        parts.append(
            figure_html(
                fig,
                figures / f"{dataset}-curiosity-latent.png",
                alt="latent space",
                caption=(
                    "One seed per policy. Top: the autoencoder latent (first two of three "
                    "dimensions) of every candidate (grey) and the measured points, coloured "
                    "by measurement number. Middle and bottom: k-means clusters (k = 3) of the "
                    "latent, in latent space and mapped back to real space, measured points "
                    "circled."
                ),
            )
        )
    return parts


def _fig_losses(data: SweepData, dataset: str, confidence: float) -> Figure:
    names = [
        n
        for n in ("test_mse", "worst10_mse", "all_mse_sum", "test_l1", "test_poisson")
        if n in data.metric_names(dataset)
    ]
    fig = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names), squeeze=False)).ravel()
    colours = [f"C{i}" for i in range(len(data.spec.policies))]
    for ax, metric in zip(axes, names, strict=True):
        for policy, colour in zip(data.spec.policies, colours, strict=True):
            steps, values = data.curves(dataset, policy.label, metric)
            if values.shape[0] == 0 or not np.isfinite(values).any():
                continue
            keep = np.isfinite(values).any(axis=0)
            ci = bootstrap_ci(
                values[:, keep], confidence=confidence, n_boot=data.spec.n_boot, seed=0
            )
            ax.plot(steps[keep], ci.estimate, color=colour, lw=1.5, label=policy.label)
            ax.fill_between(steps[keep], ci.low, ci.high, color=colour, alpha=0.2, lw=0)
        ax.set_yscale("log")
        ax.set_title(metric, fontsize="medium")
        ax.set_xlabel("number of measurements")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize="small")
    return fig


def _fig_latents(data: SweepData, dataset: str) -> Figure | None:
    from autoscope.campaign.config import Config
    from autoscope.campaign.experiment import prepare
    from autoscope.models.error_model import PatchAutoencoder
    from autoscope.viz.latent import plot_latent, plot_latent_clusters

    policies = [p.label for p in data.spec.policies if data.seeds(dataset, p.label)]
    if not policies:
        return None
    seed = data.seeds(dataset, policies[0])[0]
    try:
        experiment = prepare(Config.from_dict(data.task(dataset, policies[0], seed).config))
    except AutoscopeError:
        return None  # the data moved since the sweep; the table still stands
    pool = experiment.pool
    patches = np.asarray(pool.features["patches"], dtype=np.float64)
    if patches.ndim == 4:
        patches = patches[:, 0]
    latents = PatchAutoencoder(latent_dim=3, seed=seed).fit(patches, epochs=20).encode(patches)
    latents = (latents - latents.mean(0)) / np.where(latents.std(0) > 0, latents.std(0), 1)
    fig = Figure(figsize=(3.8 * len(policies), 10.5), layout="constrained")
    axes = np.atleast_2d(fig.subplots(3, len(policies), squeeze=False))
    for j, label in enumerate(policies):
        if seed not in data.seeds(dataset, label):
            continue
        measured = data.results[(dataset, label, seed)]["index"]
        plot_latent(latents, measured=measured, ax=axes[0, j], title=f"{label} (seed {seed})")
        plot_latent_clusters(
            latents,
            pool.coords,
            pool.grid_shape,
            k=3,
            seed=0,
            measured=measured,
            axes=(axes[1, j], axes[2, j]),
        )
    return fig
