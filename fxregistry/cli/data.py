"""Audio and datasets: ``fxr render``, ``build``, ``inspect``, ``merge``.

The engine is imported inside each command, so ``--help`` stays quick.
"""

from __future__ import annotations

import math
import os
from typing import Any

import click

from fxregistry import registry
from fxregistry.cli.options import config_options, config_values, json_option
from fxregistry.cli.text import format_build_report, format_inspect, print_json
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.identification import resolve_effects
from fxregistry.errors import FxrError

__all__ = ["COMMANDS", "build", "inspect", "merge", "render"]


def _parse_settings(settings: tuple[str, ...]) -> dict[str, float]:
    parsed = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        try:
            number = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: {value!r} is not a number", param_hint="--set"
            ) from None
        if not math.isfinite(number):  # float() takes "nan" and "inf"
            raise click.BadParameter(
                f"{item!r}: {value!r} is not a finite number", param_hint="--set"
            )
        parsed[name.strip()] = number
    return parsed


@click.command()
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

    \b
        fxr render --effect NAME --set PARAM=VALUE --set PARAM=VALUE dry.wav wet.wav
    """
    from fxregistry.audio.io import check_audio_output, read_audio, write_audio

    check_audio_output(out)
    effect = registry.get_effect(effect_name)
    params = effect.check(_parse_settings(settings))
    audio, rate = read_audio(dry, sample_rate=None, mono=False)
    write_audio(out, effect(audio, rate, **params), rate)
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    click.echo(f"{dry} -> {out}: {effect.name} ({shown})", err=True)


def _apply_recipe(ctx: click.Context, param: click.Parameter, path: str | None) -> None:
    """Make a recipe's values the defaults of ``fxr build``'s options, so the command line wins."""
    if path is None:
        return
    from fxregistry.dataset.recipes import load_recipe

    recipe = load_recipe(path)
    names = {opt[2:]: p.name for p in ctx.command.params for opt in p.opts if opt.startswith("--")}
    names.pop(param.opts[0][2:])  # a recipe does not name another recipe
    if unknown := sorted(set(recipe) - set(names)):
        raise FxrError(f"{path}: {', '.join(unknown)}: not an option of fxr build")
    ctx.default_map = {**(ctx.default_map or {}), **{names[k]: v for k, v in recipe.items()}}


@click.command()
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    is_eager=True,
    expose_value=False,
    callback=_apply_recipe,
    help="A TOML file of these options (datasets/README.md); options given here win.",
)
@config_options(BuildConfig)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Default: datasets/<effect>.h5 (several: <a>+<b>.h5).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes (default: the machine's cores).",
)
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def build(out: str | None, workers: int | None, force: bool, **options: Any) -> None:
    """Render dry audio through an effect into a paired spectrogram dataset (HDF5).

    Several effects (--effect A,B or --effect all) make a dataset for
    identification: each clip through every effect, plus the clip untouched.
    """
    from fxregistry.dataset.build import build as run_build

    config = BuildConfig(**config_values(BuildConfig, options))
    effects = resolve_effects(config.effect)  # an unknown name fails before any work
    out = out or os.path.join("datasets", "+".join(e.name for e in effects) + ".h5")
    report = run_build(config, out, workers=workers, force=force)
    click.echo(format_build_report(report), err=True)


@click.command()
@click.argument("path", type=click.Path())
@json_option
def inspect(path: str, as_json: bool) -> None:
    """What the dataset PATH holds."""
    from fxregistry.dataset.summary import describe

    info = describe(path)
    if as_json:
        print_json(info)
    else:
        click.echo(format_inspect(info))


@click.command()
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
    from fxregistry.dataset.merge import merge as run_merge
    from fxregistry.dataset.summary import describe

    if os.path.exists(out) and not force:
        raise FxrError(f"{out} exists; pass --force to replace it")
    path = run_merge(out, list(shards), copy=copy)
    info = describe(path)
    click.echo(
        f"merged {len(shards)} shards into {path}: {info['examples']} examples, "
        f"{info['clips']} clips ({'copied' if copy else 'virtual datasets over the shards'})",
        err=True,
    )


COMMANDS = (render, build, inspect, merge)
