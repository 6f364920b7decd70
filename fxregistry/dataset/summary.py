"""What ``fxr inspect`` says of a dataset file: its header and counts, as one dict.

The file's format is :mod:`fxregistry.dataset.header`'s; this only reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fxregistry.dataset.header import SPLITS, DatasetHeader, open_dataset
from fxregistry.dataset.identification import labels

__all__ = ["describe"]


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """What ``fxr inspect --json`` prints."""
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        recordings = f["recordings/split"][:]
        class_examples = _class_examples(f, header)
    ranges, clip_ranges = header.split_ranges(), header.split_ranges("clips")
    return {
        "path": str(path),
        "effect": header.effect,
        "effects": None if header.effects is None else [e["name"] for e in header.effects],
        "classes": None if header.classes is None else list(header.classes),
        "class_examples": class_examples,
        "examples": header.examples,
        "clips": header.clips,
        "recordings": int(recordings.size),
        "splits": {s: ranges[s][1] - ranges[s][0] for s in SPLITS},
        "split_clips": {s: clip_ranges[s][1] - clip_ranges[s][0] for s in SPLITS},
        "split_recordings": {s: int(np.sum(recordings == i)) for i, s in enumerate(SPLITS)},
        "parameters": header.effect_spec["parameters"],
        "fixed": header.effect_spec["fixed"],
        "features": {k: c.as_dict() for k, c in header.features.items()},
        "source": header.source,
        "seed": header.seed,
        "grid": header.grid,
        "level": header.level,
        "clip_seconds": header.clip_seconds,
        "split_by": header.split_by,
        "keep_audio": header.keep_audio,
        "residual": header.residual,
        "deliver": header.deliver or "none",
        "variants": header.variants or 0.0,
        "augment": header.augment_policy().as_dict(),
        "skipped_quiet_clips": header.skipped_quiet_clips,
        "skipped_files": header.skipped_files,
        "fxr_version": header.fxr_version,
        "format_version": header.format_version,
        "created": header.created,
        "bytes": Path(path).stat().st_size,
    }


def _class_examples(f: h5py.File, header: DatasetHeader) -> dict[str, int] | None:
    """Examples per class of a file over several effects (None for one effect)."""
    if header.classes is None:
        return None
    counts = np.bincount(
        labels(f["examples/effect"][:], f["examples/changed"][:]), minlength=len(header.classes)
    )
    return dict(zip(header.classes, map(int, counts), strict=True))
