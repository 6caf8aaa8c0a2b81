"""Readers that turn real microscopy files into a :class:`~autoscope.data.SpectralImage`.

One format family per module:

* ``nsid``: NSID/sidpy HDF5 (DTMicroscope BEPS cubes, PFM images), via h5py.
* ``rosetta``: ``.dm3``/``.dm4``/``.emd``/``.bcf``/``.hspy``/HyperSpy ``.hdf5``
  via RosettaSciIO (``pip install autoscope[io]``).
* ``spm``: ``.gwy`` (gwyfile) and ``.ibw`` (igor2), also ``autoscope[io]``.
* ``numpy_files``: ``.npy`` and ``.npz``.
* ``registry``: :data:`READERS`, :func:`list_readers` and reader selection by
  extension and content; ``core``: :func:`read`, pairing and provenance.

Example:
    >>> from autoscope.data.readers import list_readers
    >>> "dm" in [info.name for info in list_readers()]
    True
"""

from __future__ import annotations

from autoscope.data.readers.core import (
    DEFAULT_STRUCTURE,
    STRUCTURE_DERIVATIONS,
    derive_structure,
    read,
)
from autoscope.data.readers.registry import READERS, ReaderInfo, list_readers, select_reader

__all__ = [
    "DEFAULT_STRUCTURE",
    "READERS",
    "STRUCTURE_DERIVATIONS",
    "ReaderInfo",
    "derive_structure",
    "list_readers",
    "read",
    "select_reader",
]
