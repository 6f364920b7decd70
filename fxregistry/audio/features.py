"""Spectrogram features (the study's Mel spectrogram) and spectral distances.

The feature configuration is a frozen dataclass stored with every dataset and
run, so a model is always fed what it was trained on.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fxregistry.audio.io import SAMPLE_RATE

if TYPE_CHECKING:  # torch tensors are accepted, never needed
    import torch

__all__ = [
    "KINDS",
    "LEVELS_FLOOR_DB",
    "SAME_SAMPLES",
    "FeatureConfig",
    "at_best_gain",
    "distance_to",
    "gain_change_only",
    "mere_gain_change",
    "spectral_distance",
    "spectrogram",
]

KINDS = ("mel", "stft", "levels")
# The quietest sample level the ``levels`` kind tells apart (quieter ones share its
# lowest bin): 64 dB in 128 bins of 0.5 dB, from the noise of a recording to the
# few tenths of a dB below full scale where a dynamics effect's knee and ceiling lie.
LEVELS_FLOOR_DB = -64.0
# Mel bins below this carry too little of the dry to say how an effect moved them.
AUDIBLE_DB = -80.0
# A wet spectrogram within this (standard deviation, dB) of its dry one moved by one
# constant is a mere gain change; float16 storage alone moves bins by 0.03 dB.
GAIN_TOLERANCE_DB = 0.1
# Samples that moved no more than this (relative to the peak) did not move: float32
# rounding, nothing more.
SAME_SAMPLES = 1e-6


@dataclass(frozen=True)
class FeatureConfig:
    """The paper's features: 44.1 kHz mono, STFT 1024/512 Hann, 128 Mel bands, power in dB.

    ``kind`` is ``"mel"`` (the paper's), ``"stft"`` (linear frequency,
    ``n_fft // 2 + 1`` bins) or ``"levels"``: the same frames, each as the
    share of its samples at each level (``n_mels`` bins of sample magnitude
    from :data:`LEVELS_FLOOR_DB` to full scale), in dB. A spectrogram hides
    what a dynamics effect does to samples (how many it holds at the ceiling, where
    its knee bends the levels below); this shows it, frame by frame.
    """

    kind: str = "mel"
    sample_rate: int = SAMPLE_RATE
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    power: float = 2.0
    eps: float = 1e-10

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1 if self.kind == "stft" else self.n_mels

    def frames(self, samples: int) -> int:
        """Frames of a centred STFT over ``samples`` samples."""
        return samples // self.hop_length + 1

    def shape(self, samples: int) -> tuple[int, int]:
        """``(bins, frames)`` of the spectrogram of ``samples`` samples."""
        return (self.bins, self.frames(samples))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Samples transformed at once: about a megabyte of frames, which stays in the cache;
# fifteen 2 s clips at once took nearly twice as long as one at a time.
_CHUNK_SAMPLES = 1 << 17
_BANDS_AT_ONCE = 16  # Mel bands per block of the filterbank (_filterbank_blocks)


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


@functools.lru_cache(maxsize=8)
def _filterbank(config: FeatureConfig) -> np.ndarray:
    """torchaudio's HTK Mel filterbank ``(n_fft // 2 + 1, n_mels)``.

    ``melscale_fbanks(n_fft // 2 + 1, 0, sample_rate / 2, n_mels, sample_rate)``
    ported to numpy, computed in float64: torchaudio's float32 arithmetic
    is itself 1e-5 off these weights, which moves a band by 2e-4 dB at most.
    The paper's 128 bands over a 1024-point FFT leave the lowest bands
    without an FFT bin; the study lived with it.
    """
    all_freqs = np.linspace(0, config.sample_rate // 2, config.n_fft // 2 + 1)
    mels = np.linspace(_hz_to_mel(0.0), _hz_to_mel(config.sample_rate / 2), config.n_mels + 2)
    edges = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    widths = np.diff(edges)
    slopes = edges[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _filterbank_blocks(config: FeatureConfig) -> tuple[tuple[slice, slice, np.ndarray], ...]:
    """The filterbank as ``(bins, bands, weights)`` blocks of neighbouring bands.

    A band weighs a few FFT bins only: 16 neighbouring bands weigh an eighth
    of the dense matrix, and the blocks' products are four times faster than
    the dense one.
    """
    dense = _filterbank(config)
    blocks = []
    for start in range(0, config.n_mels, _BANDS_AT_ONCE):
        bands = slice(start, start + _BANDS_AT_ONCE)
        weighed = np.flatnonzero(dense[:, bands].any(axis=1))
        bins = slice(weighed[0], weighed[-1] + 1) if weighed.size else slice(0, 0)
        blocks.append((bins, bands, np.ascontiguousarray(dense[bins, bands])))
    return tuple(blocks)


def _mel(power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``(..., bins)`` power -> ``(..., n_mels)``: ``power @ _filterbank(config)``."""
    out = np.empty((*power.shape[:-1], config.n_mels), dtype=np.float32)
    for bins, bands, weights in _filterbank_blocks(config):
        out[..., bands] = power[..., bins] @ weights
    return out


@functools.lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    """The periodic Hann window, as ``torch.hann_window``."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _stft(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``(..., samples)`` -> ``(..., frames, bins)``: ``torch.stft``, centred, reflect-padded."""
    return np.fft.rfft(_frames(x, n_fft, hop_length) * _hann(n_fft), axis=-1)


def _frames(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``(..., samples)`` -> ``(..., frames, n_fft)``: centred, reflect-padded, as torch.stft."""
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    padded = np.pad(x, pad, mode="reflect")
    return sliding_window_view(padded, n_fft, axis=-1)[..., ::hop_length, :]


def _levels_db(clips: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``(n, samples)`` -> ``(n, bins, frames)``: each frame's share of samples per level, dB.

    The level bins are even in dB from :data:`LEVELS_FLOOR_DB` up; the top
    one also holds whatever is at or above full scale.
    """
    width = -LEVELS_FLOOR_DB / config.n_mels
    quietest = 10.0 ** (LEVELS_FLOOR_DB / 20)  # and silence: the lowest bin
    level = 20.0 * np.log10(np.maximum(np.abs(clips, dtype=np.float64), quietest))
    bins = np.minimum((level - LEVELS_FLOOR_DB) / width, config.n_mels - 1).astype(np.int64)
    framed = _frames(bins, config.n_fft, config.hop_length)  # (n, frames, n_fft)
    n, frames = framed.shape[:2]
    rows = np.arange(n * frames).reshape(n, frames, 1) * config.n_mels
    counts = np.bincount((rows + framed).ravel(), minlength=n * frames * config.n_mels)
    share = counts.reshape(n, frames, config.n_mels) / config.n_fft
    return 10.0 * np.log10(share.swapaxes(-1, -2) + config.eps)


def _power_db(clips: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``(n, samples)`` -> ``(n, bins, frames)`` dB."""
    if config.kind == "levels":
        return _levels_db(clips, config)
    spec = _stft(clips, config.n_fft, config.hop_length)
    power = np.abs(spec) ** config.power
    if config.kind == "mel":
        power = _mel(power, config)
    # float32's log10 is an ulp off: silence would read -100.00001 dB, not the floor -100.
    return 10.0 * np.log10(power.swapaxes(-1, -2) + config.eps, dtype=np.float64)


def spectrogram(
    audio: np.ndarray | torch.Tensor, config: FeatureConfig = FeatureConfig()
) -> np.ndarray:
    """dB spectrogram ``10·log10(S + eps)`` of ``(..., samples)`` audio -> ``(..., bins, frames)``.

    The same numbers as ``torchaudio.transforms.MelSpectrogram`` (centred,
    reflect-padded Hann STFT, power 2, HTK Mel filterbank), computed with
    numpy so that estimating needs no torch, a few seconds of audio at a time.
    """
    x = np.asarray(audio, dtype=np.float32)
    flat = x.reshape(-1, x.shape[-1])
    step = max(1, _CHUNK_SAMPLES // flat.shape[-1])
    out = np.empty((len(flat), *config.shape(flat.shape[-1])), dtype=np.float32)
    for start in range(0, len(flat), step):
        out[start : start + step] = _power_db(flat[start : start + step], config)
    return out.reshape(*x.shape[:-1], *out.shape[1:])


# The multi-resolution spectral distance's STFT sizes, short (onsets) to long (partials).
FFT_SIZES = (256, 1024, 4096)


def spectral_distance(
    a: np.ndarray, b: np.ndarray, fft_sizes: tuple[int, ...] = FFT_SIZES
) -> float:
    """Multi-resolution log-magnitude STFT distance between two signals (0 = identical).

    The mean absolute difference of log-magnitudes over several window sizes:
    short windows see transients and attacks, long ones fine pitch and
    echoes.
    """
    return distance_to(b, fft_sizes)(a)


def distance_to(
    target: np.ndarray, fft_sizes: tuple[int, ...] = FFT_SIZES, noise: float = 0.0
) -> Callable[[np.ndarray], float]:
    """``spectral_distance(candidate, target)`` as a function of the candidate.

    The target's spectra are computed once: a search that renders many
    candidates against one wet pays for half the STFTs. ``noise``: the rms
    of white noise the target carries that is not the audio's (a file's
    rounding to its word length), under which every magnitude counts as
    silence: else a band the effect emptied reads as filled by it.
    """
    floors = silence_floors(noise, fft_sizes)
    target_logs = [_log_magnitude(target, n, f) for n, f in zip(fft_sizes, floors, strict=True)]

    def distance(candidate: np.ndarray) -> float:
        total = 0.0
        for n_fft, floor, logs in zip(fft_sizes, floors, target_logs, strict=True):
            total += float(np.mean(np.abs(_log_magnitude(candidate, n_fft, floor) - logs)))
        return total / len(fft_sizes)

    return distance


LOG_FLOOR = 1e-5  # STFT magnitudes are read in log10 above this
# White noise of rms s has Hann-windowed STFT magnitudes of rms s * sqrt(3 n / 8);
# this many times that, it almost never reaches.
NOISE_MARGIN = 4.0


def silence_floors(noise: float, fft_sizes: tuple[int, ...] = FFT_SIZES) -> list[float]:
    """The STFT magnitude under which :func:`distance_to` counts everything as silence,
    per FFT size, for a target carrying white noise of rms ``noise`` (a file's rounding)."""
    return [max(LOG_FLOOR, NOISE_MARGIN * noise * np.sqrt(3 * n / 8)) for n in fft_sizes]


def noise_hides(noise: float) -> bool:
    """Whether white noise of rms ``noise`` raises :func:`distance_to`'s silence: then a
    band the music never filled and one an effect emptied read alike (16-bit rounding
    does; 24-bit rounding does not)."""
    return max(silence_floors(noise)) > LOG_FLOOR


def magnitudes(audio: np.ndarray, n_fft: int) -> np.ndarray:
    """``(samples,)`` -> ``(frames, bins)``: the STFT magnitudes :func:`distance_to` reads
    (Hann window of ``n_fft``, hop a quarter of it)."""
    return np.abs(_stft(np.asarray(audio, dtype=np.float32), n_fft, n_fft // 4))


def _log_magnitude(audio: np.ndarray, n_fft: int, floor: float = LOG_FLOOR) -> np.ndarray:
    stft = magnitudes(audio, n_fft)
    if floor > LOG_FLOOR:  # a noise floor: all of it is silence, equally
        return np.log10(np.maximum(stft, floor))
    return np.log10(stft + floor)


def gain_change_only(
    wet_db: np.ndarray, dry_db: np.ndarray, tolerance_db: float = GAIN_TOLERANCE_DB
) -> np.ndarray:
    """``(n, bins, frames)`` dB twice -> ``(n,)``: is each wet its dry moved by one gain?

    True when every bin the dry fills (above :data:`AUDIBLE_DB`) moved by the
    same amount, within ``tolerance_db``: what a dynamics effect does to
    audio that never reaches its threshold (make-up gain, nothing else). Such a wet
    cannot be told from the dry at another level, so no estimate of the
    effect can be made from it.
    """
    wet_db, dry_db = np.asarray(wet_db, np.float32), np.asarray(dry_db, np.float32)
    verdicts = np.empty(len(wet_db), dtype=bool)
    for i, (w, d) in enumerate(zip(wet_db, dry_db, strict=True)):
        change = (w - d)[d > AUDIBLE_DB]
        verdicts[i] = change.size > 0 and float(change.std()) < tolerance_db
    return verdicts


def at_best_gain(dry: np.ndarray, wet: np.ndarray) -> np.ndarray:
    """The dry (float64) scaled by the gain that brings it closest to ``wet``."""
    dry64 = np.asarray(dry, np.float64)
    # vdot: over every sample of every channel.
    return dry64 * (float(np.vdot(dry64, wet) / max(float(np.vdot(dry64, dry64)), 1e-30)))


def mere_gain_change(dry: np.ndarray, wet: np.ndarray) -> bool:
    """Is ``wet`` the dry at another level, sample for sample (float32 rounding aside)?

    Measured once on benchmarks/producer.py's corpus clips: a dynamics effect that
    never reached its threshold moves no sample by more than 6e-8 of the peak
    beyond its gain; a 15-bit quantization moves samples by 1e-5 of it or more,
    and a dynamics effect that caught a few peaks by 8 %.
    """
    wet64 = np.asarray(wet, np.float64)
    if not wet64.any():  # silenced (a coarse quantizer's output of quiet audio): a change
        return not np.any(dry)
    moved = float(np.abs(wet64 - at_best_gain(dry, wet64)).max())
    return moved <= SAME_SAMPLES * float(np.abs(wet64).max())
