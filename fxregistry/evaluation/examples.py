"""The audio of a dataset's examples, made again: what the file holds as spectrograms only.

A build is deterministic, so the source, its seed and each clip's recording,
start and gain give back the exact dry clip the build rendered, and the
effect at the example's setting gives back its wet. The floor and the blind
checks need that audio; neither trusts a copy of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.clips import remake_clips
from fxregistry.dataset.header import SPLITS, DatasetHeader, open_dataset
from fxregistry.errors import FxrError

__all__ = ["dry_clips", "split_examples"]


def dry_clips(path: str | os.PathLike, rows: np.ndarray) -> np.ndarray:
    """The level-adjusted dry audio of clip ``rows``: stored, or made again from the source."""
    rows = np.asarray(rows)
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        if header.keep_audio:
            order = np.argsort(rows)
            audio = np.empty((len(rows), f["clips/audio"].shape[1]), np.float32)
            audio[order] = f["clips/audio"][rows[order]]
            return audio
        recording_row = f["clips/recording"][:][rows]
        source_index = f["recordings/source_index"][:][recording_row]
        starts = f["clips/start"][:][rows]
        gains = f["clips/gain_db"][:][rows]
    return remake_clips(header, path, source_index, starts, gains)


def split_examples(
    path: str | os.PathLike, split: str, limit: int | None = None
) -> Iterator[tuple[int, dict[str, float], np.ndarray, np.ndarray]]:
    """``(index, setting, dry, wet)`` of each example of ``split`` (its index in the split).

    ``limit`` takes that many examples spread evenly over the split. The
    examples come grouped by clip, so that each dry clip is made once.
    """
    if split not in SPLITS:
        raise FxrError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        effect = registry.get_effect(header.effect)
        start, stop = header.split_ranges()[split]
        index = np.arange(stop - start)
        if limit is not None and len(index) > limit:
            index = index[np.linspace(0, len(index) - 1, limit).round().astype(int)]
        clips = f["examples/clip"][start:stop][index]
        params = f["examples/params"][start:stop][index]
    # Every grid setting of a clip is an example of it: make each clip once, not per example.
    unique, row = np.unique(clips, return_inverse=True)
    dry = dry_clips(path, unique)
    names = effect.parameter_names
    for i in np.argsort(row, kind="stable"):
        setting = dict(zip(names, map(float, params[i]), strict=True))
        yield int(index[i]), setting, dry[row[i]], effect(dry[row[i]], SAMPLE_RATE, **setting)
