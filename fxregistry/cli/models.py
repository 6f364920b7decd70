"""Models: ``fxr fit``, ``evaluate``, ``estimate``.

The engine (torch) is imported inside each command, so ``--help`` stays quick.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from fxregistry import registry
from fxregistry.cli.options import (
    config_options,
    config_values,
    device_option,
    json_option,
)
from fxregistry.cli.text import format_estimate, format_evaluation, print_json
from fxregistry.errors import FxrError, Interrupted
from fxregistry.training.config import DEFAULT_MODEL, FitConfig

__all__ = ["COMMANDS", "estimate", "evaluate", "fit"]


@click.command()
@config_options(FitConfig)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Run directory [default: runs/<effect>-<model>].",
)
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--force", is_flag=True, help="Replace the run in --out.")
def fit(out: str | None, resume: bool, force: bool, **options: Any) -> None:
    """Train a model on a dataset; write a run directory.

    --data is needed, and --model defaults to the best measured model, except
    with --resume: then the run's own config.json is used and the other options
    are ignored, except --device, --workers and --data (where the dataset is now).
    """
    from fxregistry.dataset.summary import describe
    from fxregistry.training.fit import fit as run_fit

    model, data = options["model"], options["data"]
    if resume:
        if not out:
            raise FxrError("--resume needs --out RUN, the run to continue")
        # Placeholders: the run's config.json names the model and the dataset.
        model, data = model or "(from the run)", data or "(from the run)"
    else:
        model = model or DEFAULT_MODEL
        registry.get_model(model)  # an unknown name fails before any work
        if not data:
            raise FxrError("--data FILE is needed (a dataset built by `fxr build`)")
        effect = describe(data)["effect"]  # also refuses what is not a dataset
        out = out or os.path.join("runs", f"{effect}-{model}")
    config = FitConfig(**{**config_values(FitConfig, options), "model": model, "data": data})
    report = run_fit(
        config, out, resume=resume, force=force, log=lambda line: click.echo(line, err=True)
    )
    if report.interrupted:
        if not report.main:  # under torchrun, rank 0 speaks for all
            sys.exit(130)
        raise Interrupted(f"the checkpoint in {out} continues with: fxr fit --resume --out {out}")
    if report.main:
        click.echo(f"run written to {out} (model.pt, best.pt, metrics.jsonl, loss.png)", err=True)


@click.command()
@click.argument("run", type=click.Path())
@click.option("--data", type=click.Path(), help="Dataset to evaluate on [default: the run's].")
@device_option
@click.option(
    "--floor",
    is_flag=True,
    help="Also measure the identifiability floor of the test clips (renders every setting).",
)
@click.option(
    "--floor-limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Measure the floor on at most N examples.",
)
@click.option(
    "--checks/--no-checks",
    default=True,
    show_default=True,
    help="For a wet-only run, also score what fxr estimate answers with the effect's blind "
    "check (renders every example's audio again).",
)
@json_option
def evaluate(
    run: str,
    data: str | None,
    device: str,
    floor: bool,
    floor_limit: int | None,
    checks: bool,
    as_json: bool,
) -> None:
    """The study's tables for RUN: per split N, MSE, MAE, grid accuracy; figures.

    Writes eval.json, confusion_<parameter>.png and, for a model with a
    decoder, reconstruction.png into RUN.
    """
    from fxregistry.evaluation.evaluate import evaluate as run_evaluate

    result = run_evaluate(run, data, device, floor=floor, floor_limit=floor_limit, checks=checks)
    if as_json:
        print_json(result)
        return
    click.echo(format_evaluation(result))
    click.echo(f"  eval.json and figures written to {run}", err=True)


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="[RUN] WET")
@click.option("--dry", type=click.Path(), help="The unprocessed audio (needed by pair runs).")
@click.option(
    "--effect",
    help="The effect to estimate the settings of, skipping identification (without RUN).",
)
@click.option(
    "--refine",
    is_flag=True,
    help="Search by rendering the dry audio, for the effect too without RUN (needs --dry).",
)
@click.option(
    "--render-to", type=click.Path(), help="Write the dry audio rendered at the estimate."
)
@device_option
@json_option
def estimate(
    paths: tuple[str, ...],
    dry: str | None,
    effect: str | None,
    refine: bool,
    render_to: str | None,
    device: str,
    as_json: bool,
) -> None:
    """Which effect and which settings made the audio file WET.

    Without RUN, the default estimators (fxr list-estimators): identification,
    then the effect's settings, from WET alone unless --dry is given. With
    RUN, that run's model.
    """
    if len(paths) > 2:
        extra = " ".join(paths[2:])
        raise click.UsageError(f"unexpected extra argument(s) ({extra}): it takes [RUN] WET")
    options = {"refine": refine, "render_to": render_to, "device": device}
    if len(paths) == 1 and os.path.isdir(paths[0]):
        raise click.UsageError(f"{paths[0]} is a folder (a run?): give the audio too, RUN WET")
    if len(paths) == 1:
        from fxregistry.estimation.defaults import estimate_with_defaults

        result = estimate_with_defaults(paths[0], dry, effect=effect, **options)
    else:
        from fxregistry.estimation.estimate import estimate as run_estimate

        if effect is not None:
            raise click.UsageError("--effect chooses a default estimator; RUN names its own")
        result = run_estimate(paths[0], paths[1], dry, **options)
    if as_json:
        print_json(result)
    else:
        click.echo(format_estimate(result))


@click.command()
@click.argument("run", type=click.Path())
@click.argument("out", type=click.Path())
def export(run: str, out: str) -> None:
    """Write RUN's model as a portable OUT.onnx, which fxr estimate runs without torch.

    The ONNX graph carries everything estimate needs (input, features,
    effect, classes) as metadata; it is checked against the model before it
    is kept. Needs the onnx package (pip install 'fxregistry[export]').
    """
    from fxregistry.estimation.models import export_onnx

    click.echo(f"wrote {export_onnx(run, out)}")


COMMANDS = (fit, evaluate, estimate, export)
