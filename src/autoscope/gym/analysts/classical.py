"""The classical analyst: lattice fitting plus Z-contrast intensity rules (no learning).

Everything it uses is what an analyst may know: :class:`~autoscope.gym.world.WorldInfo`
(names and nominal ``sum Z^n`` of the column kinds, column spacing, phase names, pixel
size), the projected unit cells of the named phases (:mod:`autoscope.gym.materials`) and
the instrument model's constants (:data:`autoscope.gym.haadf.CROSS_SECTION_A2`,
:data:`autoscope.gym.haadf.BACKGROUND`: the mosaic is an unbiased estimate of the scattered
fraction ``BACKGROUND + CROSS_SECTION_A2 * sum Z^n * probe``). Per scanned tile (with a
margin of scanned neighbours, see :class:`~autoscope.gym.analysts.base.Analyst`):

1. **Lattice**: the projected cell of each phase is axis-aligned; the window's excess
   image (mosaic minus background, Gaussian-smoothed at the probe's scale, unscanned
   pixels masked out) is folded modulo the cell and circularly correlated with the cell's
   template (Gaussian blobs weighted by the nominal ``sum Z^n`` of each site). The
   correlation peak gives the lattice origin; the site kinds come from the cell, so a
   column is assigned to its sublattice by position, not by intensity or index.
2. **Phase** (one label per tile): SrTiO3 ``[001]``/``[110]``: the cell whose template
   correlates best (Pearson) with the folded image; BaTiO3 ``a1``/``a2``: the direction of
   the Ti column's off-centring in the folded cell (c along x: ``a1``, along y: ``a2``);
   SiGe ``Si-rich``/``Ge-rich``: the window's mean excess against the absolute nominal
   ``CROSS_SECTION_A2 * sum Z^n * columns per Å²`` of the 50 % alloy (ratio >= 1: Ge-rich).
3. **Columns**: every defect-bearing site of the fitted lattice in the window, refined to
   the brightest smoothed pixel within ``0.2`` column spacings (scan jitter and drift) and
   a quadratic sub-pixel peak. Its intensity is the smoothed excess there.
4. **Defects**: per (phase, sublattice) running robust statistics; a column is a vacancy
   (on a vacancy host) when ``z < -k_sigma``, a substitution (on an A-site) when
   ``z > k_sigma``, with ``z = (I - median) / sd``, ``sd^2 = Poisson variance at the
   column's dose + intrinsic variance`` (MAD of the sublattice minus its mean Poisson
   variance: e.g. the SiGe alloy's composition scatter), and at least
   ``relative_threshold`` of the median. SiGe intensities are normalised by the window's
   composition ratio first.
5. **Rare feature**: clusters (single linkage within ``cluster_radius_spacings`` column
   spacings) of at least ``cluster_min`` substitutions over everything found so far,
   largest first; the candidate is the cluster's centroid.

Worlds with the nanoparticle task are segmented as a whole: Otsu threshold of the log of
the smoothed scanned mosaic, connected components, centres and half-maximum equivalent
diameters. The rare particle (a Pt rod standing end-on: constant thickness of a few
diameters, where a sphere's mean chord is 2/3 of its diameter) is the particle whose mean
excess per unit diameter stands out: ``rare_particle_ratio`` times the median of the
others or more.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.filters import threshold_otsu

from autoscope.errors import ConfigError
from autoscope.gym._checks import positive
from autoscope.gym.analysts.base import DEFAULT_MARGIN_PX, Analyst, Findings, TileFindings
from autoscope.gym.haadf import BACKGROUND, CROSS_SECTION_A2

if TYPE_CHECKING:
    from autoscope.gym.world import WorldInfo

__all__ = ["ClassicalAnalyst"]

#: Fewest scanned pixels (fraction of the tile) worth analysing.
_MIN_SCANNED = 0.25
#: Structure (materials.projected_cell phase) behind each phase name, per material.
_STRUCTURES: dict[str, dict[str, str]] = {
    "SrTiO3": {"[001]": "[001]", "[110]": "[110]"},
    "BaTiO3": {"a1": "a1", "a2": "a2"},
    "SiGe": {"Si-rich": "[110]", "Ge-rich": "[110]"},
    "GaN": {"": "[11-20]"},
}
#: (vacancy host elements, substitution host elements) per material.
_HOSTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "SrTiO3": (("Sr", "Ti"), ("Sr",)),
    "BaTiO3": (("Ba", "Ti"), ("Ba",)),
    "SiGe": (("Si", "Ge"), ("Si", "Ge")),
    "GaN": (("Ga",), ("Ga",)),
}
#: Nominal Ti off-centring (Å) used only to place the BaTiO3 template's Ti site.
_BATIO3_NOMINAL_DISPLACEMENT_A = 0.2


def _elements(name: str) -> set[str]:
    out, current = set(), ""
    for ch in name:
        if ch.isupper() and current:
            out.add(current)
            current = ch
        else:
            current += ch
    if current:
        out.add(current)
    return out


class _Cell:
    """One phase's projected cell in pixels: sites, kinds and a folded-grid template."""

    def __init__(self, info: WorldInfo, structure: str, blob_px: float) -> None:
        from autoscope.gym.materials import projected_cell

        px = float(info.pixel_size_A)
        disp = _BATIO3_NOMINAL_DISPLACEMENT_A if info.material == "BaTiO3" else 0.0
        cell = projected_cell(info.material, structure, displacement_A=disp)
        names = list(info.sublattice_names)
        levels = dict(zip(names, info.sublattice_intensity, strict=True))
        vac_hosts, sub_hosts = _HOSTS[info.material]
        self.size = np.array(cell.size_A, dtype=np.float64) / px  # (Ly, Lx) px
        self.sites = np.asarray(cell.positions_A, dtype=np.float64) / px
        kinds = ["SiGe" if info.material == "SiGe" else n for n in cell.names]
        self.sublattice = np.array([names.index(k) if k in names else -1 for k in kinds])
        self.level = np.array([levels.get(k, 0.0) for k in kinds], dtype=np.float64)
        self.vacancy_host = np.array([bool(_elements(k) & set(vac_hosts)) for k in kinds])
        self.substitution_host = np.array([bool(_elements(k) & set(sub_hosts)) for k in kinds])
        self.columns_per_A2 = len(cell.names) / (cell.size_A[0] * cell.size_A[1])
        self.nominal_excess = CROSS_SECTION_A2 * float(np.mean(self.level)) * self.columns_per_A2
        self.grid = (max(round(self.size[0]), 4), max(round(self.size[1]), 4))
        ny, nx = self.grid
        by = (np.arange(ny) + 0.5) * self.size[0] / ny
        bx = (np.arange(nx) + 0.5) * self.size[1] / nx
        template = np.zeros(self.grid)
        for (sy, sx), level in zip(self.sites, self.level, strict=True):
            dy = (by[:, None] - sy + 0.5 * self.size[0]) % self.size[0] - 0.5 * self.size[0]
            dx = (bx[None, :] - sx + 0.5 * self.size[1]) % self.size[1] - 0.5 * self.size[1]
            template += level * np.exp(-(dy**2 + dx**2) / (2 * blob_px**2))
        template -= template.mean()
        self.template_fft = np.conj(np.fft.rfft2(template / (np.linalg.norm(template) or 1.0)))

    def fold(self, values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Mean of ``values`` per folded-grid bin `(ny, nx)` (0 where empty)."""
        ny, nx = self.grid
        iy = np.minimum((np.mod(rows, self.size[0]) * (ny / self.size[0])).astype(np.int64), ny - 1)
        ix = np.minimum((np.mod(cols, self.size[1]) * (nx / self.size[1])).astype(np.int64), nx - 1)
        flat = iy * nx + ix
        total = np.bincount(flat, weights=values, minlength=ny * nx)
        count = np.bincount(flat, minlength=ny * nx)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        fill = np.nanmean(mean) if np.isfinite(mean).any() else 0.0
        return np.where(np.isfinite(mean), mean, fill).reshape(ny, nx)

    def match(self, folded: np.ndarray) -> tuple[float, np.ndarray]:
        """Pearson correlation with the template at the best shift, and that origin (px)."""
        f = folded - folded.mean()
        norm = np.linalg.norm(f)
        if norm <= 0:
            return 0.0, np.zeros(2)
        corr = np.fft.irfft2(np.fft.rfft2(f / norm) * self.template_fft, s=folded.shape)
        iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
        origin = np.array([iy, ix], dtype=np.float64) * self.size / np.array(self.grid)
        return float(corr[iy, ix]), origin


class ClassicalAnalyst(Analyst):
    """Lattice fitting and intensity rules; the environment's default reward analyst.

    Args:
        margin_px: Scanned neighbour pixels analysed with each tile.
        k_sigma: Standard deviations (Poisson plus intrinsic) a column must deviate from its
            sublattice's median to be a defect.
        relative_threshold: Smallest relative deviation from the sublattice median that
            counts as a defect.
        detection_sigma: Poisson standard deviations a site's excess must reach to be
            reported as a column (rejects sites over empty or unscanned pixels).
        cluster_min: Fewest substitutions that make a rare-feature candidate.
        cluster_radius_spacings: Linking distance of a substitution cluster (column
            spacings).
        rare_particle_ratio: How many times the median of the other particles a particle's
            mean excess per unit diameter must reach to be a rare candidate (> 1).
    """

    name = "classical"

    def __init__(
        self,
        *,
        margin_px: int = DEFAULT_MARGIN_PX,
        k_sigma: float = 3.5,
        relative_threshold: float = 0.1,
        detection_sigma: float = 3.0,
        cluster_min: int = 3,
        cluster_radius_spacings: float = 2.2,
        rare_particle_ratio: float = 1.5,
    ) -> None:
        super().__init__(margin_px=margin_px)
        self.k_sigma = positive("k_sigma", k_sigma)
        self.relative_threshold = positive("relative_threshold", relative_threshold)
        self.detection_sigma = positive("detection_sigma", detection_sigma)
        if isinstance(cluster_min, bool) or not isinstance(cluster_min, (int, np.integer)):
            raise ConfigError(f"cluster_min must be an int >= 1, got {cluster_min!r}")
        if cluster_min < 1:
            raise ConfigError(f"cluster_min must be >= 1, got {cluster_min}")
        self.cluster_min = int(cluster_min)
        self.cluster_radius_spacings = positive(
            "cluster_radius_spacings", cluster_radius_spacings
        )
        self.rare_particle_ratio = positive("rare_particle_ratio", rare_particle_ratio)
        if self.rare_particle_ratio <= 1.0:
            raise ConfigError(f"rare_particle_ratio must be > 1, got {rare_particle_ratio!r}")

    # ------------------------------------------------------------------ per world

    def on_reset(self, info: WorldInfo) -> None:
        """Build the phases' cells and empty the running statistics."""
        px = float(info.pixel_size_A)
        self._spacing_px = float(info.column_spacing_A) / px
        self._smooth_px = max(0.35 / px, 1.0)  # about the probe's rms radius
        # Poisson variance of a Gaussian-weighted mean: I / (D px²) * sum w², sum w² ~ 1/(4πs²)
        self._sum_w2 = 1.0 / (4.0 * math.pi * self._smooth_px**2)
        self._pixel_area = px * px
        self._search_px = max(1, round(0.2 * self._spacing_px))
        self._cells: list[_Cell] = []
        self._phase_of_cell: list[int] = []
        structures = _STRUCTURES.get(info.material)
        if structures is not None and "nanoparticle" not in info.tasks:
            names = tuple(info.phase_names) or ("",)
            for index, phase in enumerate(names):
                if phase in structures:
                    self._cells.append(_Cell(info, structures[phase], self._smooth_px))
                    self._phase_of_cell.append(index if info.phase_names else -1)
        self._stats: dict[tuple[int, int], list[np.ndarray]] = {}
        self._calibration: list[float] = []

    def update(
        self, mosaic: np.ndarray, dose_map: np.ndarray, bounds: tuple[int, int, int, int]
    ) -> Findings:
        """Analyse the tile (see :class:`Analyst`); rare clusters over everything found."""
        findings = super().update(mosaic, dose_map, bounds)
        if self._cells:
            findings.rare_px = self._clusters(findings.atoms_px[findings.atom_types == 2])
        return findings

    # ------------------------------------------------------------------ per tile

    def analyse_tile(
        self,
        image: np.ndarray,
        dose: np.ndarray,
        window: tuple[int, int, int, int],
        tile: tuple[int, int, int, int],
    ) -> TileFindings:
        """Fit the lattice of one window, label its phase, type its columns."""
        scanned = dose > 0
        if not self._cells or np.count_nonzero(scanned) < _MIN_SCANNED * (tile[1] - tile[0]) * (
            tile[3] - tile[2]
        ):
            return TileFindings()
        weight = scanned.astype(np.float64)
        excess = np.where(scanned, np.asarray(image, dtype=np.float64) - BACKGROUND, 0.0)
        norm = ndimage.gaussian_filter(weight, self._smooth_px, mode="constant")
        smooth = ndimage.gaussian_filter(excess, self._smooth_px, mode="constant")
        smooth = np.where(norm > 0.3, smooth / np.maximum(norm, 1e-9), 0.0)
        rows, cols = np.nonzero(scanned)
        values = smooth[rows, cols]
        wrows, wcols = rows + float(window[0]), cols + float(window[2])
        mean_excess = float(excess[scanned].mean())

        # phase and lattice origin
        info = self.info
        if info.material == "SiGe" and len(self._cells) == 2:
            composition = self._composition(values, mean_excess)
            k = 1 if composition >= 1.0 else 0
            _, origin = self._cells[k].match(self._cells[k].fold(values, wrows, wcols))
        elif info.material == "BaTiO3" and len(self._cells) == 2:
            k, origin = self._batio3_variant(values, wrows, wcols)
        else:
            best = (-np.inf, 0, np.zeros(2))
            for j, cell in enumerate(self._cells):
                score, o = cell.match(cell.fold(values, wrows, wcols))
                if score > best[0]:
                    best = (score, j, o)
            _, k, origin = best
        cell = self._cells[k]
        if info.material != "SiGe":
            composition = 1.0
        # sites of the fitted lattice in the window (defect hosts only)
        host = cell.vacancy_host | cell.substitution_host
        h, w = scanned.shape
        lo = np.floor((np.array([window[0], window[2]]) - origin) / cell.size) - 1
        hi = np.ceil((np.array([window[1], window[3]]) - origin) / cell.size) + 1
        gy, gx = np.meshgrid(np.arange(lo[0], hi[0]), np.arange(lo[1], hi[1]), indexing="ij")
        corners = np.stack([gy.ravel(), gx.ravel()], 1) * cell.size + origin
        site_idx = np.flatnonzero(host)
        pos = (corners[:, None, :] + cell.sites[site_idx][None]).reshape(-1, 2)
        site = np.tile(site_idx, len(corners))
        pos -= np.array([window[0], window[2]], dtype=np.float64)
        s = self._search_px
        inside = np.all((pos >= s + 1) & (pos <= np.array([h, w]) - s - 2), axis=1)
        pos, site = pos[inside], site[inside]
        if len(pos) == 0:
            return TileFindings(phase=self._phase_of_cell[k])
        # refine: brightest smoothed pixel within the search box, then a quadratic peak
        base = np.rint(pos).astype(np.int64)
        off = np.arange(-s, s + 1)
        oy, ox = np.meshgrid(off, off, indexing="ij")
        patch = smooth[base[:, 0, None] + oy.ravel(), base[:, 1, None] + ox.ravel()]
        best = np.argmax(patch, axis=1)
        peak = base + np.stack([oy.ravel()[best], ox.ravel()[best]], 1)
        peak = np.clip(peak, 1, np.array([h, w]) - 2)
        centre = smooth[peak[:, 0], peak[:, 1]]
        sub = np.zeros((len(peak), 2))
        for axis, (dy, dx) in enumerate(((1, 0), (0, 1))):
            plus = smooth[peak[:, 0] + dy, peak[:, 1] + dx]
            minus = smooth[peak[:, 0] - dy, peak[:, 1] - dx]
            curv = plus + minus - 2 * centre
            sub[:, axis] = np.where(curv < 0, 0.5 * (minus - plus) / np.minimum(curv, -1e-12), 0)
        positions = peak + np.clip(sub, -0.5, 0.5)
        on = scanned[peak[:, 0], peak[:, 1]]
        column_dose = dose[peak[:, 0], peak[:, 1]]
        variance = (np.maximum(centre, 0) + BACKGROUND) * self._sum_w2
        variance = variance / (np.maximum(column_dose, 1e-9) * self._pixel_area)
        real = on & (centre > self.detection_sigma * np.sqrt(variance))
        positions, site, centre, variance = (
            positions[real],
            site[real],
            centre[real],
            variance[real],
        )
        if len(positions) == 0:
            return TileFindings(phase=self._phase_of_cell[k])
        types = self._classify(k, cell, site, centre / composition, variance / composition**2)
        return TileFindings(atoms_px=positions, atom_types=types, phase=self._phase_of_cell[k])

    def _composition(self, values: np.ndarray, mean_excess: float) -> float:
        """SiGe: the window's ``sum Z^n`` relative to the 50 % alloy's (absolute scale).

        The absolute ratio ``mean excess / (CROSS_SECTION_A2 * nominal sum Z^n * columns per
        Å²)`` is pulled up by a dopant cluster, so it only calibrates (running median over
        windows) the scale of a robust statistic, the window's upper-quartile smoothed
        excess (the column peaks), whose ratio is then used.
        """
        peaks = max(float(np.percentile(values, 75)), 1e-12)
        ratio = mean_excess / self._cells[0].nominal_excess
        self._calibration.append(ratio / peaks)
        return float(np.median(self._calibration)) * peaks

    def _batio3_variant(
        self, values: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[int, np.ndarray]:
        """Variant index and origin from the Ti column's off-centring in the folded cell."""
        cell = self._cells[0]
        folded = cell.fold(values, rows, cols)
        _, origin = cell.match(folded)
        # centroid of the folded image around the cell centre (Ti + O), relative to it
        ny, nx = cell.grid
        by = (np.arange(ny) + 0.5) * cell.size[0] / ny
        bx = (np.arange(nx) + 0.5) * cell.size[1] / nx
        centre = origin + 0.5 * cell.size
        dy = (by[:, None] - centre[0] + 0.5 * cell.size[0]) % cell.size[0] - 0.5 * cell.size[0]
        dx = (bx[None, :] - centre[1] + 0.5 * cell.size[1]) % cell.size[1] - 0.5 * cell.size[1]
        dy, dx = np.broadcast_arrays(dy, dx)
        near = np.hypot(dy, dx) < 0.3 * float(cell.size.min())
        weight = np.maximum(folded - np.median(folded), 0.0) * near
        total = weight.sum()
        if total <= 0:
            return 0, origin
        shift = np.array([(weight * dy).sum(), (weight * dx).sum()]) / total
        # each variant's expected direction of the Ti column from the cell centre
        scores = []
        for c in self._cells:
            ti = c.sublattice == self.info.sublattice_names.index("Ti")
            direction = c.sites[ti][0] - 0.5 * c.size
            scores.append(float(shift @ direction) / float(np.linalg.norm(direction) or 1.0))
        k = int(np.argmax(scores))
        if k != 0:
            _, origin = self._cells[k].match(self._cells[k].fold(values, rows, cols))
        return k, origin

    def _classify(
        self, k: int, cell: _Cell, site: np.ndarray, intensity: np.ndarray, variance: np.ndarray
    ) -> np.ndarray:
        """Defect type `(K,)` of each column from its sublattice's running statistics."""
        types = np.zeros(len(site), dtype=np.int64)
        kinds = cell.sublattice[site]
        for kind in np.unique(kinds):
            sel = kinds == kind
            key = (k, int(kind))
            stats = self._stats.setdefault(key, [np.empty(0), np.empty(0)])
            stats[0] = np.concatenate([stats[0], intensity[sel]])
            stats[1] = np.concatenate([stats[1], variance[sel]])
            all_values, all_var = stats
            median = float(np.median(all_values))
            mad = 1.4826 * float(np.median(np.abs(all_values - median)))
            intrinsic = max(mad**2 - float(np.mean(all_var)), 0.0) if len(all_values) >= 8 else 0.0
            sd = np.sqrt(variance[sel] + intrinsic)
            margin = np.maximum(self.k_sigma * sd, self.relative_threshold * abs(median))
            low = intensity[sel] < median - margin
            high = intensity[sel] > median + margin
            sites = site[sel]
            t = np.zeros(int(sel.sum()), dtype=np.int64)
            t[low & cell.vacancy_host[sites]] = 1
            t[high & cell.substitution_host[sites]] = 2
            types[sel] = t
        return types

    def _clusters(self, substitutions: np.ndarray) -> np.ndarray:
        """Centroids `(R, 2)` of substitution clusters of >= cluster_min, largest first."""
        substitutions = np.asarray(substitutions, dtype=np.float64).reshape(-1, 2)
        if len(substitutions) < self.cluster_min:
            return np.empty((0, 2))
        tree = cKDTree(substitutions)
        pairs = tree.query_pairs(
            self.cluster_radius_spacings * self._spacing_px, output_type="ndarray"
        )
        n = len(substitutions)
        graph = np.zeros((n, n), dtype=bool)
        graph[pairs[:, 0], pairs[:, 1]] = True
        _, labels = _components(graph)
        counts = np.bincount(labels)
        big = [b for b in np.argsort(-counts, kind="stable") if counts[b] >= self.cluster_min]
        return np.array([substitutions[labels == b].mean(axis=0) for b in big]).reshape(-1, 2)

    # ------------------------------------------------------------------ nanoparticles

    def analyse_particles(
        self, mosaic: np.ndarray, dose_map: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Otsu segmentation of the scanned mosaic into particles; the densest one is rare."""
        scanned = dose_map > 0
        none = (np.empty((0, 2)), np.empty(0), np.empty((0, 2)))
        if np.count_nonzero(scanned) < 16:
            return none
        image = np.where(scanned, np.asarray(mosaic, dtype=np.float64), 0.0)
        weights = ndimage.gaussian_filter(scanned.astype(np.float64), 1.5)
        smooth = ndimage.gaussian_filter(image, 1.5) / np.maximum(weights, 1e-6)
        values = smooth[scanned]
        if float(values.max() - values.min()) <= 0:
            return none
        # Otsu on the log: a few much brighter (rare) particles do not pull the threshold up
        floor = max(float(np.percentile(values, 1)), 1e-9)
        log_values = np.log(np.maximum(values, floor))
        if float(log_values.max() - log_values.min()) <= 0:
            return none
        threshold = math.exp(threshold_otsu(log_values))
        mask = (smooth > threshold) & scanned
        labels, n = ndimage.label(mask)
        if n == 0:
            return none
        index = np.arange(1, n + 1)
        # size at half maximum: each particle's pixels above halfway from the background
        # to its peak (the Otsu mask of the smoothed image is wider than the particle)
        outside = scanned & ~mask
        background = float(np.median(smooth[outside])) if outside.any() else float(values.min())
        peaks = np.asarray(ndimage.maximum(smooth, labels, index), dtype=np.float64)
        half = np.concatenate([[np.inf], background + 0.5 * (peaks - background)])
        core = mask & (smooth >= half[labels])
        areas = ndimage.sum_labels(core, labels, index)
        keep = areas >= 4
        centres = np.array(ndimage.center_of_mass(core, labels, index)).reshape(-1, 2)[keep]
        diameters = 2.0 * np.sqrt(areas[keep] / np.pi)
        means = np.asarray(ndimage.mean(smooth, labels, index), dtype=np.float64)[keep]
        rare = np.empty((0, 2))
        if len(means) >= 2:
            # mean excess per unit diameter ~ mean thickness / diameter: 2/3 for a sphere,
            # the length / diameter factor for a rod standing end-on
            per_diameter = (means - background) / np.maximum(diameters, 1.0)
            best = int(np.argmax(per_diameter))
            others = np.delete(per_diameter, best)
            if per_diameter[best] >= self.rare_particle_ratio * max(float(np.median(others)), 0):
                rare = centres[best : best + 1]
        return centres, diameters, rare


def _components(graph: np.ndarray) -> tuple[int, np.ndarray]:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    return connected_components(csr_matrix(graph), directed=False)
