"""The ``autoscope`` command line.

Every command has ``--help``. Errors the user can fix (a missing file, an
unknown option, a corrupt run) print one line naming what to fix and exit
with status 2; nothing is left half-written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autoscope.errors import AutoscopeError, ConfigError

app = typer.Typer(
    name="autoscope",
    help=(
        "Autonomous microscopy: decide where to measure next, never lose a measurement, "
        "and prove with statistics that a strategy decided well."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DEMO_STEPS = 80


def _pin_threads() -> None:
    """One BLAS/torch thread by default: oversubscribed threads make fits many times slower."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def demo(
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/demo-<policy>-seed<seed>).")
    ] = None,
    policy: Annotated[
        str, typer.Option(help="Policy to run (see `autoscope datasets`).")
    ] = "space-filling",
    steps: Annotated[int, typer.Option(min=1, help="Measurement budget.")] = DEMO_STEPS,
    seed: Annotated[int, typer.Option(help="Seed of the twin, the policy and the noise.")] = 0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a campaign on the built-in ferroelectric twin and write its HTML report.

    No external data is needed: the twin generates a domain image and hysteresis
    loops with known ground truth. The campaign learns the loop area, records
    coverage and error metrics, and writes everything to a run directory.
    """
    from autoscope.campaign.config import Config
    from autoscope.campaign.experiment import start_run
    from autoscope.campaign.store import RunStore
    from autoscope.viz.report import write_report

    config = Config.from_dict(
        {
            "run": {"name": f"demo-{policy}", "seed": seed},
            "data": {"twin": "ferroelectric", "twin_options": {"size": 48}},
            "pool": {"window": 12},
            "scalarizer": {"name": "loop-area"},
            "instrument": {"seconds_per_point": 3.0, "noise_std": 0.01},
            "policy": {"name": policy, "n_initial": 10},
            "budget": {"measurements": steps},
        }
    )
    run_dir = out or config.run_dir()
    try:
        start_run(config, run_dir=run_dir, progress=progress)
        with RunStore.open(run_dir) as store:
            report = write_report(store.load())
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"run directory: {run_dir}")
    typer.echo(f"report:        {report}")


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.toml", help="Run configuration.")],
    out: Annotated[
        Path | None, typer.Option(help="Run directory (overrides [run] output).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override [run] seed.")] = None,
    report: Annotated[bool, typer.Option(help="Write the HTML report at the end.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run the campaign described by CONFIG.toml (see examples/demo.toml for every option)."""
    from autoscope.campaign.config import load_config
    from autoscope.campaign.experiment import start_run

    try:
        config = load_config(config_path)
        if seed is not None:
            config.run.seed = seed
        run_dir = start_run(config, run_dir=out, progress=progress)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"run directory: {run_dir}")
    if report:
        _write_report(run_dir)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory.")],
    report: Annotated[bool, typer.Option(help="Write the HTML report at the end.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Continue a stopped or killed run: nothing measured is lost or measured again."""
    from autoscope.campaign.experiment import resume_run

    try:
        resume_run(run_dir, progress=progress)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"run directory: {run_dir}")
    if report:
        _write_report(run_dir)


def _write_report(run_dir: Path) -> None:
    from autoscope.campaign.store import RunStore
    from autoscope.viz.report import write_report

    with RunStore.open(run_dir) as store:
        path = write_report(store.load())
    typer.echo(f"report:        {path}")


@app.command(name="report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory.")],
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default RUN_DIR/report).")
    ] = None,
) -> None:
    """Write a self-contained HTML report (with PNG figures) of a run."""
    from autoscope.campaign.store import RunStore
    from autoscope.viz.report import write_report

    try:
        with RunStore.open(run_dir) as store:
            path = write_report(store.load(), out)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"report: {path}")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory.")],
    out: Annotated[Path, typer.Argument(help="Output file: .h5/.hdf5 (NSID) or .npz.")],
) -> None:
    """Export the measurements of a run to NSID-compatible HDF5 or to npz."""
    from autoscope.campaign.export import export_run

    try:
        path = export_run(run_dir, out)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"exported: {path}")


@app.command()
def datasets() -> None:
    """List what can be read (file formats), the built-in twins, scalarizers and policies."""
    from autoscope.data.readers import list_readers
    from autoscope.data.scalarizers import SCALARIZERS
    from autoscope.data.twins import TWINS
    from autoscope.policies import POLICIES

    typer.echo("File formats (autoscope.data.read):")
    for info in list_readers():
        typer.echo(f"  {_describe(info)}")
    typer.echo("\nBuilt-in digital twins ([data] twin = NAME):")
    for name, factory in sorted(TWINS.items()):
        typer.echo(f"  {name:<16} {_first_line(factory)}")
    typer.echo("\nScalarizers ([scalarizer] name = NAME):")
    for name, cls in sorted(SCALARIZERS.items()):
        typer.echo(f"  {name:<20} {getattr(cls, 'description', '') or _first_line(cls)}")
    typer.echo("\nPolicies ([policy] name = NAME):")
    for name, cls in sorted(POLICIES.items()):
        typer.echo(f"  {name:<16} {_first_line(cls)}")


def _first_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _describe(info: object) -> str:
    name = getattr(info, "name", str(info))
    extensions = ", ".join(getattr(info, "extensions", ()) or ())
    description = getattr(info, "description", "")
    extra = getattr(info, "extra", None)
    suffix = f" [needs autoscope[{extra}]]" if extra else ""
    return f"{name:<14} {extensions:<28} {description}{suffix}"


@app.command()
def bench(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="SPEC.toml",
            help="Bench spec (examples/bench/demo.toml); with --report-only, a sweep directory.",
        ),
    ],
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes of the local pool (default: one per core)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask distributed cluster instead, e.g. tcp://host:8786."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Sweep directory (overrides the spec's output).")
    ] = None,
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Only (re)write the report of a sweep directory.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a benchmark sweep (datasets x policies x seeds) and write its report.

    A spec with a [gym] table runs the STEM gym instead: worlds x agent
    configurations x seeds, one episode each, reported as DEC-AUC with the
    navigator, analyst, equivalence and transfer statistics (SWEEP/report.md).

    Every replication runs in its own run directory under SWEEP/runs/ and
    leaves a result.json; running the same command again skips finished
    replications and redoes interrupted or failed ones, so a sweep resumes
    after a crash. The report (SWEEP/report.html, results.csv, summary.json)
    compares every policy with the reference: means with 95% bootstrap
    intervals, Wilcoxon signed-rank tests paired by seed, Holm-adjusted.
    Failed replications are listed (tracebacks in their error.txt) and make
    the command exit with status 1 after the report is written.
    """
    from autoscope.bench.replication import run_replication
    from autoscope.bench.report import write_bench_report
    from autoscope.bench.spec import load_spec
    from autoscope.bench.sweep import run_sweep
    from autoscope.gym.bench import is_gym_spec, load_gym_spec, run_episode_task
    from autoscope.gym.report import write_gym_report

    failed = 0
    gym = is_gym_spec(path)
    try:
        if report_only:
            sweep_dir = path
        else:
            if gym:
                spec = load_gym_spec(path)
                runner: Any = run_episode_task
            else:
                spec = load_spec(path)
                runner = run_replication
            result = run_sweep(
                spec,
                sweep_dir=out,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                run=runner,
            )
            sweep_dir = result.sweep_dir
            failed = len(result.failed)
            typer.echo(
                f"replications: {len(result.ran)} run, {len(result.skipped)} already done, "
                f"{failed} failed"
            )
            for task, message in result.failed:
                first = message.splitlines()[0] if message else ""
                typer.secho(f"  failed: {first}", fg=typer.colors.RED, err=True)
                typer.echo(f"          traceback: {task.error_path}", err=True)
        report = write_gym_report(sweep_dir) if gym else write_bench_report(sweep_dir)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"sweep directory: {sweep_dir}")
    typer.echo(f"report:          {report}")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def analyze(
    image: Annotated[Path, typer.Argument(metavar="IMAGE", help="Image file (any reader).")],
    task: Annotated[
        str, typer.Option(help="atoms (LoG* columns), walls (domain walls) or particles.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: analysis/<image>-<task>).")
    ] = None,
    channel: Annotated[
        str, typer.Option(help="Channel name (or prefix) or index, e.g. PhaseRetrace.")
    ] = "0",
    binning: Annotated[int, typer.Option(min=1, help="Average NxN pixel blocks first.")] = 1,
    invert: Annotated[
        bool, typer.Option("--invert", help="Negate the image (bright-field: dark columns).")
    ] = False,
    pixel_size: Annotated[
        float | None, typer.Option(help="Override the file's pixel size (in --unit).")
    ] = None,
    unit: Annotated[str, typer.Option(help="Unit of --pixel-size.")] = "nm",
    atoms_per_cell: Annotated[
        float, typer.Option(help="atoms: columns per primitive cell of the FFT lattice.")
    ] = 1.0,
    diameter: Annotated[
        float | None,
        typer.Option(help="particles: expected diameter (nm if calibrated, else px)."),
    ] = None,
    diameter_std: Annotated[
        float | None, typer.Option(help="particles: spread of the diameter (default 30 %).")
    ] = None,
    shape: Annotated[str, typer.Option(help="particles: circular or rectangular.")] = "circular",
    expected_count: Annotated[
        float | None,
        typer.Option(help="particles: expected count (default: foreground area / prior area)."),
    ] = None,
    optimizer: Annotated[str, typer.Option(help="nsga2 (GA) or qnehvi (BoTorch).")] = "nsga2",
    population: Annotated[int, typer.Option(min=2, help="GA population size.")] = 100,
    generations: Annotated[int, typer.Option(min=1, help="GA generations / BO batches.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the search.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
    window: Annotated[
        int | None, typer.Option(help="Optimise per window of this size (sliding-window mode).")
    ] = None,
    pick: Annotated[
        int | None, typer.Option(help="Report this Pareto point (index) instead of the knee.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Tune an image-analysis workflow by physics rewards and write its results.

    A genetic algorithm (NSGA-II, population x generations) searches the
    workflow's parameters; the rewards need no labels: atoms are scored by
    the count the image's own lattice predicts and by duplicates/gaps, walls
    by straightness and length, particles by a size prior and their shape.
    The output folder holds the Pareto front, overlays of the knee point and
    of each objective's best point, detections.csv (pixels and calibrated
    units), front.csv, result.json and index.html.
    """
    from autoscope.analysis.pipeline import analyze_file

    options: dict[str, object] = {}
    if task == "atoms":
        options["atoms_per_cell"] = atoms_per_cell
    elif task == "particles":
        if diameter is None:
            _fail(ConfigError("--task particles needs --diameter (the expected particle size)"))
        options.update(diameter=diameter, diameter_std=diameter_std, shape=shape)
        if expected_count is not None:
            options["expected_count"] = expected_count
    out = out or Path("analysis") / f"{image.stem}-{task}"
    try:
        outcome = analyze_file(
            image,
            task,
            out,
            channel=channel,
            binning=binning,
            invert=invert,
            pixel_size=pixel_size,
            unit=unit if pixel_size is not None else None,
            workflow_options=options,
            window=window,
            pick=pick,
            optimizer=optimizer,
            population=population,
            generations=generations,
            seed=seed,
            workers=workers,
            progress=progress,
        )
    except AutoscopeError as err:
        _fail(err)
    result = outcome.result
    typer.echo(f"image:       {outcome.loaded.name}")
    if outcome.windows:
        n_evaluations = sum(len(w.search.evaluations) for w in outcome.windows)
        typer.echo(f"windows:     {len(outcome.windows)} searched ({n_evaluations} evaluations)")
        typer.echo(f"merged:      {outcome.n_detections} detections (each window's knee)")
    else:
        n_bad = sum(e.penalised for e in result.evaluations)
        typer.echo(
            f"evaluations: {len(result.evaluations)} ({n_bad} penalised), "
            f"Pareto front: {len(result.pareto)} points"
        )
        chosen = result.evaluations[result.knee if pick is None else result.pareto[pick]]
        rewards = ", ".join(f"{k} = {v:.4g}" for k, v in chosen.rewards.items())
        typer.echo(f"chosen:      {rewards}; {outcome.n_detections} detections")
    for key, value in outcome.summary.items():
        if isinstance(value, list) and len(value) > 6:
            value = f"{len(value)} (indices in result.json)"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(f"{v:.4g}" for v in value) or "none"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        typer.echo(f"  {key}: {value}")
    typer.echo(f"report:      {outcome.page}")


def _parse_classes(text: str) -> dict[str, list[str]]:
    """``"silica=Si+O;copper=Cu"`` -> ``{"silica": ["Si", "O"], "copper": ["Cu"]}``."""
    classes: dict[str, list[str]] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        name, sep, members = item.partition("=")
        elements = [e.strip() for e in members.split("+") if e.strip()]
        if not sep or not name.strip() or not elements:
            raise ConfigError(
                f"cannot read class {item.strip()!r}; write NAME=El+El, e.g. --classes "
                "'silica=Si+O;copper=Cu'"
            )
        classes[name.strip()] = elements
    return classes


def _parse_k_factors(text: str) -> dict[str, float]:
    """``"Si=1,O=2.1"`` -> ``{"Si": 1.0, "O": 2.1}``."""
    factors: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        element, sep, value = item.partition("=")
        try:
            factors[element.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(
                f"cannot read k-factor {item.strip()!r}; write El=value, e.g. --k-factors "
                "'Si=1,O=2.1'"
            )
    return factors


def _particle_masks(name: str, checkpoint: Path | None, min_area: int) -> object:
    """The mask generator of ``autoscope particles``."""
    from autoscope.analysis.masks import ThresholdWatershed, make_mask_generator

    if name == "threshold-watershed":
        return ThresholdWatershed(sigma=0.5, min_distance=3, min_area=min_area)
    if name == "sam":
        if checkpoint is None:
            raise ConfigError(
                "--mask-generator sam needs --sam-checkpoint PATH (a Segment Anything "
                "checkpoint you downloaded; autoscope never downloads weights)"
            )
        return make_mask_generator("sam", checkpoint=checkpoint, min_area=min_area)
    if checkpoint is not None:
        raise ConfigError("--sam-checkpoint is only used with --mask-generator sam")
    return make_mask_generator(name, min_area=min_area)


@app.command()
def particles(
    image: Annotated[
        Path,
        typer.Argument(
            metavar="IMAGE",
            help="Structure image (HAADF); a .bcf hypermap holds the EDX cube too.",
        ),
    ],
    edx: Annotated[
        Path | None, typer.Option(help="EDX spectrum-image file, when separate from IMAGE.")
    ] = None,
    elements: Annotated[
        str | None,
        typer.Option(
            help="Elements to fit, e.g. Si,O,C,Cu (default: identified in the summed spectrum)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: particles/<image>).")
    ] = None,
    mask_generator: Annotated[
        str, typer.Option(help="threshold-watershed, slic, felzenszwalb or sam.")
    ] = "threshold-watershed",
    sam_checkpoint: Annotated[
        Path | None, typer.Option(help="Segment Anything checkpoint (with --mask-generator sam).")
    ] = None,
    phases: Annotated[
        Path | None, typer.Option(help="Phase table (.csv/.toml) for candidate phases per row.")
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option(help="Classes as NAME=El+El;... (default: one <El>-rich class per element)."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="counts (count fractions) or cliff-lorimer (needs --k-factors).")
    ] = "counts",
    k_factors: Annotated[
        str | None, typer.Option(help="Cliff-Lorimer k-factors, e.g. Si=1,O=2.1.")
    ] = None,
    min_area: Annotated[int, typer.Option(min=1, help="Smallest particle in image pixels.")] = 4,
    channel: Annotated[str, typer.Option(help="Structure channel name (prefix) or index.")] = "0",
) -> None:
    """Particle chemistry: segment particles, fit the EDX sum of each, classify.

    Particles are segmented in IMAGE (threshold + watershed by default); the
    co-registered EDX spectra are summed over each particle and over the
    support (everything at least one pixel away from a particle). Each sum is
    fitted with Gaussian X-ray lines over a polynomial background (energy
    offset and resolution refined once on the total), quantified (count
    fractions, or Cliff-Lorimer atomic fractions with your k-factors) and
    classified: "support", or the class whose elements best explain the
    excess over the support (probability = BIC weight of the class model).
    The output folder holds particles.csv, particles.json, overlay.png,
    spectra.png and index.html.
    """
    import shlex

    from autoscope.analysis.edx import identify_elements
    from autoscope.library.chemistry import load_particle_data, particle_chemistry
    from autoscope.library.chemistry_plots import write_particle_report

    out = out or Path("particles") / image.stem
    try:
        data = load_particle_data(
            image, edx, channel=int(channel) if channel.isdigit() else channel
        )
        if elements:
            names = [e.strip() for e in elements.split(",") if e.strip()]
        else:
            total = data.edx.reshape(-1, data.edx.shape[-1]).sum(axis=0)
            names = identify_elements(total, data.energy_keV, calibrate=True)
            if not names:
                raise ConfigError(
                    "no element line found in the summed spectrum; name them with --elements"
                )
        table = particle_chemistry(
            data.image,
            data.edx,
            data.energy_keV,
            elements=names,
            mask_generator=_particle_masks(mask_generator, sam_checkpoint, min_area),  # type: ignore[arg-type]
            pixel_size=data.pixel_size,
            min_area_px=min_area,
            classes=_parse_classes(classes) if classes else None,
            method=method,  # type: ignore[arg-type]
            k_factors=_parse_k_factors(k_factors) if k_factors else None,
            name=data.name,
        )
        if phases is not None:
            from autoscope.library.knowledge import TablePhaseLookup

            table.with_phases(TablePhaseLookup(phases))
        options = {
            "--edx": edx,
            "--elements": elements,
            "--mask-generator": mask_generator,
            "--sam-checkpoint": sam_checkpoint,
            "--phases": phases,
            "--classes": classes,
            "--method": method,
            "--k-factors": k_factors,
            "--min-area": min_area,
            "--channel": channel,
        }
        command = " ".join(
            ["autoscope particles", shlex.quote(str(image))]
            + [f"{k} {shlex.quote(str(v))}" for k, v in options.items() if v is not None]
        )
        page = write_particle_report(table, data.image, out, command=command)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"data:        {data.name}")
    typer.echo(f"elements:    {', '.join(table.elements)} ({table.basis})")
    typer.echo(f"particles:   {table.n_particles}")
    per_class = table.summary()["particles_per_class"]
    typer.echo("classes:     " + ", ".join(f"{k} {v}" for k, v in per_class.items()))
    support = ", ".join(f"{e} {table.fractions[0, i]:.3f}" for i, e in enumerate(table.elements))
    typer.echo(f"support:     {support}")
    typer.echo(f"report:      {page}")


gym_app = typer.Typer(
    help="Simulated STEM worlds (Gymnasium environments scored by DEC-AUC) and their agents.",
    no_args_is_help=True,
)
app.add_typer(gym_app, name="gym")


@gym_app.command(name="list")
def gym_list() -> None:
    """List the registered environment ids, navigators and analysts."""
    from autoscope.gym.agents import NAVIGATORS
    from autoscope.gym.analysts import ANALYSTS
    from autoscope.gym.registry import env_ids

    ids = env_ids()
    typer.echo(f"environments ({len(ids)}; gymnasium.make(id) after `import autoscope.gym`):")
    for env in ids:
        typer.echo(f"  {env}")
    typer.echo("navigators: " + ", ".join(sorted(NAVIGATORS)))
    typer.echo("analysts:   " + ", ".join(sorted(ANALYSTS)))


@gym_app.command(name="episode")
def gym_episode(
    env_id: Annotated[
        str,
        typer.Argument(help="Environment id, e.g. autoscope/STEM-SrTiO3-Medium-DefectCensus-v0."),
    ],
    navigator: Annotated[
        str, typer.Option(help="random, raster, gp-ucb or stem-agent.")
    ] = "raster",
    analyst: Annotated[str, typer.Option(help="classical or cnn.")] = "classical",
    seed: Annotated[int, typer.Option(help="Seed of the world and the agent.")] = 0,
) -> None:
    """Run one episode and print its DEC-AUC per task and the final scores."""
    from autoscope.gym.agents import run_episode

    try:
        episode = run_episode(env_id, navigator=navigator, analyst=analyst, seed=seed)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"steps:        {len(episode.dose_fractions)}")
    typer.echo(f"dose used:    {episode.dose_fractions[-1]:.3f} of the budget")
    for task, auc in episode.dec_auc_by_task.items():
        final = episode.task_scores[task][-1] if len(episode.task_scores[task]) else 0.0
        typer.echo(f"{task:16s}  DEC-AUC {auc:.3f}   final score {final:.3f}")
    typer.echo(f"wall time:    {episode.wall_seconds:.2f} s")


@gym_app.command(name="train-analyst")
def gym_train_analyst(
    out: Annotated[Path, typer.Option(help="Where to write the weights file (.pt).")],
    material: Annotated[
        list[str] | None,
        typer.Option(
            help="Train on this material (repeat for several; default: all five). "
            "One material gives the analysts of the transfer matrix."
        ),
    ] = None,
    worlds: Annotated[int, typer.Option(min=1, help="Simulated worlds to learn from.")] = 120,
    steps: Annotated[
        float,
        typer.Option(
            min=0.01, help="Scale of every network's training steps (1 = the shipped weights)."
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the worlds, weights and batches.")] = 0,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train the CNN analyst (3 column U-Nets, defect classifier, phase network).

    The networks learn from simulated worlds scanned at the environment's dose
    levels (2e3, 1e4, 5e4 e/A^2); the defaults reproduce the shipped weights in
    about 3 minutes on one CPU thread. Use the file with the "cnn" analyst's
    weights option, e.g. analyst_options = { weights = "analyst.pt" } in a gym
    bench spec.
    """
    from autoscope.gym.training import save_analyst_weights, train_analyst
    from autoscope.gym.world import MATERIALS

    materials = tuple(material) if material else MATERIALS
    try:
        weights = train_analyst(
            materials=materials,
            n_worlds=worlds,
            column_steps=max(1, round(900 * steps)),
            defect_steps=max(1, round(1500 * steps)),
            phase_steps=max(1, round(800 * steps)),
            seed=seed,
            progress=progress,
        )
        path = save_analyst_weights(weights, out)
    except AutoscopeError as err:
        _fail(err)
    typer.echo(f"materials: {', '.join(weights.materials)}")
    typer.echo(f"weights:   {path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    """Entry point of the ``autoscope`` script."""
    _pin_threads()
    try:
        app()
    except AutoscopeError as err:  # pragma: no cover - commands catch their own
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
