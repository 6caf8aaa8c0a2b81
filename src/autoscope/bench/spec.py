"""The sweep spec: datasets × policies × seeds on top of a base run configuration.

A spec is a TOML file (``autoscope bench SPEC.toml``; the commented template is
``examples/bench/demo.toml``)::

    [bench]
    name = "demo-bench"          # names the sweep (default output bench/<name>)
    seeds = [0, 1, 2]            # or n_seeds = 10 (seeds 0 .. n_seeds - 1)
    reference = "random"         # policy label every other policy is compared to
                                 # (default: the first [[policies]] entry)
    steps = [25, 50]             # steps compared in the results table (default: the
                                 # last step every replication of a dataset reached)
    metrics = ["coverage_patch", "rmse"]   # compared metrics (default: all recorded)
    output = "bench/demo-bench"  # sweep directory, relative to the working directory
    correction = "metric"        # Holm family: "metric" (the policies at one metric
                                 # and step; default), "dataset" (every comparison of
                                 # one dataset's table) or "sweep" (everything)
    alpha = 0.05                 # significance level of the Holm-adjusted p-values
    n_boot = 2000                # bootstrap resamples of every confidence interval

    [base]                       # a whole run configuration: the sections of
    pool = { window = 12 }       # examples/demo.toml ([run] seed and [run] output
    budget = { measurements = 50 }   # are set per replication and may not be given)

    [[datasets]]                 # one per dataset; `name` is required, the other
    name = "ferro"               # keys are run-config sections overriding [base]
    data = { twin = "ferroelectric", twin_options = { size = 32 } }

    [[policies]]                 # one per policy; `label` is required, `policy`
    label = "random"             # overrides [base] policy, and other sections
    policy = { name = "random" } # (e.g. budget) may be overridden too

Overrides merge section by section: a dataset's ``pool = { window = 8 }``
replaces ``[base] pool.window`` and keeps the other ``[base] pool`` keys;
free-form tables (``twin_options``, ``options``) are replaced whole, so the
options of one policy never leak into another. The policy entry is applied after
the dataset entry. Every merged configuration (one per dataset × policy) is
validated when the spec is loaded, and a dataset file that does not exist is an
error then, not halfway through the sweep.

Replications run with ``[run] progress = false`` and, unless ``[base]`` says
otherwise, ``[run] synchronous = "NORMAL"``: a replication interrupted by a
crash is redone from scratch, so power-loss durability buys nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscope.campaign.config import Config, read_toml
from autoscope.errors import ConfigError

__all__ = [
    "CORRECTION_FAMILIES",
    "BenchSpec",
    "DatasetSpec",
    "PolicySpec",
    "load_spec",
    "merge_config",
]

#: Allowed values of ``[bench] correction`` (the family of the Holm correction).
CORRECTION_FAMILIES = ("dataset", "metric", "sweep")
_BENCH_KEYS = {
    "name",
    "seeds",
    "n_seeds",
    "reference",
    "steps",
    "metrics",
    "output",
    "correction",
    "alpha",
    "n_boot",
}
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass
class DatasetSpec:
    """One ``[[datasets]]`` entry.

    Attributes:
        name: Label of the dataset (a folder name in the sweep directory).
        overrides: Run-config sections overriding ``[base]``.
    """

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class PolicySpec:
    """One ``[[policies]]`` entry.

    Attributes:
        label: Label of the policy (a folder name in the sweep directory).
        overrides: Run-config sections (``policy`` and any other) overriding
            ``[base]`` after the dataset's overrides.
    """

    label: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchSpec:
    """A validated sweep: datasets × policies × seeds over a base configuration.

    Build it with :func:`load_spec` (from TOML) or :meth:`from_dict`.

    Attributes:
        name: Name of the sweep.
        seeds: Seeds of the replications; the seed fixes the twin, the initial
            points and the instrument noise, so results are paired by seed.
        reference: Label of the policy every other policy is compared to.
        steps: Steps compared in the results table; empty means the last step
            every replication of a dataset reached.
        metrics: Compared metrics; empty means all recorded.
        output: The sweep directory.
        base: The base run configuration (nested dicts).
        datasets: The datasets.
        policies: The policies.
        correction: Family of the Holm correction (see :data:`CORRECTION_FAMILIES`).
        alpha: Significance level of the Holm-adjusted p-values.
        n_boot: Bootstrap resamples of every confidence interval.
        base_dir: Folder that relative data paths are resolved against.

    Example:
        >>> spec = BenchSpec.from_dict({
        ...     "bench": {"name": "tiny", "seeds": [0, 1]},
        ...     "base": {"budget": {"measurements": 12}, "pool": {"window": 8}},
        ...     "datasets": [{"name": "ferro", "data": {"twin": "ferroelectric"}}],
        ...     "policies": [{"label": "random", "policy": {"name": "random"}},
        ...                  {"label": "sf", "policy": {"name": "space-filling"}}],
        ... })
        >>> len(spec.tasks()), spec.reference
        (4, 'random')
    """

    name: str
    seeds: list[int]
    reference: str
    output: Path
    base: dict[str, Any]
    datasets: list[DatasetSpec]
    policies: list[PolicySpec]
    steps: list[int] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    correction: str = "metric"
    alpha: float = 0.05
    n_boot: int = 2000
    base_dir: Path | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: Path | None = None) -> BenchSpec:
        """Build and validate a spec from nested dicts (as parsed from TOML).

        Args:
            data: The parsed spec.
            base_dir: Folder that relative data paths are resolved against
                (the spec file's folder); ``None`` leaves them as written.

        Raises:
            ConfigError: A key is missing, unknown or has a bad value; the
                message names it.
        """
        unknown = sorted(set(data) - {"bench", "base", "datasets", "policies"})
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown} at the top level of the bench spec; "
                "expected [bench], [base], [[datasets]] and [[policies]]"
            )
        bench = _table(data.get("bench", {}), "[bench]")
        unknown = sorted(set(bench) - _BENCH_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown} in [bench]; expected one of {sorted(_BENCH_KEYS)}"
            )
        name = _string(bench.get("name", "bench"), "[bench] name")
        if not _LABEL.match(name):
            raise ConfigError(
                f"[bench] name must be a folder name (letters, digits, . _ + -), got {name!r}"
            )
        seeds = _seeds(bench)
        steps = _int_list(bench.get("steps", []), "[bench] steps", minimum=1)
        metrics = [
            _string(m, f"[bench] metrics[{i}]")
            for i, m in enumerate(_list(bench.get("metrics", []), "[bench] metrics"))
        ]
        output = Path(_string(bench.get("output", f"bench/{name}"), "[bench] output"))
        correction = _string(bench.get("correction", "metric"), "[bench] correction")
        if correction not in CORRECTION_FAMILIES:
            raise ConfigError(
                f"[bench] correction must be one of {list(CORRECTION_FAMILIES)}, got {correction!r}"
            )
        alpha = bench.get("alpha", 0.05)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
            raise ConfigError(f"[bench] alpha must be a number in (0, 1), got {alpha!r}")
        n_boot = bench.get("n_boot", 2000)
        if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
            raise ConfigError(f"[bench] n_boot must be an integer >= 100, got {n_boot!r}")

        base = _table(data.get("base", {}), "[base]")
        run = base.get("run", {})
        if isinstance(run, dict):
            for key, instead in (("seed", "[bench] seeds"), ("output", "[bench] output")):
                if key in run:
                    raise ConfigError(
                        f"[base] run.{key} is set per replication; use {instead} instead"
                    )

        datasets = [
            DatasetSpec(name=n, overrides=o)
            for n, o in _entries(data.get("datasets"), "datasets", "name")
        ]
        policies = [
            PolicySpec(label=n, overrides=o)
            for n, o in _entries(data.get("policies"), "policies", "label")
        ]
        labels = [p.label for p in policies]
        reference = _string(bench.get("reference", labels[0]), "[bench] reference")
        if reference not in labels:
            raise ConfigError(
                f"[bench] reference {reference!r} is not a [[policies]] label; "
                f"expected one of {labels}"
            )
        spec = cls(
            name=name,
            seeds=seeds,
            reference=reference,
            output=output,
            base=base,
            datasets=datasets,
            policies=policies,
            steps=sorted(set(steps)),
            metrics=metrics,
            correction=correction,
            alpha=float(alpha),
            n_boot=n_boot,
            base_dir=base_dir,
        )
        for dataset in datasets:
            for policy in policies:
                spec.config(dataset.name, policy.label, seeds[0], check_files=True)
        return spec

    def config(
        self, dataset: str, policy: str, seed: int, *, check_files: bool = False
    ) -> dict[str, Any]:
        """The merged, validated run configuration of one replication.

        Args:
            dataset: A dataset name.
            policy: A policy label.
            seed: The replication's seed.
            check_files: Also check that the dataset files exist.

        Returns:
            Nested dicts that :meth:`Config.from_dict` accepts, with data paths
            made absolute (when ``base_dir`` is set).

        Raises:
            ConfigError: The merged configuration is invalid (the message names
                the dataset, the policy and the key) or, with ``check_files``,
                a dataset file is missing.
        """
        d = _find(self.datasets, dataset, "name", "dataset")
        p = _find(self.policies, policy, "label", "policy")
        where = f"dataset {dataset!r} × policy {policy!r}"
        merged = merge_config(self.base, d.overrides, where=f"[[datasets]] {dataset!r}")
        merged = merge_config(merged, p.overrides, where=f"[[policies]] {policy!r}")
        run = merged.setdefault("run", {})
        if not isinstance(run, dict):
            raise ConfigError(f"{where}: [run] must be a table, got {type(run).__name__}")
        for key in ("seed", "output"):
            if key in run:
                raise ConfigError(f"{where}: [run] {key} is set per replication by the sweep")
        run.setdefault("name", f"{self.name}-{dataset}-{policy}")
        run.setdefault("synchronous", "NORMAL")
        run["seed"] = int(seed)
        run["progress"] = False
        try:
            config = Config.from_dict(merged, base_dir=self.base_dir)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
        if check_files:
            for key in ("path", "spectra"):
                value = getattr(config.data, key)
                if value and not Path(value).exists():
                    raise ConfigError(
                        f"[[datasets]] {dataset!r}: data {key} {value!r} does not exist"
                    )
        return config.to_dict()

    def tasks(self, sweep_dir: str | Path | None = None) -> list[Any]:
        """Every replication, dataset-major then policy then seed.

        Args:
            sweep_dir: The sweep directory (default :attr:`output`).

        Returns:
            One :class:`~autoscope.bench.replication.ReplicationTask` per
            dataset × policy × seed.
        """
        from autoscope.bench.replication import ReplicationTask

        root = Path(self.output if sweep_dir is None else sweep_dir)
        return [
            ReplicationTask(
                config=self.config(d.name, p.label, seed),
                dataset=d.name,
                policy=p.label,
                seed=seed,
                out_dir=root / "runs" / d.name / p.label / f"seed-{seed}",
            )
            for d in self.datasets
            for p in self.policies
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, as stored in the sweep directory's ``spec.json``."""
        return {
            "bench": {
                "name": self.name,
                "seeds": list(self.seeds),
                "reference": self.reference,
                "steps": list(self.steps),
                "metrics": list(self.metrics),
                "output": str(self.output),
                "correction": self.correction,
                "alpha": self.alpha,
                "n_boot": self.n_boot,
            },
            "base": copy.deepcopy(self.base),
            "datasets": [{"name": d.name, **copy.deepcopy(d.overrides)} for d in self.datasets],
            "policies": [{"label": p.label, **copy.deepcopy(p.overrides)} for p in self.policies],
            "base_dir": None if self.base_dir is None else str(self.base_dir),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchSpec:
        """Rebuild a spec from :meth:`to_dict` (e.g. a sweep directory's ``spec.json``)."""
        data = dict(data)
        base_dir = data.pop("base_dir", None)
        return cls.from_dict(data, base_dir=None if base_dir is None else Path(base_dir))


def load_spec(path: str | Path) -> BenchSpec:
    """Read and validate a bench spec TOML file.

    Relative data paths are relative to the spec file; ``[bench] output`` is
    relative to the working directory (like ``[run] output`` of a run config).

    Raises:
        ConfigError: The file is missing, not valid TOML, or a key is missing,
            unknown or has a bad value (the message names the file and the key).
    """
    path = Path(path)
    data = read_toml(path, "bench spec")
    try:
        return BenchSpec.from_dict(data, base_dir=path.resolve().parent)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def merge_config(
    base: dict[str, Any], overrides: dict[str, Any], *, where: str = "overrides"
) -> dict[str, Any]:
    """Merge run-config ``overrides`` into ``base`` section by section.

    Sections (and nested sections such as ``instrument.faults``) merge key by
    key; every other value, free-form tables like ``twin_options`` included,
    is replaced whole. Neither input is modified.

    Args:
        base: Run configuration as nested dicts.
        overrides: Sections to override.
        where: Names ``overrides`` in error messages.

    Returns:
        The merged configuration.

    Raises:
        ConfigError: A section is not a table or is not a run-config section.
    """
    return _merge(copy.deepcopy(base), overrides, Config, where, "")


def _merge(base: dict[str, Any], over: dict[str, Any], cls: Any, where: str, path: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in over.items():
        name = f"{path}.{key}" if path else key
        if key not in names:
            raise ConfigError(
                f"{where}: unknown key {name!r}; expected one of {sorted(names)}"
                + (" (run-config sections, as in examples/demo.toml)" if not path else "")
            )
        if dataclasses.is_dataclass(hints[key]):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{name}] must be a table, got {type(value).__name__}")
            current = base.get(key, {})
            if not isinstance(current, dict):
                raise ConfigError(f"[base] [{name}] must be a table, got {type(current).__name__}")
            base[key] = _merge(dict(current), value, hints[key], where, name)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _find(items: list[Any], name: str, attr: str, kind: str) -> Any:
    for item in items:
        if getattr(item, attr) == name:
            return item
    known = [getattr(i, attr) for i in items]
    raise ConfigError(f"unknown {kind} {name!r}; expected one of {known}")


def _entries(value: Any, key: str, label_key: str) -> list[tuple[str, dict[str, Any]]]:
    if value is None:
        raise ConfigError(f"the bench spec needs at least one [[{key}]] entry")
    if not isinstance(value, list) or not value:
        raise ConfigError(f"[[{key}]] must be a non-empty array of tables")
    out: list[tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(value):
        entry = _table(entry, f"[[{key}]][{i}]")
        if label_key not in entry:
            raise ConfigError(f"[[{key}]][{i}] needs a {label_key!r}")
        label = _string(entry[label_key], f"[[{key}]][{i}] {label_key}")
        if not _LABEL.match(label):
            raise ConfigError(
                f"[[{key}]][{i}] {label_key} must be a folder name "
                f"(letters, digits, . _ + -), got {label!r}"
            )
        if label in {n for n, _ in out}:
            raise ConfigError(f"[[{key}]] {label_key} {label!r} appears twice")
        overrides = {k: v for k, v in entry.items() if k != label_key}
        merge_config({}, overrides, where=f"[[{key}]] {label!r}")
        out.append((label, overrides))
    return out


def _seeds(bench: dict[str, Any]) -> list[int]:
    if "seeds" in bench and "n_seeds" in bench:
        raise ConfigError("[bench] give either 'seeds' or 'n_seeds', not both")
    if "n_seeds" in bench:
        n = bench["n_seeds"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"[bench] n_seeds must be an integer >= 1, got {n!r}")
        return list(range(n))
    seeds = _int_list(bench.get("seeds", [0]), "[bench] seeds", minimum=0)
    if not seeds:
        raise ConfigError("[bench] seeds must not be empty")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"[bench] seeds must be distinct, got {seeds}")
    return seeds


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list, got {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _int_list(value: Any, where: str, *, minimum: int) -> list[int]:
    items = _list(value, where)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
            raise ConfigError(f"{where}[{i}] must be an integer >= {minimum}, got {item!r}")
    return list(items)
