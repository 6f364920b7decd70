"""How much each bit depth changes the wet Mel spectrogram, and what the residual shows.

    .venv/bin/python benchmarks/bit_depth_visibility.py [--takes 4]
                                                        [--corpus NAME=FOLDER ...]

Renders 2 s clips of synthesizer takes (peaks at -1 dBFS, as the builds do)
through the bitcrusher at every bit depth and compares, in dB: the wet Mel
spectrogram against the dry one (what `--input pair` sees), and the level
of the residual spectrogram, that of wet minus dry audio (what `--input
pair+residual` adds). With ``--corpus`` (real_corpus.py's folders), the
top bit depths again on loud clips of each group's 16-bit and 24-bit files,
read as fxr reads them: how far the quantizer moves audio that a file's
word length has already quantized. Writes
benchmarks/results/bit_depth_visibility.{md,json}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from blind_checks import CLIP, synth_clips
from pedalboard.io import AudioFile
from real_audio import add_corpus_options, all_groups, corpus_command
from report import save

from fxregistry import registry
from fxregistry.audio.features import FeatureConfig, spectrogram
from fxregistry.audio.io import AUDIO_SUFFIXES, SAMPLE_RATE, read_audio, rms_db

FLOAT16_STEP_DB = 2.0**-5  # float16's spacing between 32 and 64 (where most bands sit, in |dB|)
STEP_16 = 1 / (2**15 - 1)  # one step of a 16-bit file, as fxr reads it (pedalboard's scale)
TOP_BITS = (13, 14, 15)
WORD_LENGTHS = {"int16": 16, "int24": 24}  # pedalboard's names of the file formats


def clips_by_word_length(folder: Path, count: int) -> dict[int, np.ndarray]:
    """Up to ``count`` loud 2 s clips of the folder's 16-bit and of its 24-bit files."""
    found: dict[int, list[np.ndarray]] = {16: [], 24: []}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        with AudioFile(str(path)) as f:
            bits = WORD_LENGTHS.get(f.file_dtype)
        if bits is None or len(found[bits]) >= count:
            continue
        audio, _ = read_audio(path, SAMPLE_RATE)
        starts = range(0, audio.size - CLIP + 1, CLIP)
        found[bits] += [audio[s : s + CLIP] for s in starts if rms_db(audio[s : s + CLIP]) > -60]
    return {bits: np.stack(c[:count]) for bits, c in found.items() if c}


def moved(effect, clips: np.ndarray, features: FeatureConfig) -> list[dict]:
    """For each of :data:`TOP_BITS`: what share of samples the quantizer moves, how far."""
    rows = []
    for bits in TOP_BITS:
        wet = np.stack([effect(c, SAMPLE_RATE, bit_depth=bits) for c in clips])
        move = np.abs(wet.astype(np.float64) - clips)
        rows.append(
            {
                "bit_depth": bits,
                "moved_share": float(np.mean(move > 0)),
                "largest_move_steps": float(move.max() / STEP_16),
                "residual_median_db": float(np.median(spectrogram(wet - clips, features))),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=4)
    add_corpus_options(parser, 40, "2 s clips per group and word length")
    args = parser.parse_args()
    effect = registry.get_effect("bitcrusher")
    features = FeatureConfig()
    clips = synth_clips(args.takes)
    dry = (clips / np.abs(clips).max(axis=1, keepdims=True) * 10 ** (-1 / 20)).astype(np.float32)
    dry_db = spectrogram(dry, features)
    rows = []
    for bits in range(17):
        wet = np.stack([effect(c, SAMPLE_RATE, bit_depth=bits) for c in dry])
        change = np.abs(spectrogram(wet, features) - dry_db)
        residual_db = spectrogram(wet - dry, features)
        rows.append(
            {
                "bit_depth": bits,
                "mean_change_db": float(change.mean()),
                "p99_change_db": float(np.percentile(change, 99)),
                "residual_median_db": float(np.median(residual_db)),
            }
        )
    files = []
    sets = {"synthesizer (float)": {"float": dry}}
    for group, folder in all_groups(args.corpus, args.groups).items():
        found = clips_by_word_length(folder, args.corpus_clips)
        sets[group] = {f"{b}-bit": c for b, c in found.items()}
    for name, by_length in sets.items():
        for length, clips in by_length.items():
            for row in moved(effect, clips, features):
                files.append({"clips": name, "word_length": length, "n": len(clips), **row})
    command = f".venv/bin/python benchmarks/bit_depth_visibility.py --takes {args.takes}"
    command += corpus_command(args)
    lines = [
        "# What each bit depth does to the Mel spectrogram",
        "",
        f"Command: `{command}`  ",
        f"Input: {len(dry)} clips of 2 s from {args.takes} synthesizer takes, peaks at -1 dBFS; "
        "the paper's Mel spectrogram in dB (floor -100 dB).",
        "",
        "| bit depth | mean change of the wet Mel bands vs dry | 99th percentile | median "
        "level of the residual Mel bands |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['bit_depth']} | {r['mean_change_db']:.3f} dB | {r['p99_change_db']:.2f} dB | "
        f"{r['residual_median_db']:.1f} dB |"
        for r in rows
    ]
    lines += [
        "",
        f"float16, in which datasets store dB, has steps of {FLOAT16_STEP_DB:.3f} dB between 32 "
        "and 64 dB and twice that above: the changes that set the top bit depths apart are "
        "below them, while the residual's level falls about 6 dB per bit, far above its "
        "-100 dB floor, until 16 (untouched) leaves nothing.",
    ]
    if args.corpus:
        lines += [
            "",
            "## On audio a file's word length has already quantized",
            "",
            "Loud 2 s clips at the files' own levels, read as fxr reads them (a 16-bit sample "
            "k as k / 32767); a step is one of a 16-bit file's.",
            "",
            "| clips | file | n | bit depth | samples moved | largest move | median level "
            "of the residual Mel bands |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['clips']} | {r['word_length']} | {r['n']} | {r['bit_depth']} | "
            f"{r['moved_share']:.0%} | {r['largest_move_steps']:.2f} steps | "
            f"{r['residual_median_db']:.1f} dB |"
            for r in files
        ]
    save("bit_depth_visibility", lines, {"synthesizer": rows, "files": files})


if __name__ == "__main__":
    main()
