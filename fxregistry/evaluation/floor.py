"""The identifiability floor: how well any estimator could do on a dataset's clips.

Some settings make the same audio (a threshold the clip never reaches makes
every release time sound alike; two coarse quantizations of quiet audio can
both give silence). No estimator can tell those apart, so a model's error is judged
against the error of the best possible one: exhaustive analysis by synthesis
over the grid with the dry audio known (what ``fxr estimate --refine`` does).
For each example, the dry clip is rendered at every grid setting; the
settings whose render is closest to the example's wet audio are the
candidates. One candidate is the answer. Several make the same audio: the
estimate that minimizes the expected absolute error among them is, for each
parameter, their median (normalized), which is what the floor takes. The
floor is the error of those estimates; an estimator trained with an L1 loss
can reach it, not beat it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.clips import remake_clips
from fxregistry.dataset.header import SPLITS, DatasetHeader, open_dataset
from fxregistry.errors import FxrError
from fxregistry.estimation.search import closest_grid_settings, search_settings
from fxregistry.evaluation.metrics import split_metrics

__all__ = ["dry_clips", "identifiability_floor"]


def dry_clips(path: str | os.PathLike, rows: np.ndarray) -> np.ndarray:
    """The level-adjusted dry audio of clip ``rows``: stored, or made again from the source.

    A build is deterministic, so the source, its seed and each clip's
    recording and start give back the exact clip the build rendered.
    """
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


def identifiability_floor(
    path: str | os.PathLike, split: str = "test", limit: int | None = None
) -> dict[str, Any]:
    """Metrics (as :func:`~fxregistry.evaluation.metrics.split_metrics`) of exhaustive search.

    ``limit`` evaluates that many examples spread evenly over the split.
    """
    if split not in SPLITS:
        raise FxrError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        effect = registry.get_effect(header.effect)
        start, stop = header.split_ranges()[split]
        rows = np.arange(start, stop)
        if limit is not None and len(rows) > limit:
            rows = rows[np.linspace(0, len(rows) - 1, limit).round().astype(int)]
        clips = f["examples/clip"][:][rows]
        params = f["examples/params"][:][rows]
        truth = f["examples/params_normalized"][:][rows]
    continuous = header.grid != "paper"
    order = np.argsort(clips, kind="stable")  # consecutive examples share a clip: load it once
    dry = dry_clips(path, clips[order])
    predicted = np.empty_like(truth)
    names = effect.parameter_names
    for j, i in enumerate(order):
        setting = dict(zip(names, map(float, params[i]), strict=True))
        wet = effect(dry[j], SAMPLE_RATE, **setting)
        if continuous:
            best, _ = search_settings(effect, dry[j], wet, setting, continuous=True)
            predicted[i] = effect.normalize(best)
        else:
            tied = closest_grid_settings(effect, dry[j], wet)
            predicted[i] = np.median([effect.normalize(s) for s in tied], axis=0)
    return split_metrics(predicted, truth, effect)
