"""``fxr build``: dry recordings -> clips -> wet renders -> paired features -> HDF5.

The build runs in two passes over a pool of worker processes:

1. *clips*: each recording is loaded, cut into clips, quiet clips skipped and
   the level policy applied; the dry clip audio goes to a scratch file.
2. *renders*: blocks of clips are rendered at every setting and their dry and
   wet spectrograms computed in one batched call per block.

Results are consumed in submission order through a bounded window, so the
output is the same bit for bit whatever the number of workers, and memory
stays bounded however many recordings there are.  Recordings are processed
split by split, which makes every split a contiguous range in the file.
The file is written as ``OUT.partial`` and renamed only when complete.
"""

from __future__ import annotations

import collections
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fxregistry import __version__, registry
from fxregistry.audio.features import FeatureConfig, spectrogram
from fxregistry.audio.io import SAMPLE_RATE, rms_db
from fxregistry.dataset.config import BuildConfig, parse_grid, parse_level
from fxregistry.dataset.header import (
    DEFLATE_LEVEL,
    FORMAT,
    FORMAT_VERSION,
    SPLITS,
    create_rows,
    encode_chunk,
)
from fxregistry.errors import FxrError
from fxregistry.registry.manager import warn
from fxregistry.specs.effect import Effect
from fxregistry.specs.source import Recording, Source, split_spec

__all__ = ["BuildReport", "build", "assign_splits", "resolve_source"]

# Clips rendered per task in pass 2: large enough to batch the spectrograms,
# small enough that a task's result stays a few tens of MB.
BLOCK_CLIPS = 4
# Spectrograms are stored in dB as float16: steps of at most 0.03 dB over the
# +-128 dB they span, half of float32's disk, pipe and write time.
SPECTROGRAM_DTYPE = "f2"


@dataclass
class BuildReport:
    """What a build did, for the summary line and the benchmark."""

    path: Path
    recordings: int = 0
    clips: int = 0
    examples: int = 0
    skipped_quiet_clips: int = 0
    skipped_files: int = 0
    split_examples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def assign_splits(keys: Sequence[str], fractions: Sequence[float], seed: int) -> dict[str, int]:
    """Shuffle the distinct keys with ``seed`` and cut them into train/valid/test.

    With three or more keys every split gets at least one, so a small build
    still has something to validate and test on.
    """
    distinct = sorted(set(keys))
    order = np.random.default_rng([seed, 0x5EED]).permutation(len(distinct))
    n = len(distinct)
    n_valid = round(fractions[1] * n)
    n_test = round(fractions[2] * n)
    if n >= 3:
        n_valid, n_test = max(1, n_valid), max(1, n_test)
    n_train = max(0, n - n_valid - n_test)
    bounds = (n_train, n_train + n_valid)
    return {
        distinct[i]: 0 if rank < bounds[0] else 1 if rank < bounds[1] else 2
        for rank, i in enumerate(order)
    }


def _clip_rng(seed: int, recording: int, clip: int) -> np.random.Generator:
    # Keyed by position, not by processing order: the same clip gets the
    # same draws whatever the worker count or shard.
    return np.random.default_rng([seed, recording, clip])


# ---------------------------------------------------------------- pass 1


@dataclass(frozen=True)
class _ClipTask:
    index: int
    recording: Recording
    clip_samples: int
    min_level_db: float
    level: tuple[str, float, float]
    seed: int


@dataclass
class _ClipResult:
    index: int
    starts: list[int]
    gains_db: list[float]
    audio: np.ndarray  # (clips, samples)
    quiet: int = 0
    error: str | None = None


def _cut_recording(task: _ClipTask) -> _ClipResult:
    try:
        audio = np.asarray(task.recording.load(), dtype=np.float32).reshape(-1)
        if task.recording.sample_rate != SAMPLE_RATE:
            raise FxrError(
                f"recording {task.recording.id} is at {task.recording.sample_rate} Hz, "
                f"the build needs {SAMPLE_RATE} Hz"
            )
    except Exception as exc:  # reported by the main process, which decides to skip or stop
        return _ClipResult(
            task.index,
            [],
            [],
            np.zeros((0, task.clip_samples), np.float32),
            error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, FxrError) else str(exc),
        )
    kind, low, high = task.level
    starts, gains, clips, quiet = [], [], [], 0
    for k in range(audio.size // task.clip_samples):
        clip = audio[k * task.clip_samples : (k + 1) * task.clip_samples]
        if rms_db(clip) < task.min_level_db:
            quiet += 1
            continue
        peak_db = 20 * math.log10(float(np.max(np.abs(clip))))
        if kind == "as-is":
            gain_db = 0.0
        elif kind == "peak":
            gain_db = low - peak_db
        else:
            gain_db = float(_clip_rng(task.seed, task.index, k).uniform(low, high)) - peak_db
        starts.append(k * task.clip_samples)
        gains.append(gain_db)
        clips.append(clip * np.float32(10 ** (gain_db / 20)))
    stacked = np.stack(clips) if clips else np.zeros((0, task.clip_samples), np.float32)
    return _ClipResult(task.index, starts, gains, stacked, quiet)


# ---------------------------------------------------------------- pass 2


@dataclass(frozen=True)
class _RenderTask:
    scratch: str
    clip_samples: int
    first: int  # first clip (row of the scratch file)
    keys: tuple[tuple[int, int], ...]  # (recording index, clip index) per clip, for the rng
    effect: Effect
    random_settings: int | None
    features: tuple[FeatureConfig, ...]
    seed: int
    keep_audio: bool
    compress: bool
    residual: bool


@dataclass
class _RenderResult:
    # Rows arrive as encoded HDF5 chunks (see dataset.encode_chunk), so the
    # writer only copies bytes and the pipe carries compressed data.
    dry: list[list[bytes]]  # per feature kind, per clip
    wet: list[list[bytes]]  # per feature kind, per example
    residual: list[list[bytes]]  # per feature kind, per example, with residual
    params: np.ndarray  # (examples, parameters), native units
    normalized: np.ndarray
    dry_audio: list[bytes]  # per clip, with keep_audio
    wet_audio: list[bytes]  # per example, with keep_audio


def settings_for_clip(effect: Effect, random_settings: int | None, rng: np.random.Generator):
    """The settings one clip is rendered at: the full grid, or N random draws on each scale."""
    if random_settings is None:
        return effect.grid()
    draws = rng.uniform(0.0, 1.0, size=(random_settings, len(effect.parameters)))
    return [effect.denormalize(row) for row in draws]


def _render_block(task: _RenderTask) -> _RenderResult:
    rows = len(task.keys)
    scratch = np.memmap(task.scratch, dtype=np.float32, mode="r")
    dry = np.array(scratch.reshape(-1, task.clip_samples)[task.first : task.first + rows])
    dry_features = [spectrogram(dry, cfg) for cfg in task.features]
    identity = None if task.effect.identity is None else dict(task.effect.identity)
    wet, params, same_as_dry, clip_of = [], [], [], []
    for i, ((rec, k), clip) in enumerate(zip(task.keys, dry, strict=True)):
        rng = _clip_rng(task.seed, rec, k)
        for setting in settings_for_clip(task.effect, task.random_settings, rng):
            # At its identity setting an effect returns the dry clip: reuse it
            # and its features instead of rendering and transforming again.
            same_as_dry.append(i if setting == identity else -1)
            clip_of.append(i)
            wet.append(clip if setting == identity else task.effect(clip, SAMPLE_RATE, **setting))
            params.append([setting[p.name] for p in task.effect.parameters])
    wet_audio = np.stack(wet)
    same_as_dry = np.asarray(same_as_dry)
    rendered = same_as_dry < 0
    wet_features = []
    for cfg, dry_spec in zip(task.features, dry_features, strict=True):
        spec = np.empty((len(wet_audio), *dry_spec.shape[1:]), np.float32)
        if rendered.any():
            spec[rendered] = spectrogram(wet_audio[rendered], cfg)
        spec[~rendered] = dry_spec[same_as_dry[~rendered]]
        wet_features.append(spec)
    residual_features = []
    if task.residual:
        # What the effect added or removed, which the wet spectrogram alone can
        # bury: a faint added noise moves loud Mel bands by hundredths of a dB.
        # At the identity setting nothing was added: the floor, not a transform.
        difference = wet_audio[rendered] - dry[np.asarray(clip_of)[rendered]]
        for cfg, wet_spec in zip(task.features, wet_features, strict=True):
            spec = np.full_like(wet_spec, 10.0 * np.log10(cfg.eps))
            if rendered.any():
                spec[rendered] = spectrogram(difference, cfg)
            residual_features.append(spec)
    params = np.asarray(params, dtype=np.float32)
    names = task.effect.parameter_names

    def encode(rows: np.ndarray, dtype: str) -> list[bytes]:
        return [encode_chunk(row.astype(dtype, copy=False), task.compress) for row in rows]

    return _RenderResult(
        dry=[encode(spec, SPECTROGRAM_DTYPE) for spec in dry_features],
        wet=[encode(spec, SPECTROGRAM_DTYPE) for spec in wet_features],
        residual=[encode(spec, SPECTROGRAM_DTYPE) for spec in residual_features],
        params=params,
        normalized=np.stack(
            [task.effect.normalize(dict(zip(names, p, strict=True))) for p in params]
        ),
        dry_audio=encode(dry, "f4") if task.keep_audio else [],
        wet_audio=encode(wet_audio, "f4") if task.keep_audio else [],
    )


# ---------------------------------------------------------------- plumbing


def _init_worker() -> None:
    import torch

    # Parallelism comes from the processes; threads inside each would fight.
    torch.set_num_threads(1)


def _start_method() -> multiprocessing.context.BaseContext:
    # Forked workers share the parent's pages (torch alone is ~500 MB per
    # process), which halves a build's memory and skips re-importing torch.
    # Safe here: the pool forks at its first task, before this process has
    # started threads or run a torch op. Elsewhere only spawn is dependable.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def ordered_map(
    fn: Callable[[Any], Any], tasks: Iterable[Any], pool: Executor | None, window: int
) -> Iterator[Any]:
    """``map(fn, tasks)`` in order, at most ``window`` tasks in flight."""
    if pool is None:
        yield from map(fn, tasks)
        return
    pending: collections.deque = collections.deque()
    iterator = iter(tasks)
    try:
        for task in iterator:
            pending.append(pool.submit(fn, task))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            for task in iterator:
                pending.append(pool.submit(fn, task))
                break
            yield result
    finally:
        for future in pending:
            future.cancel()


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


def _quotas(max_clips: int | None, fractions: Sequence[float]) -> list[float]:
    """Clips each split may take under ``--max-clips``: at least one each when N >= 3."""
    if max_clips is None:
        return [math.inf] * 3
    quotas = [math.floor(max_clips * f) for f in fractions]
    if max_clips >= 3:
        quotas = [max(q, 1) if f > 0 else 0 for q, f in zip(quotas, fractions, strict=True)]
    quotas[0] += max_clips - sum(quotas)
    return quotas


def _progress():
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    return progress


def build(
    config: BuildConfig,
    out: str | os.PathLike,
    workers: int | None = None,
    force: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> BuildReport:
    """Build the dataset ``out`` as ``config`` says; see the module docstring."""
    started = time.perf_counter()
    out = Path(out)
    if out.exists() and not force:
        raise FxrError(f"{out} exists; pass --force to replace it")
    effect = registry.get_effect(config.effect)
    source, argument = resolve_source(config.source)
    random_settings = parse_grid(config.grid)
    level = parse_level(config.level)
    features = tuple(FeatureConfig(kind=kind) for kind in config.features)
    clip_samples = int(round(config.clip_seconds * SAMPLE_RATE))
    settings_per_clip = random_settings or len(effect.grid())

    recordings = list(source.recordings(argument, config.seed))
    if not recordings:
        raise FxrError(f"source {config.source!r} has no recordings")
    keys = [r.id if config.split_by == "recording" else (r.group or r.id) for r in recordings]
    split_of_key = assign_splits(keys, config.split, config.seed)
    split_of = [split_of_key[k] for k in keys]
    # Split by split, so that each split is one contiguous range of the file.
    order = sorted(range(len(recordings)), key=lambda i: (split_of[i], i))
    if config.shard is not None:
        # Contiguous parts of the global order: shards 1..N laid end to end
        # are the unsharded build, which is what `fxr merge` relies on.
        k, n = config.shard
        order = [int(i) for i in np.array_split(np.asarray(order), n)[k - 1]]
        if not order:
            raise FxrError(f"shard {k}/{n} is empty: the source has {len(recordings)} recordings")

    workers = max(1, workers or os.cpu_count() or 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    scratch = out.with_name(out.name + ".partial.clips")
    report = BuildReport(path=out)
    pool = (
        ProcessPoolExecutor(workers, mp_context=_start_method(), initializer=_init_worker)
        if workers > 1
        else None
    )
    try:
        # -------- pass 1: recordings -> clips in the scratch file
        quotas = _quotas(config.max_clips, config.split)
        taken = [0, 0, 0]
        clip_rec, clip_start, clip_gain, clip_split, clip_key = [], [], [], [], []
        used_recordings: set[int] = set()
        tasks = (
            _ClipTask(i, recordings[i], clip_samples, config.min_level_db, level, config.seed)
            for i in order
            if taken[split_of[i]] < quotas[split_of[i]]
        )
        with open(scratch, "wb") as scratch_file:
            for result in ordered_map(_cut_recording, tasks, pool, window=2 * workers):
                if result.error is not None:
                    if config.strict:
                        raise FxrError(f"{recordings[result.index].id}: {result.error} (--strict)")
                    warn(f"skipped {recordings[result.index].id}: {result.error}")
                    report.skipped_files += 1
                    continue
                s = split_of[result.index]
                room = quotas[s] - taken[s]
                n = int(min(room, len(result.starts)))
                report.skipped_quiet_clips += result.quiet
                if n <= 0:
                    continue
                scratch_file.write(np.ascontiguousarray(result.audio[:n]).tobytes())
                used_recordings.add(result.index)
                taken[s] += n
                clip_rec += [result.index] * n
                clip_start += result.starts[:n]
                clip_gain += result.gains_db[:n]
                clip_split += [s] * n
                clip_key += [(result.index, st // clip_samples) for st in result.starts[:n]]
                log(f"clips: {len(clip_rec)}")
        n_clips = len(clip_rec)
        if n_clips == 0:
            raise FxrError(
                f"source {config.source!r} gave no clip of {config.clip_seconds:g} s "
                f"above {config.min_level_db:g} dBFS"
            )
        n_examples = n_clips * settings_per_clip

        # -------- pass 2: render blocks of clips, write features in order
        with h5py.File(partial, "w") as f:
            rec_ids = sorted(used_recordings, key=lambda i: (split_of[i], i))
            rec_row = {i: row for row, i in enumerate(rec_ids)}
            _write_header(f, config, effect, features, report, n_clips, n_examples)
            strings = h5py.string_dtype()
            f.create_dataset(
                "recordings/id", data=[recordings[i].id for i in rec_ids], dtype=strings
            )
            f.create_dataset(
                "recordings/group", data=[recordings[i].group for i in rec_ids], dtype=strings
            )
            f.create_dataset("recordings/split", data=[split_of[i] for i in rec_ids], dtype="u1")
            f.create_dataset("recordings/source_index", data=rec_ids, dtype="i4")
            f.create_dataset("clips/recording", data=[rec_row[i] for i in clip_rec], dtype="i4")
            f.create_dataset("clips/start", data=clip_start, dtype="i8")
            f.create_dataset("clips/gain_db", data=clip_gain, dtype="f4")
            f.create_dataset("clips/split", data=clip_split, dtype="u1")
            example_split = np.repeat(np.asarray(clip_split, np.uint8), settings_per_clip)
            f.create_dataset(
                "examples/clip", data=np.repeat(np.arange(n_clips), settings_per_clip), dtype="i4"
            )
            f.create_dataset("examples/split", data=example_split, dtype="u1")
            for level_name, splits in (
                ("clips", np.asarray(clip_split)),
                ("examples", example_split),
            ):
                ranges = {
                    name: [
                        int(np.searchsorted(splits, i)),
                        int(np.searchsorted(splits, i, side="right")),
                    ]
                    for i, name in enumerate(SPLITS)
                }
                f.attrs[f"{level_name}_split_ranges"] = json.dumps(ranges)
            n_params = len(effect.parameters)
            params = _dataset(f, "examples/params", (n_examples, n_params))
            normalized = _dataset(f, "examples/params_normalized", (n_examples, n_params))
            shapes = [c.shape(clip_samples) for c in features]
            dry_sets = [
                create_rows(
                    f, f"clips/dry_{c.kind}", (n_clips, *shape), SPECTROGRAM_DTYPE, config.compress
                )
                for c, shape in zip(features, shapes, strict=True)
            ]
            wet_sets = [
                create_rows(
                    f,
                    f"examples/wet_{c.kind}",
                    (n_examples, *shape),
                    SPECTROGRAM_DTYPE,
                    config.compress,
                )
                for c, shape in zip(features, shapes, strict=True)
            ]
            residual_sets = [
                create_rows(
                    f,
                    f"examples/residual_{c.kind}",
                    (n_examples, *shape),
                    SPECTROGRAM_DTYPE,
                    config.compress,
                )
                for c, shape in zip(features, shapes, strict=True)
                if config.residual
            ]
            if config.keep_audio:
                shape = (n_clips, clip_samples)
                dry_audio = create_rows(f, "clips/audio", shape, "f4", config.compress)
                shape = (n_examples, clip_samples)
                wet_audio = create_rows(f, "examples/audio", shape, "f4", config.compress)
            blocks = [
                (first, min(first + BLOCK_CLIPS, n_clips))
                for first in range(0, n_clips, BLOCK_CLIPS)
            ]
            render_tasks = (
                _RenderTask(
                    str(scratch),
                    clip_samples,
                    a,
                    tuple(clip_key[a:b]),
                    effect,
                    random_settings,
                    features,
                    config.seed,
                    config.keep_audio,
                    config.compress,
                    config.residual,
                )
                for a, b in blocks
            )
            progress = _progress()
            with progress:
                bar = progress.add_task("rendering", total=n_examples, rate="")
                row = 0
                for (a, b), result in zip(
                    blocks,
                    ordered_map(_render_block, render_tasks, pool, window=2 * workers),
                    strict=True,
                ):
                    n = result.params.shape[0]
                    for dataset, chunks in zip(dry_sets, result.dry, strict=True):
                        _write_chunks(dataset, a, chunks)
                    for dataset, chunks in zip(wet_sets, result.wet, strict=True):
                        _write_chunks(dataset, row, chunks)
                    for dataset, chunks in zip(residual_sets, result.residual, strict=True):
                        _write_chunks(dataset, row, chunks)
                    params[row : row + n] = result.params
                    normalized[row : row + n] = result.normalized
                    if config.keep_audio:
                        _write_chunks(dry_audio, a, result.dry_audio)
                        _write_chunks(wet_audio, row, result.wet_audio)
                    row += n
                    elapsed = time.perf_counter() - started
                    progress.update(
                        bar, completed=row, rate=f"{b} clips, {row / elapsed:.0f} examples/s"
                    )
                    log(f"examples: {row}")
            f.attrs["complete"] = True
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        scratch.unlink(missing_ok=True)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    report.recordings = len(used_recordings)
    report.clips = n_clips
    report.examples = n_examples
    report.split_examples = {name: int(np.sum(example_split == i)) for i, name in enumerate(SPLITS)}
    report.seconds = time.perf_counter() - started
    return report


def _write_chunks(dataset: h5py.Dataset, first_row: int, chunks: Sequence[bytes]) -> None:
    zeros = (0,) * (dataset.ndim - 1)
    for i, chunk in enumerate(chunks):
        dataset.id.write_direct_chunk((first_row + i, *zeros), chunk)


def _dataset(f: h5py.File, name: str, shape: tuple[int, ...]) -> h5py.Dataset:
    """Small per-example arrays (parameters): large chunks, gzip."""
    chunks = (min(4096, shape[0]), *shape[1:])
    return f.create_dataset(
        name,
        shape=shape,
        dtype="f4",
        chunks=chunks,
        compression="gzip",
        compression_opts=DEFLATE_LEVEL,
        shuffle=True,
    )


def _write_header(
    f: h5py.File,
    config: BuildConfig,
    effect: Effect,
    features: Sequence[FeatureConfig],
    report: BuildReport,
    n_clips: int,
    n_examples: int,
) -> None:
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["complete"] = False
    f.attrs["fxr_version"] = __version__
    f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    f.attrs["effect"] = effect.name
    f.attrs["effect_spec"] = json.dumps(effect.as_dict())
    f.attrs["features"] = json.dumps({c.kind: c.as_dict() for c in features})
    f.attrs["source"] = config.source
    f.attrs["seed"] = config.seed
    f.attrs["grid"] = config.grid
    f.attrs["level"] = config.level
    f.attrs["clip_seconds"] = config.clip_seconds
    f.attrs["sample_rate"] = SAMPLE_RATE
    f.attrs["min_level_db"] = config.min_level_db
    f.attrs["split_fractions"] = json.dumps(list(config.split))
    f.attrs["split_by"] = config.split_by
    f.attrs["keep_audio"] = config.keep_audio
    f.attrs["residual"] = config.residual
    f.attrs["build_config"] = json.dumps(asdict(config))
    f.attrs["shard"] = "" if config.shard is None else "{}/{}".format(*config.shard)
    f.attrs["clips"] = n_clips
    f.attrs["examples"] = n_examples
    f.attrs["skipped_quiet_clips"] = report.skipped_quiet_clips
    f.attrs["skipped_files"] = report.skipped_files
