"""Parameter spaces of image-analysis workflows, declared as data.

A workflow says which of its operator parameters a search may change, of what
type, over which range and whether on a log scale. Optimisers see the space
only through a unit cube: :meth:`ParameterSpace.from_unit` maps a point of
``[0, 1]^d`` to a parameter dictionary (rounding integers, picking choices),
:meth:`ParameterSpace.to_unit` maps back. That one mapping lets pymoo's GA and
BoTorch's qLogNEHVI share every workflow without knowing its parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from autoscope.errors import ConfigError

__all__ = ["Parameter", "ParameterSpace"]

Kind = Literal["float", "int", "choice"]


@dataclass(frozen=True)
class Parameter:
    """One searchable operator parameter.

    Args:
        name: Keyword of the operator this value is passed as.
        kind: ``"float"``, ``"int"`` or ``"choice"``.
        low: Lower bound (inclusive) for numeric kinds.
        high: Upper bound (inclusive) for numeric kinds.
        log: Search on a log scale (numeric kinds with ``low > 0``).
        choices: The allowed values of a ``"choice"`` parameter.
        help: One line on what the parameter does, shown in reports.
    """

    name: str
    kind: Kind = "float"
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "choice"):
            raise ConfigError(f"parameter {self.name!r}: unknown kind {self.kind!r}")
        if self.kind == "choice":
            if not self.choices:
                raise ConfigError(f"parameter {self.name!r}: a choice needs at least one value")
            return
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ConfigError(f"parameter {self.name!r}: bounds must be finite")
        if self.high <= self.low:
            raise ConfigError(
                f"parameter {self.name!r}: empty range [{self.low}, {self.high}]; "
                "high must be greater than low"
            )
        if self.kind == "int" and math.floor(self.high) < math.ceil(self.low):
            raise ConfigError(f"parameter {self.name!r}: no integer in [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ConfigError(f"parameter {self.name!r}: a log scale needs low > 0")

    def from_unit(self, u: float) -> Any:
        """Map ``u`` in ``[0, 1]`` to a value of this parameter."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        if self.kind == "int":
            return int(min(max(round(value), math.ceil(self.low)), math.floor(self.high)))
        return float(min(max(value, self.low), self.high))

    def to_unit(self, value: Any) -> float:
        """Map a value of this parameter to ``[0, 1]`` (inverse of :meth:`from_unit`)."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(
                    f"parameter {self.name!r}: {value!r} is not one of {list(self.choices)}"
                )
            return (self.choices.index(value) + 0.5) / len(self.choices)
        value = float(value)
        if not self.low <= value <= self.high:
            raise ConfigError(
                f"parameter {self.name!r}: {value} is outside [{self.low}, {self.high}]"
            )
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class ParameterSpace:
    """An ordered set of :class:`Parameter` objects.

    Args:
        parameters: The searchable parameters, in the order of the unit-cube axes.
        fixed: Operator keywords held constant (not searched).

    Example:
        >>> space = ParameterSpace([Parameter("threshold", low=0.01, high=0.5, log=True)])
        >>> space.from_unit([0.0])
        {'threshold': 0.01}
    """

    parameters: Sequence[Parameter]
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "fixed", dict(self.fixed))
        names = [p.name for p in self.parameters]
        if not names:
            raise ConfigError("a parameter space needs at least one parameter")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"parameter names must be unique; repeated: {duplicates}")
        clash = sorted(set(names) & set(self.fixed))
        if clash:
            raise ConfigError(f"parameters {clash} are both searched and fixed")

    def __len__(self) -> int:
        return len(self.parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    @property
    def names(self) -> list[str]:
        """Parameter names in axis order."""
        return [p.name for p in self.parameters]

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Map a point of the unit cube, shape ``(d,)``, to operator keywords."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != len(self.parameters):
            raise ConfigError(f"expected {len(self.parameters)} coordinates, got {u.shape[0]}")
        values = {p.name: p.from_unit(x) for p, x in zip(self.parameters, u, strict=True)}
        return {**self.fixed, **values}

    def to_unit(self, values: Mapping[str, Any]) -> np.ndarray:
        """Map operator keywords to a point of the unit cube, shape ``(d,)``."""
        missing = [p.name for p in self.parameters if p.name not in values]
        if missing:
            raise ConfigError(f"missing parameters {missing}")
        return np.array([p.to_unit(values[p.name]) for p in self.parameters])

    def key(self, values: Mapping[str, Any]) -> tuple:
        """A hashable key of the searched values (for caching repeated evaluations)."""
        return tuple(
            round(values[p.name], 12) if p.kind == "float" else values[p.name]
            for p in self.parameters
        )

    def with_fixed(self, **fixed: Any) -> ParameterSpace:
        """Return a copy with more keywords held fixed (and removed from the search)."""
        unknown = sorted(set(fixed) - set(self.names) - set(self.fixed))
        if unknown:
            raise ConfigError(f"unknown parameters {unknown}; known: {self.names}")
        kept = [p for p in self.parameters if p.name not in fixed]
        return ParameterSpace(kept, {**self.fixed, **fixed})

    def describe(self) -> list[dict[str, Any]]:
        """Rows describing each parameter (for reports and ``--help`` texts)."""
        rows = []
        for p in self.parameters:
            span = list(p.choices) if p.kind == "choice" else [p.low, p.high]
            rows.append(
                {"name": p.name, "kind": p.kind, "range": span, "log": p.log, "help": p.help}
            )
        return rows
