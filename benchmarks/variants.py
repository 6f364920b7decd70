"""Blind `fxr estimate` on wets made by other implementations of the same effect.

    .venv/bin/python benchmarks/variants.py --corpus freepats=datasets/real-freepats \
        [--corpus fluid=...] [--groups guitar-solo,band-mix] [--corpus-clips 10] [--tag T]

A reference track was processed by whatever its producer had: its band
limit by another resampler than fxr's, its echoes by a delay at another
feedback and mix. An estimator that learned one renderer's fingerprint
names none of them. For every installed effect with a blind estimator, each
corpus clip is turned to a peak drawn in -20 ... -1 dBFS (producer.py's
draws), rendered at every grid setting that changes audio by each
implementation: the effect's own render, each of its variants (which `fxr
build --variants` trains on and the fixed-point check tests), and the
implementations in HELD_OUT below, which nothing in fxr has seen. Each wet
is written as a float wav and estimated as a user would (blind, shipped
estimators). Reported per implementation: the share of wets whose effect is
named, of those the share whose grid setting is right, and the blind MAE;
and the untouched clips called none. With ``--paired``, also `fxr estimate
--dry --refine`: the share whose effect and grid setting are right.

Writes benchmarks/results/variants.{md,json} (or variants-TAG.*).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pedalboard
from blind_checks import clips_of
from producer import at_peaks, normalized_error
from real_audio import add_corpus_options, all_groups, corpus_command
from report import log, save

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, write_audio
from fxregistry.estimation.defaults import estimate_with_defaults, installed_estimators

PEAKS = (-20.0, -1.0)  # issue 14's levels


def _resampled(quality: str, audio: np.ndarray, rate: float, *, target_khz: float):
    target = 25 * int(round(target_khz * 1000 / 25))
    if target >= rate:
        return audio.copy()
    down = pedalboard.Resample(target, quality=getattr(pedalboard.Resample.Quality, quality))
    return down(audio, rate)


def _delayed(feedback: float, mix: float, audio: np.ndarray, rate: float, *, delay_seconds):
    return pedalboard.Delay(delay_seconds=delay_seconds, feedback=feedback, mix=mix)(audio, rate)


# Implementations no fxr estimator trains on or checks, per effect: what measures
# whether it learned the effect or its renderers.
HELD_OUT = {
    "sample-rate": {
        "sinc256": functools.partial(_resampled, "WindowedSinc256"),
        "lagrange": functools.partial(_resampled, "Lagrange"),
        "catmull-rom": functools.partial(_resampled, "CatmullRom"),
        "linear": functools.partial(_resampled, "Linear"),
        "hold": functools.partial(_resampled, "ZeroOrderHold"),
    },
    "delay": {
        "feedback 0.3": functools.partial(_delayed, 0.3, 0.5),
        "feedback 0.5, mix 0.3": functools.partial(_delayed, 0.5, 0.3),
        "one echo (feedback 0)": functools.partial(_delayed, 0.0, 0.5),
    },
}


def implementations(effect) -> dict[str, object]:
    """``name -> renderer with the effect's parameters``: its own, its variants, held out."""
    ways = {"own": effect.render, **{f"variant {n}": r for n, r in effect.variants.items()}}
    return {**ways, **{f"held out: {n}": r for n, r in HELD_OUT.get(effect.name, {}).items()}}


def grid_values(answer: dict) -> dict[str, float]:
    return {k: p["grid_value"] for k, p in answer["parameters"].items()}


def measure(clips: np.ndarray, effect, folder: Path, paired: bool) -> dict:
    rows = {}
    for way, render in implementations(effect).items():
        named, right, errors, both = [], [], [], []
        for clip in clips:
            dry = write_audio(folder / "dry.wav", clip, SAMPLE_RATE) if paired else None
            for setting in effect.changing_grid():
                wet = np.asarray(render(clip[None], float(SAMPLE_RATE), **setting))[0]
                path = write_audio(folder / "wet.wav", wet.astype(np.float32), SAMPLE_RATE)
                answer = estimate_with_defaults(path, device="cpu")
                named.append(answer["effect"] == effect.name)
                if named[-1]:
                    right.append(grid_values(answer) == setting)
                    errors.append(normalized_error(effect, answer, setting))
                if paired:
                    answer = estimate_with_defaults(path, dry, refine=True, device="cpu")
                    both.append(answer["effect"] == effect.name and grid_values(answer) == setting)
        rows[way] = {
            "n": len(named),
            "named": float(np.mean(named)),
            "setting_right": float(np.mean(right)) if right else None,
            "mae": float(np.mean(errors)) if errors else None,
            "paired_grid": float(np.mean(both)) if both else None,
        }
        log(f"{effect.name} {way}: {rows[way]}")
    return rows


def untouched(clips: np.ndarray, folder: Path) -> float:
    said = []
    for clip in clips:
        path = write_audio(folder / "wet.wav", clip, SAMPLE_RATE)
        said.append(estimate_with_defaults(path, device="cpu")["effect"] is None)
    return float(np.mean(said))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 10, "2 s clips per group")
    parser.add_argument("--effects", help="comma list [default: every effect with variants]")
    parser.add_argument("--paired", action="store_true", help="also --dry --refine")
    parser.add_argument("--tag")
    args = parser.parse_args()
    started = time.perf_counter()
    blind = {e.effect for e in installed_estimators() if e.effect and not e.needs_dry}
    wanted = args.effects.split(",") if args.effects else sorted(blind)
    effects = [registry.get_effect(n) for n in wanted]
    effects = [e for e in effects if e.variants or e.name in HELD_OUT]
    results: dict = defaultdict(dict)
    with tempfile.TemporaryDirectory() as tmp:
        for group, path in all_groups(args.corpus, args.groups).items():
            clips = at_peaks(clips_of(path, args.corpus_clips), *PEAKS)
            results[group]["untouched called none"] = untouched(clips, Path(tmp))
            for effect in effects:
                results[group][effect.name] = measure(clips, effect, Path(tmp), args.paired)
    minutes = (time.perf_counter() - started) / 60
    write(args, effects, dict(results), minutes)


def write(args, effects, results: dict, minutes: float) -> None:
    groups = list(results)
    command = f".venv/bin/python benchmarks/variants.py{corpus_command(args)}"
    if args.effects:
        command += f" --effects {args.effects}"
    if args.paired:
        command += " --paired"
    if args.tag:
        command += f" --tag {args.tag}"
    lines = [
        "# Blind estimates of wets made by other implementations of an effect",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; {minutes:.1f} minutes.  ",
        "Each clip at a peak drawn in -20 ... -1 dBFS, at every grid setting that changes "
        "audio, rendered by each implementation; shipped estimators, blind, float wavs. "
        "Cells: effect named / of those, grid setting right / blind MAE (normalized); "
        "with --paired, the share `--dry --refine` gets effect and grid setting right.",
        "",
        "| effect | implementation | " + " | ".join(groups) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in groups) + " |",
    ]
    for effect in effects:
        for way in results[groups[0]][effect.name]:
            cells = []
            for g in groups:
                r = results[g][effect.name][way]
                right = "–" if r["setting_right"] is None else f"{r['setting_right']:.0%}"
                mae = "–" if r["mae"] is None else f"{r['mae']:.3f}"
                paired = "" if r.get("paired_grid") is None else f"; paired {r['paired_grid']:.0%}"
                cells.append(f"{r['named']:.0%} / {right} / {mae}{paired}")
            lines.append(f"| {effect.name} | {way} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Untouched clips called none: "
        + ", ".join(f"{g} {results[g]['untouched called none']:.0%}" for g in groups)
        + ".",
    ]
    name = f"variants-{args.tag}" if args.tag else "variants"
    print(save(name, lines, {"command": command, "minutes": minutes, "results": results}))


if __name__ == "__main__":
    main()
