"""Which spectrogram normalization to train with: the study's min-max or a fixed dB range.

    .venv/bin/python benchmarks/normalization.py [--clips 200] [--epochs 15]

Builds a dataset per effect from the built-in source (peaks at -1 dBFS, as
when this was measured), trains the CNN with ``--input pair`` under each
normalization with otherwise identical settings, and reports the validation
MAE on parameters normalized to [0, 1] (the study's table metric) of the
best epoch, beside chance (1/3 for a uniform guess).

Writes benchmarks/results/normalization.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import torch
from report import save

from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--effects", default="limiter,bitcrusher")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--takes", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fxr-norm-") as scratch:
        for effect in args.effects.split(","):
            data = Path(scratch) / f"{effect}.h5"
            build(
                BuildConfig(
                    effect=effect,
                    source=f"synth:{args.takes}",
                    max_clips=args.clips,
                    level="peak:-1",
                    augment="none",
                    residual=False,
                ),
                data,
            )
            for normalization in ("minmax", "fixed"):
                run = Path(scratch) / f"{effect}-{normalization}"
                config = FitConfig(
                    model="cnn",
                    data=str(data),
                    epochs=args.epochs,
                    normalization=normalization,
                    device="cpu",
                )
                fit(config, run, log=lambda line: print(line, file=sys.stderr))
                metrics = [json.loads(line) for line in open(run / "metrics.jsonl")]
                best = min(metrics, key=lambda r: r["valid_loss"])
                rows.append(
                    {
                        "effect": effect,
                        "normalization": normalization,
                        "best_epoch": best["epoch"],
                        "valid_mae": best["valid_loss"],
                        "train_mae": best["train_loss"],
                        "samples_per_s": best["samples_per_s"],
                    }
                )
                print(rows[-1], file=sys.stderr)

    lines = [
        f"Command: `.venv/bin/python benchmarks/normalization.py --clips {args.clips} "
        f"--takes {args.takes} --epochs {args.epochs}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU. Data: {args.clips} clips of 2 s from {args.takes} synthesizer takes per effect, "
        "paper grid, peaks at -1 dBFS; CNN, `--input pair`, batch 16, lr 1e-4, StepLR 5/0.5.",
        "",
        "| effect | normalization | validation MAE (normalized) | train MAE | best epoch |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['effect']} | {r['normalization']} | {r['valid_mae']:.4f} | "
            f"{r['train_mae']:.4f} | {r['best_epoch']} |"
        )
    lines.append("")
    lines.append("Chance (a uniform guess against uniform targets): 0.333.")
    save("normalization", lines, rows)


if __name__ == "__main__":
    main()
