"""Benchmark `fxr build` against a naive per-example script, on the same files.

    .venv/bin/python benchmarks/build_speed.py [--takes 12] [--big-takes 48]

1. Writes `--takes` takes of the built-in synthesizer (10-30 s each,
   real recording lengths) as wav files into a scratch folder.
2. For each effect, runs benchmarks/naive_build.py and `fxr build` (defaults,
   but `--augment none`: the naive script does not augment)
   on that folder as separate processes; measures examples/s, the peak memory
   of the whole process tree (PSS, sampled from /proc every 20 ms), and bytes
   on disk per example.
3. Builds a >= 10,000-example dataset (bitcrusher, `--big-takes` takes) to
   measure peak memory of a large build.
4. Profiles an in-process build (one worker) to show where the time goes.

Prints a Markdown report and writes it, with the raw numbers as JSON, to
benchmarks/results/build_speed.{md,json}.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from report import save

HERE = Path(__file__).resolve().parent
FXR = Path(sys.executable).parent / "fxr"

# The naive script does not augment: neither does fxr here, so both do the same work.
NO_AUGMENT = ("--augment", "none")


def process_tree_memory(root: int) -> int:
    """Proportional set size (PSS) of ``root`` and all its descendants, from /proc.

    PSS splits shared pages (torch's libraries, mapped by every worker) among
    the processes that share them, so the sum is the memory the tree uses;
    a sum of RSS would count those libraries once per process.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def measure(command: list[str]) -> dict:
    """Run ``command``; wall seconds, peak memory (PSS) of its process tree, stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process_tree_memory(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    return {"seconds": time.perf_counter() - started, "peak_rss": peak, "stdout": out}


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_takes(folder: Path, takes: int, seed: int) -> float:
    """Synthesizer takes as wav files; returns their total seconds."""
    from fxregistry import registry
    from fxregistry.audio.io import SAMPLE_RATE, write_audio

    folder.mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    for recording in registry.get_source("synth").recordings(str(takes), seed):
        audio = recording.load()
        write_audio(folder / f"{recording.id}.wav", audio, SAMPLE_RATE)
        seconds += audio.size / SAMPLE_RATE
    return seconds


def profile_build(folder: Path, effect: str, scratch: Path) -> list[tuple[str, float]]:
    """Share of an in-process build's time per stage, from cProfile."""
    from fxregistry.dataset.build import build
    from fxregistry.dataset.config import BuildConfig

    profiler = cProfile.Profile()
    profiler.enable()
    build(
        BuildConfig(effect=effect, source=str(folder), max_clips=200, augment=NO_AUGMENT[1]),
        scratch / "p.h5",
        workers=1,
        force=True,
    )
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(v[3] for v in stats.stats.values())  # the outermost cumulative time

    def cumulative(function: str, filename_part: str) -> float:
        return sum(
            v[3]
            for (file, _, name), v in stats.stats.items()
            if name == function and filename_part in file
        )

    stages = [
        (
            "load and cut recordings (decode, resample, level)",
            cumulative("_cut_recording", "dataset/clips"),
        ),
        ("render the effect", cumulative("__call__", "effect.py")),
        ("spectrograms", cumulative("spectrogram", "features.py")),
        ("encode rows (float16 bytes)", cumulative("encode_chunk", "dataset/rows")),
        (
            "HDF5 writes",
            cumulative("write_chunks", "dataset/rows") + cumulative("__setitem__", "h5py"),
        ),
        ("load plugins, imports", cumulative("get_plugin_manager", "manager.py")),
    ]
    stages.append(
        (
            "other (normalize, arrays, bookkeeping)",
            total - sum(seconds for _, seconds in stages),
        )
    )
    return [(name, seconds / total) for name, seconds in stages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=12)
    parser.add_argument("--big-takes", type=int, default=48)
    parser.add_argument("--effects", default="delay,bitcrusher,limiter,sample-rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="fxr-bench-"))
    try:
        folder = scratch / "takes"
        audio_seconds = write_takes(folder, args.takes, args.seed)
        rows = []
        for effect in args.effects.split(","):
            naive_out = scratch / f"naive-{effect}"
            naive = measure(
                [sys.executable, str(HERE / "naive_build.py"), str(folder), effect, str(naive_out)]
            )
            naive_examples = int(naive["stdout"].split()[-1])
            ours_out = scratch / f"{effect}.h5"
            ours = measure(
                [
                    str(FXR),
                    "build",
                    "--effect",
                    effect,
                    "--source",
                    str(folder),
                    "--out",
                    str(ours_out),
                    *NO_AUGMENT,
                ]
            )
            from fxregistry.dataset.summary import describe

            ours_examples = describe(ours_out)["examples"]
            row = {
                "effect": effect,
                "naive_examples": naive_examples,
                "naive_examples_per_s": naive_examples / naive["seconds"],
                "naive_peak_mb": naive["peak_rss"] / 1e6,
                "naive_bytes_per_example": disk_bytes(naive_out) / naive_examples,
                "fxr_examples": ours_examples,
                "fxr_examples_per_s": ours_examples / ours["seconds"],
                "fxr_peak_mb": ours["peak_rss"] / 1e6,
                "fxr_bytes_per_example": disk_bytes(ours_out) / ours_examples,
            }
            row["speedup"] = row["fxr_examples_per_s"] / row["naive_examples_per_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
            shutil.rmtree(naive_out)
            ours_out.unlink()

        big_folder = scratch / "big"
        write_takes(big_folder, args.big_takes, args.seed + 1)
        big_out = scratch / "big.h5"
        big = measure(
            [
                str(FXR),
                "build",
                "--effect",
                "bitcrusher",
                "--source",
                str(big_folder),
                "--out",
                str(big_out),
                *NO_AUGMENT,
            ]
        )
        from fxregistry.dataset.summary import describe

        big_examples = describe(big_out)["examples"]
        big_row = {
            "examples": big_examples,
            "seconds": big["seconds"],
            "examples_per_s": big_examples / big["seconds"],
            "peak_mb": big["peak_rss"] / 1e6,
            "bytes_per_example": disk_bytes(big_out) / big_examples,
        }
        big_out.unlink()
        print(json.dumps(big_row), flush=True)
        profile = profile_build(folder, "delay", scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )
    lines = [
        f"Command: `.venv/bin/python benchmarks/build_speed.py --takes {args.takes} "
        f"--big-takes {args.big_takes}`  ",
        f"Machine: {machine}. Input: {args.takes} synthesizer takes, {audio_seconds:.0f} s of "
        "audio as 44.1 kHz wav files; `fxr build` with default settings but `--augment none`, "
        "as the naive script does not augment (workers = cores).",
        "",
        "| effect | naive examples/s | fxr examples/s | speed-up | naive peak memory | "
        "fxr peak memory | naive bytes/example | fxr bytes/example |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['effect']} | {r['naive_examples_per_s']:.0f} | {r['fxr_examples_per_s']:.0f} | "
            f"{r['speedup']:.1f}x | {r['naive_peak_mb']:.0f} MB | {r['fxr_peak_mb']:.0f} MB"
            f" | {r['naive_bytes_per_example'] / 1e3:.0f} kB | "
            f"{r['fxr_bytes_per_example'] / 1e3:.0f} kB |"
        )
    lines += [
        "",
        f"Large build: bitcrusher, {big_row['examples']} examples from {args.big_takes} takes: "
        f"{big_row['examples_per_s']:.0f} examples/s, peak memory {big_row['peak_mb']:.0f} MB "
        "(PSS of the main process and workers together), "
        f"{big_row['bytes_per_example'] / 1e3:.0f} kB per example on disk.",
        "",
        "Where the time goes (delay, 200 clips, one worker, cProfile):",
        "",
        "| stage | share of time |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {share:.0%} |" for name, share in profile]
    save(
        "build_speed",
        lines,
        {
            "machine": machine,
            "takes": args.takes,
            "audio_seconds": audio_seconds,
            "effects": rows,
            "large_build": big_row,
            "profile": profile,
        },
    )


if __name__ == "__main__":
    main()
