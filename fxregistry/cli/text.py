"""Everything the command line renders for a person: tables and summaries.

Each ``format_*`` function takes what a command's ``--json`` prints (or the
report of a build) and returns text, so the JSON and the text cannot say
different things. Torch-free, as is the whole command line until a command
runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from fxregistry.audio.features import FeatureConfig
from fxregistry.estimation.echoes import confirms
from fxregistry.registry import Registration

__all__ = [
    "effect_rows",
    "estimator_rows",
    "format_build_report",
    "format_estimate",
    "format_evaluation",
    "format_inspect",
    "format_values",
    "model_rows",
    "print_json",
    "source_rows",
    "table",
]


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def format_values(values: Iterable[float]) -> str:
    """A grid as a short list: ``0, 1, …, 16`` for a run of whole numbers."""
    values = list(values)
    steps = {b - a for a, b in zip(values, values[1:], strict=False)}
    if len(values) > 5 and steps == {1.0} and all(v == int(v) for v in values):
        return f"{values[0]:g}, {values[1]:g}, …, {values[-1]:g}"
    return ", ".join(f"{v:.5g}" for v in values)


def table(title: str, columns: Sequence[str], rows: list[list[str]], empty_note: str) -> None:
    """A rich table on stdout, or one line saying there is nothing to show."""
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


def effect_rows(reg: Registration) -> list[list[str]]:
    """One row per parameter; the effect's own columns only on its first."""
    effect = reg.item
    fixed = ", ".join(f"{k}={v}" for k, v in effect.fixed.items())
    rows = []
    for i, p in enumerate(effect.parameters):
        first = i == 0
        rows.append(
            [
                effect.name if first else "",
                reg.provider if first else "",
                p.name,
                p.unit,
                format_values(p.grid),
                f"{p.range[0]:g} .. {p.range[1]:g} ({p.scale})",
                fixed if first else "",
                ", ".join(effect.variants) if first else "",
            ]
        )
    return rows


def source_rows(reg: Registration) -> list[list[str]]:
    return [[reg.name, reg.provider, reg.item.argument_help, reg.item.description]]


def model_rows(reg: Registration) -> list[list[str]]:
    decoder = "yes" if reg.item.reconstructs else "no"
    return [[reg.name, reg.provider, decoder, reg.item.description]]


def estimator_rows(reg: Registration) -> list[list[str]]:
    estimator = reg.item
    estimates = "which effect" if estimator.identifies else f"{estimator.effect} settings"
    measured = estimator.manifest.get("measured", {}).get("summary", "")
    heard = f"{estimator.input} (lossy files)" if estimator.lossy else estimator.input
    return [[reg.name, reg.provider, estimates, heard, measured]]


def format_build_report(report: Any) -> str:
    """The last line of ``fxr build``, from its ``BuildReport``."""
    splits = " / ".join(f"{name} {n}" for name, n in report.split_examples.items())
    return (
        f"built {report.path}: {report.examples} examples from {report.clips} clips of "
        f"{report.recordings} recordings ({splits}); skipped {report.skipped_quiet_clips} quiet "
        f"clips and {report.skipped_files} unreadable files; {report.seconds:.1f} s, "
        f"{report.examples_per_second:.0f} examples/s"
    )


def format_inspect(info: dict[str, Any]) -> str:
    """``fxr inspect`` without ``--json``."""
    lines = [
        f"{info['path']}: fxr dataset (format {info['format_version']}, "
        f"fxr {info['fxr_version']}, {info['bytes'] / 1e6:.1f} MB, {info['created']})",
        f"  effect     {info['effect']}  (fixed: {info['fixed'] or 'nothing'})",
    ]
    if info.get("classes"):
        counts = ", ".join(f"{name} {n}" for name, n in info["class_examples"].items())
        lines.append(f"  classes    {counts} (examples; fxr fit trains identification)")
    for p in info["parameters"]:
        lines.append(
            f"  parameter  {p['name']} [{p['unit']}] grid {format_values(p['grid'])}; "
            f"range {p['range'][0]:g}..{p['range'][1]:g} ({p['scale']})"
        )
    lines.append(
        f"  source     {info['source']}, seed {info['seed']}, grid {info['grid']}, "
        f"level {info['level']}, {info['clip_seconds']:g} s clips"
    )
    lines.append(
        f"  contents   {info['examples']} examples, {info['clips']} clips, "
        f"{info['recordings']} recordings (skipped {info['skipped_quiet_clips']} quiet "
        f"clips, {info['skipped_files']} files)"
    )
    for split in ("train", "valid", "test"):
        lines.append(
            f"  {split:<10} {info['splits'][split]} examples, {info['split_clips'][split]} "
            f"clips, {info['split_recordings'][split]} recordings"
        )
    for kind, cfg in info["features"].items():
        bins = FeatureConfig(**cfg).bins
        lines.append(
            f"  features   {kind}: {bins} bins, n_fft {cfg['n_fft']}, hop {cfg['hop_length']}, dB"
        )
    lines.append(f"  audio      {'kept' if info['keep_audio'] else 'not kept'}")
    applied = [
        f"{k} p={v['probability']:g}" for k, v in info["augment"].items() if v and k != "name"
    ]
    lines.append(
        f"  augment    {info['augment']['name']}" + (f" ({', '.join(applied)})" if applied else "")
    )
    if info["residual"]:
        lines.append("  residual   spectrograms of wet minus dry audio (fit --input pair+residual)")
    if info["deliver"] != "none":
        lines.append(f"  delivered  {info['deliver']} (shares of the wet clips, after the effect)")
    if info["variants"]:
        lines.append(f"  variants   {info['variants']:g} of the examples (another implementation)")
    return "\n".join(lines)


def format_evaluation(result: dict[str, Any]) -> str:
    """``fxr evaluate`` without ``--json``: the study's table, the floor, the reconstruction."""
    if "classes" in result:
        return _format_identification(result)
    lines = [
        f"{result['effect']} / {result['model']} (input {result['input']}, "
        f"{result['normalization']} normalization) on {result['data']}; "
        f"chance MAE {result['chance_mae']:.3f}",
        f"  {'split':<6} {'N':>6} {'MSE':>8} {'MAE':>8} {'grid acc.':>9}   per parameter",
    ]
    for split, m in result["splits"].items():
        if not m["n"]:
            lines.append(f"  {split:<6} {0:>6}")
            continue
        per = "; ".join(
            f"{name} MAE {p['mae']:.3g} {p['unit']}, acc. {p['grid_accuracy']:.1%}"
            for name, p in m["per_parameter"].items()
        )
        lines.append(
            f"  {split:<6} {m['n']:>6} {m['mse']:>8.4f} {m['mae']:>8.4f} "
            f"{m['grid_accuracy']:>9.1%}   {per}"
        )
    checked = result.get("blind_check")
    if checked and "skipped" in checked:
        lines.append(f"  with the {checked['check']} check: not scored ({checked['skipped']})")
    for split, m in (checked or {}).get("splits", {}).items():
        if m["n"]:
            lines.append(
                f"  {split:<6} {m['n']:>6} {m['mse']:>8.4f} {m['mae']:>8.4f} "
                f"{m['grid_accuracy']:>9.1%}   with the {checked['check']} check, as fxr "
                f"estimate answers (it found a setting for {m['answered']:.0%})"
            )
    for split, m in result.get("floor", {}).items():
        lines.append(
            f"  floor  {m['n']:>6} {m['mse']:>8.4f} {m['mae']:>8.4f} {m['grid_accuracy']:>9.1%}"
            f"   exhaustive analysis-by-synthesis on the {split} clips, dry known"
        )
    if "reconstruction" in result:
        r = result["reconstruction"]
        lines.append(
            f"  reconstruction L2 {r['l2']:.4f} (wet as is: {r['l2_wet_as_is']:.4f}); "
            "high-frequency ratio "
            + ", ".join(f"{k} {v:.3f}" for k, v in r["high_frequency_ratio"].items())
        )
    return "\n".join(lines)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _format_identification(result: dict[str, Any]) -> str:
    """An identification run's evaluation: accuracies per split, then the confusion matrix."""
    classes = result["classes"]
    lines = [
        f"identification of {', '.join(classes)} / {result['model']} (input {result['input']}) "
        f"on {result['data']}",
        f"  {'split':<6} {'N':>6} {'accuracy':>9} {'changed':>9} {'none':>9}   recall per class",
    ]
    for split, m in result["splits"].items():
        recall = "; ".join(
            f"{name} {_percent(c['recall'])}" for name, c in m["per_class"].items() if c["n"]
        )
        lines.append(
            f"  {split:<6} {m['n']:>6} {_percent(m['accuracy']):>9} "
            f"{_percent(m['changed_accuracy']):>9} {_percent(m['none_accuracy']):>9}   {recall}"
        )
    width = max(len(c) for c in classes) + 1
    lines.append(f"  confusion ({result['figures_split']} split; rows true, columns predicted):")
    lines.append("  " + " " * width + "".join(f"{c:>{width}}" for c in classes))
    for name, row in zip(classes, result["confusion"], strict=True):
        lines.append(f"  {name:<{width}}" + "".join(f"{n:>{width}}" for n in row))
    return "\n".join(lines)


def format_estimate(result: dict[str, Any], truth: Sequence[tuple[str, float]] = ()) -> str:
    """``fxr estimate`` without ``--json``; ``truth`` adds the known settings (the demo)."""
    truth_of = dict(truth)
    lines = [f"{result['effect']}: estimated from {result['windows']} window(s)"]
    if "probabilities" in result:
        said = result["effect"] or "no effect"
        said = f"{said} (probability {result['probability']:.2f})"
        if "unsure" in result:  # a doubted answer (estimation.defaults.doubt)
            from fxregistry.estimation.defaults import LOSSY

            unsure = result["unsure"]
            lossy = unsure.get("why") == LOSSY
            # Beyond its check the network's own probability is weighed, not the one
            # listed below (renormalized after the checks struck other effects off).
            own = "" if lossy else " (the network's own, before the checks)"
            said = (
                f"no effect named: {unsure['effect']} at probability {unsure['probability']:.2f}"
                f"{own} is below the {unsure['needed']:.2f} needed where "
                + (
                    "a lossy file hides the checks"
                    if lossy
                    else f"the {unsure['effect']}'s check cannot tell"
                )
            )
        if "yielded" in result:  # estimation.defaults._yield_to_located
            yielded = result["yielded"]
            said += (
                f": its setting located blind, where the network's {yielded['effect']} "
                f"(probability {yielded['probability']:.2f}) has no setting its check can place"
            )
        lines[0] = f"{said}, from {result['windows']} window(s)"
        lines += [f"  {name:<16} {p:>6.3f}" for name, p in result["probabilities"].items()]
        if result.get("evidence"):
            checked = ", ".join(f"{name} {v}" for name, v in result["evidence"].items())
            lines.append(f"  blind checks: {checked}")
        if result.get("synthesis"):
            fits = ", ".join(
                f"{name} {fit:.0f} dB"
                for name, fit in result["synthesis"].items()
                if fit is not None
            )
            decided = result.get("identified_by") == "synthesis"
            lines.append(
                f"  the dry rendered again, fit to the wet: {fits}"
                + (" (decides)" if decided else " (undecided: the network's answer)")
            )
    for name, p in result["parameters"].items():
        # The spread is between windows' answers, not an error bar: one window has none.
        windows = result["windows"]
        spread = f"± {p['spread']:.3g} {p['unit']} across {windows} windows" if windows > 1 else ""
        line = f"  {name:<16} {p['value']:>10.4g} {p['unit']:<5} ({spread or 'one window'}"
        line += f", network {p['network']:.4g})"
        if name in truth_of:
            line += f"   truth {truth_of[name]:.4g}"
        lines.append(line)
    if result.get("fixed_point"):
        shown = ", ".join(f"{k}={v:g}" for k, v in result["fixed_point"]["setting"].items())
        if "gathered" in result["fixed_point"]:  # a lossy file: near the fixed points
            found = f"the wet's samples gather at {shown}'s levels"
        else:
            found = f"the wet audio is a fixed point of {shown}"
        lines.append(f"  {found}: that setting, checked blind")
    if result.get("echoes") and confirms(result["echoes"]):
        shown = ", ".join(f"{k}={v:g}" for k, v in result["echoes"]["setting"].items())
        score = result["echoes"]["score"]
        lines.append(f"  the wet audio echoes as {shown} does (score {score:.0f}): checked blind")
    if result["distance_before"] is not None:
        after = result["distance_after"]
        lines.append(
            f"  spectral distance of the match: {result['distance_before']:.4f}"
            + (f" -> {after:.4f} after refinement" if after is not None else "")
        )
    if "rendered_to" in result:
        lines.append(f"  match written to {result['rendered_to']}")
    return "\n".join(lines)
