"""Train the default estimators that fxr ships (`make models`), and measure them.

    .venv/bin/python benchmarks/default_estimators.py [--corpus NAME=FOLDER ...] [--work DIR]

`fxr estimate WET` uses these without a run (plugins/shipped.py). For every
installed effect E, on the built-in source alone, as the real-audio work
chose (docs/real-audio.md: levels drawn, residuals, the default model):

    fxr build --effect E --source synth:60 --max-clips 500 \
        --augment room,colour,noise,dynamics --seed 5
    fxr fit --data E.h5 --epochs 8 --input wet        -> E-wet   (blind)
    fxr fit --data E.h5 --epochs 8                    -> E-pair  (pair+residual)

(delay-wet with --hparam lags=48, which reaches the second echo of the
grid's longer delays: docs/real-audio.md)
and to identify the effect (every installed effect, or none), with the
augmentations that made blind identification hold better on real recordings
(benchmarks/identification.py):

    fxr build --effect all --source synth:60 --max-clips 500 --grid random:2 \
        --augment room,colour,noise --seed 5
    fxr fit --data all.h5 --epochs 8 --input wet --model fxnet   -> identify-wet
    fxr fit --data all.h5 --epochs 8                  -> identify-pair

and, for lossy files alone (an mp3: Estimator.lossy), the blind identifier and
the bitcrusher's and sample rate's blind estimators again on the same data
with every wet clip delivered as an mp3 (--deliver mp3:1; LOSSY)
                                                      -> identify-lossy-wet, E-lossy-wet

Each run's model.pt is exported to plugins/weights/NAME.onnx (`fxr export`:
served without torch, fxregistry.estimation.models), and
plugins/weights/manifest.json records the recipe, each model's data and
seed, the commit, and what it measured: on the synth test split, and on
every group of each `--corpus` (benchmarks/real_corpus.py; the groups are
built as the benchmarks build them). Fixed seeds: the same commit and
machine give the same weights. About half an hour on 2 CPU cores; a GPU is used
when there is one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from identification import pooled as pooled_identification
from real_audio import all_groups, build_group, fit_recipe, pooled
from report import log, workspace

from fxregistry import registry
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.recipes import load_recipe
from fxregistry.estimation.models import export_onnx
from fxregistry.evaluation.evaluate import evaluate
from fxregistry.files import write_json
from fxregistry.training.config import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "plugins" / "weights"
EPOCHS = 8
# The builds' options live in their recipes, datasets/estimators/*.toml (fxr build --recipe).
RECIPES = ROOT / "datasets" / "estimators"


def recipe(name: str) -> dict:
    """A recipe's ``[build]`` options as BuildConfig fields (``max-clips`` -> ``max_clips``)."""
    return {k.replace("-", "_"): v for k, v in load_recipe(RECIPES / f"{name}.toml").items()}


PARAMETERS = recipe("effect")  # each effect's settings, --effect given per effect
# Four times the data (synth:120, 1000 clips, random:4) did better on the synth test
# split but worse on real recordings (benchmarks/results/identification-large.md).
IDENTIFY = recipe("identify")
# The blind estimators trained again with every wet clip an mp3 at 128, 192 or 320 kbps,
# as STEM-lossy-wet, for lossy files alone (Estimator.lossy). The codec band-limits and adds
# noise, which an identifier trained on exact files hears as the sample rate's or the
# bitcrusher's, and it moves the samples whose levels the bitcrusher is heard by
# (docs/estimate.md, "Lossy files"). Trained with half its clips delivered, one identifier
# for every file called most untouched guitar solos band-limited. Not the delay and the
# limiter: an mp3's echoes and dynamics are the exact file's.
LOSSY = ("identify", "bitcrusher", "sample-rate")
LOSSY_DELIVERY = "mp3:1"
SEED = PARAMETERS["seed"]
INPUTS = ("wet", "pair")  # pair: fit's default input, pair+residual
# Where another model measured better than fit's default for one estimator. The blind
# identifier: fxnet2 named the effect of 67-78 % of changed real examples against
# fxnet's 70-78 % (the manifests of 86ad2f4 and 131972a), and through `fxr estimate`
# 97.0-99.0 % against 98.0-99.5 % (benchmarks/results/producer.md at 0c71cd8 and 0ddce64).
MODELS = {"identify-wet": "fxnet"}
# Hyperparameters other than the model's defaults: fxnet2's onset lags up to 0.56 s
# lifted the blind delay on real audio by 1-4 points (docs/real-audio.md); they cost the
# sample rate as much, so they are the delay's alone.
HYPERPARAMETERS = {"delay-wet": ("lags=48",)}


@dataclass(frozen=True)
class EstimatorRecipe:
    """One shipped estimator: what trains it."""

    stem: str  # its data is STEM.h5
    effect: str | None  # None: it identifies the effect
    options: dict  # the build's (BuildConfig fields)
    input: str  # wet (blind) or pair: fit's --input, pair meaning fit's default
    lossy: bool = False  # trained on lossy files, for lossy files (Estimator.lossy)

    @property
    def name(self) -> str:
        return f"{self.stem}-{self.input}"

    @property
    def model(self) -> str:
        return MODELS.get(self.name, DEFAULT_MODEL)

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        return HYPERPARAMETERS.get(self.name, ())


def command(config: dict, out: str) -> str:
    """The ``fxr build`` line of a build's options (for the manifest)."""
    options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config.items())
    return f"fxr build {options} --out {out}"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "fxregistry", "plugins/*.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--groups", default="guitar-solo,band-mix")
    parser.add_argument("--corpus-clips", type=int, default=60)
    parser.add_argument("--only", help="comma list of estimator names to (re)train")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = workspace(args.work, "fxr-models-")
    started, trained_at = time.perf_counter(), commit()  # the code that trains, not later's
    groups = all_groups(args.corpus, args.groups)
    # (data stem, effect or None, build options, inputs)
    plan = [("identify", None, IDENTIFY, INPUTS)] + [
        (effect, effect, {"effect": effect, **PARAMETERS}, INPUTS)
        for effect in registry.effect_names()
    ]
    plan += [
        (f"{stem}-lossy", effect, {**options, "deliver": LOSSY_DELIVERY}, ("wet",))
        for stem, effect, options, _ in plan
        if stem in LOSSY
    ]
    only = set(args.only.split(",")) if args.only else None
    previous = json.loads((WEIGHTS / "manifest.json").read_text()) if only else {}
    entries = {e["name"]: e for e in previous.get("estimators", [])}
    for stem, effect, options, inputs in plan:
        data = work / f"{stem}.h5"
        wanted = [i for i in inputs if only is None or f"{stem}-{i}" in only]
        if not wanted:
            continue
        if not data.exists():
            build(BuildConfig(**options), data)
        real, deliver = {}, options.get("deliver")
        for group, folder in groups.items():
            out = work / f"{stem}-{group.replace('/', '-')}.h5"
            real[group] = build_group(
                options["effect"], folder, out, args.corpus_clips, SEED, deliver=deliver
            )
        for input_name in wanted:
            lossy = deliver == LOSSY_DELIVERY
            estimator = EstimatorRecipe(stem, effect, options, input_name, lossy=lossy)
            run = work / estimator.name
            trained = fit_recipe(
                data,
                run,
                input_name,
                EPOCHS,
                estimator.model,
                hyperparameters=estimator.hyperparameters,
            )
            entries[estimator.name] = entry(estimator, trained, run, real, trained_at)
            log(json.dumps(entries[estimator.name]["measured"]))
    minutes = (time.perf_counter() - started) / 60
    write_manifest(list(entries.values()), args, minutes, trained_at)


def entry(estimator: EstimatorRecipe, trained: str, run: Path, real: dict, trained_at: str) -> dict:
    """One estimator's manifest entry; its model exported beside the manifest.

    ``trained``: the input the run was trained on; ``real``: each corpus group's
    dataset, where the run is measured beside its synth test split.

    The entry keeps its own commit: `--only` retrains some estimators and
    keeps the others, which the top-level commit (the last run's) does not describe.
    """
    name, stem, effect = estimator.name, estimator.stem, estimator.effect
    model, options = estimator.model, estimator.options
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    export_onnx(run, WEIGHTS / f"{name}.onnx")
    # The network's own accuracy (no blind checks): what this recipe trained. What
    # fxr estimate answers with the checks is benchmarks/producer.py's to measure.
    synth = evaluate(run, device="cpu", figures=False, checks=False)
    measured = {"synth test": synth["splits"]["test"]}
    for group, data in real.items():
        result = evaluate(run, data, device="cpu", figures=False, checks=False)
        measured[group] = (pooled if effect else pooled_identification)(result)
    if effect is None:
        cells = [f"{g}: {m['changed_accuracy']:.0%}" for g, m in measured.items()]
        summary = "identified (changed): " + ", ".join(cells)
    else:
        cells = [f"{g}: {m['mae']:.3f}" for g, m in measured.items()]
        summary = "MAE " + ", ".join(cells)
    return {
        "name": name,
        "effect": effect,
        "input": trained,
        **({"lossy": True} if estimator.lossy else {}),
        "file": f"{name}.onnx",
        "description": (
            f"which effect ({', '.join(synth['classes'])})"
            if effect is None
            else f"{effect} settings"
        )
        + (" from the wet audio alone" if trained == "wet" else " from wet and dry")
        + (", for lossy files (mp3)" if estimator.lossy else ""),
        "data": command(options, f"{stem}.h5"),
        "fit": f"fxr fit --data {stem}.h5 --epochs {EPOCHS} --seed 0"
        + (f" --input {trained}" if trained == "wet" else "")
        + (f" --model {model}" if model != DEFAULT_MODEL else "")
        + "".join(f" --hparam {h}" for h in estimator.hyperparameters),
        "model": model,
        "seed": 0,
        "commit": trained_at,
        "export": f"fxr export {name} {name}.onnx",
        "bytes": (WEIGHTS / f"{name}.onnx").stat().st_size,
        "measured": {"summary": summary, **measured},
    }


def write_manifest(entries: list[dict], args, minutes: float, trained_at: str) -> None:
    manifest = {
        "recipe": "make models (benchmarks/default_estimators.py"
        + "".join(f" --corpus {c}" for c in args.corpus)
        + ")",
        "commit": trained_at,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        + ("CUDA" if torch.cuda.is_available() else "CPU"),
        "minutes": round(minutes, 1),
        "corpus_clips": args.corpus_clips,
        "estimators": sorted(entries, key=lambda e: e["name"]),
    }
    write_json(manifest, WEIGHTS / "manifest.json")
    total = sum(e["bytes"] for e in entries) / 1e6
    print(f"{len(entries)} estimators, {total:.1f} MB, written to {WEIGHTS} ({minutes:.0f} min)")


if __name__ == "__main__":
    main()
