"""autoscope: autonomous microscopy that decides where to measure next.

Subpackages:
    data: SpectralImage, readers of real files, candidate pools, scalarizers, digital twins.
    instruments: the Instrument protocol, ``check_instrument`` and the replay twin.
    policies: strategies that choose points (random, raster, space-filling, ...).
    campaign: the ask/tell campaign, its driver and the durable run store.
    metrics: coverage in patch, feature and target space; surrogate errors.
    models: learned models (the VAE behind feature-space coverage, ...).
    viz: figures and the HTML report of a run.
"""

__version__ = "0.1.0"
