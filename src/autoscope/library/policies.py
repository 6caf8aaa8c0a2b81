"""Policies over a particle library: cost-aware stay-or-switch and its baselines.

A library pool (:func:`library_pool`) holds one candidate per particle with
its position, region and EDX composition. A policy may use the composition
of a particle only once its region was *discovered* (a particle of it was
measured or is pending): that is when the instrument's EDX frame of the
field of view revealed it. A move into an undiscovered region therefore
picks its particle blind (uniformly at random among the region's particles,
which the low-magnification survey shows), and the stay-or-switch rule
values an undiscovered region by the Monte-Carlo expected gain over the
composition prior instead.

Registered policies:

- ``library-cost-aware``: S = a(c)/C_move over discovered particles with the
  stay-or-switch rule (switch when E_gain − C_switch > 0, to the region that
  maximises it).
- ``library-cost-unaware``: a(c) alone; an undiscovered region is worth
  E_gain and is chosen at random among all undiscovered ones when that beats
  every known particle.
- ``library-stay``: the best a(c) in the current region until it is
  exhausted, then the nearest undiscovered region.
- ``library-random``: a uniformly random particle anywhere.
- ``library-raster``: regions in serpentine order, every particle of a region
  in position order (no model).

a(c) is the posterior standard deviation of a GP over the D − 1 free
composition coordinates (:class:`~autoscope.library.model.CompositionGP`,
warm-started from the previous step), or the UCB ``mean + beta * std``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.data.pool import CandidatePool
from autoscope.errors import ConfigError, DataError
from autoscope.library.costs import MotionCost
from autoscope.library.model import CompositionGP
from autoscope.library.simplex import sample_simplex
from autoscope.library.simulator import ParticleLibrary
from autoscope.library.switching import density_estimate, expected_gain, stay_value
from autoscope.policies.base import CampaignState, Policy, Suggestion, register_policy

__all__ = [
    "CostAwarePolicy",
    "CostUnawarePolicy",
    "LibraryRandomPolicy",
    "LibraryRasterPolicy",
    "StayUntilExhaustedPolicy",
    "library_pool",
]


def library_pool(library: ParticleLibrary) -> CandidatePool:
    """One candidate per particle, at its grid cell.

    Features: ``position_um`` `(N, 2)`, ``region`` `(N,)`, ``edx_fraction``
    `(N, D)`, ``edx_uncertainty`` `(N,)`, ``radius_nm`` `(N,)`. The spec holds
    the region geometry and the cost model the policies need.
    """
    spec = library.spec
    return CandidatePool(
        library.cells,
        {
            "position_um": library.positions_um,
            "region": library.region,
            "edx_fraction": library.edx.fractions,
            "edx_uncertainty": library.edx.uncertainty,
            "radius_nm": library.radius_nm,
        },
        (spec.grid_cells, spec.grid_cells),
        spec={
            "kind": "particle-library",
            "n_components": spec.n_components,
            "regions_per_side": spec.regions_per_side,
            "region_centres_um": library.region_centres_um().tolist(),
            "costs": spec.to_dict()["costs"],
        },
    )


class _Geometry:
    """Regions, distances and costs of a library pool (computed once per pool)."""

    def __init__(self, pool: CandidatePool) -> None:
        if pool.spec.get("kind") != "particle-library":
            raise DataError(
                "library policies need a particle-library pool (autoscope.library.library_pool); "
                f"got a pool of kind {pool.spec.get('kind', 'image patches')!r}"
            )
        self.region = np.asarray(pool.features["region"], dtype=np.int64)
        self.composition = np.asarray(pool.features["edx_fraction"], dtype=np.float64)
        self.centres = np.asarray(pool.spec["region_centres_um"], dtype=np.float64)
        self.costs = MotionCost(**pool.spec["costs"])
        self.n_components = int(pool.spec["n_components"])
        self.counts = np.bincount(self.region, minlength=len(self.centres))
        self.distance = np.hypot(*(self.centres[:, None, :] - self.centres[None, :, :]).T).T
        self.order = np.lexsort((pool.coords[:, 1], pool.coords[:, 0]))
        side = int(pool.spec["regions_per_side"])
        rows = [range(side) if r % 2 == 0 else range(side - 1, -1, -1) for r in range(side)]
        self.serpentine = [r * side + c for r, cols in enumerate(rows) for c in cols]


class _LibraryPolicy(Policy):
    """Shared plumbing: geometry, discovered regions, the composition GP."""

    uses_model = True

    def __init__(
        self,
        *,
        acquisition: str = "std",
        beta: float = 2.0,
        gp_iterations: int = 10,
        gp_first_iterations: int = 60,
        gp_refit_every: int = 5,
        n_gain_samples: int = 128,
        novelty_weight: float = 0.0,
        novelty_length: float = 0.1,
    ) -> None:
        if acquisition not in ("std", "ucb"):
            raise ConfigError(f"acquisition must be 'std' or 'ucb', got {acquisition!r}")
        if n_gain_samples < 1:
            raise ConfigError(f"n_gain_samples must be >= 1, got {n_gain_samples}")
        CompositionGP(
            2,
            iterations=gp_iterations,
            first_iterations=gp_first_iterations,
            refit_every=gp_refit_every,
        )  # validates the options
        self.acquisition = acquisition
        self.beta = float(beta)
        self.gp_iterations = int(gp_iterations)
        self.gp_first_iterations = int(gp_first_iterations)
        self.gp_refit_every = int(gp_refit_every)
        self.n_gain_samples = int(n_gain_samples)
        self.novelty_weight = float(novelty_weight)
        self.novelty_length = float(novelty_length)
        self._geometry: tuple[int, _Geometry] | None = None
        self._gp: Any = None
        self._decision: dict[str, float] = {}

    # -- geometry and knowledge ----------------------------------------------------------------
    def _geo(self, pool: CandidatePool) -> _Geometry:
        if self._geometry is None or self._geometry[0] != id(pool):
            self._geometry = (id(pool), _Geometry(pool))
        return self._geometry[1]

    @staticmethod
    def _visited(state: CampaignState) -> np.ndarray:
        """Pool indices measured or pending, oldest first (the stage path)."""
        return np.concatenate([state.measured, state.pending]).astype(np.int64)

    def _discovered(self, geo: _Geometry, visited: np.ndarray) -> np.ndarray:
        found = np.zeros(len(geo.centres), dtype=bool)
        found[geo.region[visited]] = True
        return found

    # -- model -----------------------------------------------------------------------------
    def _fit(self, state: CampaignState, geo: _Geometry) -> None:
        if not self.uses_model or len(state.measured) < 3:
            return
        if self._gp is None:
            self._gp = CompositionGP(
                geo.n_components,
                iterations=self.gp_iterations,
                first_iterations=self.gp_first_iterations,
                refit_every=self.gp_refit_every,
            )
        self._gp.fit(geo.composition[state.measured], state.targets)

    def _acq(self, compositions: np.ndarray) -> np.ndarray:
        """a(c) at compositions `(n, D)`; ones before the model exists."""
        if self._gp is None or not self._gp.fitted:
            return np.ones(len(compositions))
        mean, std = self._gp.predict(compositions)
        if self.acquisition == "ucb":
            return mean + self.beta * std
        return std

    def _gain(self, state: CampaignState, geo: _Geometry, discovered: np.ndarray) -> float:
        """Expected best a(c) in an undiscovered region (Monte Carlo over the prior)."""
        if discovered.any():
            area = float(discovered.sum()) * geo.costs.fov_um**2
            density = density_estimate(int(discovered[geo.region].sum()), area)
        else:
            density = 0.0
        seen = geo.composition[state.measured] if len(state.measured) else None
        estimate = expected_gain(
            self._acq,
            density_per_um2=density,
            region_area_um2=geo.costs.fov_um**2,
            prior_sampler=lambda n, rng: sample_simplex(n, geo.n_components, rng),
            n_samples=self.n_gain_samples,
            rng=state.rng,
            novelty_weight=self.novelty_weight,
            novelty_length=self.novelty_length,
            seen=seen,
        )
        return float(estimate.mean)

    def _blind_pick(
        self, state: CampaignState, geo: _Geometry, region: int, available: np.ndarray
    ) -> int:
        members = np.flatnonzero(available & (geo.region == region))
        return int(state.rng.choice(members))

    # -- Policy API ------------------------------------------------------------------------
    def ask(self, state: CampaignState, n: int) -> list[Suggestion]:
        """Choose up to ``n`` particles one after another (the stage moves in between)."""
        geo = self._geo(state.pool)
        self._fit(state, geo)
        available = state.available()
        visited = list(self._visited(state))
        out: list[Suggestion] = []
        for _ in range(n):
            if not available.any():
                break
            index, value, payload = self._choose(state, geo, np.array(visited), available)
            row, col = state.pool.coords[index]
            out.append(
                Suggestion(
                    index=index,
                    coords=(int(row), int(col)),
                    acquisition=value,
                    payload=payload,
                )
            )
            available[index] = False
            visited.append(index)
        return out

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        raise NotImplementedError

    def diagnostics(self) -> dict[str, float]:
        """The last decision: ``switched`` (0/1), ``stay_value``, ``expected_gain``."""
        return dict(self._decision)

    def state_dict(self) -> dict[str, Any]:
        """The GP (for a warm-started resume)."""
        return {"gp": self._gp.state_dict()} if self._gp is not None and self._gp.fitted else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        if state.get("gp"):
            n_components = len(state["gp"]["gp"]["lower"]) + 1
            self._gp = CompositionGP(
                n_components,
                iterations=self.gp_iterations,
                first_iterations=self.gp_first_iterations,
                refit_every=self.gp_refit_every,
            )
            self._gp.load_state_dict(state["gp"])


def _current_region(geo: _Geometry, visited: np.ndarray) -> int | None:
    return int(geo.region[visited[-1]]) if len(visited) else None


def _undiscovered(geo: _Geometry, discovered: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Undiscovered regions that still have an available particle."""
    has = np.bincount(geo.region[available], minlength=len(geo.centres)) > 0
    return np.flatnonzero(has & ~discovered)


@register_policy("library-cost-aware")
class CostAwarePolicy(_LibraryPolicy):
    """S = a(c)/C_move over discovered particles, with the stay-or-switch rule.

    Stay value V_stay = R·G (R: unmeasured share of the current region, G: best
    a(c) among its unmeasured particles); the expected gain E_gain of an
    undiscovered region is E[max a(c)] over N ~ Poisson(ρA) particles from the
    composition prior; switching to region u costs
    C_switch = t_switch(d(u)) · V_stay / t_meas. The policy switches to the
    region with the largest E_gain − C_switch when that is positive, else it
    measures the discovered particle of largest S.

    Args:
        acquisition: ``"std"`` (pure exploration, default) or ``"ucb"``.
        beta: UCB weight.
        gp_iterations: Adam steps per warm-started GP fit.
        gp_first_iterations: Adam steps of the first fit.
        gp_refit_every: Re-optimise the GP hyperparameters every this many fits
            (see :class:`~autoscope.library.model.CompositionGP`).
        n_gain_samples: Monte-Carlo regions of the expected gain.
        novelty_weight: λ_nov of the novelty bonus (0 = off).
        novelty_length: d₀ of the novelty bonus.
    """

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        discovered = self._discovered(geo, visited)
        current = _current_region(geo, visited)
        known = np.flatnonzero(available & discovered[geo.region])
        targets = _undiscovered(geo, discovered, available)
        a = self._acq(geo.composition[known]) if len(known) else np.zeros(0)
        if current is None:
            c_move = np.ones(len(known))
            v_stay = 0.0
        else:
            here = geo.region[known] == current
            distance = geo.distance[current, geo.region[known]]
            c_move = np.where(here, 1.0, geo.costs.move_cost(distance, inside_fov=here))
            n_left = int(np.sum(available & (geo.region == current)))
            best_here = float(a[here].max()) if here.any() else 0.0
            v_stay = stay_value(
                int(geo.counts[current]) - n_left, int(geo.counts[current]), best_here
            )
        gain = self._gain(state, geo, discovered) if len(targets) else math.nan
        if len(targets):
            distance = (
                geo.distance[current, targets] if current is not None else np.zeros(len(targets))
            )
            net = gain - geo.costs.switch_cost(v_stay, distance)
            best = int(np.argmax(net))
            if net[best] > 0 or len(known) == 0:
                self._decision = {"switched": 1.0, "stay_value": v_stay, "expected_gain": gain}
                index = self._blind_pick(state, geo, int(targets[best]), available)
                return index, float(net[best]), {"switch_to": int(targets[best])}
        score = a / c_move
        best = int(np.argmax(score))
        self._decision = {"switched": 0.0, "stay_value": v_stay, "expected_gain": gain}
        return int(known[best]), float(score[best]), {}


@register_policy("library-cost-unaware")
class CostUnawarePolicy(_LibraryPolicy):
    """a(c) alone, moving wherever it points; an undiscovered region is worth E_gain.

    Same options as :class:`CostAwarePolicy`.
    """

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        discovered = self._discovered(geo, visited)
        known = np.flatnonzero(available & discovered[geo.region])
        targets = _undiscovered(geo, discovered, available)
        a = self._acq(geo.composition[known]) if len(known) else np.zeros(0)
        gain = self._gain(state, geo, discovered) if len(targets) else math.nan
        if len(targets) and (len(known) == 0 or gain > a.max()):
            region = int(state.rng.choice(targets))
            self._decision = {"switched": 1.0, "expected_gain": gain}
            return self._blind_pick(state, geo, region, available), gain, {"switch_to": region}
        best = int(np.argmax(a))
        self._decision = {"switched": 0.0, "expected_gain": gain}
        return int(known[best]), float(a[best]), {}


@register_policy("library-stay")
class StayUntilExhaustedPolicy(_LibraryPolicy):
    """The best a(c) in the current region until none is left, then the nearest new region.

    When every non-empty region is discovered it falls back to S = a/C_move.
    Same options as :class:`CostAwarePolicy`.
    """

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        discovered = self._discovered(geo, visited)
        current = _current_region(geo, visited)
        if current is not None:
            here = np.flatnonzero(available & (geo.region == current))
            if len(here):
                a = self._acq(geo.composition[here])
                best = int(np.argmax(a))
                self._decision = {"switched": 0.0}
                return int(here[best]), float(a[best]), {}
        targets = _undiscovered(geo, discovered, available)
        if len(targets):
            distance = (
                geo.distance[current, targets] if current is not None else np.zeros(len(targets))
            )
            region = int(targets[int(np.argmin(distance))])
            self._decision = {"switched": 1.0}
            return self._blind_pick(state, geo, region, available), math.nan, {"switch_to": region}
        known = np.flatnonzero(available)
        a = self._acq(geo.composition[known])
        distance = geo.distance[current, geo.region[known]]
        score = a / geo.costs.move_cost(distance, inside_fov=False)
        best = int(np.argmax(score))
        self._decision = {"switched": 0.0}
        return int(known[best]), float(score[best]), {}


@register_policy("library-random")
class LibraryRandomPolicy(_LibraryPolicy):
    """A uniformly random available particle anywhere on the grid (no model)."""

    uses_model = False

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        return int(state.rng.choice(np.flatnonzero(available))), math.nan, {}


@register_policy("library-raster")
class LibraryRasterPolicy(_LibraryPolicy):
    """Regions in serpentine order, each exhausted in position order (no model)."""

    uses_model = False

    def _choose(
        self, state: CampaignState, geo: _Geometry, visited: np.ndarray, available: np.ndarray
    ) -> tuple[int, float, dict[str, Any]]:
        current = _current_region(geo, visited)
        start = geo.serpentine.index(current) if current is not None else 0
        for region in geo.serpentine[start:] + geo.serpentine[:start]:
            members = geo.order[available[geo.order] & (geo.region[geo.order] == region)]
            if len(members):
                return int(members[0]), math.nan, {}
        raise DataError("library-raster: no available particle left")
