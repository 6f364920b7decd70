"""`fxr fit` on one process against two under torchrun (Gloo, CPU), same global batch.

    .venv/bin/python benchmarks/distributed_speed.py [--epochs 3] [--clips 60] [--model cnn]

1. Builds a delay dataset from the built-in source (2 s clips, the paper's
   128 x 173 Mel spectrograms) in a scratch folder.
2. Runs ``fxr fit`` on it once as one process (all cores to torch's threads)
   and once as ``torchrun --standalone --nproc-per-node N`` (the cores divided
   among the processes), with the same global batch, and reads the training
   throughput of every epoch after the first from each run's metrics.jsonl.
   The two alternate ``--repeats`` times; the table gives the median of each
   and every single measurement, since a 2-core machine's timings wander.

Prints a Markdown report and writes it, with the raw numbers, to
benchmarks/results/distributed_speed.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import torch
from report import save

from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig

FXR = Path(sys.executable).with_name("fxr")


def fit(command: list[str], data: Path, run: Path, args) -> tuple[float, float]:
    """(training samples per second after the first epoch, wall seconds of the command)."""
    options = ["--model", args.model, "--data", str(data), "--out", str(run), "--device", "cpu",
               "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
               "--lr", "1e-3"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run([*command, str(FXR), "fit", *options], check=True)
    wall = time.perf_counter() - started
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    later = rows[1:] or rows  # the first epoch pays for warming up
    return sum(r["samples_per_s"] for r in later) / len(later), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = scratch / "delay.h5"
        build(
            BuildConfig(effect="delay", source="synth:20", max_clips=args.clips, residual=False),
            data,
        )
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc-per-node", str(args.processes)]  # fmt: skip
        single, multi = [], []
        for repeat in range(args.repeats):
            single.append(fit([sys.executable], data, scratch / f"one{repeat}", args))
            multi.append(fit(torchrun, data, scratch / f"many{repeat}", args))
        examples = json.loads((scratch / "one0/config.json").read_text())["train_examples"]

    lines = [
        "# Training on one process and on several (torchrun, Gloo, CPU)",
        "",
        f"Command: `.venv/bin/python benchmarks/distributed_speed.py --epochs {args.epochs} "
        f"--clips {args.clips} --model {args.model} --processes {args.processes} "
        f"--repeats {args.repeats}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}.  ",
        f"Work: `fxr fit --model {args.model}` on {examples} training examples of the delay "
        f"(2 s clips, 128 x 173 Mel, pair input), global batch {args.batch_size}, "
        f"{args.epochs} epochs, {args.repeats} runs each; a run's throughput is the mean "
        "of its epochs after the first.",
        "",
        "| processes | training samples/s (median) | every run | wall seconds (median) |",
        "| ---: | ---: | --- | ---: |",
    ]
    for processes, runs in ((1, single), (args.processes, multi)):
        every = ", ".join(f"{speed:.0f}" for speed, _ in runs)
        lines.append(
            f"| {processes} | {median(s for s, _ in runs):.1f} | {every} | "
            f"{median(w for _, w in runs):.1f} |"
        )
    speedup = median(s for s, _ in multi) / median(s for s, _ in single)
    lines += ["", f"Speed-up of {args.processes} processes: {speedup:.2f}x."]
    data = {"args": vars(args), "single": single, "multi": multi, "speedup": speedup}
    save("distributed_speed", lines, data)


if __name__ == "__main__":
    main()
