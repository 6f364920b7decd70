"""How much the limiter's release changes the wet Mel spectrogram, at each level.

    .venv/bin/python benchmarks/limiter_release.py [--takes 4] [--corpus NAME=FOLDER ...]

The paired limiter's network gets the threshold right and answers the middle
release (500 ms) for every example, on the synthesizer's own training split
too (docs/real-audio.md). This measures why: 2 s clips of synthesizer takes
(and, with ``--corpus``, loud clips of each corpus group, as
benchmarks/blind_checks.py picks them) are set to peaks of -1 ... -20 dBFS,
the range `fxr build` draws, and rendered at each threshold with each
release. Per threshold and level: how far the wet Mel spectrogram (dB) at
one release stands from the wet at the neighbouring release, as the mean
over every band and frame and as the largest change in the clip, and the
share of clips where some band moved by more than 1 dB. Writes
benchmarks/results/limiter_release.{md,json}.
"""

from __future__ import annotations

import argparse

import numpy as np
from blind_checks import clips_of, synth_clips
from real_audio import add_corpus_options, all_groups, corpus_command
from report import save

from fxregistry import registry
from fxregistry.audio.features import FeatureConfig, spectrogram
from fxregistry.audio.io import SAMPLE_RATE

PEAKS_DBFS = (-1.0, -5.0, -9.0, -15.0, -20.0)
VISIBLE_DB = 1.0


def measure(clips: np.ndarray, peak_db: float, threshold: float) -> dict:
    """The release's mark on the wet spectrogram of ``clips`` at one level and threshold."""
    effect = registry.get_effect("limiter")
    releases = effect.parameter("release_ms").grid
    dry = clips / np.abs(clips).max(axis=1, keepdims=True) * 10 ** (peak_db / 20)
    features = FeatureConfig()
    wets = [
        spectrogram(
            np.stack([effect(c, SAMPLE_RATE, threshold_db=threshold, release_ms=r) for c in dry]),
            features,
        )
        for r in releases
    ]
    pairs = {}
    for i in range(len(releases) - 1):  # each release against the next
        change = np.abs(wets[i] - wets[i + 1])  # (clips, bands, frames)
        largest = change.max(axis=(1, 2))
        pairs[f"{releases[i]:g}-{releases[i + 1]:g}"] = {
            "mean_db": float(change.mean()),
            "largest_median_db": float(np.median(largest)),
            "visible_share": float((largest > VISIBLE_DB).mean()),
        }
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=4)
    add_corpus_options(parser, 20, "2 s clips per corpus group")
    args = parser.parse_args()
    sets = {"synth": synth_clips(args.takes)}
    for group, folder in all_groups(args.corpus, args.groups).items():
        sets[group] = clips_of(folder, args.corpus_clips)
    thresholds = registry.get_effect("limiter").parameter("threshold_db").grid
    rows, table = [], {}  # table: (clips, threshold, releases) -> one cell per peak level
    for name, clips in sets.items():
        for threshold in thresholds:
            for peak in PEAKS_DBFS:
                for pair, cell in measure(clips, peak, threshold).items():
                    rows.append(
                        {"clips": name, "n": len(clips), "threshold_db": threshold,
                         "peak_dbfs": peak, "releases_ms": pair, **cell}
                    )  # fmt: skip
                    table.setdefault((name, threshold, pair), []).append(
                        f"{cell['mean_db']:.2f} / {cell['largest_median_db']:.1f} / "
                        f"{cell['visible_share']:.0%}"
                    )
    command = f"`.venv/bin/python benchmarks/limiter_release.py --takes {args.takes}"
    command += corpus_command(args) + "`"
    lines = [
        "# What the limiter's release does to the wet Mel spectrogram",
        "",
        f"Command: {command}  ",
        f"Input: 2 s clips ({', '.join(f'{k}: {len(v)}' for k, v in sets.items())}), each "
        "set to every peak level; the paper's Mel spectrogram in dB. Cells: the wet at one "
        "release against the wet at the next, mean |change| over every band and frame / "
        f"median over clips of the largest change / share of clips with a change over "
        f"{VISIBLE_DB:g} dB.",
        "",
        "| clips | threshold | releases (ms) | "
        + " | ".join(f"peak {p:g} dBFS" for p in PEAKS_DBFS)
        + " |",
        "| --- | ---: | --- | " + " | ".join("---:" for _ in PEAKS_DBFS) + " |",
    ]
    for (name, threshold, pair), cells in table.items():
        lines.append(f"| {name} | {threshold:g} dB | {pair} | " + " | ".join(cells) + " |")
    save("limiter_release", lines, rows)


if __name__ == "__main__":
    main()
