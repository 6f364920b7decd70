"""The ``fxr`` command line.

Every command turns :class:`~fxregistry.errors.FxrError` into one line on
stderr and exit status 2; ``--json`` output goes to stdout, everything meant
for a person to stderr or a table on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterable
from typing import Any

import click

from fxregistry import __version__, registry
from fxregistry.errors import FxrError
from fxregistry.registry.manager import get_plugin_manager, plugin_info


class UserError(click.ClickException):
    """A ClickException with the exit status of bad usage (2)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"fxr: error: {self.format_message()}", err=True)


class FxrGroup(click.Group):
    """Turns fxr's own errors into one line and exit 2, bugs into exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FxrError as exc:
            raise UserError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("FXR_DEBUG"):
                traceback.print_exc()
            else:
                click.echo(
                    f"fxr: internal error: {type(exc).__name__}: {exc} "
                    "(set FXR_DEBUG=1 for the traceback)",
                    err=True,
                )
            sys.exit(1)


@click.group(cls=FxrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fxr")
def cli() -> None:
    """Estimate the settings of digital audio effects from spectrograms.

    Effects, dry-audio sources and models are plugins; `fxr list-effects`,
    `fxr list-sources` and `fxr list-models` show what is installed.
    """


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _registrations_json(found: dict[str, registry.Registration]) -> list[dict[str, Any]]:
    """Each registered item's own description plus where it came from."""
    return [
        {
            **r.item.as_dict(),
            "plugin": r.distribution,
            "plugin_version": r.version,
            "entry_point": r.plugin,
        }
        for r in found.values()
    ]


def _format_values(values: Iterable[float]) -> str:
    values = list(values)
    steps = {b - a for a, b in zip(values, values[1:], strict=False)}
    if len(values) > 5 and steps == {1.0} and all(v == int(v) for v in values):
        return f"{values[0]:g}, {values[1]:g}, …, {values[-1]:g}"
    return ", ".join(f"{v:.5g}" for v in values)


def _table(title: str, columns: list[str], rows: list[list[str]], empty_note: str) -> None:
    from rich.console import Console
    from rich.table import Table

    # A pipe or a CI log has no width; rich would assume 80 columns and fold.
    console = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        console.print(f"{title}: none installed. {empty_note}")
        return
    table = Table(title=title, show_lines=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("effect", "parameter"))
    for row in rows:
        table.add_row(*row)
    console.print(table)


@cli.command("list-effects")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def list_effects(as_json: bool) -> None:
    """The registered effects and their parameters."""
    found = registry.registrations("effect")
    if as_json:
        _print_json(_registrations_json(found))
        return
    rows = []
    for reg in found.values():
        effect = reg.item
        for i, p in enumerate(effect.parameters):
            first = i == 0
            fixed = ", ".join(f"{k}={v}" for k, v in effect.fixed.items())
            rows.append(
                [
                    effect.name if first else "",
                    reg.provider if first else "",
                    p.name,
                    p.unit,
                    _format_values(p.grid),
                    f"{p.range[0]:g} .. {p.range[1]:g} ({p.scale})",
                    fixed if first else "",
                ]
            )
    _table(
        "Effects",
        ["effect", "provided by", "parameter", "unit", "grid", "range", "fixed"],
        rows,
        "Install an effect plugin (docs/plugins.md).",
    )


@cli.command("list-sources")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def list_sources(as_json: bool) -> None:
    """The registered dry-audio sources (`fxr build --source NAME[:ARGUMENT]`)."""
    found = registry.registrations("source")
    if as_json:
        _print_json(_registrations_json(found))
        return
    rows = [[r.name, r.provider, r.item.argument_help, r.item.description] for r in found.values()]
    _table(
        "Sources",
        ["source", "provided by", "argument", "description"],
        rows,
        "Dry-audio source plugins register with the `register_sources` hook.",
    )


@cli.command("list-models")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def list_models(as_json: bool) -> None:
    """The registered model architectures (`fxr fit --model NAME`)."""
    found = registry.registrations("model")
    if as_json:
        _print_json(_registrations_json(found))
        return
    rows = [
        [r.name, r.provider, "yes" if r.item.reconstructs else "no", r.item.description]
        for r in found.values()
    ]
    _table(
        "Models",
        ["model", "provided by", "decoder", "description"],
        rows,
        "Model plugins register with the `register_models` hook.",
    )


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def list_plugins(as_json: bool) -> None:
    """The installed plugins, their distributions and the hooks they implement."""
    pm = get_plugin_manager()
    found = []
    for name, plugin in sorted(pm.list_name_plugin()):
        info = plugin_info(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        found.append(
            {
                "name": name,
                "distribution": info.distribution,
                "version": info.version,
                "hooks": hooks,
            }
        )
    if as_json:
        _print_json(found)
        return
    rows = [
        [p["name"], f"{p['distribution']} {p['version']}".strip(), ", ".join(p["hooks"])]
        for p in found
    ]
    _table("Plugins", ["plugin", "distribution", "hooks"], rows, "")


def _parse_settings(settings: tuple[str, ...]) -> dict[str, float]:
    parsed = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: {value!r} is not a number", param_hint="--set"
            ) from None
    return parsed


@cli.command()
@click.option(
    "--effect", "effect_name", required=True, help="A registered effect (fxr list-effects)."
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter value in its unit; give one per parameter.",
)
@click.argument("dry", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def render(effect_name: str, settings: tuple[str, ...], dry: str, out: str) -> None:
    """Render the audio file DRY through an effect and write OUT.

    The sample rate and channels of DRY are kept; `fxr list-effects` lists
    each effect's parameters.  Example:

        fxr render --effect NAME --set PARAM=VALUE --set PARAM=VALUE dry.wav wet.wav
    """
    from fxregistry.audio.io import read_audio, write_audio

    effect = registry.get_effect(effect_name)
    params = effect.check(_parse_settings(settings))
    audio, rate = read_audio(dry, sample_rate=None, mono=False)
    write_audio(out, effect(audio, rate, **params), rate)
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    click.echo(f"{dry} -> {out}: {effect.name} ({shown})", err=True)


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    k, sep, n = text.partition("/")
    try:
        return int(k), int(n)
    except ValueError:
        raise FxrError(f"--shard takes K/N, two whole numbers, not {text!r}") from None


def _split_fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or sum(parts) <= 0 or min(parts) < 0:
        raise click.BadParameter(f"{text!r} is not TRAIN/VALID/TEST, e.g. 80/10/10")
    return tuple(p / sum(parts) for p in parts)


@cli.command()
@click.option("--effect", "effect_name", required=True, help="A registered effect.")
@click.option(
    "--source",
    default="synth",
    show_default=True,
    help="synth, synth:N, a folder (or folder:PATH), guitarset:PATH (fxr list-sources).",
)
@click.option(
    "--grid",
    default="paper",
    show_default=True,
    help="paper: every grid combination per clip; random:N: N draws per clip.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Default: datasets/<effect>.h5.")
@click.option("--clip-seconds", default=2.0, show_default=True, type=float)
@click.option("--workers", type=int, help="Worker processes (default: the machine's cores).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--max-clips", type=int, help="Stop after N clips, shared across the splits.")
@click.option(
    "--min-level-db",
    default=-60.0,
    show_default=True,
    type=float,
    help="Skip clips whose RMS level is below this (dBFS).",
)
@click.option(
    "--level",
    default="peak:-1",
    show_default=True,
    help="Clip level: peak:DB (normalize peaks), random:LOW:HIGH or as-is.",
)
@click.option(
    "--features",
    "features",
    default="mel",
    show_default=True,
    help="mel, stft or mel,stft (stored in dB).",
)
@click.option("--keep-audio", is_flag=True, help="Also store the dry and wet clip audio.")
@click.option(
    "--residual",
    is_flag=True,
    help="Also store spectrograms of wet minus dry audio (for fit --input pair+residual).",
)
@click.option(
    "--split",
    "split",
    default="80/10/10",
    show_default=True,
    help="Train/valid/test shares of the recordings.",
)
@click.option(
    "--split-by",
    type=click.Choice(["recording", "group", "player"]),
    default="recording",
    show_default=True,
    help="Keep each recording (or group: GuitarSet's player) in one split.",
)
@click.option(
    "--compress",
    is_flag=True,
    help="gzip the spectrograms and audio: ~20% smaller, ~30% slower to build.",
)
@click.option(
    "--shard",
    metavar="K/N",
    help="Build only the K-th of N parts of the recordings (1 <= K <= N); see fxr merge.",
)
@click.option("--strict", is_flag=True, help="Stop at the first unreadable file.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def build(
    effect_name,
    source,
    grid,
    out,
    clip_seconds,
    workers,
    seed,
    max_clips,
    min_level_db,
    level,
    features,
    keep_audio,
    residual,
    split,
    split_by,
    compress,
    shard,
    strict,
    force,
) -> None:
    """Render dry audio through an effect into a paired spectrogram dataset (HDF5)."""
    from fxregistry.dataset.build import build as run_build
    from fxregistry.dataset.config import BuildConfig

    config = BuildConfig(
        effect=effect_name,
        source=source,
        grid=grid,
        clip_seconds=clip_seconds,
        seed=seed,
        max_clips=max_clips,
        min_level_db=min_level_db,
        level=level,
        features=tuple(k.strip() for k in features.split(",") if k.strip()),
        keep_audio=keep_audio,
        residual=residual,
        split=_split_fractions(split),
        split_by="group" if split_by == "player" else split_by,
        strict=strict,
        compress=compress,
        shard=_shard(shard),
    )
    registry.get_effect(effect_name)  # an unknown name fails before any work
    out = out or os.path.join("datasets", f"{effect_name}.h5")
    report = run_build(config, out, workers=workers, force=force)
    splits = " / ".join(f"{name} {n}" for name, n in report.split_examples.items())
    click.echo(
        f"built {report.path}: {report.examples} examples from {report.clips} clips of "
        f"{report.recordings} recordings ({splits}); skipped {report.skipped_quiet_clips} quiet "
        f"clips and {report.skipped_files} unreadable files; {report.seconds:.1f} s, "
        f"{report.examples_per_second:.0f} examples/s",
        err=True,
    )


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def inspect(path: str, as_json: bool) -> None:
    """What the dataset PATH holds."""
    from fxregistry.dataset.header import describe

    info = describe(path)
    if as_json:
        _print_json(info)
        return
    click.echo(
        f"{info['path']}: fxr dataset (format {info['format_version']}, "
        f"fxr {info['fxr_version']}, {info['bytes'] / 1e6:.1f} MB, {info['created']})"
    )
    click.echo(f"  effect     {info['effect']}  (fixed: {info['fixed'] or 'nothing'})")
    for p in info["parameters"]:
        click.echo(
            f"  parameter  {p['name']} [{p['unit']}] grid {_format_values(p['grid'])}; "
            f"range {p['range'][0]:g}..{p['range'][1]:g} ({p['scale']})"
        )
    click.echo(
        f"  source     {info['source']}, seed {info['seed']}, grid {info['grid']}, "
        f"level {info['level']}, {info['clip_seconds']:g} s clips"
    )
    click.echo(
        f"  contents   {info['examples']} examples, {info['clips']} clips, "
        f"{info['recordings']} recordings (skipped {info['skipped_quiet_clips']} quiet "
        f"clips, {info['skipped_files']} files)"
    )
    for split in ("train", "valid", "test"):
        click.echo(
            f"  {split:<10} {info['splits'][split]} examples, {info['split_clips'][split]} "
            f"clips, {info['split_recordings'][split]} recordings"
        )
    for kind, cfg in info["features"].items():
        bins = cfg["n_mels"] if kind == "mel" else cfg["n_fft"] // 2 + 1
        click.echo(
            f"  features   {kind}: {bins} bins, n_fft {cfg['n_fft']}, hop {cfg['hop_length']}, dB"
        )
    click.echo(f"  audio      {'kept' if info['keep_audio'] else 'not kept'}")
    if info["residual"]:
        click.echo("  residual   spectrograms of wet minus dry audio (fit --input pair+residual)")


def _parse_hyperparameters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, lists), else a string."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise FxrError(f"--hparam takes KEY=VALUE, not {pair!r}")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


@cli.command()
@click.option("--model", "model_name", required=True, help="A registered model (fxr list-models).")
@click.option("--data", type=click.Path(), help="A dataset built by `fxr build`.")
@click.option("--out", type=click.Path(), help="Run directory [default: runs/<effect>-<model>].")
@click.option(
    "--input",
    "input_mode",
    # fxregistry.data.INPUTS (not imported here: it needs torch, and --help should be quick)
    type=click.Choice(["pair", "wet", "pair+residual"]),
    default="pair",
    show_default=True,
    help="pair: wet and dry spectrograms; wet: the wet one alone (no dry at estimate time); "
    "pair+residual: also the spectrogram of wet minus dry (a dataset built with --residual).",
)
@click.option(
    "--freeze-encoder",
    is_flag=True,
    help="Pretrain wet->dry reconstruction, freeze the encoder, train a linear head.",
)
@click.option(
    "--init",
    type=click.Path(),
    help="Take the encoder from this run directory or bundle instead of pretraining.",
)
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option(
    "--pretrain-epochs", type=int, help="Epochs of the reconstruction stage [default: --epochs]."
)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Adam learning rate.")
@click.option("--lr-step", type=int, default=5, show_default=True, help="StepLR step (epochs).")
@click.option("--lr-gamma", type=float, default=0.5, show_default=True, help="StepLR factor.")
@click.option(
    "--normalization",
    type=click.Choice(["fixed", "minmax"]),
    default="fixed",
    show_default=True,
    help="fixed: one dB range for all (keeps level); minmax: per spectrogram (the study's).",
)
@click.option("--features", help="Feature kind to train on [default: the dataset's first].")
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--workers", type=int, default=0, show_default=True, help="Loader processes when streaming."
)
@click.option("--hparam", multiple=True, metavar="KEY=VALUE", help="Model hyperparameter.")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--force", is_flag=True, help="Replace the run in --out.")
def fit(
    model_name,
    data,
    out,
    input_mode,
    freeze_encoder,
    init,
    epochs,
    pretrain_epochs,
    batch_size,
    lr,
    lr_step,
    lr_gamma,
    normalization,
    features,
    device,
    seed,
    workers,
    hparam,
    resume,
    force,
) -> None:
    """Train a model on a dataset; write a run directory.

    With --resume, the run's own config.json is used and the other options
    are ignored, except --device and --workers.
    """
    from fxregistry.dataset.header import describe
    from fxregistry.training.config import FitConfig
    from fxregistry.training.trainer import fit as run_fit

    registry.get_model(model_name)  # an unknown name fails before any work
    if resume:
        if not out:
            raise FxrError("--resume needs --out RUN, the run to continue")
        data = data or "(from the run)"
    elif not data:
        raise FxrError("--data FILE is needed (a dataset built by `fxr build`)")
    if not resume:
        effect = describe(data)["effect"]  # also refuses what is not a dataset
        out = out or os.path.join("runs", f"{effect}-{model_name}")
    config = FitConfig(
        model=model_name,
        data=data,
        input=input_mode,
        freeze_encoder=freeze_encoder,
        init=init,
        epochs=epochs,
        pretrain_epochs=pretrain_epochs,
        batch_size=batch_size,
        lr=lr,
        lr_step=lr_step,
        lr_gamma=lr_gamma,
        normalization=normalization,
        features=features,
        device=device,
        seed=seed,
        workers=workers,
        hyperparameters=_parse_hyperparameters(hparam),
    )
    report = run_fit(
        config, out, resume=resume, force=force, log=lambda line: click.echo(line, err=True)
    )
    say = click.echo if report.main else lambda *args, **kwargs: None  # rank 0 speaks
    if report.interrupted:
        say(
            f"interrupted; the checkpoint in {out} continues with: fxr fit --resume --out {out}",
            err=True,
        )
        sys.exit(130)
    say(f"run written to {out} (model.pt, best.pt, metrics.jsonl, loss.png)", err=True)


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--data", type=click.Path(), help="Dataset to evaluate on [default: the run's].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")
@click.option(
    "--floor",
    is_flag=True,
    help="Also measure the identifiability floor of the test clips (renders every setting).",
)
@click.option("--floor-limit", type=int, help="Measure the floor on at most N examples.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def evaluate(
    run: str, data: str | None, device: str, floor: bool, floor_limit: int | None, as_json: bool
) -> None:
    """The study's tables for RUN: per split N, MSE, MAE, grid accuracy; figures.

    Writes eval.json, confusion_<parameter>.png and, for a model with a
    decoder, reconstruction.png into RUN.
    """
    from fxregistry.evaluation.evaluate import evaluate as run_evaluate

    result = run_evaluate(run, data, device, floor=floor, floor_limit=floor_limit)
    if as_json:
        _print_json(result)
        return
    click.echo(
        f"{result['effect']} / {result['model']} (input {result['input']}, "
        f"{result['normalization']} normalization) on {result['data']}; "
        f"chance MAE {result['chance_mae']:.3f}"
    )
    click.echo(f"  {'split':<6} {'N':>6} {'MSE':>8} {'MAE':>8} {'grid acc.':>9}   per parameter")
    for split, m in result["splits"].items():
        if not m["n"]:
            click.echo(f"  {split:<6} {0:>6}")
            continue
        per = "; ".join(
            f"{name} MAE {p['mae']:.3g} {p['unit']}, acc. {p['grid_accuracy']:.1%}"
            for name, p in m["per_parameter"].items()
        )
        click.echo(
            f"  {split:<6} {m['n']:>6} {m['mse']:>8.4f} {m['mae']:>8.4f} "
            f"{m['grid_accuracy']:>9.1%}   {per}"
        )
    for split, m in result.get("floor", {}).items():
        click.echo(
            f"  floor  {m['n']:>6} {m['mse']:>8.4f} {m['mae']:>8.4f} {m['grid_accuracy']:>9.1%}"
            f"   exhaustive analysis-by-synthesis on the {split} clips, dry known"
        )
    if "reconstruction" in result:
        r = result["reconstruction"]
        click.echo(
            f"  reconstruction L2 {r['l2']:.4f} (wet as is: {r['l2_wet_as_is']:.4f}); "
            "high-frequency ratio "
            + ", ".join(f"{k} {v:.3f}" for k, v in r["high_frequency_ratio"].items())
        )
    click.echo(f"  eval.json and figures written to {run}", err=True)


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("wet", type=click.Path())
@click.option("--dry", type=click.Path(), help="The unprocessed audio (needed by pair runs).")
@click.option("--refine", is_flag=True, help="Search by rendering the dry audio (needs --dry).")
@click.option(
    "--render-to", type=click.Path(), help="Write the dry audio rendered at the estimate."
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def estimate(run, wet, dry, refine, render_to, device, as_json) -> None:
    """The effect's settings on the audio file WET, with the model of RUN."""
    from fxregistry.estimation.estimate import estimate as run_estimate
    from fxregistry.estimation.estimate import format_estimate

    result = run_estimate(run, wet, dry, refine=refine, render_to=render_to, device=device)
    if as_json:
        _print_json(result)
    else:
        click.echo(format_estimate(result))


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False))
@click.argument("shards", nargs=-1, required=True, type=click.Path())
@click.option(
    "--copy", is_flag=True, help="Copy the data: a self-contained file, no shards needed."
)
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def merge(out: str, shards: tuple[str, ...], copy: bool, force: bool) -> None:
    """Merge the shards of one `fxr build --shard K/N` into the dataset OUT.

    OUT's large arrays are HDF5 virtual datasets over the shards (no copy),
    found by paths relative to OUT: keep the shards beside it, or pass --copy.
    """
    from fxregistry.dataset.header import describe
    from fxregistry.dataset.merge import merge as run_merge

    if os.path.exists(out) and not force:
        raise FxrError(f"{out} exists; pass --force to replace it")
    path = run_merge(out, list(shards), copy=copy)
    info = describe(path)
    click.echo(
        f"merged {len(shards)} shards into {path}: {info['examples']} examples, "
        f"{info['clips']} clips ({'copied' if copy else 'virtual datasets over the shards'})",
        err=True,
    )
