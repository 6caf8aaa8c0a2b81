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

from autoscope.campaign.config import Config
from autoscope.campaign.experiment import Experiment
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

    @property
    def spectral_axis(self) -> np.ndarray:
        """One channel: the measured property."""
        return np.zeros(1)

    def monitor(self, policy: Any = None) -> Any:
        """The library monitor (model error on the reference set, regions)."""
        if not self.config.metrics.enabled:
            return None
        assert self.library is not None
        return LibraryMonitor(self.library, seed=self.config.run.seed)

    def meta(self) -> dict[str, Any]:
        """What ``run.json`` records about this run."""
        return {
            **super().meta(),
            "scalarizer": {"name": "channel-value", "options": {"channel": 0}, "units": ""},
            "spectral_axis": [0.0],
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
