"""Which effect, or none: an identification model trained on the built-in source alone.

    .venv/bin/python benchmarks/identification.py --corpus freepats=datasets/real-freepats \
        [--corpus fluid=datasets/real-fluid] [--groups guitar-solo,band-mix] [--inputs wet]

The recipe, every option at its default except those named:

    fxr build --effect all --source synth:60 --max-clips 500 --grid random:2 --seed 5
    fxr fit --data all.h5 --epochs 8 --input wet

``--grid random:2`` draws two settings of each effect per clip, so every
effect has as many examples (the paper grids range from 8 to 17 settings);
each clip is also stored untouched. Evaluated on the synth test split and on
every group of each corpus from ``benchmarks/real_corpus.py``, built over the
same effects with ``--grid paper`` (every grid setting of every effect, as
issue 14's acceptance asks) and ``--level as-is``; every clip is scored.

Reported per group: accuracy on the examples an effect changed (issue 14's
target: at least 98 %), on untouched audio (called none), and overall; and
the effect confusion matrix. Writes benchmarks/results/identification.{md,json}
(or identification-TAG.*) and, without ``--tag``, its section of
docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from real_audio import all_groups, build_group, fit_recipe
from report import log, save, update_section, workspace

from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.evaluation.evaluate import evaluate
from fxregistry.training.config import DEFAULT_MODEL

DOCS = Path(__file__).resolve().parents[1] / "docs" / "results.md"
TARGET = 0.98  # issue 14: identification of examples an effect changed


def pooled(result: dict) -> dict:
    """Accuracies over every split of an evaluation (every clip of a corpus group)."""
    splits = [m for m in result["splits"].values() if m["n"]]
    out = {"n": sum(m["n"] for m in splits)}
    for key, count in (
        ("accuracy", lambda m: m["n"]),
        ("changed_accuracy", lambda m: m["n"] - m["per_class"]["none"]["n"]),
        ("none_accuracy", lambda m: m["per_class"]["none"]["n"]),
    ):
        weights = [(m[key], count(m)) for m in splits if m[key] is not None]
        total = sum(w for _, w in weights)
        out[key] = sum(v * w for v, w in weights) / total if total else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--groups", default="guitar-solo,band-mix")
    parser.add_argument("--effects", default="all")
    parser.add_argument("--inputs", default="wet", help="wet (blind), pair, or both")
    parser.add_argument("--takes", type=int, default=60)
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument("--grid", default="random:2", help="of the training build")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--corpus-clips", type=int, default=60, help="clips per corpus group")
    parser.add_argument("--model", help="depart from fxr fit's default model")
    parser.add_argument("--augment", default="none", help="of the training build")
    parser.add_argument("--tag", help="an experiment: write results/identification-TAG.*")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = workspace(args.work, "fxr-identify-")
    started = time.perf_counter()
    train = work / "train.h5"
    if not train.exists():
        config = BuildConfig(
            effect=args.effects,
            source=f"synth:{args.takes}",
            max_clips=args.clips,
            grid=args.grid,
            seed=args.seed,
            augment=args.augment,
        )
        build(config, train)
    groups = all_groups(args.corpus, args.groups)
    real = {}
    for name, folder in groups.items():
        out = work / f"{name.replace('/', '-')}.h5"
        real[name] = build_group(args.effects, folder, out, args.corpus_clips, args.seed)
    rows = []
    for input_mode in args.inputs.split(","):
        run = work / f"run-{input_mode}"
        trained = fit_recipe(train, run, input_mode, args.epochs, args.model)
        synth = evaluate(run, device="cpu", figures=False)
        row = {
            "input": trained,
            "classes": synth["classes"],
            "synth test": synth["splits"]["test"],
            "confusion": {"synth test": synth["confusion"]},
        }
        for name, data in real.items():
            result = evaluate(run, data, device="cpu", figures=False)
            row[name] = pooled(result)
            matrices = [m["confusion"] for m in result["splits"].values() if m["n"]]
            row["confusion"][name] = np.sum(matrices, axis=0).tolist()
        rows.append(row)
        log(json.dumps({k: v for k, v in row.items() if k != "confusion"}))
    minutes = (time.perf_counter() - started) / 60
    write(args, list(groups), rows, minutes)


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def write(args, groups: list[str], rows: list[dict], minutes: float) -> None:
    command = "  ".join(f"--corpus {c}" for c in args.corpus)
    lines = [
        "## Which effect: identification on real recordings",
        "",
        f"Command: `.venv/bin/python benchmarks/identification.py {command} --groups "
        f"{args.groups} --inputs {args.inputs} --corpus-clips {args.corpus_clips}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU; "
        f"{minutes:.0f} minutes in all.  ",
        f"Training data: `fxr build --effect {args.effects} --source synth:{args.takes} "
        f"--max-clips {args.clips} --grid {args.grid} --augment {args.augment} "
        f"--seed {args.seed}`; runs: `fxr fit "
        f"--data train.h5 --epochs {args.epochs} --input I` (model "
        f"{args.model or DEFAULT_MODEL}). Real recordings: each group built over the same "
        f"effects with `--grid paper --level as-is`, at most {args.corpus_clips} clips, every "
        "clip scored. Cells: accuracy on examples an effect changed / on untouched audio "
        "(called none) / overall.",
        "",
        "| input | synth test | " + " | ".join(groups) + f" | target (changed ≥ {TARGET:.0%}) |",
        "| --- | ---: | " + " | ".join("---:" for _ in groups) + " | --- |",
    ]
    for row in rows:
        cells = [row["synth test"], *(row[g] for g in groups)]
        shown = [
            f"{_percent(c['changed_accuracy'])} / {_percent(c['none_accuracy'])} / "
            f"{_percent(c['accuracy'])}"
            for c in cells
        ]
        met = all((row[g]["changed_accuracy"] or 0) >= TARGET for g in groups) and groups
        lines.append(
            f"| {row['input']} | " + " | ".join(shown) + f" | {'met' if met else 'missed'} |"
        )
    for row in rows:
        classes = row["classes"]
        for name, matrix in row["confusion"].items():
            lines += [
                "",
                f"Confusion, input {row['input']}, {name} (rows: true, columns: predicted):",
                "",
                "| | " + " | ".join(classes) + " |",
                "| --- | " + " | ".join("---:" for _ in classes) + " |",
            ]
            lines += [
                f"| {c} | " + " | ".join(str(n) for n in counts) + " |"
                for c, counts in zip(classes, matrix, strict=True)
            ]
    name = "identification" + (f"-{args.tag}" if args.tag else "")
    report = save(name, lines, {"args": vars(args) | {"work": str(args.work)}, "rows": rows})
    if not args.tag:
        update_section(DOCS, "identification.py", report)


if __name__ == "__main__":
    main()
