"""autoscope: autonomous microscopy that decides where to measure next.

Subpackages:
    data: SpectralImage, readers of real files, candidate pools, scalarizers, digital twins.
    instruments: the Instrument protocol, ``check_instrument`` and the replay twin.
    policies: strategies that choose points (random, raster, space-filling, ...).
    campaign: the ask/tell campaign, its driver and the durable run store.
    metrics: coverage in patch, feature and target space; surrogate errors.
    models: surrogates (deep kernel GP, exact GP) and the VAE behind feature-space coverage.
    acquisition: EI/log-EI, UCB, maximum uncertainty, BEACON, Thompson sampling, batches.
    bench: sweeps of datasets x policies x seeds, statistics and the comparison report.
    viz: figures and the HTML report of a run.
"""

__version__ = "0.1.0"
