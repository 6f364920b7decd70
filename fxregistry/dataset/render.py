"""Pass 2 of a build: blocks of dry clips -> wet renders -> encoded feature rows.

Each task renders a few clips at every setting (the full grid, or N random
draws per clip) and computes their dry and wet spectrograms in one batched
call per feature kind. Rows come back encoded as the file's chunks, so the
writer only copies bytes and the pipe carries compressed data. A build over
several effects renders each clip through every one of them, and labels
each example (:mod:`~fxregistry.dataset.identification`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from fxregistry.audio.features import (
    AUDIBLE_DB,
    FeatureConfig,
    gain_change_only,
    mere_gain_change,
    spectrogram,
)
from fxregistry.audio.io import DELIVERIES, SAMPLE_RATE, as_delivered
from fxregistry.dataset.clips import DELIVER_STREAM, VARIANT_STREAM, clip_rng
from fxregistry.dataset.identification import parameter_columns
from fxregistry.dataset.rows import SPECTROGRAM_DTYPE, encode_chunk
from fxregistry.specs.effect import Effect

__all__ = [
    "BLOCK_CLIPS",
    "RenderJob",
    "RenderResult",
    "examples_of_clip",
    "render_block",
    "rendered_by",
    "settings_for_clip",
    "shown_by_file",
]

MEL = FeatureConfig()  # what shown_by_file compares, spectrogram()'s default

# Clips rendered per task: large enough to batch the spectrograms, small
# enough that a task's result stays a few tens of MB.
BLOCK_CLIPS = 4


@dataclass(frozen=True)
class RenderJob:
    """What every block of pass 2 shares: where the clips are and how to render them."""

    scratch: str  # pass 1's float32 clips, one row each
    clip_samples: int
    effects: tuple[Effect, ...]  # one, or several for identification (module docstring)
    random_settings: int | None  # N of --grid random:N, or None for the full grid
    features: tuple[FeatureConfig, ...]
    seed: int
    keep_audio: bool
    compress: bool
    residual: bool
    deliver: tuple[tuple[str, float], ...] = ()  # --deliver: (kind, share) of the wet clips
    # Several effects, or one with --identify: every clip also gives an untouched example,
    # and each example is labelled with its effect or none.
    identification: bool = False
    variants: float = 0.0  # --variants: the share of examples an effect's variant renders

    @property
    def parameters(self) -> int:
        return sum(len(e.parameters) for e in self.effects)

    def blocks(self, keys: Sequence[tuple[int, int]]) -> Iterator[_Block]:
        """The tasks: blocks of :data:`BLOCK_CLIPS` clips, in file order."""
        for first in range(0, len(keys), BLOCK_CLIPS):
            yield _Block(self, first, tuple(keys[first : first + BLOCK_CLIPS]))


@dataclass(frozen=True)
class _Block:
    job: RenderJob
    first: int  # first clip (row of the scratch file)
    keys: tuple[tuple[int, int], ...]  # (recording index, clip index) per clip, for the rng


@dataclass
class RenderResult:
    """One block's rows, as encoded chunks (see :func:`fxregistry.dataset.rows.encode_chunk`)."""

    first: int  # its first clip
    dry: list[list[bytes]]  # per feature kind, per clip
    wet: list[list[bytes]]  # per feature kind, per example
    residual: list[list[bytes]]  # per feature kind, per example, with residual
    params: np.ndarray  # (examples, parameters), native units
    normalized: np.ndarray
    effect: np.ndarray  # (examples,) index of the effect that rendered each, -1: untouched
    changed: np.ndarray  # (examples,) whether it changed the audio beyond a gain
    dry_audio: list[bytes]  # per clip, with keep_audio
    wet_audio: list[bytes]  # per example, with keep_audio


def settings_for_clip(
    effect: Effect, random_settings: int | None, rng: np.random.Generator
) -> list[dict[str, float]]:
    """The settings one clip is rendered at: the full grid, or N random draws on each scale."""
    if random_settings is None:
        return effect.grid()
    draws = rng.uniform(0.0, 1.0, size=(random_settings, len(effect.parameters)))
    return [effect.denormalize(row) for row in draws]


def examples_of_clip(job: RenderJob, rng: np.random.Generator) -> list[tuple[int, dict]]:
    """``(effect index, setting)`` of each example of one clip, in file order.

    One effect: its settings, as a single-effect file has always had them.
    Identification: the untouched clip first (index -1), then each effect's settings.
    """
    examples = [(-1, {})] if job.identification else []
    for index, effect in enumerate(job.effects):
        examples += [(index, s) for s in settings_for_clip(effect, job.random_settings, rng)]
    return examples


def rendered_by(effect: Effect, share: float, rng: np.random.Generator) -> Effect:
    """What renders one example: one of ``effect``'s variants with odds ``share``, drawn
    uniformly, else the effect itself. Two draws each time, variants or not, so that
    an example's draw does not depend on the effects rendered before it."""
    pick, which = rng.random(), rng.random()
    if pick >= share or not effect.variants:
        return effect
    names = list(effect.variants)
    return effect.variant(names[min(int(which * len(names)), len(names) - 1)])


def _delivered(job: RenderJob, keys: Sequence[tuple[int, int]], clip_of: np.ndarray) -> list:
    """How each example is delivered (a key of ``DELIVERIES``, or None): each kind of
    ``job.deliver`` with its odds, an mp3's bitrate drawn among the few; drawn on the
    clip's own stream, so that the other draws stay as without delivery."""
    if not job.deliver:
        return [None] * len(clip_of)
    kinds, shares = zip(*job.deliver, strict=True)
    edges = np.cumsum(shares)
    rates = [d for d in DELIVERIES if d.startswith("mp3:")]
    chosen = []
    for i, (rec, k) in enumerate(keys):
        rng = clip_rng(job.seed, rec, k, DELIVER_STREAM)
        n = int(np.sum(clip_of == i))
        draws, rate = rng.random(n), rng.integers(len(rates), size=n)
        for u, r in zip(draws, rate, strict=True):
            kind = kinds[int(np.searchsorted(edges, u, side="right"))] if u < edges[-1] else None
            chosen.append(rates[r] if kind == "mp3" else kind)
    return chosen


# A delivered example is labelled as its file shows it: unchanged when its wet, delivered,
# moves from its dry delivered the same way by no more than this many times what the codec
# moves on its own (see shown_by_file).
CODEC_MARGIN = 1.5
# The audio the codec's own movement is measured on: the dry with noise this far below
# full scale, which no effect makes and no listener hears (-120 dBFS).
CODEC_PROBE_RMS = 1e-6


def shown_by_file(
    wet: np.ndarray,
    dry: np.ndarray,
    clip_of: np.ndarray,
    how: list,
    rows: np.ndarray,
    wet_db: np.ndarray | None = None,
) -> np.ndarray:
    """``(len(rows),)``: whether each delivered row's change survives its delivery.

    An mp3 moves every bin of a clip by its own choices, a different noise for
    each input: a quantizer's fine steps, or dynamics that barely touched a
    clip, leave a file no more changed than re-encoding the dry clip with an
    inaudible noise added would. Such an example, labelled by what the effect
    did, would teach an identifier to name effects it cannot hear, and so to
    name them on untouched files. Compared as :func:`gain_change_only` compares
    (the spread of the Mel change), against the codec's own spread on the dry.
    ``wet_db``: the rows' Mel spectrograms, when the caller has them already.
    """
    probe = np.random.default_rng(0).normal(0.0, CODEC_PROBE_RMS, dry.shape[-1])
    probe = probe.astype(np.float32)
    wet_db = spectrogram(wet[rows]) if wet_db is None else wet_db
    reference: dict[tuple[int, str], tuple[np.ndarray, float]] = {}
    shown = np.empty(len(rows), dtype=bool)
    for j, row in enumerate(rows):
        key = (int(clip_of[row]), how[row])
        if key not in reference:
            clip = dry[key[0]]
            encoded = spectrogram(as_delivered(clip, SAMPLE_RATE, key[1]))
            again = spectrogram(as_delivered(clip + probe, SAMPLE_RATE, key[1]))
            own = (again - encoded)[encoded > AUDIBLE_DB]
            reference[key] = encoded, float(own.std()) if own.size else 0.0
        encoded, own_spread = reference[key]
        shown[j] = ~gain_change_only(wet_db[j][None], encoded[None], CODEC_MARGIN * own_spread)[0]
    return shown


def render_block(task: _Block) -> RenderResult:
    """Render one block of clips at its settings and encode every row."""
    job, rows = task.job, len(task.keys)
    scratch = np.memmap(job.scratch, dtype=np.float32, mode="r")
    dry = np.array(scratch.reshape(-1, job.clip_samples)[task.first : task.first + rows])
    dry_features = [spectrogram(dry, cfg) for cfg in job.features]
    identities = [None if e.identity is None else dict(e.identity) for e in job.effects]
    columns = parameter_columns(job.effects)
    wet, params, normalized, effect_of, same_as_dry, clip_of = [], [], [], [], [], []
    for i, ((rec, k), clip) in enumerate(zip(task.keys, dry, strict=True)):
        rng = clip_rng(job.seed, rec, k)
        ways = clip_rng(job.seed, rec, k, VARIANT_STREAM) if job.variants else None
        for e, setting in examples_of_clip(job, rng):
            # At its identity setting an effect returns the dry clip: reuse it
            # and its features instead of rendering and transforming again.
            untouched = e < 0 or setting == identities[e]
            same_as_dry.append(i if untouched else -1)
            clip_of.append(i)
            effect_of.append(e)
            if untouched:
                wet.append(clip)
            else:
                effect = job.effects[e]
                if ways is not None:
                    effect = rendered_by(effect, job.variants, ways)
                wet.append(effect(clip, SAMPLE_RATE, **setting))
            row = np.full((2, job.parameters), np.nan, np.float32)  # absent: NaN
            if e >= 0:
                effect = job.effects[e]
                row[0, columns[e]] = [setting[p.name] for p in effect.parameters]
                row[1, columns[e]] = effect.normalize(setting)
            params.append(row[0])
            normalized.append(row[1])
    wet_audio = np.stack(wet)
    same_as_dry = np.asarray(same_as_dry)
    clip_of = np.asarray(clip_of)
    rendered = same_as_dry < 0
    wet_features = []
    for cfg, dry_spec in zip(job.features, dry_features, strict=True):
        spec = np.empty((len(wet_audio), *dry_spec.shape[1:]), np.float32)
        if rendered.any():
            spec[rendered] = spectrogram(wet_audio[rendered], cfg)
        spec[~rendered] = dry_spec[same_as_dry[~rendered]]
        wet_features.append(spec)
    changed = rendered.copy()
    if job.identification and rendered.any():
        # A setting that only moved this clip's level did nothing an estimate can see. A
        # gain moves every spectrogram band alike, but slides the levels along their bins.
        k = next((k for k, c in enumerate(job.features) if c.kind != "levels"), None)
        if k is None:
            # Levels alone show each sample's level: a compression too gentle to move a Mel
            # band by 0.1 dB still bends them (a detector of it learns from these files).
            for row in np.flatnonzero(rendered):
                changed[row] = not mere_gain_change(dry[clip_of[row]], wet_audio[row])
        else:
            wet_db, dry_db = wet_features[k][rendered], dry_features[k]
            changed[rendered] = ~gain_change_only(wet_db, dry_db[clip_of[rendered]])
    # Delivered after the effect's labels are drawn; a change the delivery buries is
    # then labelled none (shown_by_file).
    how = _delivered(job, task.keys, clip_of)
    delivered = np.array([h is not None for h in how], bool)
    if delivered.any():
        for row in np.flatnonzero(delivered):
            wet_audio[row] = as_delivered(wet_audio[row], SAMPLE_RATE, how[row])
        for cfg, spec in zip(job.features, wet_features, strict=True):
            spec[delivered] = spectrogram(wet_audio[delivered], cfg)
        if job.identification:
            relabel = np.flatnonzero(delivered & changed)
            # The file's Mel spectrograms were just computed, where the build stores Mel.
            mel = [s for c, s in zip(job.features, wet_features, strict=True) if c == MEL]
            wet_db = mel[0][relabel] if mel else None
            changed[relabel] = shown_by_file(wet_audio, dry, clip_of, how, relabel, wet_db)
    residual_features = []
    if job.residual:
        # What the effect added or removed, which the wet spectrogram alone can
        # bury: a faint added noise moves loud Mel bands by hundredths of a dB.
        # Where the wet is the dry clip nothing was added: the floor, not a transform.
        moved = rendered | delivered
        difference = wet_audio[moved] - dry[clip_of[moved]]
        for cfg, wet_spec in zip(job.features, wet_features, strict=True):
            spec = np.full_like(wet_spec, 10.0 * np.log10(cfg.eps))
            if moved.any():
                spec[moved] = spectrogram(difference, cfg)
            residual_features.append(spec)

    def encode(rows: np.ndarray, dtype: str) -> list[bytes]:
        return [encode_chunk(row.astype(dtype, copy=False), job.compress) for row in rows]

    return RenderResult(
        first=task.first,
        dry=[encode(spec, SPECTROGRAM_DTYPE) for spec in dry_features],
        wet=[encode(spec, SPECTROGRAM_DTYPE) for spec in wet_features],
        residual=[encode(spec, SPECTROGRAM_DTYPE) for spec in residual_features],
        params=np.stack(params),
        normalized=np.stack(normalized),
        effect=np.asarray(effect_of, dtype=np.int16),
        changed=changed,
        dry_audio=encode(dry, "f4") if job.keep_audio else [],
        wet_audio=encode(wet_audio, "f4") if job.keep_audio else [],
    )
