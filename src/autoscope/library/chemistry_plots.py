"""Figures and the report folder of :func:`~autoscope.library.chemistry.particle_chemistry`.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas (no pyplot), as in :mod:`autoscope.viz.report`, whose style sheet and
HTML helpers the report page reuses.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from skimage.segmentation import find_boundaries

from autoscope.analysis.edx import xray_lines
from autoscope.library.chemistry import SUPPORT, ParticleTable
from autoscope.viz.report import CSS, figure_html, format_number, html_table

__all__ = [
    "class_colors",
    "plot_class_spectra",
    "plot_particle_overlay",
    "write_particle_report",
]

_SUPPORT_COLOR = (0.55, 0.55, 0.55)
_PALETTE = (
    (0.89, 0.10, 0.11),
    (0.22, 0.49, 0.72),
    (0.30, 0.69, 0.29),
    (0.60, 0.31, 0.64),
    (1.00, 0.50, 0.00),
    (0.65, 0.34, 0.16),
    (0.97, 0.51, 0.75),
    (0.90, 0.80, 0.10),
)


def class_colors(class_names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A fixed RGB colour per class: grey for the support, then a qualitative palette.

    Example:
        >>> class_colors(["support", "Si-rich"])["support"]
        (0.55, 0.55, 0.55)
    """
    colors = {}
    k = 0
    for name in class_names:
        if name == SUPPORT:
            colors[name] = _SUPPORT_COLOR
        else:
            colors[name] = _PALETTE[k % len(_PALETTE)]
            k += 1
    return colors


def plot_particle_overlay(
    image: np.ndarray, table: ParticleTable, *, show_labels: bool = True
) -> Figure:
    """The structure image with particle outlines coloured by class.

    Args:
        image: Structure image `(H, W)` the table was computed from.
        table: The particle table.
        show_labels: Write each particle's label at its centroid.

    Returns:
        The figure.

    Example:
        >>> fig = plot_particle_overlay(data.image, table)  # doctest: +SKIP
    """
    array = np.asarray(image, dtype=float)
    low, high = np.percentile(array, [0.5, 99.5])
    grey = np.clip((array - low) / max(high - low, 1e-12), 0.0, 1.0)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    colors = class_colors(table.class_names)
    edges = find_boundaries(table.labels, mode="inner")
    for row in range(1, len(table.label)):
        outline = edges & (table.labels == table.label[row])
        rgb[outline] = colors[table.class_name[row]]
    height, width = array.shape
    fig = Figure(figsize=(6.5, 6.5 * height / width + 0.6))
    ax = fig.add_subplot()
    ax.imshow(rgb, interpolation="nearest")
    if show_labels:
        size = max(4.0, min(8.0, 600.0 / max(len(table.label), 1)))
        for row in range(1, len(table.label)):
            r, c = table.centroid[row]
            ax.text(
                c, r, str(table.label[row]), color="yellow", fontsize=size, ha="center", va="center"
            )
    counts = {name: table.class_name[1:].count(name) for name in table.class_names}
    handles = [
        Patch(color=colors[name], label=f"{name} ({counts[name]})")
        for name in table.class_names
        if counts[name] or name == SUPPORT
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_title(f"{table.name or 'particles'}: {table.n_particles} particles", fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_class_spectra(table: ParticleTable, *, max_lines: int = 12) -> Figure:
    """Summed spectra per class with the summed fitted models and line markers.

    One panel per class present (the support first): the counts summed over
    the class's rows, the sum of their fitted models, the fitted background,
    and a marker at the main line of each fitted family; the energy axis
    ends 1.5 keV above the highest fitted line.

    Args:
        table: The particle table.
        max_lines: Label at most this many line markers per panel.

    Returns:
        The figure.

    Example:
        >>> fig = plot_class_spectra(table)  # doctest: +SKIP
    """
    present = [c for c in table.class_names if c in table.class_name]
    colors = class_colors(table.class_names)
    fig = Figure(figsize=(8.0, 2.4 * len(present) + 0.4))
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    energy = table.fits[0].energy
    for ax, name in zip(axes, present, strict=True):
        rows = [r for r, c in enumerate(table.class_name) if c == name]
        counts = np.sum([table.fits[r].counts for r in rows], axis=0)
        model = np.sum([table.fits[r].model for r in rows], axis=0)
        background = np.sum([table.fits[r].background for r in rows], axis=0)
        ax.step(energy, np.maximum(counts, 0.5), where="mid", color="0.3", lw=0.6, label="counts")
        ax.plot(energy, np.maximum(model, 0.5), color=colors[name], lw=1.2, label="fit")
        ax.plot(
            energy, np.maximum(background, 0.5), color="0.5", lw=0.8, ls="--", label="background"
        )
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)
        top = float(np.max(counts)) if counts.size else 1.0
        marked = 0
        for element in table.elements:
            for family in _families(table, element):
                main = next(
                    ln for ln in xray_lines(element) if ln.family == family and ln.weight == 1.0
                )
                x = main.energy + table.offset_kev
                ax.axvline(x, color="0.75", lw=0.5, zorder=0)
                if marked < max_lines:
                    ax.text(
                        x,
                        top * 1.3,
                        f"{element} {main.name}",
                        rotation=90,
                        fontsize=7,
                        ha="center",
                        va="bottom",
                    )
                    marked += 1
        ax.set_ylim(top=top * 20.0)
        members = "support" if name == SUPPORT else f"{len(rows)} particles"
        ax.set_title(f"{name} ({members})", fontsize=9, loc="left")
        ax.set_ylabel("counts")
    lines = [
        ln.energy + table.offset_kev
        for element in table.elements
        for ln in xray_lines(element)
        if ln.family in _families(table, element)
    ]
    right = min(float(energy[-1]), max(lines, default=float(energy[-1])) + 1.5)
    axes[-1].set_xlim(float(energy[0]), right)
    axes[-1].set_xlabel("energy (keV)")
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def _families(table: ParticleTable, element: str) -> list[str]:
    names = table.fits[0].components
    return [c.split("_")[1] for c in names if c.split("_")[0] == element]


def write_particle_report(
    table: ParticleTable,
    image: np.ndarray,
    out_dir: str | Path,
    *,
    command: str | None = None,
) -> Path:
    """Write ``particles.csv``, ``particles.json``, two PNGs and ``index.html``.

    Args:
        table: The particle table.
        image: Structure image `(H, W)` the table was computed from.
        out_dir: Output folder (created).
        command: The command line that produced it, shown on the page.

    Returns:
        The path of ``index.html``.

    Example:
        >>> write_particle_report(table, data.image, "out")  # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "particles.csv")
    table.to_json(out / "particles.json")
    overlay = figure_html(
        plot_particle_overlay(image, table),
        out / "overlay.png",
        alt="particle outlines by class",
        caption="Particle outlines coloured by class, labels at the centroids.",
    )
    spectra = figure_html(
        plot_class_spectra(table),
        out / "spectra.png",
        alt="summed spectra per class",
        caption="Counts summed over each class, with the summed fits (log scale).",
    )
    esc = html.escape
    summary = table.summary()
    facts = [
        ("dataset", table.name),
        ("particles", str(table.n_particles)),
        ("elements", ", ".join(table.elements)),
        ("quantification", f"{table.method} ({table.basis})"),
        ("k-factors", ", ".join(f"{e} {format_number(k)}" for e, k in table.k_factors.items())),
        ("energy offset (keV)", format_number(table.offset_kev)),
        ("FWHM at Mn Ka (eV)", format_number(table.fwhm_mn_ev)),
        ("EDX binning", str(table.binning)),
    ]
    class_rows = [
        [
            name,
            " + ".join(table.class_elements[name]) or "(support model)",
            str(summary["particles_per_class"][name]),
        ]
        for name in table.class_names
    ]
    fraction_rows = [
        [
            e,
            _pm(table.fractions[0, i], table.sigmas[0, i]),
            format_number(summary["fractions"][e]["particles_median"] or float("nan")),
        ]
        for i, e in enumerate(table.elements)
    ]
    header = ["label", "class", "p", f"d ({table.unit})", "counts"]
    header += [f"{e}" for e in table.elements]
    if table.phases is not None:
        header.append("phases")
    rows = []
    for r in range(len(table.label)):
        row = [
            str(table.label[r]),
            table.class_name[r],
            f"{table.class_probability[r]:.3f}",
            format_number(table.equivalent_diameter[r]) if r else "",
            format_number(table.total_counts[r]),
        ]
        row += [_pm(table.fractions[r, i], table.sigmas[r, i]) for i in range(len(table.elements))]
        if table.phases is not None:
            row.append("; ".join(table.phases[r]))
        rows.append(row)
    page = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>autoscope particles: {esc(table.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Particle chemistry</h1><p class='sub'>{esc(table.name)}</p>",
    ]
    if command:
        page.append(f"<pre>{esc(command)}</pre>")
    page += [
        "<h2>Summary</h2>",
        html_table(["", ""], [list(f) for f in facts]),
        "<h2>Classes</h2>",
        html_table(["class", "defining elements", "particles"], class_rows, numeric=1),
        f"<h2>Fractions ({esc(table.basis)})</h2>",
        html_table(["element", "support", "particles (median)"], fraction_rows, numeric=2),
        overlay,
        spectra,
        "<h2>Rows</h2>",
        "<p class='note'>Row 0 is the support. Fractions are shown as value ± one sigma; "
        "p is the probability of the class (BIC weight of the class model).</p>",
        html_table(header, rows, numeric=len(header) - 2),
        "</body></html>",
    ]
    path = out / "index.html"
    path.write_text("\n".join(page), encoding="utf-8")
    return path


def _pm(value: float, sigma: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f} ± {sigma:.3f}"
