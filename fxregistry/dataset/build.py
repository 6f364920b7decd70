"""``fxr build``: dry recordings -> clips -> wet renders -> paired features -> HDF5.

The build runs in two passes over a pool of worker processes
(:mod:`~fxregistry.dataset.pool`):

1. *clips* (:mod:`~fxregistry.dataset.clips`): each recording is loaded, cut
   into clips, quiet clips skipped and the level policy applied; the dry
   clip audio goes to a scratch file.
2. *renders* (:mod:`~fxregistry.dataset.render`): blocks of clips are
   rendered at every setting and their dry and wet spectrograms computed in
   one batched call per block.

Results are consumed in submission order, so the output is the same bit for
bit whatever the number of workers. Recordings are processed split by split
(:mod:`~fxregistry.dataset.splits`), which makes every split a contiguous
range in the file. This module runs the passes and writes the file, as
``OUT.partial`` (the scratch file is ``OUT.partial.clips``), renamed only
when complete. An error, Ctrl-C or SIGTERM deletes both and stops the
workers; a SIGKILL leaves them, and they never pass as a dataset.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from fxregistry.audio.features import FeatureConfig
from fxregistry.dataset.clips import ClipTable, clip_samples, cut_recordings, resolve_source
from fxregistry.dataset.config import BuildConfig, parse_grid, show_deliver
from fxregistry.dataset.header import SPLITS, DatasetHeader, mark_complete
from fxregistry.dataset.identification import composite_spec, resolve_effects
from fxregistry.dataset.pool import ordered_map, worker_pool
from fxregistry.dataset.render import RenderJob, RenderResult, render_block
from fxregistry.dataset.rows import SPECTROGRAM_DTYPE, create_rows, create_table, write_chunks
from fxregistry.dataset.splits import plan_recordings, split_ranges_of
from fxregistry.errors import FxrError
from fxregistry.files import atomic_write
from fxregistry.interrupts import remember_ctrl_c, sigterm_as_ctrl_c
from fxregistry.progress import progress_bar
from fxregistry.specs.effect import Effect
from fxregistry.specs.source import Recording

__all__ = ["BuildReport", "build"]


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


@sigterm_as_ctrl_c()
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
    effects = resolve_effects(config.effect)
    source, argument = resolve_source(config.source)
    recordings = list(source.recordings(argument, config.seed))
    if not recordings:
        raise FxrError(f"source {config.source!r} has no recordings")
    split_of, order = plan_recordings(recordings, config)
    workers = max(1, workers or os.cpu_count() or 1)
    window = 2 * workers  # tasks in flight: enough to keep every worker busy
    out.parent.mkdir(parents=True, exist_ok=True)
    with remember_ctrl_c() as ctrl_c, atomic_write(out) as partial:

        def checked_log(line: str) -> None:
            ctrl_c.check()  # one raised in a callback was dropped: stop all the same
            log(line)

        scratch = partial.with_name(partial.name + ".clips")
        try:
            # The pool inside the files: the workers (which read the scratch file)
            # are gone before the files are deleted or renamed.
            with worker_pool(workers) as pool:
                # Pass 1, then the header: its counts and split ranges are now known.
                clips = cut_recordings(
                    recordings, order, split_of, config, scratch, pool, window, checked_log
                )
                header = _header(config, effects, clips)
                job = _render_job(config, header, effects, scratch)
                with h5py.File(partial, "w") as f:
                    header.write(f)
                    _write_index(f, recordings, split_of, clips, header)
                    rows = _Rows(f, header, job)
                    # Pass 2: rendered blocks come back in file order.
                    blocks = job.blocks(clips.keys(job.clip_samples))
                    results = ordered_map(render_block, blocks, pool, window)
                    _write_renders(rows, results, header, started, checked_log)
                    ctrl_c.check()  # after the last block too
                    mark_complete(f)
        finally:
            scratch.unlink(missing_ok=True)
    return _report(out, header, clips, started)


def _examples_per_clip(config: BuildConfig, effects: Sequence[Effect]) -> int:
    random = parse_grid(config.grid)
    settings = sum(random or len(effect.grid()) for effect in effects)
    return settings + (1 if labelled(config, effects) else 0)  # the untouched clip too


def labelled(config: BuildConfig, effects: Sequence[Effect]) -> bool:
    """Whether the file trains identification: several effects, or one with ``--identify``."""
    return len(effects) > 1 or config.identify


def features_of(config: BuildConfig, effects: Sequence[Effect]) -> tuple[str, ...]:
    """The feature kinds a build stores: ``--features``, else the effect's own; over
    several effects Mel, what the identifiers were measured on (docs/estimate.md)."""
    if config.features:
        return tuple(config.features)
    return tuple(effects[0].features) if len(effects) == 1 else ("mel",)


def _header(config: BuildConfig, effects: Sequence[Effect], clips: ClipTable) -> DatasetHeader:
    """The file's header once pass 1 has counted the clips (not yet complete)."""
    clip_split = np.asarray(clips.split, np.uint8)
    example_split = np.repeat(clip_split, _examples_per_clip(config, effects))
    several = len(effects) > 1
    return DatasetHeader(
        effect=",".join(e.name for e in effects),
        effect_spec=composite_spec(effects) if several else effects[0].as_dict(),
        effects=tuple(e.as_dict() for e in effects) if labelled(config, effects) else None,
        features={kind: FeatureConfig(kind=kind) for kind in features_of(config, effects)},
        source=config.source,
        seed=config.seed,
        grid=config.grid,
        level=config.level,
        clip_seconds=config.clip_seconds,
        min_level_db=config.min_level_db,
        split_fractions=config.split,
        split_by=config.split_by,
        keep_audio=config.keep_audio,
        residual=config.residual,
        deliver=show_deliver(config.deliver) if config.deliver else None,
        # Recorded where some example could be drawn a variant: a share of none says nothing.
        variants=(config.variants or None) if any(e.variants for e in effects) else None,
        augment=config.augment.as_dict(),
        build_config=asdict(config),
        shard=config.shard,
        clips=len(clip_split),
        examples=len(example_split),
        clips_split_ranges=split_ranges_of(clip_split),
        examples_split_ranges=split_ranges_of(example_split),
        skipped_quiet_clips=clips.skipped_quiet_clips,
        skipped_files=clips.skipped_files,
    )


def _render_job(
    config: BuildConfig, header: DatasetHeader, effects: tuple[Effect, ...], scratch: Path
) -> RenderJob:
    return RenderJob(
        scratch=str(scratch),
        clip_samples=clip_samples(config.clip_seconds),
        effects=effects,
        random_settings=parse_grid(config.grid),
        features=tuple(header.features.values()),
        seed=config.seed,
        keep_audio=config.keep_audio,
        compress=config.compress,
        residual=config.residual,
        deliver=config.deliver,
        identification=labelled(config, effects),
        variants=config.variants,
    )


def _write_index(
    f: h5py.File,
    recordings: Sequence[Recording],
    split_of: Sequence[int],
    clips: ClipTable,
    header: DatasetHeader,
) -> None:
    """The small arrays: which recording each clip comes from, which clip each example."""
    used = sorted(set(clips.recording), key=lambda i: (split_of[i], i))
    row_of = {i: row for row, i in enumerate(used)}
    strings = h5py.string_dtype()
    f.create_dataset("recordings/id", data=[recordings[i].id for i in used], dtype=strings)
    f.create_dataset("recordings/group", data=[recordings[i].group for i in used], dtype=strings)
    f.create_dataset("recordings/split", data=[split_of[i] for i in used], dtype="u1")
    f.create_dataset("recordings/source_index", data=used, dtype="i4")
    f.create_dataset("clips/recording", data=[row_of[i] for i in clips.recording], dtype="i4")
    f.create_dataset("clips/start", data=clips.start, dtype="i8")
    f.create_dataset("clips/gain_db", data=clips.gain_db, dtype="f4")
    if header.augment_policy().active:
        f.create_dataset("clips/augment", data=clips.augment, dtype=strings)
    f.create_dataset("clips/split", data=clips.split, dtype="u1")
    per_clip = header.examples // header.clips
    f.create_dataset("examples/clip", data=np.repeat(np.arange(header.clips), per_clip), dtype="i4")
    f.create_dataset(
        "examples/split", data=np.repeat(np.asarray(clips.split, np.uint8), per_clip), dtype="u1"
    )


class _Rows:
    """The large per-clip and per-example arrays, filled block by block from pass 2."""

    def __init__(self, f: h5py.File, header: DatasetHeader, job: RenderJob):
        n_clips, n_examples, compress = header.clips, header.examples, job.compress
        n_params = job.parameters
        self.labelled = job.identification
        if self.labelled:
            self.effect = f.create_dataset("examples/effect", (n_examples,), "i2")
            self.changed = f.create_dataset("examples/changed", (n_examples,), "u1")
        self.params = create_table(f, "examples/params", (n_examples, n_params))
        self.normalized = create_table(f, "examples/params_normalized", (n_examples, n_params))
        shapes = {c.kind: c.shape(job.clip_samples) for c in job.features}

        def spectrograms(name: str, rows: int) -> list[h5py.Dataset]:
            return [
                create_rows(f, f"{name}_{kind}", (rows, *shape), SPECTROGRAM_DTYPE, compress)
                for kind, shape in shapes.items()
            ]

        self.dry = spectrograms("clips/dry", n_clips)
        self.wet = spectrograms("examples/wet", n_examples)
        self.residual = spectrograms("examples/residual", n_examples) if job.residual else []
        self.dry_audio = self.wet_audio = None
        if job.keep_audio:
            audio = (job.clip_samples,)
            self.dry_audio = create_rows(f, "clips/audio", (n_clips, *audio), "f4", compress)
            self.wet_audio = create_rows(f, "examples/audio", (n_examples, *audio), "f4", compress)
        self.clips = self.examples = 0  # rows written so far

    def write(self, result: RenderResult) -> None:
        """Store one block's rows after the previous blocks' (blocks come in file order)."""
        row, n = self.examples, result.params.shape[0]
        for dataset, chunks in zip(self.dry, result.dry, strict=True):
            write_chunks(dataset, result.first, chunks)
        for dataset, chunks in zip(self.wet, result.wet, strict=True):
            write_chunks(dataset, row, chunks)
        for dataset, chunks in zip(self.residual, result.residual, strict=True):
            write_chunks(dataset, row, chunks)
        self.params[row : row + n] = result.params
        self.normalized[row : row + n] = result.normalized
        if self.labelled:
            self.effect[row : row + n] = result.effect
            self.changed[row : row + n] = result.changed
        if self.dry_audio is not None:
            write_chunks(self.dry_audio, result.first, result.dry_audio)
            write_chunks(self.wet_audio, row, result.wet_audio)
        self.clips = result.first + len(result.dry[0])
        self.examples = row + n


def _write_renders(
    rows: _Rows,
    results: Iterable[RenderResult],
    header: DatasetHeader,
    started: float,
    log: Callable[[str], None],
) -> None:
    with progress_bar() as progress:
        bar = progress.add_task("rendering", total=header.examples, info="")
        for result in results:
            rows.write(result)
            rate = rows.examples / (time.perf_counter() - started)
            progress.update(
                bar,
                completed=rows.examples,
                info=f"{rows.clips} clips, {rate:.0f} examples/s",
            )
            log(f"examples: {rows.examples}")


def _report(out: Path, header: DatasetHeader, clips: ClipTable, started: float) -> BuildReport:
    ranges = header.split_ranges()
    return BuildReport(
        path=out,
        recordings=len(set(clips.recording)),
        clips=header.clips,
        examples=header.examples,
        skipped_quiet_clips=header.skipped_quiet_clips,
        skipped_files=header.skipped_files,
        split_examples={name: ranges[name][1] - ranges[name][0] for name in SPLITS},
        seconds=time.perf_counter() - started,
    )
