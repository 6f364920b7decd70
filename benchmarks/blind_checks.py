"""What the blind checks add to a blind (wet-only) estimate, on real recordings.

    .venv/bin/python benchmarks/blind_checks.py --corpus freepats=datasets/real-freepats \
        [--corpus fluid=...] [--groups guitar-solo,band-mix] [--corpus-clips 20] [--tag T]

For every effect that declares ``projection`` (fxregistry.estimation.fixed_point)
and has a default estimator from the wet alone (``fxr list-estimators``), or
a run given with ``--run EFFECT=RUN``: 2 s clips of each corpus group (the
first ``--corpus-clips`` loud ones, evenly over the group's files, at the
recordings' own levels) are rendered at every grid setting; each wet clip is
estimated by the network alone, and by the network followed by the check
(its setting, when it finds one). Reported: grid accuracy and MAE on
normalized parameters, both ways, and how often the check answered. Then
every check (fxregistry.estimation.evidence: fixed point, echoes, held
peaks) on every effect's output and on untouched audio: its verdicts, and
the range of its measure, which is the evidence behind its thresholds.
Writes benchmarks/results/blind_checks.{md,json} (or blind_checks-TAG.*) and,
without ``--tag``, its section of docs/results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from real_audio import add_corpus_options, all_groups, corpus_command
from report import log, save, update_section

from fxregistry import registry
from fxregistry.audio.features import mere_gain_change, spectrogram
from fxregistry.audio.io import AUDIO_SUFFIXES, SAMPLE_RATE, read_audio, rms_db
from fxregistry.estimation.defaults import installed_estimators, pick_estimator
from fxregistry.estimation.evidence import REFUTED, blind_evidence, check_of
from fxregistry.estimation.fixed_point import EXACT, fixed_point_setting, moves, strength
from fxregistry.estimation.models import Predictor, load_predictor

CLIP = 2 * SAMPLE_RATE
DOCS = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def clips_of(folder: Path, count: int) -> np.ndarray:
    """``count`` loud 2 s clips spread over the folder's files (its subfolders too)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    per_file = max(1, -(-count // max(1, len(files))))
    found = []
    for path in files:
        audio, _ = read_audio(path, SAMPLE_RATE)
        starts = range(0, audio.size - CLIP + 1, CLIP)
        loud = [audio[s : s + CLIP] for s in starts if rms_db(audio[s : s + CLIP]) > -60]
        found += loud[:per_file]
        if len(found) >= count:
            break
    return np.stack(found[:count]).astype(np.float32)


def synth_clips(takes: int) -> np.ndarray:
    """Every whole 2 s clip of the built-in source's first ``takes`` takes (seed 0)."""
    clips = []
    for take in registry.get_source("synth").recordings(str(takes), 0):
        audio = take.load()
        clips += [audio[s : s + CLIP] for s in range(0, audio.size - CLIP + 1, CLIP)]
    return np.stack(clips).astype(np.float32)


def examples(clip: np.ndarray, effects: list[str], sample_rate: int = SAMPLE_RATE):
    """(effect or None, setting, wet, changed) for every grid setting and the clip untouched.

    Unchanged, as issue 14 counts it: the identity setting, or a mere gain change
    of the clip sample for sample (not in its Mel spectrogram, which a 15-bit
    quantization or a limiter that caught a few peaks leaves within 0.1 dB).
    """
    yield None, {}, clip, False
    for name in effects:
        effect = registry.get_effect(name)
        identity = None if effect.identity is None else dict(effect.identity)
        for setting in effect.grid():
            wet = effect(clip, sample_rate, **setting)
            same = setting == identity or mere_gain_change(clip, wet)
            yield name, setting, wet, not same


def network(predictor: Predictor, wet: np.ndarray) -> np.ndarray:
    card = predictor.card
    return predictor.predict(card.normalization(spectrogram(wet, card.features))[:, None])


def measure(effect_name: str, predictor: Predictor, clips: np.ndarray) -> dict:
    effect = registry.get_effect(effect_name)
    truth, alone, checked, answered = [], [], [], 0
    # How far re-rendering moved each wet at its own setting, and at the settings the
    # check must tell from it: every other one, or for an exact projection (where the
    # weaker settings leave it in place too) the stronger ones.
    own, other = [], []
    for clip in clips:
        settings = effect.grid()
        wet = np.stack([effect(clip, SAMPLE_RATE, **s) for s in settings])
        predicted = network(predictor, wet)
        for setting, w, p in zip(settings, wet, predicted, strict=True):
            truth.append(effect.normalize(setting))
            alone.append(np.clip(p, 0, 1))
            measured = moves(effect, w)
            tested, moved = measured
            if setting in tested:  # not the identity, which is never tested
                own.append(moved[tested.index(setting)])
                rivals = [
                    m
                    for s, m in zip(tested, moved, strict=True)
                    if s != setting
                    and (
                        effect.projection > EXACT or strength(effect, s) > strength(effect, setting)
                    )
                ]
                if rivals:
                    other.append(min(rivals))
            found = fixed_point_setting(effect, w, measured)
            answered += found is not None
            checked.append(effect.normalize(found["setting"]) if found else np.clip(p, 0, 1))
    truth, alone, checked = map(np.asarray, (truth, alone, checked))

    def scores(prediction: np.ndarray) -> dict:
        hit = np.ones(len(truth), dtype=bool)
        for i, p in enumerate(effect.parameters):
            hit &= p.grid_indices(prediction[:, i]) == p.grid_indices(truth[:, i])
        return {"mae": float(np.abs(prediction - truth).mean()), "grid": float(hit.mean())}

    return {
        "n": len(truth),
        "network": scores(alone),
        "checked": scores(checked),
        "answered": answered / len(truth),
        # The measure: the largest relative sample change for an exact projection,
        # else the spectral distance (fxregistry.estimation.fixed_point).
        "own_moved_max": float(np.max(own)),
        "other_moved_min": float(np.min(other)),
    }


# The measure each check decides by, on its own effect's output and on the rest: the echo
# check confirms by the matched score, and refutes by the highest peak in the echo range.
MEASURES = {
    "fixed_point": {"own": "moved", "other": "moved"},
    "echoes": {"own": "score", "other": "peak"},
    "held_peaks": {"own": "samples", "other": "samples"},
}


def between_settings(effect) -> list[dict[str, float]]:
    """Halfway between each two neighbouring grid settings (not the identity)."""
    grid = effect.changing_grid()
    return [{k: (a[k] + b[k]) / 2 for k in a} for a, b in zip(grid[:-1], grid[1:], strict=True)]


def verdicts(clips: np.ndarray) -> dict:
    """Each check's verdicts on its own effect's output and on everything else, and the
    check's measure on both: the evidence behind its thresholds (fxregistry.estimation)."""
    effects = registry.effect_names()
    checked = {n: registry.get_effect(n) for n in effects if check_of(registry.get_effect(n))}
    found = {
        name: {
            **{whose: Counter() for whose in ("own", "other", "between")},
            "own_measure": [],
            "other_measure": [],
        }
        for name in checked
    }
    for clip in clips:
        for name, effect in checked.items():
            if effect.linear:  # settings between the grid's, which no matched filter fits
                for setting in between_settings(effect):
                    evidence = blind_evidence(effect, effect(clip, SAMPLE_RATE, **setting))
                    found[name]["between"][str(evidence.verdict)] += 1
        for processed_by, _, wet, changed in examples(clip, effects):
            if processed_by is not None and not changed:
                continue  # an identity or a mere gain change: no effect to find
            for name, effect in checked.items():
                evidence = blind_evidence(effect, wet)
                whose = "own" if processed_by == name else "other"
                found[name][whose][str(evidence.verdict)] += 1
                if evidence.found is not None:
                    measure = evidence.found[MEASURES[evidence.check][whose]]
                    found[name][f"{whose}_measure"].append(float(measure))
    out = {}
    for name, f in found.items():
        out[name] = {
            "check": check_of(checked[name]),
            **{whose: dict(f[whose]) for whose in ("own", "other", "between")},
            **{
                f"{whose}_measure": [float(np.min(v)), float(np.max(v))] if v else None
                for whose, v in (("own", f["own_measure"]), ("other", f["other_measure"]))
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 20, "2 s clips per group")
    parser.add_argument("--run", action="append", default=[], metavar="EFFECT=RUN")
    parser.add_argument("--tag")
    args = parser.parse_args()
    started = time.perf_counter()
    runs = dict(r.split("=", 1) for r in args.run)
    installed = installed_estimators()
    for effect in registry.effect_names():
        # Blind, on exact clips (rendered here, never encoded): what fxr estimate picks.
        estimator = pick_estimator(installed, effect, paired=False)
        if estimator is not None:
            runs.setdefault(effect, estimator.file())
    effects = [e for e in registry.effect_names() if registry.get_effect(e).projection]
    groups = {
        name: clips_of(folder, args.corpus_clips)
        for name, folder in all_groups(args.corpus, args.groups).items()
    }
    rows = []
    for effect in effects:
        if effect not in runs:
            log(f"{effect}: no blind estimator installed and no --run; skipped")
            continue
        predictor = load_predictor(runs[effect], "cpu")
        for group, clips in groups.items():
            row = {"effect": effect, "group": group, "model": str(runs[effect])}
            row.update(measure(effect, predictor, clips))
            log(str(row))
            rows.append(row)
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "## The blind checks on blind estimates",
        "",
        "Command: `.venv/bin/python benchmarks/blind_checks.py" + corpus_command(args) + "`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU; {minutes:.0f} minutes. Each group: {args.corpus_clips} loud 2 s clips at the "
        "recordings' own levels, rendered at every grid setting; the wet clip alone is "
        "estimated. Cells: grid accuracy (MAE on normalized parameters). The last two: how "
        "far re-rendering the wet moved it, at its own setting and at the settings the check "
        "must tell from it (every other one; for an exact projection, the stronger ones): the "
        "largest sample change relative to the peak for an exact projection, else the "
        "multi-resolution spectral distance.",
        "",
        "| effect | group | model | network alone | with the check | check answered "
        "| moved at its own setting (max) | at a rival setting (min) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['effect']} | {r['group']} | {Path(r['model']).name} | "
            f"{r['network']['grid']:.1%} ({r['network']['mae']:.3f}) | "
            f"{r['checked']['grid']:.1%} ({r['checked']['mae']:.3f}) | {r['answered']:.0%} | "
            f"{r['own_moved_max']:.3g} | {r['other_moved_min']:.3g} |"
        )
    found = {group: verdicts(clips) for group, clips in groups.items()}
    lines += [
        "",
        "### Each check's verdicts",
        "",
        "Every grid setting of every effect that changed the clip, and each clip untouched: "
        "how often each check confirmed, refuted or said nothing of its effect, on that "
        "effect's own output (it should never refute) and on everything else (untouched "
        "audio and the other effects' output: it should never confirm), and the range of "
        "the check's measure on both (fixed point: moved, as above; echoes: the matched "
        "score on its own output, the strongest train of its echoes at any time on "
        "the rest; held peaks: samples at the ceiling).",
        "",
        "| check | effect | group | own: confirmed / refuted / silent | others: confirmed / "
        "refuted / silent | measure, own (min–max) | measure, others (min–max) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    between = []
    for group, by_effect in found.items():
        for name, v in by_effect.items():
            if v["between"]:
                refuted, n = v["between"].get(REFUTED, 0), sum(v["between"].values())
                between.append(f"{name}, {group}: {refuted} of {n} refuted")
            cells = [
                " / ".join(str(v[whose].get(k, 0)) for k in ("confirmed", "refuted", "None"))
                for whose in ("own", "other")
            ]
            ranges = [
                "–" if v[m] is None else f"{v[m][0]:.3g}–{v[m][1]:.3g}"
                for m in ("own_measure", "other_measure")
            ]
            lines.append(
                f"| {v['check']} | {name} | {group} | {cells[0]} | {cells[1]} | "
                f"{ranges[0]} | {ranges[1]} |"
            )
    if between:
        lines += [
            "",
            "Settings halfway between two grid settings of a linear effect (which no matched "
            "filter fits; refuting them is an error): " + "; ".join(between) + ".",
        ]
    json_rows = {"rows": rows, "verdicts": found}
    report = save("blind_checks" + (f"-{args.tag}" if args.tag else ""), lines, json_rows)
    if not args.tag:
        update_section(DOCS, "blind_checks.py", report)


if __name__ == "__main__":
    main()
