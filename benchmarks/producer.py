"""The producer's case, measured: `fxr estimate WET` with the shipped estimators on real audio.

    .venv/bin/python benchmarks/producer.py --corpus freepats=datasets/real-freepats \
        [--corpus fluid=...] [--groups guitar-solo,band-mix] [--corpus-clips 5] [--paired] \
        [--peaks=-20:-1] [--recorded] [--driven] [--stereo] [--rate 44100] [--normalize DB] \
        [--format wav] [--bits 16] [--kbps 128] [--tag T]

Issue 14's acceptance, on our own corpora: 2 s clips of each corpus group
(``--corpus-clips`` loud ones spread over the group's files, at the recordings' own
levels, peaks -20 to -1 dBFS) processed by every grid setting of every
effect that has a shipped blind estimator, plus each clip untouched. Each
wet clip is written to a file (``--format``: wav, or a lossy mp3) and
estimated as a user would: ``fxr estimate wet.wav`` (blind; ``--paired``
also ``--dry dry.wav --refine``). Reported per group:

- identification: accuracy on the examples the effect changed (not its
  identity setting, not a mere gain change), and untouched audio called none;
- blind MAE on normalized parameters per effect, over the examples whose
  effect was identified right; paired, grid accuracy over every example the
  effect changed;
- paired, beside it, the identifiability floor of the same examples: the
  expected grid accuracy of an estimator that knows the effect and the dry
  and picks among the settings that make the same audio (1 / their number
  when the truth is among them; fxregistry.estimation.search);
- how many wet clips were digital silence (0 bits on a quiet clip): fxr
  refuses those, one line, and they are left out of the scores;
- ``--peaks LOW:HIGH``: each clip turned to a peak drawn uniformly in LOW …
  HIGH dBFS before any effect, as the issue's acceptance draws its levels
  (without it, clips keep the recordings' own levels, mostly quieter);
- ``--recorded``: each clip heard as a microphone in a room takes it
  (:func:`recordings`: a room's reflections and tail, a preamp's hiss and
  mains hum), before any effect, as a user's recording is processed;
- ``--driven``: each clip saturated or clipped (:func:`driven`) before any
  effect, as an amp, a drum machine or a loud master leaves music;
- ``--stereo``: each clip made a stereo mix (:func:`stereo_mixes`) before
  the effect processes it, as a user's mix is processed; ``--rate``: the
  clips resampled to another rate first (48 kHz: video, most sessions), the
  files written and processed at it; ``--normalize``: each wet (and each
  clip untouched) turned to peak at that many dBFS after the effect, as a
  reference track is mastered or normalized after its effects; ``--bits``:
  the files' word length (16: as most music is delivered), where the format
  has one (wav, flac, aiff), else the finest it takes; ``--kbps``: an mp3's
  bitrate;
- the median wall time of one estimate in this process (the command adds
  Python's and torch's start-up; benchmarks/estimate_speed.py times that).

Writes benchmarks/results/producer.{md,json} (or producer-TAG.*) and, without
``--tag``, its section of docs/results.md.
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
import pedalboard
import torch
from blind_checks import clips_of, examples
from real_audio import add_corpus_options, all_groups, corpus_command
from report import log, save, update_section

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, resample, write_audio
from fxregistry.dataset.augmented import drive
from fxregistry.dataset.clips import level_clip
from fxregistry.dataset.config import parse_level
from fxregistry.errors import FxrError
from fxregistry.estimation.defaults import estimate_with_defaults, installed_estimators
from fxregistry.estimation.estimate import SILENCE_DB
from fxregistry.estimation.search import closest_grid_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def measure(
    clips: np.ndarray,
    effects: list[str],
    paired: bool,
    folder: Path,
    suffix: str = ".wav",
    rate: int = SAMPLE_RATE,
    normalize: float | None = None,
    bits: int | None = None,
    kbps: int | None = None,
) -> dict:
    counts = defaultdict(lambda: [0, 0])  # key -> [right, total]
    errors, grid_hits, seconds = defaultdict(list), defaultdict(list), []
    floor, floor_mae = defaultdict(list), defaultdict(list)
    answers = []  # (truth, answer, its probability, decided by a fixed point), for thresholds
    wrong = defaultdict(lambda: defaultdict(int))  # "truth" -> {what fxr said: how often}
    for c, clip in enumerate(clips):
        dry_path = write_audio(folder / "dry.wav", clip, rate, bits)
        for name, setting, wet, changed in examples(clip, effects, rate):
            if np.abs(wet).max() < 10 ** (SILENCE_DB / 20):
                counts["silent"][1] += 1
                continue
            if normalize is not None:  # a gain: what changed the clip, and how, is as it was
                wet = (wet * (10 ** (normalize / 20) / np.abs(wet).max())).astype(np.float32)
            wet_path = write_audio(folder / f"wet{suffix}", wet, rate, bits, kbps)
            started = time.perf_counter()
            blind = estimate_with_defaults(wet_path, device="cpu")
            seconds.append(time.perf_counter() - started)
            truth = name if changed else None
            checked = blind.get("identified_by") in ("fixed_point", "echoes", "held_peaks")
            answers.append((truth, blind["effect"], blind["probability"], checked))
            key = "none" if truth is None else "changed"
            counts[key][0] += blind["effect"] == truth
            counts[key][1] += 1
            label = f"{key} {name or 'untouched'}"
            counts[label][0] += blind["effect"] == truth
            counts[label][1] += 1
            if blind["effect"] != truth:
                said = f"{blind['effect'] or 'none'} ({blind.get('identified_by', '?')})"
                wrong[label][said] += 1
            if truth is None and name is not None:  # an identity or a mere gain change
                counts["none setting"][0] += blind["effect"] is None
                counts["none setting"][1] += 1
            if truth is None:
                continue
            if paired:  # every example the effect changed, whatever the blind answer was
                both = estimate_with_defaults(wet_path, dry_path, refine=True, device="cpu")
                found = {k: p["grid_value"] for k, p in both["parameters"].items()}
                grid_hits[name].append(found == setting and both["effect"] == name)
                tied = closest_grid_settings(registry.get_effect(name), clip, wet, rate)
                floor[name].append((setting in tied) / len(tied))
                if blind["effect"] == truth:  # the blind MAE's own examples
                    floor_mae[name].append(least_mae(registry.get_effect(name), tied))
            if blind["effect"] == truth:
                errors[name].append(normalized_error(registry.get_effect(name), blind, setting))
        log(f"clip {c + 1}/{len(clips)}: {dict(counts)}")
    return {
        "identified": {k: {"right": r, "n": n, "share": r / n} for k, (r, n) in counts.items()},
        "mae": {k: float(np.mean(v)) for k, v in errors.items()},
        "paired_grid": {k: float(np.mean(v)) for k, v in grid_hits.items()},
        "paired_floor": {k: float(np.mean(v)) for k, v in floor.items()},
        "mae_floor": {k: float(np.mean(v)) for k, v in floor_mae.items()},
        "seconds_median": float(np.median(seconds)),
        "thresholds": thresholds(answers),
        "wrong": {k: dict(v) for k, v in wrong.items()},
    }


def normalized_error(effect, answer: dict, setting: dict[str, float]) -> np.ndarray:
    """Per parameter, how far an estimate's answer is from ``setting``, normalized."""
    estimated = {k: p["value"] for k, p in answer["parameters"].items()}
    return np.abs(effect.normalize(estimated) - effect.normalize(setting))


def least_mae(effect, tied: list[dict[str, float]]) -> float:
    """The least expected MAE of any answer, when the truth is any of ``tied`` (settings
    that make the same audio, so that even the dry cannot tell them apart): that of
    their median, parameter by parameter."""
    return float(least_errors(effect, tied).mean())


def least_errors(effect, tied: list[dict[str, float]]) -> np.ndarray:
    """:func:`least_mae` parameter by parameter (normalized, in the effect's order)."""
    normalized = np.array([effect.normalize(s) for s in tied])
    return np.abs(normalized - np.median(normalized, axis=0)).mean(axis=0)


def at_peaks(clips: np.ndarray, low: float, high: float, seed: int = 0) -> np.ndarray:
    """Each clip turned to a peak drawn uniformly in ``low`` … ``high`` dBFS, as
    ``fxr build --level random:LOW:HIGH`` draws it (clip ``i`` as recording ``i``'s first)."""
    policy = ("random", low, high)
    return np.stack([level_clip(c, policy, seed, i, 0)[1] for i, c in enumerate(clips)])


def recordings(clips: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(n, samples)`` -> the same, each clip as a microphone in a room takes it.

    The corpus is rendered clean and close; a recording is not. Unlike fxr's
    own room (pedalboard's Freeverb, ``fxr build --augment``), the room here is
    an impulse response: the direct sound, 3-6 early reflections 2-25 ms after
    it at -14 to -6 dB, and a tail of decaying noise (RT60 0.2-0.8 s) 0-10 dB
    below the direct sound. Then a preamp's white hiss 55-75 dB and mains hum
    (50 or 60 Hz and two harmonics) 60-80 dB below the clip's peak. Each
    clip keeps its peak.
    """
    rng = np.random.default_rng(seed)
    out = []
    for clip in clips:
        rt60 = rng.uniform(0.2, 0.8)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        tail = rng.standard_normal(t.size) * 10 ** (-3 * t / rt60)  # -60 dB at rt60
        tail *= np.sqrt(10 ** (-rng.uniform(0, 10) / 10) / np.sum(tail**2))
        response = np.concatenate([[1.0], tail])
        for _ in range(rng.integers(3, 7)):
            lag = int(rng.uniform(0.002, 0.025) * SAMPLE_RATE)
            response[lag] += rng.choice([-1, 1]) * 10 ** (rng.uniform(-14, -6) / 20)
        convolve = pedalboard.Convolution(response.astype(np.float32), sample_rate=SAMPLE_RATE)
        room = convolve(clip.astype(np.float32), SAMPLE_RATE)
        peak = np.abs(clip).max()
        room *= peak / max(np.abs(room).max(), 1e-12)
        seconds = np.arange(clip.size) / SAMPLE_RATE
        mains = rng.choice([50.0, 60.0])
        hum = sum(
            np.sin(2 * np.pi * mains * k * seconds + rng.uniform(0, 2 * np.pi)) / k
            for k in (1, 2, 3)
        )
        hum *= peak * 10 ** (-rng.uniform(60, 80) / 20) / np.abs(hum).max()
        hiss = rng.standard_normal(clip.size) * peak * 10 ** (-rng.uniform(55, 75) / 20)
        taken = room + hum + hiss
        out.append(taken * (peak / np.abs(taken).max()))
    return np.stack(out).astype(np.float32)


def driven(clips: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(n, samples)`` -> the same, each clip saturated or clipped at its own peak.

    Music is often clipped or saturated before anyone applies an effect: a
    driven amp, a drum machine's samples, a master clipped to be loud. Unlike
    ``fxr build --augment drive`` (0.5-12 dB, either kind), the depths here
    are a loud master's and a saturating stage's: at even odds, pedalboard's
    Clipping 0.2-6 dB below the peak, or its Distortion (tanh) driven 3-18 dB.
    Each clip keeps its peak.
    """
    rng = np.random.default_rng(seed)
    out = []
    for clip in clips:
        if rng.uniform() < 0.5:
            out.append(drive(clip, "hard", rng.uniform(0.2, 6.0), SAMPLE_RATE))
        else:
            out.append(drive(clip, "soft", rng.uniform(3.0, 18.0), SAMPLE_RATE))
    return np.stack(out).astype(np.float32)


def stereo_mixes(clips: np.ndarray) -> np.ndarray:
    """``(n, samples)`` -> ``(n, 2, samples)``: each clip in the middle of a stereo image,
    the group's next clip at the sides (left in phase, right out), at the first's peak.

    The corpus is mono; a mix is not, and its two channels differ.
    """
    mixes = []
    for i, middle in enumerate(clips):
        sides = clips[(i + 1) % len(clips)]
        pair = np.stack([0.8 * middle + 0.4 * sides, 0.8 * middle - 0.4 * sides])
        mixes.append(pair * (np.abs(middle).max() / max(np.abs(pair).max(), 1e-12)))
    return np.stack(mixes).astype(np.float32)


THRESHOLDS = (0.5, 0.7, 0.9)


def thresholds(answers: list[tuple]) -> dict[str, dict[str, float]]:
    """Accuracy on changed and on untouched examples if an answer less probable than a
    threshold were called none instead (a check that confirms is not a probability)."""
    out = {}
    for t in THRESHOLDS:
        said = [(truth, None if p < t and not checked else a) for truth, a, p, checked in answers]
        changed = [a == truth for truth, a in said if truth is not None]
        untouched = [a is None for truth, a in said if truth is None]
        out[str(t)] = {"changed": float(np.mean(changed)), "none": float(np.mean(untouched))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 5, "2 s clips per group")
    parser.add_argument("--paired", action="store_true", help="also --dry --refine")
    parser.add_argument("--format", default="wav", help="the wet files' format: wav, mp3, ...")
    parser.add_argument(
        "--peaks", metavar="LOW:HIGH", help="each clip turned to a peak drawn in LOW … HIGH dBFS"
    )
    parser.add_argument(
        "--recorded", action="store_true", help="the clips taken in a room, with hiss and hum"
    )
    parser.add_argument(
        "--driven", action="store_true", help="the clips saturated or clipped first"
    )
    parser.add_argument("--stereo", action="store_true", help="stereo mixes of the clips")
    parser.add_argument(
        "--rate", type=int, default=SAMPLE_RATE, help="the files' sample rate (resampled to it)"
    )
    parser.add_argument(
        "--normalize", type=float, metavar="DB", help="turn each wet to peak at DB dBFS"
    )
    parser.add_argument("--bits", type=int, help="the files' word length: 16, 24")
    parser.add_argument("--kbps", type=int, help="an mp3's bitrate (pedalboard's default: 320)")
    parser.add_argument("--tag")
    args = parser.parse_args()
    # Checked as `fxr build --level random:LOW:HIGH` checks its range, before any work.
    try:
        peaks = parse_level(f"random:{args.peaks}")[1:] if args.peaks else None
    except FxrError:
        parser.error(f"--peaks must be LOW:HIGH dBFS with LOW <= HIGH, got {args.peaks!r}")
    started = time.perf_counter()
    effects = sorted({e.effect for e in installed_estimators() if e.effect and not e.needs_dry})
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for group, path in all_groups(args.corpus, args.groups).items():
            clips = clips_of(path, args.corpus_clips)
            if args.recorded:
                clips = recordings(clips)
            if args.driven:
                clips = driven(clips)
            if args.peaks:
                clips = at_peaks(clips, *peaks)
            if args.stereo:
                clips = stereo_mixes(clips)
            clips = resample(clips, SAMPLE_RATE, args.rate)
            suffix = f".{args.format}"
            rows[group] = measure(
                clips,
                effects,
                args.paired,
                Path(folder),
                suffix,
                args.rate,
                args.normalize,
                args.bits,
                args.kbps,
            )
            log(f"{group}: {rows[group]}")
    minutes = (time.perf_counter() - started) / 60
    write(args, effects, rows, minutes)


def _truth(key: str) -> str:
    """A count's key (``changed delay``, ``none limiter``, ``none untouched``) as prose."""
    kind, name = key.split(" ", 1)
    if name == "untouched":
        return "untouched"
    return name if kind == "changed" else f"{name}, no change"


def _table(columns: list[str], rows: dict, cells) -> list[str]:
    """A markdown table of one row per group: its name, then ``cells(its results)``."""
    return [
        "| group | " + " | ".join(columns) + " |",
        "| --- | " + " | ".join("---:" for _ in columns) + " |",
    ] + [f"| {group} | " + " | ".join(cells(r)) + " |" for group, r in rows.items()]


def _cells(effects: list[str], measured: dict, show) -> list[str]:
    """One cell per effect: ``show(effect)`` where ``measured`` has it, else a dash."""
    return [show(e) if e in measured else "–" for e in effects]


def _share(cell: dict | None) -> str:
    return "–" if cell is None else f"{cell['share']:.0%} ({cell['right']}/{cell['n']})"


def write(args, effects: list[str], rows: dict, minutes: float) -> None:
    estimators = ", ".join(sorted(e.name for e in installed_estimators()))
    lines = [
        "## The producer's case: `fxr estimate WET` with the shipped estimators",
        "",
        "Command: `.venv/bin/python benchmarks/producer.py"
        + corpus_command(args)
        + (" --paired" if args.paired else "")
        + (f" --peaks={args.peaks}" if args.peaks else "")
        + (" --recorded" if args.recorded else "")
        + (" --driven" if args.driven else "")
        + (" --stereo" if args.stereo else "")
        + (f" --rate {args.rate}" if args.rate != SAMPLE_RATE else "")
        + (f" --normalize {args.normalize:g}" if args.normalize is not None else "")
        + (f" --format {args.format}" if args.format != "wav" else "")
        + (f" --bits {args.bits}" if args.bits else "")
        + (f" --kbps {args.kbps}" if args.kbps else "")
        + (f" --tag {args.tag}" if args.tag else "")
        + "`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU; "
        f"{minutes:.0f} minutes. Estimators: {estimators}. Each group: {args.corpus_clips} loud "
        + (
            "2 s clips made stereo mixes (the next clip at the sides), at"
            if args.stereo
            else "2 s clips at"
        )
        + (
            " peaks drawn uniformly in {} … {} dBFS".format(*args.peaks.split(":"))
            if args.peaks
            else " the recordings' own levels"
        )
        + (
            ", each taken in a room with hiss and hum (`recordings`) before any effect"
            if args.recorded
            else ""
        )
        + (", each saturated or clipped (`driven`) before any effect" if args.driven else "")
        + (f", at {args.rate} Hz" if args.rate != SAMPLE_RATE else "")
        + ", every grid setting of "
        f"{', '.join(effects)}, and each clip untouched; "
        + (
            f"each wet then turned to peak at {args.normalize:g} dBFS; "
            if args.normalize is not None
            else ""
        )
        + "each wet clip estimated from a file"
        + (f" of {args.bits}-bit samples" if args.bits else "")
        + ", "
        "blind. No change: a setting at the effect's identity, or one that left the clip a "
        "mere gain change of itself, sample for sample (none, as issue 14 counts it).",
        "",
    ]
    lines += _table(
        ["identified (changed)", "untouched called none", "no change called none"]
        + ["silent, left out"]
        + [f"{e} blind MAE" for e in effects]
        + ["median seconds"],
        rows,
        lambda r: (
            [
                _share(r["identified"].get("changed")),
                _share(r["identified"].get("none untouched")),
                _share(r["identified"].get("none setting")),
                str(r["identified"].get("silent", {"n": 0})["n"]),
            ]
            + _cells(effects, r["mae"], lambda e: f"{r['mae'][e]:.3f}")
            + [f"{r['seconds_median']:.2f}"]
        ),
    )
    lines += ["", "Identified right, per effect (examples it changed):", ""]
    lines += _table(
        effects, rows, lambda r: [_share(r["identified"].get(f"changed {e}")) for e in effects]
    )
    lines += [
        "",
        "If an answer less probable than a threshold were called none (a blind check that "
        "confirms decides regardless): identified (changed) / audio no effect changed, called "
        "none.",
        "",
    ]
    lines += _table(
        [f"below {t}" for t in THRESHOLDS],
        rows,
        lambda r: [
            f"{r['thresholds'][str(t)]['changed']:.0%} / {r['thresholds'][str(t)]['none']:.0%}"
            for t in THRESHOLDS
        ],
    )
    lines += [
        "",
        "What the wrong answers were (the truth: what fxr said, and which evidence decided "
        "it: the network, or a blind check that confirmed):",
        "",
    ]
    for group, r in rows.items():
        said = [
            f"{_truth(truth)} → " + ", ".join(f"{a} {n}" for a, n in sorted(answers.items()))
            for truth, answers in sorted(r.get("wrong", {}).items())
        ]
        lines.append(f"- {group}: " + ("; ".join(said) if said else "none wrong"))
    if args.paired:
        lines += [
            "",
            "With `--dry --refine`, grid accuracy (effect and setting right), on every "
            "example the effect changed, and the identifiability floor of those examples "
            "(the best expected grid accuracy with the effect and the dry known):",
            "",
        ]
        lines += _table(
            effects,
            rows,
            lambda r: _cells(
                effects,
                r["paired_grid"],
                lambda e: f"{r['paired_grid'][e]:.0%} (floor {r['paired_floor'][e]:.0%})",
            ),
        )
        lines += [
            "",
            "The floor of the blind MAE: on the examples whose effect the blind estimate "
            "identified right (the blind MAE's own), the least MAE any estimator has, "
            "blind or knowing the dry, where settings that make the same audio are tied "
            "(the median of the tied settings):",
            "",
        ]
        lines += _table(
            [f"{e} (blind MAE / floor)" for e in effects],
            rows,
            lambda r: _cells(
                effects,
                r.get("mae_floor", {}),
                lambda e: f"{r['mae'][e]:.3f} / {r['mae_floor'][e]:.3f}",
            ),
        )
    report = save("producer" + (f"-{args.tag}" if args.tag else ""), lines, {"rows": rows})
    if not args.tag:
        update_section(DOCS, "producer.py", report)


if __name__ == "__main__":
    main()
