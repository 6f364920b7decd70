"""Can the wet alone tell a gentle compression from loud untouched audio? Detectors, measured.

    .venv/bin/python benchmarks/gentle_compression.py --corpus freepats=datasets/real-freepats \
        --corpus fluid=datasets/real-fluid [--corpus-clips 20] [--work DIR]

JUCE's limiter compresses 4:1 above -10 dBFS at every setting, so at a 0 dB
threshold it changes loud audio without holding a peak at its ceiling: the
held-peaks check cannot rule there (``Effect.gentle_peak_db``), and blind
``fxr estimate`` calls most such wets none (docs/estimate.md, "At the
issue's levels"). A *detector* is a model of one effect or none, trained on
``fxr build --effect E --identify``; from each frame's sample levels it
could hear the knee that no spectrogram shows. For each effect that declares
``gentle_peak_db``, this trains one per variant of its data, on the built-in
source alone (``fxr fit --input wet --epochs 8 --seed 0``, fit's default model):

- ``recipe``: the shipped estimators' data (synth:60, 500 clips, the grid);
- ``more``: three times the clips (synth:180, 1500) at eight random settings,
  since the grid's three releases give one gentle compression three times;
- ``loud``: as ``more``, with the clips' peaks drawn in -10 ... -1 dBFS, where
  the detector would be asked.

Each is measured on the real corpus where estimate would ask it, on wets the
effect's check cannot rule on (at or above the gentle peak, no peak held):

- untouched: each clip at two peaks drawn between the gentle peak and -1 dBFS;
- compressed before: each clip through pedalboard's Compressor at drawn
  settings (threshold 6-24 dB below its peak, ratio 2-8, attack 1-10 ms,
  release 50-300 ms), then at a peak drawn there: music a producer had
  already compressed, which the effect never touched;
- gentle: the clips at peaks drawn in -20 ... -1 dBFS (producer.py --peaks)
  through every grid setting that changed them and held no peak.

The share of each called the effect at probabilities 0.9 (estimate's
CONFIDENCE), 0.97 and 0.99. A detector worth shipping names most gentle wets
and few of the others. Writes benchmarks/results/gentle_compression.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pedalboard
import torch
from blind_checks import clips_of, network
from producer import at_peaks
from real_audio import add_corpus_options, all_groups, corpus_command, fit_recipe
from report import log, save, workspace

from fxregistry import registry
from fxregistry.audio.features import mere_gain_change
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.estimation.evidence import blind_evidence
from fxregistry.estimation.models import load_predictor
from fxregistry.training.identify import class_probabilities

VARIANTS = {
    "recipe": {"source": "synth:60", "max_clips": 500},
    "more": {"source": "synth:180", "max_clips": 1500, "grid": "random:8"},
    "loud": {
        "source": "synth:180",
        "max_clips": 1500,
        "grid": "random:8",
        "level": "random:-10:-1",
    },
}
SEED = 5
EPOCHS = 8
SURE = (0.9, 0.97, 0.99)
KINDS = ("untouched", "compressed before", "gentle")


def detector(effect: str, variant: str, work: Path) -> Path:
    """The run of ``effect``'s detector trained on ``variant``'s data (kept when it exists)."""
    data, run = work / f"{effect}-{variant}.h5", work / f"{effect}-{variant}"
    if not data.exists():
        options = {"effect": effect, "identify": True, "features": "levels", "seed": SEED}
        build(BuildConfig(**options, **VARIANTS[variant]), data)
    if not (run / "model.pt").exists():
        fit_recipe(data, run, "wet", EPOCHS)
    return run


def cases(effect, clips: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The wets of each kind that ``effect``'s check cannot rule on."""
    rng = np.random.default_rng(2)
    gentle_db = effect.gentle_peak_db
    found = {kind: [] for kind in KINDS}
    for clip in clips:
        found["untouched"] += [_at_peak(clip, db) for db in rng.uniform(gentle_db, -1, 2)]
        compressor = pedalboard.Compressor(
            threshold_db=rng.uniform(-24, -6),
            ratio=rng.uniform(2, 8),
            attack_ms=rng.uniform(1, 10),
            release_ms=rng.uniform(50, 300),
        )
        before = compressor(_at_peak(clip, 0.0), SAMPLE_RATE)
        found["compressed before"].append(_at_peak(before, rng.uniform(gentle_db, -1)))
    for clip in at_peaks(clips, -20, -1):
        for setting in effect.grid():
            wet = effect(clip, SAMPLE_RATE, **setting)
            if not mere_gain_change(clip, wet):
                found["gentle"].append(wet)
    return {
        kind: [w.astype(np.float32) for w in wets if _beyond_reach(effect, w)]
        for kind, wets in found.items()
    }


def _at_peak(audio: np.ndarray, peak_db: float) -> np.ndarray:
    return audio / np.abs(audio).max() * 10 ** (peak_db / 20)


def _beyond_reach(effect, wet: np.ndarray) -> bool:
    """Whether ``effect``'s check says nothing of ``wet`` (where estimate would ask)."""
    found = blind_evidence(effect, wet)
    return found is not None and found.beyond_reach


def called(run: Path, effect: str, wets: list[np.ndarray]) -> dict[str, float | int]:
    """How many of ``wets`` the detector calls ``effect`` at each probability of SURE."""
    predictor = load_predictor(run, "cpu")
    column = predictor.card.classes.index(effect)
    outputs = [network(predictor, w[None]) for w in wets]
    said = class_probabilities(np.concatenate(outputs))[:, column] if wets else []
    return {"n": len(wets), **{str(t): float(np.mean(np.asarray(said) >= t)) for t in SURE}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 20, "2 s clips per group")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = workspace(args.work, "fxr-gentle-")
    started = time.perf_counter()
    effects = [n for n in registry.effect_names() if registry.get_effect(n).gentle_peak_db]
    groups = all_groups(args.corpus, args.groups)
    results = {}
    for name in effects:
        effect = registry.get_effect(name)
        heard = {g: cases(effect, clips_of(p, args.corpus_clips)) for g, p in groups.items()}
        for variant in VARIANTS:
            run = detector(name, variant, work)
            for group, wets in heard.items():
                cells = {kind: called(run, name, wets[kind]) for kind in KINDS}
                results[f"{name} {variant} {group}"] = cells
                log(f"{name} {variant} {group}: {cells}")
    write(args, results, (time.perf_counter() - started) / 60)


def write(args, results: dict, minutes: float) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU"
    lines = [
        "## Detectors of gentle compression",
        "",
        f"Command: `.venv/bin/python benchmarks/gentle_compression.py{corpus_command(args)}`  ",
        f"Machine: {machine}; {minutes:.0f} minutes. Data and training: "
        + "; ".join(
            f"{v}: `fxr build --effect E --identify --features levels --seed {SEED} "
            + " ".join(f"--{k.replace('_', '-')} {x}" for k, x in o.items())
            + "`"
            for v, o in VARIANTS.items()
        )
        + f"; each `fxr fit --input wet --epochs {EPOCHS} --seed 0`.",
        "",
        "Share called the effect at probability 0.9 / 0.97 / 0.99, of wets its check cannot "
        "rule on (n each):",
        "",
        "| detector | group | " + " | ".join(KINDS) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in KINDS) + " |",
    ]
    for key, cells in results.items():
        effect, variant, group = key.split(" ")
        shares = [
            " / ".join(f"{cells[k][str(t)]:.0%}" for t in SURE) + f" (n {cells[k]['n']})"
            for k in KINDS
        ]
        lines.append(f"| {effect} {variant} | {group} | " + " | ".join(shares) + " |")
    save("gentle_compression", lines, {"minutes": minutes, "results": results})


if __name__ == "__main__":
    main()
