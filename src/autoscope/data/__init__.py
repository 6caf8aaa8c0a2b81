"""Data: samples as arrays, readers of real files, pools, scalarizers and digital twins."""

from autoscope.data.pool import CandidatePool, extract_patches
from autoscope.data.readers import list_readers, read
from autoscope.data.scalarizers import SCALARIZERS, make_scalarizer
from autoscope.data.spectral_image import SpectralImage
from autoscope.data.twins import TWINS, make_twin

__all__ = [
    "SCALARIZERS",
    "TWINS",
    "CandidatePool",
    "SpectralImage",
    "extract_patches",
    "list_readers",
    "make_scalarizer",
    "make_twin",
    "read",
]
