"""Does a model fit the recipe's data at all? Every split's accuracy, per model.

    .venv/bin/python benchmarks/split_accuracy.py [--effect bitcrusher] \
        [--models fxnet,fxnet2] [--input pair|wet] [--work DIR] [--tag T]

Builds issue 13's recipe for one effect (``fxr build --effect E --source
synth:60 --max-clips 500 --seed 5``; an ``E.h5`` already in ``--work`` is
reused, as benchmarks/real_audio.py does), fits each model on it as the recipe
says (``fxr fit --data E.h5 --epochs 8 --model M``) and evaluates the train,
valid and test splits. A model whose training split scores no better than
its test split is not fitting the music: it is not fitting. One that scores
far better on its training split than on the others is short of data.

Writes benchmarks/results/split_accuracy.{md,json} (or split_accuracy-TAG.*).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
from real_audio import SIZES, fit_recipe
from report import log, save, workspace

from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.evaluation.evaluate import evaluate

SPLITS = ("train", "valid", "test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--effect", default="bitcrusher")
    parser.add_argument("--models", default="fxnet,fxnet2")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--input", choices=("pair", "wet"), default="pair")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--tag")
    args = parser.parse_args()
    work = workspace(args.work, "fxr-splits-")
    started = time.perf_counter()
    takes, clips = SIZES["recipe"]
    data = work / f"{args.effect}.h5"
    if not data.exists():
        config = BuildConfig(
            effect=args.effect, source=f"synth:{takes}", max_clips=clips, seed=args.seed
        )
        build(config, data)
    rows = []
    for model in args.models.split(","):
        run = work / f"{args.effect}-{args.input}-{model}"
        trained = fit_recipe(data, run, args.input, args.epochs, model)
        splits = evaluate(run, device="cpu", figures=False, checks=False)["splits"]
        rows.append({"model": model, **{s: splits[s] for s in SPLITS}})
        log(f"{model}: " + ", ".join(f"{s} {splits[s]['grid_accuracy']:.1%}" for s in SPLITS))
    minutes = (time.perf_counter() - started) / 60
    command = " ".join(["benchmarks/split_accuracy.py", *sys.argv[1:]])
    lines = [
        f"Command: `.venv/bin/python {command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU; {minutes:.0f} minutes.  ",
        f"Data: `fxr build --effect {args.effect} --source synth:{takes} --max-clips {clips} "
        f"--seed {args.seed}`; runs: `fxr fit --data {args.effect}.h5 --epochs {args.epochs} "
        f"--model M{' --input wet' if args.input == 'wet' else ''}`, input {trained}. "
        "Cells: grid accuracy (MAE, normalized).",
        "",
        "| model | " + " | ".join(SPLITS) + " |",
        "| --- |" + " ---: |" * len(SPLITS),
    ]
    for row in rows:
        cells = [f"{row[s]['grid_accuracy']:.0%} ({row[s]['mae']:.3f})" for s in SPLITS]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    name = f"split_accuracy-{args.tag}" if args.tag else "split_accuracy"
    save(name, lines, {"args": {**vars(args), "work": str(work)}, "rows": rows})


if __name__ == "__main__":
    main()
