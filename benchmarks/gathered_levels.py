"""How near a quantizer's levels an mp3's samples stay: the bounds of estimation.gathered.

    .venv/bin/python benchmarks/gathered_levels.py --corpus freepats=datasets/real-freepats \
        --corpus fluid=... --corpus timgm=... \
        --groups guitar-solo,band-mix,drums-solo,bass-solo,keys-solo --corpus-clips 3 [--kbps 320]

Each group's loud 2 s clips, at their own peaks and at peaks drawn in -20 ... -1 dBFS
(producer.py's draws), processed by every changing grid setting of every effect and
left untouched, written as an mp3 and read back. For each exact projection (a
quantizer) and each of its settings, how much more the setting's levels gather the
samples than they gather the same music half a sample later
(:func:`~fxregistry.estimation.gathered.near_fixed_point`'s measure). Reported per
setting: the most that any wet the quantizer did not make gathered (it must stay
under the threshold, ``GATHERED``), and the 10th percentile and median over the wets
it made at that setting (what the threshold keeps). Writes
benchmarks/results/gathered_levels.{md,json} (or gathered_levels-TAG.*).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from blind_checks import clips_of, examples
from producer import at_peaks
from real_audio import add_corpus_options, all_groups, corpus_command
from report import log, save

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, read_audio, word_step, write_audio
from fxregistry.estimation.fixed_point import coarser_than_word, exact_projection, own_step
from fxregistry.estimation.gathered import (
    CODEC_BITS,
    GATHERED,
    MIN_STEPS,
    _gathering,
    _half_sample_later,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser, 3, "2 s clips per group (each also at a drawn peak)")
    parser.add_argument("--kbps", type=int, help="the mp3's bitrate (pedalboard's default: 320)")
    parser.add_argument("--tag")
    args = parser.parse_args()
    effects = registry.effect_names()
    quantizers = [n for n in effects if exact_projection(registry.get_effect(n))]
    # (quantizer, setting index) -> gathered, on wets it made there / on every other wet
    own, others = defaultdict(list), defaultdict(list)
    word = word_step(CODEC_BITS)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wet.mp3"
        for group, where in all_groups(args.corpus, args.groups).items():
            clips = clips_of(where, args.corpus_clips)
            for clip in np.concatenate([clips, at_peaks(clips, -20, -1)]):
                for name, setting, wet, changed in examples(clip, effects):
                    if (name is not None and not changed) or np.abs(wet).max() < 1e-5:
                        continue
                    write_audio(path, wet.astype(np.float32), SAMPLE_RATE, kbps=args.kbps)
                    heard = read_audio(path, SAMPLE_RATE)[0].astype(np.float32)
                    later = _half_sample_later(heard)
                    for q in quantizers:
                        quantizer = registry.get_effect(q)
                        for i, s in enumerate(quantizer.changing_grid()):
                            step = own_step(quantizer, s, SAMPLE_RATE)
                            # What the check tests: a setting whose steps the wet's peak
                            # spans MIN_STEPS times over, coarser than a codec's word.
                            if step is None or np.abs(heard).max() < MIN_STEPS * step:
                                continue
                            if not coarser_than_word(quantizer, s, SAMPLE_RATE, word):
                                continue
                            gathered = _gathering(
                                quantizer, s, heard, step, SAMPLE_RATE
                            ) - _gathering(quantizer, s, later, step, SAMPLE_RATE)
                            if name != q:  # another effect's output, or none
                                others[(q, i)].append(gathered)
                            elif setting == s:  # the quantizer's own settings gather its
                                own[(q, i)].append(gathered)  # coarser ones' output too
            log(f"{group}: {sum(map(len, own.values()))} own, {len(others)} settings")
    lines = [
        f"Command: `.venv/bin/python benchmarks/gathered_levels.py{corpus_command(args)}"
        + (f" --kbps {args.kbps}" if args.kbps else "")
        + (f" --tag {args.tag}" if args.tag else "")
        + "`  ",
        f"Threshold (GATHERED): {GATHERED}. Wets the quantizer did not make: untouched clips "
        "and every changing setting of every other effect. Only what the check tests: each "
        f"setting on wets whose peak spans {MIN_STEPS} of its steps, and not the settings "
        f"within a few steps of a {CODEC_BITS}-bit word (those are left out of the table).",
        "",
        "| quantizer | setting | not made by it: most gathered | made by it: 10th percentile "
        "| made by it: median | made by it: at the threshold or more |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    data = []
    for q in quantizers:
        for i, s in enumerate(registry.get_effect(q).changing_grid()):
            mine, rest = np.array(own[(q, i)]), np.array(others[(q, i)])
            if not rest.size:
                continue
            row = {
                "quantizer": q,
                "setting": s,
                "others_max": float(rest.max()),
                "own_p10": float(np.quantile(mine, 0.1)) if mine.size else None,
                "own_median": float(np.median(mine)) if mine.size else None,
                "own_passing": float(np.mean(mine >= GATHERED)) if mine.size else None,
                "n_own": int(mine.size),
                "n_others": int(rest.size),
            }
            data.append(row)
            shown = ", ".join(f"{k}={v:g}" for k, v in s.items())

            def cell(v, pct=False):
                return "–" if v is None else (f"{v:.0%}" if pct else f"{v:.3f}")

            lines.append(
                f"| {q} | {shown} | {row['others_max']:.3f} | {cell(row['own_p10'])} | "
                f"{cell(row['own_median'])} | {cell(row['own_passing'], True)} |"
            )
    save("gathered_levels" + (f"-{args.tag}" if args.tag else ""), lines, data)


if __name__ == "__main__":
    main()
