"""Pass 1 of a build: recordings -> dry clips at the level policy's gain.

Each recording is loaded and cut into clips of ``--clip-seconds``; a clip
quieter than ``--min-level-db`` is skipped, the others are scaled by the
``--level`` policy's gain (:func:`level_clip`), after the ``--augment``
policy's room, colour and noise (:mod:`~fxregistry.dataset.augment`), so
every wet clip is rendered from the augmented dry. A build is deterministic,
so :func:`remake_clips` gives back from the source, bit for bit, the clips
of a dataset built without ``--keep-audio`` (the identifiability floor
renders them again).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, check_audio_finite, rms_db
from fxregistry.dataset.augment import AugmentPolicy, drawn_json
from fxregistry.dataset.augmented import augment_clip
from fxregistry.dataset.config import BuildConfig, parse_level
from fxregistry.dataset.header import DatasetHeader
from fxregistry.dataset.pool import ordered_map
from fxregistry.dataset.splits import quotas
from fxregistry.errors import FxrError
from fxregistry.registry.manager import error_line, warn
from fxregistry.specs.source import Recording, Source, split_spec

__all__ = [
    "ClipTable",
    "clip_rng",
    "clip_samples",
    "cut_clip",
    "cut_recordings",
    "level_clip",
    "remake_clips",
    "resolve_source",
]


def resolve_source(spec: str) -> tuple[Source, str | None]:
    """``synth``, ``synth:N``, ``NAME:ARG`` or a path (for the source that takes paths)."""
    found = registry.registrations("source")
    name, argument = split_spec(spec, list(found))
    if name is None:
        takers = [r.item for r in found.values() if r.item.takes_paths]
        if not takers:
            raise FxrError(f"{spec!r} looks like a path, but no installed source reads folders")
        return takers[0], argument
    return registry.get_source(name), argument


def clip_samples(clip_seconds: float) -> int:
    """Samples in a clip of ``clip_seconds``."""
    return int(round(clip_seconds * SAMPLE_RATE))


# The streams of a clip's draws: the level and settings on the first (as
# before augmentations existed), the augmentations on their own.
LEVEL_STREAM, AUGMENT_STREAM, DELIVER_STREAM, VARIANT_STREAM = 0, 1, 2, 3


def clip_rng(
    seed: int, recording: int, clip: int, stream: int = LEVEL_STREAM
) -> np.random.Generator:
    """The random draws of clip ``clip`` of recording ``recording`` (its level, its settings).

    ``stream=AUGMENT_STREAM`` gives the clip's augmentations their own draws,
    so that augmenting a build does not change its levels and settings;
    ``DELIVER_STREAM``, which of its wet clips are delivered as files (``--deliver``);
    ``VARIANT_STREAM``, which are rendered by a variant of the effect (``--variants``).
    """
    # Keyed by position, not by processing order: the same clip gets the
    # same draws whatever the worker count or shard.
    key = [seed, recording, clip] if stream == LEVEL_STREAM else [seed, recording, clip, stream]
    return np.random.default_rng(key)


def level_clip(
    clip: np.ndarray, level: tuple[str, float, float], seed: int, recording: int, k: int
) -> tuple[float, np.ndarray]:
    """``(gain_db, scaled clip)``: clip ``k`` of ``recording`` under the ``--level`` policy."""
    kind, low, high = level
    peak_db = 20 * math.log10(float(np.max(np.abs(clip))))
    if kind == "as-is":
        gain_db = 0.0
    elif kind == "peak":
        gain_db = low - peak_db
    else:
        gain_db = float(clip_rng(seed, recording, k).uniform(low, high)) - peak_db
    return gain_db, clip * np.float32(10 ** (gain_db / 20))


def cut_clip(
    audio: np.ndarray,
    start: int,
    samples: int,
    policy: AugmentPolicy,
    level: tuple[str, float, float],
    seed: int,
    recording: int,
) -> tuple[float, np.ndarray, str]:
    """``(gain_db, clip, augment record)``: the clip at ``start``, augmented then levelled.

    The one recipe of a stored dry clip, shared by the build and :func:`remake_clips`.
    """
    k = start // samples
    clip, drawn = augment_clip(
        audio, start, samples, policy, clip_rng(seed, recording, k, AUGMENT_STREAM), SAMPLE_RATE
    )
    gain_db, scaled = level_clip(clip, level, seed, recording, k)
    return gain_db, scaled, drawn_json(drawn)


def _load(recording: Recording) -> np.ndarray:
    """A recording's mono audio, checked as a file's is; every error names the recording.

    A source plugin's output is trusted no more than a file: NaN or empty
    audio stops here, before it becomes a quiet clip or a NaN spectrogram.
    """
    name = f"recording {recording.id}"
    if recording.sample_rate != SAMPLE_RATE:
        raise FxrError(f"{name} is at {recording.sample_rate} Hz, the build needs {SAMPLE_RATE} Hz")
    try:
        audio = np.asarray(recording.load(), dtype=np.float32)
    except FxrError as exc:
        raise FxrError(f"{name}: {exc}") from None
    if audio.ndim > 1 and max(audio.shape) == audio.size:  # (1, samples) or (samples, 1)
        audio = audio.reshape(-1)
    if audio.ndim != 1:
        raise FxrError(f"{name}: load() gave shape {audio.shape}, not mono audio")
    if audio.size == 0:
        raise FxrError(f"{name}: load() gave no audio")
    check_audio_finite(audio, SAMPLE_RATE, name)
    return audio


@dataclass(frozen=True)
class _ClipTask:
    index: int
    recording: Recording
    clip_samples: int
    min_level_db: float
    level: tuple[str, float, float]
    seed: int
    augment: AugmentPolicy


@dataclass
class _ClipResult:
    index: int
    starts: list[int]
    gains_db: list[float]
    audio: np.ndarray  # (clips, samples)
    augments: list[str] = field(default_factory=list)  # JSON of what each clip got
    quiet: int = 0
    error: str | None = None


def _cut_recording(task: _ClipTask) -> _ClipResult:
    try:
        audio = _load(task.recording)
    except Exception as exc:  # reported by the main process, which decides to skip or stop
        return _ClipResult(
            task.index,
            [],
            [],
            np.zeros((0, task.clip_samples), np.float32),
            error=str(exc)
            if isinstance(exc, FxrError)
            else f"recording {task.recording.id}: {error_line(exc)}",
        )
    starts, gains, clips, augments, quiet = [], [], [], [], 0
    samples = task.clip_samples
    for k in range(audio.size // samples):
        # Quiet is judged on the recording, not on the noise floor an augmentation adds.
        if rms_db(audio[k * samples : (k + 1) * samples]) < task.min_level_db:
            quiet += 1
            continue
        gain_db, scaled, augment = cut_clip(
            audio, k * samples, samples, task.augment, task.level, task.seed, task.index
        )
        starts.append(k * samples)
        gains.append(gain_db)
        clips.append(scaled)
        augments.append(augment)
    stacked = np.stack(clips) if clips else np.zeros((0, samples), np.float32)
    return _ClipResult(task.index, starts, gains, stacked, augments, quiet)


@dataclass
class ClipTable:
    """The clips pass 1 kept, in file order (the scratch file's rows), and what it skipped."""

    recording: list[int] = field(default_factory=list)  # index in the source's recordings
    start: list[int] = field(default_factory=list)  # first sample in the recording
    gain_db: list[float] = field(default_factory=list)
    augment: list[str] = field(default_factory=list)  # JSON: what each clip's augmentation drew
    split: list[int] = field(default_factory=list)
    skipped_quiet_clips: int = 0
    skipped_files: int = 0

    def __len__(self) -> int:
        return len(self.recording)

    def keys(self, samples: int) -> list[tuple[int, int]]:
        """``(recording, clip index in it)`` of each clip: what its random draws are keyed by."""
        return [(r, start // samples) for r, start in zip(self.recording, self.start, strict=True)]


def cut_recordings(
    recordings: Sequence[Recording],
    order: Sequence[int],
    split_of: Sequence[int],
    config: BuildConfig,
    scratch: Path,
    pool: Executor | None,
    window: int,
    log: Callable[[str], None],
) -> ClipTable:
    """Pass 1: cut ``recordings`` in ``order`` into ``scratch``, float32 rows, up to the quotas.

    An unreadable recording is skipped with a warning, or stops the build
    with ``--strict``.
    """
    samples = clip_samples(config.clip_seconds)
    level = parse_level(config.level)
    limits = quotas(config.max_clips, config.split)
    taken = [0, 0, 0]
    table = ClipTable()
    tasks = (
        _ClipTask(
            i, recordings[i], samples, config.min_level_db, level, config.seed, config.augment
        )
        for i in order
        if taken[split_of[i]] < limits[split_of[i]]
    )
    with open(scratch, "wb") as scratch_file:
        for result in ordered_map(_cut_recording, tasks, pool, window):
            if result.error is not None:
                if config.strict:
                    raise FxrError(f"{result.error} (--strict)")
                warn(f"skipped {result.error}")
                table.skipped_files += 1
                continue
            s = split_of[result.index]
            n = int(min(limits[s] - taken[s], len(result.starts)))
            table.skipped_quiet_clips += result.quiet
            if n <= 0:
                continue
            scratch_file.write(np.ascontiguousarray(result.audio[:n]).tobytes())
            taken[s] += n
            table.recording += [result.index] * n
            table.start += result.starts[:n]
            table.gain_db += result.gains_db[:n]
            table.augment += result.augments[:n]
            table.split += [s] * n
            log(f"clips: {len(table)}")
    if not table:
        skipped = (
            f" ({table.skipped_files} unreadable, see the warnings)" if table.skipped_files else ""
        )
        raise FxrError(
            f"source {config.source!r} gave no clip of {config.clip_seconds:g} s "
            f"above {config.min_level_db:g} dBFS{skipped}"
        )
    return table


def remake_clips(
    header: DatasetHeader,
    path: str | os.PathLike,
    source_index: np.ndarray,
    starts: np.ndarray,
    gains_db: np.ndarray,
) -> np.ndarray:
    """The dry clips of the dataset at ``path``, cut from its source again as pass 1 cut them.

    ``source_index``, ``starts`` and ``gains_db`` are the clips' recordings
    (index in the source's list), first samples and stored gains; a clip
    whose audio or gain differs from the build's is refused.
    """
    source, argument = resolve_source(header.source)
    recordings = list(source.recordings(argument, header.seed))
    samples = clip_samples(header.clip_seconds)
    level = parse_level(header.level)
    policy = header.augment_policy()
    audio = np.empty((len(starts), samples), np.float32)
    loaded: dict[int, np.ndarray] = {}
    for i, (index, start, stored_gain) in enumerate(
        zip(source_index.tolist(), starts.tolist(), gains_db, strict=True)
    ):
        if index not in loaded:  # consecutive clips share a recording: keep the last one
            loaded = {index: _load(recordings[index])}
        recording = loaded[index]
        same = start + samples <= recording.size
        if same:
            gain_db, audio[i], _ = cut_clip(
                recording, start, samples, policy, level, header.seed, index
            )
            same = np.float32(gain_db) == stored_gain
        if not same:
            raise FxrError(f"{path}: the source {header.source!r} no longer gives the same audio")
    return audio
