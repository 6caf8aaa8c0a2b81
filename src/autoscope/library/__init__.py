"""Random particle libraries: simulator, stage-aware instrument, cost-aware policies.

A random library is a TEM grid covered with particles of random composition.
The STEM finds particles in the image, reads their composition by EDX and
measures the property of interest on the chosen ones; beam shift inside a
field of view is almost free, a stage move costs seconds. This package
simulates such libraries (:mod:`~autoscope.library.simulator`), drives them as
an instrument with a clock (:mod:`~autoscope.library.instrument`), and chooses
particles with cost-aware stay-or-switch policies
(:mod:`~autoscope.library.policies`), registered with the other policies.
"""

from autoscope.library.costs import MotionCost
from autoscope.library.simulator import LibrarySpec, ParticleLibrary, make_library

__all__ = ["LibrarySpec", "MotionCost", "ParticleLibrary", "make_library"]
