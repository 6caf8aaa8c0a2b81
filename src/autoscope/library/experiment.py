"""A run configuration with ``[data] library = {...}`` as a campaign.

:func:`prepare_library` builds the library, its instrument, pool and monitor
from the configuration; :func:`autoscope.campaign.experiment.prepare` hands
such configurations here, so ``autoscope run``, ``autoscope resume`` and
``autoscope bench`` drive a simulated library like any other dataset. The
seed of ``[run]`` draws the library, so replications of a sweep are paired
by seed (every policy of one seed sees the same particles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import autoscope
from autoscope.campaign.config import Config
from autoscope.campaign.core import Campaign
from autoscope.campaign.experiment import Experiment, fingerprint
from autoscope.campaign.store import RunStore
from autoscope.library.instrument import LibraryInstrument
from autoscope.library.metrics import LibraryMonitor
from autoscope.library.policies import library_pool
from autoscope.library.simulator import LibrarySpec, ParticleLibrary, make_library

__all__ = ["LibraryExperiment", "prepare_library"]


@dataclass
class LibraryExperiment(Experiment):
    """An :class:`~autoscope.campaign.experiment.Experiment` over a simulated library.

    Attributes:
        library: The simulated library (``dataset`` is its survey overview).
    """

    library: ParticleLibrary | None = None

    def campaign(self, store: RunStore | None = None) -> Campaign:
        """A campaign over the library's particles."""
        policy, initial = self.policies()
        return Campaign(
            self.pool,
            policy,
            self.scalarizer,
            spectral_axis=np.zeros(1),
            budget=self.budget(),
            seed=self.config.run.seed,
            n_initial=self.config.policy.n_initial,
            initial_policy=initial,
            store=store,
        )

    def monitor(self) -> Any:
        """The library monitor (model error on the reference set, regions)."""
        if not self.config.metrics.enabled:
            return None
        assert self.library is not None
        return LibraryMonitor(self.library, seed=self.config.run.seed)

    def meta(self) -> dict[str, Any]:
        """What ``run.json`` records about this run."""
        assert self.library is not None
        return {
            "autoscope_version": autoscope.__version__,
            "config": self.config.to_dict(),
            "seed": self.config.run.seed,
            "dataset": self.dataset.describe(),
            "dataset_fingerprint": fingerprint(self.dataset),
            "instrument": self.instrument.describe(),
            "pool": {"size": len(self.pool), **self.pool.spec},
            "scalarizer": {"name": "channel-value", "options": {"channel": 0}, "units": ""},
            "target_outliers": self.target_outliers(),
            "grid_shape": list(self.dataset.spectrum_grid_shape),
            "spectra_binning": 1,
            "spectral_axis": [0.0],
            "spectral_units": "",
            "n_channels": 1,
        }


def prepare_library(config: Config) -> LibraryExperiment:
    """Build and validate a library experiment from ``config``; creates no files.

    ``[pool]`` and ``[scalarizer]`` do not apply: the pool is one candidate per
    particle and the spectrum is the measured property itself.

    Raises:
        ConfigError: Bad library options.
    """
    from autoscope.data.scalarizers import make_scalarizer

    spec = LibrarySpec.from_dict(config.data.library)
    library = make_library(spec, seed=config.run.seed)
    instrument = LibraryInstrument(library, seed=config.run.seed)
    pool = library_pool(library)
    truth_map = library.truth_map()
    experiment = LibraryExperiment(
        config=config,
        dataset=library.overview(),
        instrument=instrument,  # type: ignore[arg-type]
        pool=pool,
        scalarizer=make_scalarizer("channel-value", channel=0),
        truth_map=truth_map,
        truth=np.asarray(library.prop, dtype=float),
        library=library,
    )
    experiment.campaign()
    return experiment
