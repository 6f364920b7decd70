"""How close any blind estimate of an effect can come, when the input's level is unknown.

    .venv/bin/python benchmarks/blind_floor.py --corpus freepats=datasets/real-freepats \
        [--corpus fluid=...] [--groups guitar-solo,band-mix] [--corpus-clips 20] \
        [--effect limiter] [--peaks=-20:-1] [--step 0.25] [--model RUN_OR_ONNX] [--tag T]

Issue 14 asks a blind estimate of the limiter for MAE <= 0.15 on real audio
at peaks drawn in -20 ... -1 dBFS, on the examples it changed and identified
right. A limiter's output depends on how far its input rises above its
thresholds, and a reference track does not say how loud its input was: a
quiet input limited hard and a loud one limited gently can make the same
wet. This measures that ambiguity from above: for an estimator that knows
the dry audio itself, only not the level it was played at.

Each clip of each corpus group is turned to a peak drawn as producer.py
``--peaks`` draws it (the same draws) and rendered at every grid setting of
the effect; an example the setting changed (not a mere gain change, as issue
14 counts it) is *tied* with every grid setting that, fed the same clip at
some peak in the same range (steps of ``--step`` dB, and the clip's own
peak), gives a wet whose Mel spectrogram is within a tolerance of this
wet's: root mean square of the dB difference over the bins either fills, the
level included. Such settings cannot be told apart from the wet by anyone
who does not know the input's level; the best answer among them has the
expected MAE of their median (producer.py's ``least_errors``), and its mean
over the examples is the floor. A blind estimator knows less still (not the
dry either), so no blind estimate can go below this floor; the steps between
levels miss some ties, which only lowers it. (Until the clip's own peak was
among the levels, the step alone kept settings that render the same audio,
such as every release of a threshold the input never reached, apart at 0.1
dB: a floor far too low.) Reported at several tolerances, over every changed
example and over those that blind ``fxr estimate`` identifies right (the
issue's MAE's own examples), beside the MAE of the shipped blind estimator
on those, and of ``--model`` (a run or an exported .onnx of the effect,
blind), a candidate to ship in its place, on the same examples.

Writes benchmarks/results/blind_floor.{md,json} (or blind_floor-TAG.*).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from blind_checks import clips_of
from producer import at_peaks, least_errors, normalized_error
from real_audio import add_corpus_options, all_groups, corpus_command
from report import log, save

from fxregistry import registry
from fxregistry.audio.features import AUDIBLE_DB, mere_gain_change, spectrogram
from fxregistry.audio.io import SAMPLE_RATE, write_audio
from fxregistry.dataset.config import parse_level
from fxregistry.errors import FxrError
from fxregistry.estimation.defaults import estimate_with_defaults
from fxregistry.estimation.estimate import estimate

# dB, root mean square over the Mel bins: 0.1 is what fxr build takes for "no change"
# (fxregistry.audio.features.GAIN_TOLERANCE_DB, as a standard deviation there).
TOLERANCES = (0.03, 0.1, 0.3)


def candidates(effect, clip: np.ndarray, peaks: np.ndarray) -> tuple[list[dict], np.ndarray]:
    """Every grid setting, and the Mel spectrogram (dB) of its render of ``clip`` at each
    peak (dBFS): ``(settings, (settings, peaks, bins, frames))``."""
    unit = clip / max(float(np.abs(clip).max()), 1e-12)
    settings = effect.grid()
    inputs = [(unit * 10 ** (p / 20)).astype(np.float32) for p in peaks]
    mels = np.stack(
        [spectrogram(np.stack([effect(x, SAMPLE_RATE, **s) for x in inputs])) for s in settings]
    )
    return settings, mels


def distances(wet_mel: np.ndarray, mels: np.ndarray) -> np.ndarray:
    """``(settings, peaks)``: RMS dB difference over the bins either spectrogram fills."""
    filled = (wet_mel > AUDIBLE_DB) | (mels > AUDIBLE_DB)
    difference = np.where(filled, mels - wet_mel, 0.0)
    return np.sqrt((difference**2).sum(axis=(-2, -1)) / np.maximum(filled.sum(axis=(-2, -1)), 1))


def measure(
    effect, clips: np.ndarray, levels: np.ndarray, folder: Path, model: Path | None = None
) -> dict:
    floors = defaultdict(list)  # "all"/"identified" tolerance -> floor per example
    ties = defaultdict(list)
    shipped = []  # the blind estimate's normalized error, where it identified the effect
    candidate = []  # --model's, on the same examples
    # parameter -> "truth -> the shipped estimate's grid value" -> examples identified
    answered = {p.name: defaultdict(int) for p in effect.parameters}
    identity = None if effect.identity is None else dict(effect.identity)
    for c, clip in enumerate(clips):
        # The clip's own peak among the levels: settings that render it the same audio
        # must tie, and a step away from it alone parts them by up to 0.1 dB.
        own = 20 * np.log10(max(float(np.abs(clip).max()), 1e-12))
        settings, mels = candidates(effect, clip, np.union1d(levels, [own]))
        for setting in effect.grid():
            wet = effect(clip, SAMPLE_RATE, **setting)
            if setting == identity or mere_gain_change(clip, wet):
                continue
            path = write_audio(folder / "wet.wav", wet, SAMPLE_RATE)
            blind = estimate_with_defaults(path, device="cpu")
            right = blind["effect"] == effect.name
            if right:
                shipped.append(normalized_error(effect, blind, setting))
                for name, answer in blind["parameters"].items():
                    answered[name][f"{setting[name]:g} -> {answer['grid_value']:g}"] += 1
                if model is not None:
                    candidate.append(
                        normalized_error(effect, estimate(model, path, device="cpu"), setting)
                    )
            near = distances(spectrogram(wet), mels).min(axis=1)  # at the closest level
            for tolerance in TOLERANCES:
                tied = [s for s, d in zip(settings, near, strict=True) if d <= tolerance]
                tied += [] if setting in tied else [setting]  # the truth, between two steps
                floor = least_errors(effect, tied)
                floors[f"all {tolerance}"].append(floor)
                ties[f"all {tolerance}"].append(len(tied))
                if right:
                    floors[f"identified {tolerance}"].append(floor)
        log(f"clip {c + 1}/{len(clips)}: {len(floors['all 0.1'])} changed examples")
    return {
        "changed": len(floors["all 0.1"]),
        "identified": len(shipped),
        "floor": {k: float(np.mean(v)) for k, v in floors.items()},
        "floor_per_parameter": {k: np.mean(v, axis=0).tolist() for k, v in floors.items()},
        "ties": {k: float(np.mean(v)) for k, v in ties.items()},
        "answered": {name: dict(sorted(counts.items())) for name, counts in answered.items()},
        "shipped_mae": float(np.mean(shipped)) if shipped else None,
        "shipped_per_parameter": np.mean(shipped, axis=0).tolist() if shipped else None,
        "model_mae": float(np.mean(candidate)) if candidate else None,
        "model_per_parameter": np.mean(candidate, axis=0).tolist() if candidate else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 20, "2 s clips per group")
    parser.add_argument("--effect", default="limiter")
    parser.add_argument("--peaks", default="-20:-1", metavar="LOW:HIGH", help="dBFS")
    parser.add_argument("--step", type=float, default=0.25, help="dB between input levels")
    parser.add_argument("--model", type=Path, help="a run or .onnx: its blind MAE beside")
    parser.add_argument("--tag")
    args = parser.parse_args()
    try:
        low, high = parse_level(f"random:{args.peaks}")[1:]
        effect = registry.get_effect(args.effect)
    except FxrError as failure:
        parser.error(str(failure))
    if args.model is not None and not args.model.exists():
        parser.error(f"--model: no such run or file: {args.model}")
    started = time.perf_counter()
    levels = np.arange(low, high + args.step / 2, args.step)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for group, path in all_groups(args.corpus, args.groups).items():
            clips = at_peaks(clips_of(path, args.corpus_clips), low, high)
            rows[group] = measure(effect, clips, levels, Path(folder), args.model)
            log(f"{group}: {rows[group]}")
    write(args, effect, rows, (time.perf_counter() - started) / 60)


def write(args, effect, rows: dict, minutes: float) -> None:
    command = (
        f".venv/bin/python benchmarks/blind_floor.py{corpus_command(args)} "
        f"--effect {args.effect} --peaks={args.peaks} --step {args.step}"
        + (f" --model {args.model}" if args.model else "")
        + (f" --tag {args.tag}" if args.tag else "")
    )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU"
    names = ", ".join(p.name for p in effect.parameters)
    lines = [
        f"## How close a blind estimate of the {effect.name} can come",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine}; {minutes:.0f} minutes. Each example: a clip at a peak drawn in "
        f"{args.peaks} dBFS (producer.py's draws), at a grid setting that changed it. Tied: "
        f"the grid settings whose render of the same clip, at some peak in that range "
        f"({args.step} dB steps and the clip's own peak), has a Mel spectrogram within the "
        "tolerance of the wet's "
        "(RMS dB over the bins either fills). Floor: the mean expected MAE (normalized) of "
        "the best answer among the tied settings, which no estimator that knows the dry but "
        "not its level, and so no blind one, can go below. Shipped: the MAE of blind "
        f"`fxr estimate WET` on the examples it identified as the {effect.name} (per "
        f"parameter: {names}).",
        "",
        "| group | changed | identified | tolerance (dB) | settings tied (mean) "
        "| floor, all changed | floor, identified (per parameter) | shipped MAE (per parameter) "
        + ("| --model MAE (per parameter) |" if args.model else "|"),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        + (" --- |" if args.model else ""),
    ]
    for group, row in rows.items():
        shipped = _mae(row["shipped_mae"], row["shipped_per_parameter"])
        model = f" {_mae(row.get('model_mae'), row.get('model_per_parameter'))} |"
        for t in TOLERANCES:
            identified = _mae(
                row["floor"].get(f"identified {t}"),
                row.get("floor_per_parameter", {}).get(f"identified {t}"),
            )
            lines.append(
                f"| {group} | {row['changed']} | {row['identified']} | {t} "
                f"| {row['ties'][f'all {t}']:.2f} | {row['floor'][f'all {t}']:.3f} "
                f"| {identified} | {shipped} |" + (model if args.model else "")
            )
    lines += ["", "The shipped estimate's grid value against the truth, examples identified:", ""]
    for group, row in rows.items():
        for parameter, counts in row.get("answered", {}).items():
            pairs = ", ".join(f"{k}: {n}" for k, n in counts.items())
            lines.append(f"- {group}, {parameter}: {pairs}")
    name = "blind_floor" + (f"-{args.tag}" if args.tag else "")
    if args.model:
        lines += ["", f"--model: `{args.model}`, blind (`fxr estimate MODEL WET`)."]
    save(name, lines, {"command": command, "machine": machine, "rows": rows})


def _mae(mae: float | None, per: list[float] | None) -> str:
    if mae is None:
        return "–"
    return f"{mae:.3f}" + (f" ({' / '.join(f'{v:.3f}' for v in per)})" if per else "")


if __name__ == "__main__":
    main()
