"""Which reader opens which file: the registry and content sniffing.

A reader is chosen by the file extension *and* its first bytes (magic
numbers), so a renamed or corrupt file gets a clear error instead of a deep
traceback; HDF5 files are further told apart by layout (HyperSpy root
attributes vs NSID main datasets), which settles the ambiguous ``.h5`` /
``.hdf5`` extensions.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py

from autoscope.data.readers._raw import RawSignals
from autoscope.data.readers.nsid import is_nsid, load_nsid
from autoscope.data.readers.numpy_files import load_npy, load_npz
from autoscope.data.readers.rosetta import load_bcf, load_dm, load_emd, load_hspy
from autoscope.data.readers.spm import load_gwy, load_ibw
from autoscope.errors import DataError

__all__ = ["READERS", "ReaderInfo", "list_readers", "select_reader"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def hdf5_layout(path: Path) -> str | None:
    """``"hspy"``, ``"nsid"``, ``"emd"`` or ``None`` for an HDF5 file.

    Raises:
        DataError: The file has the HDF5 signature but cannot be opened
            (truncated or corrupt).
    """
    try:
        with h5py.File(path, "r") as handle:
            if str(handle.attrs.get("file_format", "")).lower() == "hyperspy" or (
                "Experiments" in handle and "file_format" in handle.attrs
            ):
                return "hspy"
            if "Data" in handle and "Version" in handle:
                return "emd"
            if is_nsid(handle):
                return "nsid"
    except OSError as exc:
        raise DataError(
            f"{path}: HDF5 file cannot be opened (truncated or corrupt?): {exc}"
        ) from exc
    return None


def _is_hdf5(head: bytes) -> bool:
    return head.startswith(_HDF5_MAGIC)


def _is_dm(head: bytes) -> bool:
    return len(head) >= 4 and int.from_bytes(head[:4], "big") in (3, 4)


def _is_ibw(head: bytes) -> bool:
    return len(head) >= 2 and (
        int.from_bytes(head[:2], "little") in (1, 2, 3, 5)
        or int.from_bytes(head[:2], "big") in (1, 2, 3, 5)
    )


@dataclass(frozen=True)
class ReaderInfo:
    """One file format autoscope can read.

    Attributes:
        name: Registry key, used with ``read(..., reader=name)``.
        extensions: File extensions (lower case, with the dot).
        description: One line for ``autoscope readers``.
        extra: The ``autoscope[...]`` extra that provides it, or ``None``.
        requires: Top-level modules the reader imports.
        magic: What the first bytes must look like, in words.
        sniff: Whether the first bytes of a file fit this format.
        load: Turns a path into :class:`RawSignals`.

    Example:
        >>> from autoscope.data.readers import READERS
        >>> ".dm3" in READERS["dm"].extensions
        True
    """

    name: str
    extensions: tuple[str, ...]
    description: str
    extra: str | None
    requires: tuple[str, ...]
    magic: str
    sniff: Callable[[bytes], bool]
    load: Callable[[Path], RawSignals]

    @property
    def available(self) -> bool:
        """Whether the packages this reader needs are installed."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)


READERS: dict[str, ReaderInfo] = {
    info.name: info
    for info in (
        ReaderInfo(
            "nsid",
            (".h5", ".hdf5"),
            "NSID / sidpy HDF5 (pycroscopy, DTMicroscope): images and spectral images",
            None,
            ("h5py",),
            "an HDF5 file with NSID main datasets",
            _is_hdf5,
            load_nsid,
        ),
        ReaderInfo(
            "hspy",
            (".hspy", ".hdf5", ".h5"),
            "HyperSpy HDF5 (.hspy, and .hdf5 written by HyperSpy)",
            "io",
            ("rsciio", "h5py"),
            "an HDF5 file with HyperSpy layout",
            _is_hdf5,
            load_hspy,
        ),
        ReaderInfo(
            "dm",
            (".dm3", ".dm4"),
            "Gatan DigitalMicrograph images and spectrum images",
            "io",
            ("rsciio",),
            "a DM3/DM4 header (version 3 or 4)",
            _is_dm,
            load_dm,
        ),
        ReaderInfo(
            "emd",
            (".emd",),
            "EMD (Thermo Fisher Velox, Berkeley): HAADF + EDX spectrum images",
            "io",
            ("rsciio", "sparse"),
            "an HDF5 file",
            _is_hdf5,
            load_emd,
        ),
        ReaderInfo(
            "bcf",
            (".bcf",),
            "Bruker Esprit hypermap: image + EDX spectrum image",
            "io",
            ("rsciio",),
            "a Bruker SFS container (AAMVHFSS)",
            lambda head: head.startswith(b"AAMVHFSS"),
            load_bcf,
        ),
        ReaderInfo(
            "gwy",
            (".gwy",),
            "Gwyddion SPM file: image channels",
            "io",
            ("gwyfile",),
            "a Gwyddion file (GWYP)",
            lambda head: head.startswith(b"GWYP"),
            load_gwy,
        ),
        ReaderInfo(
            "ibw",
            (".ibw",),
            "Igor binary wave (Asylum Research SPM): image channels",
            "io",
            ("igor2",),
            "an Igor binary wave header (version 1, 2, 3 or 5)",
            _is_ibw,
            load_ibw,
        ),
        ReaderInfo(
            "npy",
            (".npy",),
            "numpy array: image (H, W) or spectrum cube (H, W, S)",
            None,
            ("numpy",),
            "a .npy header",
            lambda head: head.startswith(b"\x93NUMPY"),
            load_npy,
        ),
        ReaderInfo(
            "npz",
            (".npz",),
            "numpy archive with 'structure', 'spectra', 'spectral_axis', ...",
            None,
            ("numpy",),
            "a zip archive",
            lambda head: head.startswith((b"PK\x03\x04", b"PK\x05\x06")),
            load_npz,
        ),
    )
}
"""Every registered reader, by name."""


def list_readers() -> list[ReaderInfo]:
    """All registered readers, sorted by name (for ``autoscope readers``)."""
    return [READERS[name] for name in sorted(READERS)]


def select_reader(path: Path, *, reader: str | None = None) -> ReaderInfo:
    """Choose the reader for ``path`` from its extension and first bytes.

    Args:
        path: An existing file.
        reader: A registry name to force (case-insensitive), e.g. ``"hspy"``.

    Returns:
        The matching :class:`ReaderInfo`.

    Raises:
        DataError: Unknown reader name, unknown extension, or content that
            does not match what the extension (or forced reader) promises.
    """
    with open(path, "rb") as handle:
        head = handle.read(16)
    if reader is not None:
        info = READERS.get(reader.lower())
        if info is None:
            raise DataError(
                f"{path}: unknown reader {reader!r}; known readers: {', '.join(sorted(READERS))}"
            )
        if not info.sniff(head):
            raise DataError(
                f"{path}: forced reader {info.name!r} expects {info.magic}, "
                f"but the file starts with {head[:8]!r} (corrupt or another format?)"
            )
        return info
    suffix = path.suffix.lower()
    candidates = [info for info in READERS.values() if suffix in info.extensions]
    if not candidates:
        known = sorted({ext for info in READERS.values() for ext in info.extensions})
        raise DataError(
            f"{path}: no reader for extension {suffix or '(none)'!r}; readable: {', '.join(known)} "
            f"(or pass reader=<name>)"
        )
    matching = [info for info in candidates if info.sniff(head)]
    if not matching:
        expected = "; ".join(f"{info.name}: {info.magic}" for info in candidates)
        raise DataError(
            f"{path}: content does not match its extension {suffix!r} (expected {expected}; "
            f"the file starts with {head[:8]!r}); is it corrupt or truncated?"
        )
    if not _is_hdf5(head) or (len(matching) == 1 and matching[0].name != "hspy"):
        return matching[0]
    layout = hdf5_layout(path)
    for info in matching:
        if info.name == layout:
            return info
    if suffix == ".emd" and layout is None:
        return READERS["emd"]
    raise DataError(
        f"{path}: HDF5 file has neither the HyperSpy layout (root attribute file_format) "
        f"nor NSID main datasets (attributes 'DIMENSION_LABELS' and 'data_type'); "
        f"pass reader=<name> if you know its format"
    )
