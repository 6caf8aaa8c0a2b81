"""Typed run configuration, loaded from TOML.

Every option of ``autoscope run CONFIG.toml`` is a field below; the
commented template ``examples/demo.toml`` documents them all. Unknown keys and
wrong types are errors that name the section and the key, so a typo never
silently falls back to a default.

Paths may use environment variables (``${AUTOSCOPE_DATA}/beps_pto_hysteresis/...``);
``AUTOSCOPE_DATA`` defaults to the ``shared/data`` folder beside the checkout
when that exists. Relative paths are relative to the config file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscope.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "BudgetConfig",
    "Config",
    "DataConfig",
    "FaultConfig",
    "InstrumentConfig",
    "MetricsConfig",
    "PolicyConfig",
    "PoolConfig",
    "RetryConfig",
    "RunConfig",
    "ScalarizerConfig",
    "default_data_dir",
    "load_config",
]


@dataclass
class RunConfig:
    """``[run]``: name, seed and where the run directory goes."""

    name: str = "run"
    seed: int = 0
    output: str = ""
    """Run directory; empty means ``runs/<name>-seed<seed>``."""
    progress: bool = True
    synchronous: str = "FULL"
    """SQLite durability: FULL survives power loss, NORMAL a killed process."""


@dataclass
class DataConfig:
    """``[data]``: a built-in twin, a file (plus spectra) or a simulated particle library."""

    twin: str = ""
    twin_options: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    spectra: str = ""
    structure: str = ""
    """How to derive a structure channel when the file has none (e.g. ``mean``, ``slice:10``)."""
    reader: str = ""
    bin: int = 1
    """Sum spectra over bin x bin blocks (e.g. sparse EDX counts); 1 = no binning."""
    spectral_range: list[float] = field(default_factory=list)
    """Keep only channels with axis values in ``[low, high]`` (e.g. the EDX lines); [] = all."""
    spectral_bin: int = 1
    """Sum every ``spectral_bin`` channels after the crop (counts stay Poisson); 1 = none."""
    library: dict[str, Any] = field(default_factory=dict)
    """A simulated particle library: options of ``autoscope.library.LibrarySpec``,
    at least one (e.g. ``{ n_components = 3 }``)."""


@dataclass
class PoolConfig:
    """``[pool]``: how candidates and their patches are cut (see ``extract_patches``)."""

    window: int = 16
    stride: int = 1
    border: str = "valid"
    normalization: str = "global"
    channels: str = "first"
    """Structure channels cut into patches: "first" or "all" (patches `(N, C, w, w)`)."""


@dataclass
class ScalarizerConfig:
    """``[scalarizer]``: which scalar target the campaign learns."""

    name: str = "loop-area"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaultConfig:
    """``[instrument.faults]``: injected fault probabilities per attempt."""

    timeout: float = 0.0
    error: float = 0.0
    nan: float = 0.0
    timeout_seconds: float = 5.0


@dataclass
class InstrumentConfig:
    """``[instrument]``: cost, noise and faults of the replay instrument."""

    seconds_per_point: float = 1.0
    dose_per_point: float = 0.0
    noise_std: float = 0.0
    poisson: bool = False
    latency: float = 0.0
    """Wall-clock delay per measurement, to emulate a real instrument's pace."""
    faults: FaultConfig = field(default_factory=FaultConfig)


@dataclass
class PolicyConfig:
    """``[policy]``: the strategy, its options and the initial points."""

    name: str = "random"
    options: dict[str, Any] = field(default_factory=dict)
    n_initial: int = 10
    initial: str = "random"
    batch_size: int = 1


@dataclass
class BudgetConfig:
    """``[budget]``: limits; leave a key out for unlimited (at least one is required)."""

    measurements: int | None = 100
    seconds: float | None = None
    dose: float | None = None


@dataclass
class RetryConfig:
    """``[retry]``: attempts per point before it is recorded as failed."""

    max_attempts: int = 3


@dataclass
class MetricsConfig:
    """``[metrics]``: which monitoring metrics are recorded per step."""

    enabled: bool = True
    feature_space: bool = True
    patch_clusters: int = 100
    patch_components: int = 32
    feature_clusters: int = 80
    target_bins: list[int] = field(default_factory=lambda: [10, 25, 100])
    spectra_scaling: str = "global"
    """Curiosity policies: scaling of the spectra before their full-spectrum
    losses are computed ("global", "robust" or "per-spectrum")."""


@dataclass
class Config:
    """A whole run configuration."""

    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    scalarizer: ScalarizerConfig = field(default_factory=ScalarizerConfig)
    instrument: InstrumentConfig = field(default_factory=InstrumentConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: Path | None = None) -> Config:
        """Build and validate a config from nested dicts (as parsed from TOML)."""
        config = _build(cls, data, "")
        if base_dir is not None:
            config.resolve_paths(base_dir)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def resolve_paths(self, base_dir: Path) -> None:
        """Expand variables and make data paths absolute."""
        for name in ("path", "spectra"):
            value = getattr(self.data, name)
            if value:
                setattr(self.data, name, str(resolve_path(value, base_dir)))

    def validate(self) -> None:
        """Check values that the types alone do not (raises :class:`ConfigError`)."""
        sources = [bool(self.data.twin), bool(self.data.path), bool(self.data.library)]
        if sum(sources) != 1:
            raise ConfigError(
                "[data] needs exactly one of 'twin' (a built-in twin), 'path' (a file) or "
                "'library' (a simulated particle library)"
            )
        if self.data.spectral_range and len(self.data.spectral_range) != 2:
            raise ConfigError(
                f"[data] spectral_range must be [low, high], got {self.data.spectral_range}"
            )
        if self.data.spectral_bin < 1:
            raise ConfigError(f"[data] spectral_bin must be >= 1, got {self.data.spectral_bin}")
        if self.data.spectra and not self.data.path:
            raise ConfigError("[data] 'spectra' pairs a spectrum image with the file in 'path'")
        if self.policy.n_initial < 0:
            raise ConfigError(f"[policy] n_initial must be >= 0, got {self.policy.n_initial}")
        if self.policy.batch_size < 1:
            raise ConfigError(f"[policy] batch_size must be >= 1, got {self.policy.batch_size}")
        if self.pool.channels not in ("first", "all"):
            raise ConfigError(
                f"[pool] channels must be 'first' or 'all', got {self.pool.channels!r}"
            )
        if self.run.synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ConfigError(
                f"[run] synchronous must be FULL, NORMAL or EXTRA, got {self.run.synchronous!r}"
            )

    def run_dir(self) -> Path:
        """Where the run directory goes."""
        return Path(self.run.output or f"runs/{self.run.name}-seed{self.run.seed}")


def default_data_dir() -> Path:
    """``$AUTOSCOPE_DATA``, else the ``shared/data`` folder beside this checkout."""
    if os.environ.get("AUTOSCOPE_DATA"):
        return Path(os.environ["AUTOSCOPE_DATA"])
    return Path(__file__).resolve().parents[4] / "shared" / "data"


def resolve_path(value: str, base_dir: Path) -> Path:
    """Expand ``${AUTOSCOPE_DATA}`` and other variables; make relative paths absolute."""
    env = dict(os.environ)
    env.setdefault("AUTOSCOPE_DATA", str(default_data_dir()))
    expanded = value
    for key, replacement in env.items():
        expanded = expanded.replace("${" + key + "}", replacement)
    if "${" in expanded:
        raise ConfigError(f"unknown environment variable in path {value!r}")
    path = Path(expanded).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file.

    Raises:
        ConfigError: The file is missing, not valid TOML, or has unknown keys or wrong types.
    """
    path = Path(path)
    data = read_toml(path, "config")
    try:
        return Config.from_dict(data, base_dir=path.resolve().parent)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse the TOML file ``path`` (a ``what``, named in errors).

    Raises:
        ConfigError: The file is missing or not valid TOML.
    """
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {type(value).__name__}")
        return dict(value)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {type(value).__name__}")
        [item] = typing.get_args(annotation)
        return [_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _build(cls: Any, data: dict[str, Any], section: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"[{section}]" if section else "the top level"
        raise ConfigError(f"unknown key(s) {unknown} in {where}; expected one of {sorted(names)}")
    values = {}
    for name, value in data.items():
        annotation = hints[name]
        if dataclasses.is_dataclass(annotation):
            subsection = f"{section}.{name}" if section else name
            if not isinstance(value, dict):
                raise ConfigError(f"[{subsection}] must be a table, got {type(value).__name__}")
            values[name] = _build(annotation, value, subsection)
        else:
            where = f"[{section}] {name}" if section else name
            values[name] = _check_type(value, annotation, where)
    return cls(**values)
