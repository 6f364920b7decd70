"""How long `fxr estimate` takes on a 30 s stereo file on the CPU.

    .venv/bin/python benchmarks/estimate_speed.py [--seconds 30]

Trains a small CNN (one epoch; speed does not depend on the weights) for
`--input wet` and `--input pair` on a delay dataset from the built-in source,
writes a 30 s stereo 44.1 kHz take and its delay render as wav files, then
times, for each run: the estimate inside one Python process (the library
call, median of 5 after a warm-up), the whole `fxr estimate` command
(interpreter start, imports and plugin loading included, median of 3), and
the same with `--refine`. With default estimators installed (`make models`),
also `fxr estimate WET` without a run: identification, the blind checks and
the effect's blind estimator, in a process and as a command, and `--dry DRY
--refine` (the effect decided by rendering the dry again, then the setting). Each run is
also timed as its portable export (`fxr export`: onnxruntime, no torch).

The default estimators are also timed on the take untouched and band-limited
(the files whose checks render most), and those and the delay render again
as a 16-bit wav and a 320 kbps mp3. Writes benchmarks/results/estimate_speed.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from report import save

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, write_audio
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.estimation.defaults import estimate_with_defaults, installed_estimators
from fxregistry.estimation.estimate import estimate
from fxregistry.estimation.models import export_onnx
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

FXR = Path(sys.executable).parent / "fxr"


def timed(repeats: int, fn, *args, **kwargs) -> float:
    """Median seconds of ``fn(*args, **kwargs)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_model(model: Path, kind: str, mode: str, wet: Path, dry: Path) -> dict:
    """In a process and as a command, with --refine for a pair model."""
    pair = {"dry_path": dry} if mode == "pair" else {}
    estimate(model, wet, device="cpu", **pair)  # warm-up: imports, caches
    quiet = {"check": True, "capture_output": True}
    command = [str(FXR), "estimate", str(model), str(wet), "--device", "cpu"]
    if mode == "pair":
        command += ["--dry", str(dry)]
    row = {
        "input": mode,
        "model": kind,
        "library_s": timed(5, estimate, model, wet, device="cpu", **pair),
        "command_s": timed(3, subprocess.run, command, **quiet),
    }
    if mode == "pair":
        row["refine_library_s"] = timed(3, estimate, model, wet, refine=True, device="cpu", **pair)
        row["refine_command_s"] = timed(3, subprocess.run, command + ["--refine"], **quiet)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fxr-estimate-") as scratch:
        scratch = Path(scratch)
        data = scratch / "delay.h5"
        build(BuildConfig(effect="delay", source="synth:4", max_clips=16), data)
        takes = registry.get_source("synth").recordings("3", 99)
        mono = np.concatenate([t.load() for t in takes])[: int(args.seconds * SAMPLE_RATE)]
        stereo = np.stack([mono, 0.7 * mono])
        delay = registry.get_effect("delay")
        dry = write_audio(scratch / "dry.wav", stereo, SAMPLE_RATE)
        wet = write_audio(
            scratch / "wet.wav", delay(stereo, SAMPLE_RATE, delay_seconds=0.25 * 3 / 7), SAMPLE_RATE
        )
        for mode in ("wet", "pair"):
            run = scratch / mode
            fit(FitConfig(model="cnn", data=str(data), input=mode, epochs=1, device="cpu"), run)
            portable = export_onnx(run, scratch / f"{mode}.onnx")
            for model, kind in ((run, "run"), (portable, "portable")):
                rows.append(time_model(model, kind, mode, wet, dry))
                print(rows[-1], file=sys.stderr)
        if installed_estimators():
            estimate_with_defaults(wet, device="cpu")  # warm-up
            quiet = {"check": True, "capture_output": True}
            command = [str(FXR), "estimate", str(wet), "--device", "cpu"]
            paired = command + ["--dry", str(dry), "--refine"]  # analysis by synthesis
            row = {
                "input": "default estimators",
                "model": "portable",
                "library_s": timed(5, estimate_with_defaults, wet, device="cpu"),
                "command_s": timed(3, subprocess.run, command, **quiet),
                "refine_library_s": timed(
                    3, estimate_with_defaults, wet, dry, refine=True, device="cpu"
                ),
                "refine_command_s": timed(3, subprocess.run, paired, **quiet),
            }
            rows.append(row)
            print(row, file=sys.stderr)
            # The files the checks work hardest on: none confirms early, and the band
            # limit's check renders every setting by each implementation of it.
            rate = registry.get_effect("sample-rate")
            others = {
                "untouched": stereo,
                "band-limited at 16 kHz": rate(stereo, SAMPLE_RATE, target_khz=16.0),
                "band-limited at 16 kHz by the variant": rate.variant("sinc")(
                    stereo, SAMPLE_RATE, target_khz=16.0
                ),
            }
            # A user's file is more often CD audio or an mp3: the checks take other paths
            # there (integer steps, codec-aware), so each format is timed on its own.
            delivered = {"delayed": delay(stereo, SAMPLE_RATE, delay_seconds=0.25 * 3 / 7)}
            delivered |= {k: v for k, v in others.items() if "variant" not in k}
            files = [(name, ".wav", None, audio) for name, audio in others.items()]
            for label, suffix, bits in (("16-bit wav", ".wav", 16), ("320 kbps mp3", ".mp3", None)):
                files += [(f"{name}, {label}", suffix, bits, a) for name, a in delivered.items()]
            for name, suffix, bits, audio in files:
                path = write_audio(
                    scratch / f"other{suffix}", audio.astype(np.float32), SAMPLE_RATE, bits
                )
                estimate_with_defaults(path, device="cpu")  # warm-up: this file's caches
                row = {
                    "input": f"default estimators, {name}",
                    "model": "portable",
                    "library_s": timed(5, estimate_with_defaults, path, device="cpu"),
                    "command_s": timed(
                        3, subprocess.run, [str(FXR), "estimate", str(path)], **quiet
                    ),
                }
                rows.append(row)
                print(row, file=sys.stderr)
    # What no command can avoid: a Python that imports torch, and fxr's own start-up.
    quiet = {"check": True, "capture_output": True}
    import_torch = timed(3, subprocess.run, [sys.executable, "-c", "import torch"], **quiet)
    fxr_help = timed(3, subprocess.run, [str(FXR), "--help"], **quiet)
    # A command that loads every plugin and computes nothing: what each command starts with.
    list_effects = timed(3, subprocess.run, [str(FXR), "list-effects"], **quiet)
    lines = [
        f"Command: `.venv/bin/python benchmarks/estimate_speed.py --seconds {args.seconds:g}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, no GPU, torch "
        f"{torch.__version__}, onnxruntime {onnxruntime.__version__}. Input: a "
        f"{args.seconds:g} s stereo 44.1 kHz wav (synthesizer takes) rendered through `delay` "
        "(and, for the default estimators, the same take untouched and band-limited at 16 "
        "kHz by the sample rate's own render and by its variant; the delay render, the "
        "untouched take and the first band limit also as a 16-bit wav and a 320 kbps mp3); "
        "`cnn` runs on 2 s windows.",
        "",
        "| run | estimate in a Python process | `fxr estimate` command | with `--refine` (process) "
        "| with `--refine` (command) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        refine = (
            (f"{r['refine_library_s']:.2f} s", f"{r['refine_command_s']:.2f} s")
            if "refine_library_s" in r
            else ("-", "-")
        )
        name = f"`--input {r['input']}`" if r["input"] in ("wet", "pair") else r["input"]
        name += " (run, model.pt)" if r["model"] == "run" else " (portable, .onnx)"
        lines.append(
            f"| {name} | {r['library_s']:.2f} s | {r['command_s']:.2f} s | "
            f"{refine[0]} | {refine[1]} |"
        )
    lines += [
        "",
        f'Start-up alone (median of 3): `python -c "import torch"` {import_torch:.2f} s; '
        f"`fxr --help` (Python, click and fxr's CLI, no torch) {fxr_help:.2f} s; "
        f"`fxr list-effects` (every plugin loaded, no torch) {list_effects:.2f} s. A run's "
        "model.pt is served through torch, so its command pays both; a portable model "
        "(`fxr export`, onnxruntime) only the second. The process column is what an "
        "application or notebook that keeps fxr loaded pays per file.",
    ]
    save("estimate_speed", lines, {"rows": rows, "import_torch_s": import_torch,
                                   "fxr_help_s": fxr_help,
                                   "list_effects_s": list_effects})  # fmt: skip


if __name__ == "__main__":
    main()
