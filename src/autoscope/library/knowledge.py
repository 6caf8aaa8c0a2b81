"""Knowledge look-up: from a measured composition to candidate phases.

A :class:`PhaseLookup` is anything with a ``candidates(composition, *,
sigmas=None, basis="atomic")`` method returning :class:`PhaseMatch` objects,
best first. The offline default, :class:`TablePhaseLookup`, reads a small
table that you write (CSV or TOML) of phases and the fraction range of each
of their elements. autoscope makes no network calls.

Writing an adapter for an online database
-----------------------------------------
To ask a service such as the Materials Project instead, write a class with
the same ``candidates`` method, e.g. with the ``mp-api`` client (your
dependency, your API key)::

    class MaterialsProjectLookup:
        def __init__(self, api_key, *, max_e_above_hull=0.05):
            from mp_api.client import MPRester
            self.rester = MPRester(api_key)
            self.max_e_above_hull = max_e_above_hull

        def candidates(self, composition, *, sigmas=None, basis="atomic"):
            if basis != "atomic":
                return []  # count fractions cannot be compared with formulas
            major = [e for e, x in composition.items() if x > 0.05]
            docs = self.rester.materials.summary.search(
                chemsys="-".join(sorted(major)),
                energy_above_hull=(0, self.max_e_above_hull),
                fields=["formula_pretty", "composition_reduced"],
            )
            # score each formula against the composition as
            # TablePhaseLookup does, and return PhaseMatch objects, best first

Cache the answers (a particle library asks the same question many times) and
keep the network out of tests by injecting a fake lookup: anything with a
``candidates`` method is a :class:`PhaseLookup`.

Table format
------------
CSV, one phase per row, columns ``phase``, ``ranges``, and optional
``basis`` (``atomic``, the default, or ``counts``) and ``note``; ranges are
``Element:low-high`` items separated by spaces or semicolons::

    phase,basis,ranges,note
    silica (SiO2),atomic,Si:0.28-0.38 O:0.62-0.72,amorphous or quartz

TOML, an array of tables::

    [[phase]]
    name = "silica (SiO2)"
    basis = "atomic"
    ranges = { Si = [0.28, 0.38], O = [0.62, 0.72] }
    note = "amorphous or quartz"

Fractions in a table must be of the same kind as the measured ones: atomic
fractions (e.g. Cliff-Lorimer with k-factors) are compared with ``atomic``
rows, count fractions (``method="counts"``, instrument-specific) only with
``counts`` rows measured on the same instrument.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from autoscope.analysis.edx import ELEMENTS
from autoscope.errors import ConfigError, DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "BASES",
    "PhaseEntry",
    "PhaseLookup",
    "PhaseMatch",
    "TablePhaseLookup",
    "basis_of",
]

Basis = Literal["atomic", "counts"]
#: Kinds of fractions a table row may hold.
BASES: tuple[str, ...] = ("atomic", "counts")
_RANGE = re.compile(r"^([A-Z][a-z]?)\s*:\s*([0-9.eE+-]+)\s*-\s*([0-9.eE+-]+)$")


@dataclass(frozen=True)
class PhaseMatch:
    """One candidate phase for a composition.

    Attributes:
        phase: Phase name as written in the table (or by the service).
        score: Largest distance of an element's fraction outside its range,
            in standard deviations (0 when all fractions are inside); lower
            is better.
        coverage: Share of the measured signal carried by the phase's
            elements, in [0, 1].
        note: Free text from the table.

    Example:
        >>> PhaseMatch("silica", 0.0, 0.9).phase
        'silica'
    """

    phase: str
    score: float
    coverage: float
    note: str = ""


@runtime_checkable
class PhaseLookup(Protocol):
    """Maps a composition to candidate phases, best first.

    Example:
        >>> class Nothing:
        ...     def candidates(self, composition, *, sigmas=None, basis="atomic"):
        ...         return []
        >>> isinstance(Nothing(), PhaseLookup)
        True
    """

    def candidates(
        self,
        composition: Mapping[str, float],
        *,
        sigmas: Mapping[str, float] | None = None,
        basis: Basis = "atomic",
    ) -> list[PhaseMatch]:
        """Candidate phases of a composition.

        Args:
            composition: Element -> fraction (need not sum to 1; elements not
                measured may be absent).
            sigmas: Element -> one-sigma uncertainty of its fraction.
            basis: ``"atomic"`` or ``"counts"``: what the fractions are.

        Returns:
            Matches, best first; empty when nothing fits.
        """
        ...


@dataclass(frozen=True)
class PhaseEntry:
    """One row of a phase table.

    Attributes:
        name: Phase name.
        ranges: Element -> (low, high) fraction range, within [0, 1].
        basis: ``"atomic"`` or ``"counts"``.
        note: Free text (source, conditions).

    Example:
        >>> PhaseEntry("silica", {"Si": (0.28, 0.38), "O": (0.62, 0.72)}).basis
        'atomic'
    """

    name: str
    ranges: dict[str, tuple[float, float]]
    basis: str = "atomic"
    note: str = field(default="")


def basis_of(description: str) -> Basis:
    """The table basis of a quantification basis such as ``"count fraction"``.

    Example:
        >>> basis_of("atomic fraction"), basis_of("count fraction")
        ('atomic', 'counts')
    """
    return "counts" if description.startswith("count") else "atomic"


def _entry(
    name: str, ranges: Mapping[str, object], basis: str, note: str, where: str
) -> PhaseEntry:
    if not name:
        raise DataError(f"{where}: a phase has no name")
    if basis not in BASES:
        raise DataError(f"{where}: phase {name!r} has basis {basis!r}; use one of {BASES}")
    if not ranges:
        raise DataError(f"{where}: phase {name!r} has no element ranges")
    clean: dict[str, tuple[float, float]] = {}
    for element, pair in ranges.items():
        if element not in ELEMENTS:
            raise DataError(
                f"{where}: phase {name!r} names unknown element {element!r} "
                f"(known: {', '.join(ELEMENTS)})"
            )
        try:
            low, high = (float(v) for v in pair)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise DataError(
                f"{where}: phase {name!r}, {element}: the range must be two numbers "
                f"[low, high], got {pair!r}"
            ) from None
        if not (0.0 <= low <= high <= 1.0):
            raise DataError(
                f"{where}: phase {name!r}, {element}: need 0 <= low <= high <= 1, "
                f"got {low:g}-{high:g}"
            )
        clean[element] = (low, high)
    return PhaseEntry(name, clean, basis, note)


def _parse_ranges(text: str, name: str, where: str) -> dict[str, tuple[str, str]]:
    ranges: dict[str, tuple[str, str]] = {}
    for item in re.split(r"[;\s]+", text.strip()):
        if not item:
            continue
        match = _RANGE.match(item)
        if match is None:
            raise DataError(
                f"{where}: phase {name!r}: cannot read range {item!r}; write Element:low-high, "
                "e.g. Si:0.28-0.38"
            )
        ranges[match.group(1)] = (match.group(2), match.group(3))
    return ranges


def _read_csv(path: Path) -> list[PhaseEntry]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(row for row in handle if not row.lstrip().startswith("#"))
        columns = set(reader.fieldnames or [])
        if not {"phase", "ranges"} <= columns:
            raise DataError(
                f"{path}: a phase table needs the columns 'phase' and 'ranges' "
                f"(optional 'basis', 'note'); found {sorted(columns)}"
            )
        entries = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}, row {line}"
            name = (row.get("phase") or "").strip()
            ranges = _parse_ranges(row.get("ranges") or "", name, where)
            basis = (row.get("basis") or "atomic").strip()
            entries.append(_entry(name, ranges, basis, (row.get("note") or "").strip(), where))
    return entries


def _read_toml(path: Path) -> list[PhaseEntry]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML: {exc}") from exc
    phases = document.get("phase")
    if not isinstance(phases, list):
        raise DataError(f"{path}: a TOML phase table needs [[phase]] entries")
    entries = []
    for k, item in enumerate(phases):
        where = f"{path}, phase #{k + 1}"
        ranges = item.get("ranges")
        if not isinstance(ranges, dict):
            raise DataError(f"{where}: 'ranges' must be a table like {{ Si = [0.28, 0.38] }}")
        entries.append(
            _entry(
                str(item.get("name", "")),
                ranges,
                str(item.get("basis", "atomic")),
                str(item.get("note", "")),
                where,
            )
        )
    return entries


class TablePhaseLookup:
    """Offline phase look-up from a CSV or TOML table you write.

    For each phase of the matching basis, the measured fractions of the
    phase's elements are renormalised to sum to 1 (other elements, e.g. of
    the support, are set aside), and each is compared with its range. The
    distance outside a range is divided by the fraction's uncertainty
    (floored at ``min_sigma``); a phase is a candidate when the largest such
    distance is at most ``tolerance`` and its elements carry at least
    ``min_coverage`` of the measured signal.

    Args:
        path: ``.csv`` or ``.toml`` table (format in the module docstring).
        tolerance: Largest allowed distance outside a range, in sigma (>= 0).
        min_sigma: Smallest uncertainty used (absolute fraction, > 0), so an
            exact composition without uncertainties still gets a margin.
        min_coverage: Smallest share of the signal the phase's elements
            must carry, in [0, 1].

    Raises:
        DataError: Missing, unreadable or malformed table.
        ConfigError: Options out of range.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "phases.csv"
        >>> _ = path.write_text("phase,ranges" + chr(10) + "silica,Si:0.28-0.38 O:0.62-0.72")
        >>> [m.phase for m in TablePhaseLookup(path).candidates({"Si": 0.33, "O": 0.67})]
        ['silica']
    """

    def __init__(
        self,
        path: str | Path,
        *,
        tolerance: float = 2.0,
        min_sigma: float = 0.01,
        min_coverage: float = 0.5,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"phase table not found: {self.path}")
        self.tolerance = _option("tolerance", tolerance, low=0.0)
        self.min_sigma = _option("min_sigma", min_sigma, low=0.0, open_low=True)
        self.min_coverage = _option("min_coverage", min_coverage, low=0.0, high=1.0)
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            self.entries = _read_csv(self.path)
        elif suffix == ".toml":
            self.entries = _read_toml(self.path)
        else:
            raise DataError(f"{self.path}: a phase table must be .csv or .toml, not {suffix!r}")
        if not self.entries:
            raise DataError(f"{self.path}: the phase table has no phases")

    def __repr__(self) -> str:
        return f"TablePhaseLookup({str(self.path)!r}, {len(self.entries)} phases)"

    def candidates(
        self,
        composition: Mapping[str, float],
        *,
        sigmas: Mapping[str, float] | None = None,
        basis: Basis = "atomic",
    ) -> list[PhaseMatch]:
        """Phases whose ranges contain the composition, best first (see the class docstring).

        Args:
            composition: Element -> fraction (need not sum to 1).
            sigmas: Element -> one-sigma uncertainty of its fraction.
            basis: ``"atomic"`` or ``"counts"``; only rows of this basis are
                compared.

        Returns:
            Matches sorted by score, then by coverage (higher first).

        Raises:
            ConfigError: Unknown basis; negative or non-finite fractions.
        """
        if basis not in BASES:
            raise ConfigError(f"basis must be one of {BASES}, got {basis!r}")
        values = {}
        for element, value in composition.items():
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ConfigError(f"fraction of {element} must be finite and >= 0, got {value!r}")
            values[element] = number
        total = sum(values.values())
        if total <= 0:
            return []
        errors = {e: float(s) for e, s in (sigmas or {}).items() if math.isfinite(float(s))}
        matches = []
        for entry in self.entries:
            if entry.basis != basis:
                continue
            share = sum(values.get(e, 0.0) for e in entry.ranges)
            coverage = share / total
            if share <= 0 or coverage < self.min_coverage:
                continue
            worst = 0.0
            for element, (low, high) in entry.ranges.items():
                x = values.get(element, 0.0) / share
                sigma = max(errors.get(element, 0.0) / share, self.min_sigma)
                distance = max(low - x, x - high, 0.0) / sigma
                worst = max(worst, distance)
            if worst <= self.tolerance:
                matches.append(PhaseMatch(entry.name, worst, coverage, entry.note))
        return sorted(matches, key=lambda m: (m.score, -m.coverage))


def _option(
    name: str,
    value: float,
    *,
    low: float,
    high: float = math.inf,
    open_low: bool = False,
) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    bad_low = number <= low if open_low else number < low
    if not math.isfinite(number) and high == math.inf and number == math.inf:
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if math.isnan(number) or bad_low or number > high:
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        upper = f" and <= {high:g}" if math.isfinite(high) else ""
        raise ConfigError(f"{name} must be {bound}{upper}, got {value!r}")
    return number
