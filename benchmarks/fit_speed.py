"""Training speed of every registered model, and what reading the data costs.

    .venv/bin/python benchmarks/fit_speed.py [--steps 60] [--batch-size 16]

1. Builds a delay dataset from the built-in source (2 s clips, the paper's
   128 x 173 Mel spectrograms) in a scratch folder.
2. For each model, times training steps (forward, L1 loss, backward, Adam)
   at batch 16 with ``--input pair`` fed three ways: from batches made in
   advance (no loading at all), from fxr's in-memory split (what ``fxr fit``
   does when a split fits in memory, the usual case) and from the streamed
   HDF5 loader (what it does when a split does not fit). The loading share
   is the time spent waiting for batches over the time of the timed steps.
3. Times the reconstruction step of the models that have a decoder.

Prints a Markdown report and writes it, with the raw numbers as JSON, to
benchmarks/results/fit_speed.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from report import save

from fxregistry import registry
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.training.batches import Batches, Normalization, load_split, open_split
from fxregistry.training.device import select_device


def time_steps(model, batches, task: str, steps: int, warmup: int = 5) -> tuple[float, float]:
    """Samples per second over ``steps`` training steps after ``warmup`` ones, and the
    share of that time spent waiting for the next batch."""
    normalize = Normalization("fixed")
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    done, samples, started, loading = 0, 0, 0.0, 0.0
    while done < warmup + steps:
        iterator = iter(batches())
        while done < warmup + steps:
            if done == warmup:
                started, samples, loading = time.perf_counter(), 0, 0.0
            asked = time.perf_counter()
            batch = next(iterator, None)
            if batch is None:
                break
            loading += time.perf_counter() - asked
            wet, dry, _, targets = batch
            if task == "reconstruct":
                out = model.reconstruct(normalize(wet)[:, None])
                loss = F.mse_loss(out, normalize(dry)[:, None])
            else:
                x = torch.stack([normalize(wet), normalize(dry)], dim=1)
                loss = F.l1_loss(model(x), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            samples += targets.shape[0]
    elapsed = time.perf_counter() - started
    return samples / elapsed, loading / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--clips", type=int, default=100)
    args = parser.parse_args()
    device = select_device("cpu")
    threads = torch.get_num_threads()

    with tempfile.TemporaryDirectory(prefix="fxr-fit-bench-") as scratch:
        path = Path(scratch) / "delay.h5"
        build(
            BuildConfig(effect="delay", source="synth:12", max_clips=args.clips, residual=False),
            path,
        )
        memory = load_split(path, "train", "mel")
        streamed = open_split(path, "train", "mel", in_memory=False)
        n = len(memory)
        # Pre-made batches: what the model alone can do.
        size = args.batch_size
        fixed = [memory[list(range(i, min(i + size, n)))] for i in range(0, n, size)]
        rows = []
        for name in sorted(registry.registrations("model")):
            spec = registry.get_model(name)
            feeds = {
                "tensors": lambda: iter(fixed),
                "in-memory split": lambda: Batches(memory, args.batch_size, device, True).epoch(0),
                "streamed HDF5": lambda: Batches(streamed, args.batch_size, device, True).epoch(0),
            }
            row = {"model": name}
            for feed, batches in feeds.items():
                torch.manual_seed(0)
                model = spec.build(2, 1)
                row[feed], row[f"{feed} loading"] = time_steps(
                    model, batches, "parameters", args.steps
                )
                print(f"{name} {feed}: {row[feed]:.0f} samples/s", file=sys.stderr)
            if spec.reconstructs:
                torch.manual_seed(0)
                row["reconstruct"], _ = time_steps(
                    spec.build(2, 1), lambda: iter(fixed), "reconstruct", args.steps
                )
            rows.append(row)

    lines = [
        f"Command: `.venv/bin/python benchmarks/fit_speed.py --steps {args.steps} "
        f"--batch-size {args.batch_size}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({threads} torch threads), "
        f"torch {torch.__version__}, CPU. Input: `--input pair`, 2 x 128 x 173 Mel "
        f"spectrograms (2 s clips), batch {args.batch_size}, Adam; {args.steps} timed steps "
        "after 5 warm-up steps.",
        "",
        "| model | samples/s (tensors) | samples/s (in-memory split) | loading share "
        "| samples/s (streamed HDF5) | loading share | reconstruction samples/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        recon = f"{r['reconstruct']:.0f}" if "reconstruct" in r else "-"
        lines.append(
            f"| {r['model']} | {r['tensors']:.0f} | {r['in-memory split']:.0f} | "
            f"{r['in-memory split loading']:.1%} | {r['streamed HDF5']:.0f} | "
            f"{r['streamed HDF5 loading']:.1%} | {recon} |"
        )
    lines += [
        "",
        "Loading share: the part of the timed steps spent waiting for the next batch "
        "(gathering it, and for the streamed loader reading the file), measured in the "
        "same run. `fxr fit` uses the in-memory split whenever the split fits in half "
        "of the available memory.",
    ]
    save("fit_speed", lines, rows)


if __name__ == "__main__":
    main()
