"""A dry clip as its drawn augmentations make it (:mod:`.augment` draws them).

pedalboard does the filtering, the room and the drive; numpy shapes the
dynamics, the noise floor and the silences. The order is the
augmentations' (:data:`~fxregistry.dataset.augment.AUGMENTATIONS`' comment).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fxregistry.dataset.augment import AugmentPolicy, draw_augmentations

__all__ = ["PRE_ROLL_SECONDS", "augment_clip", "drive"]

# Seconds of the recording before a clip that go through the room and filters
# too (then are dropped): a clip cut from a reverberant recording starts with
# the tail of what came before, not with a silent room.
PRE_ROLL_SECONDS = 0.5


def _board(drawn: dict[str, Any], sample_rate: int) -> Any:
    # Imported here: the command line reads the policy without loading pedalboard.
    import pedalboard

    plugins = []
    if "room" in drawn:
        room = drawn["room"]
        plugins.append(
            pedalboard.Reverb(
                room_size=room["room_size"],
                damping=room["damping"],
                wet_level=room["wet_level"],
                dry_level=1.0,
                width=0.0,  # mono clips
            )
        )
    if "colour" in drawn:
        c = drawn["colour"]
        nyquist_margin = 0.45 * sample_rate  # a lowpass above Nyquist is not a filter
        plugins += [
            pedalboard.HighpassFilter(cutoff_frequency_hz=c["highpass_hz"]),
            pedalboard.LowpassFilter(cutoff_frequency_hz=min(c["lowpass_hz"], nyquist_margin)),
            pedalboard.PeakFilter(
                cutoff_frequency_hz=min(c["peak_hz"], nyquist_margin),
                gain_db=c["peak_gain_db"],
                q=c["peak_q"],
            ),
            pedalboard.LowShelfFilter(
                cutoff_frequency_hz=c["low_shelf_hz"], gain_db=c["low_shelf_gain_db"]
            ),
            pedalboard.HighShelfFilter(
                cutoff_frequency_hz=min(c["high_shelf_hz"], nyquist_margin),
                gain_db=c["high_shelf_gain_db"],
            ),
        ]
    return pedalboard.Pedalboard(plugins)


def _noise_floor(
    kind: str, level_db: float, reference: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Noise ``level_db`` below the RMS of ``reference``, white or pink (1/f power)."""
    noise = rng.standard_normal(reference.size)
    if kind == "pink":
        spectrum = np.fft.rfft(noise)
        f = np.arange(spectrum.size, dtype=np.float64)
        f[0] = 1.0  # no DC boost
        noise = np.fft.irfft(spectrum / np.sqrt(f), n=reference.size)
    rms = math.sqrt(float(np.mean(np.square(reference, dtype=np.float64))))
    noise_rms = math.sqrt(float(np.mean(np.square(noise)))) or 1.0
    return (noise * (rms * 10 ** (level_db / 20) / noise_rms)).astype(np.float32)


def augment_clip(
    audio: np.ndarray,
    start: int,
    samples: int,
    policy: AugmentPolicy,
    rng: np.random.Generator,
    sample_rate: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """``(clip, drawn)``: ``audio[start:start + samples]`` as ``policy`` augments it.

    ``drawn`` is what was applied (empty: the clip is returned as it was).
    The room and filters also run over up to :data:`PRE_ROLL_SECONDS` of
    ``audio`` before the clip, which is then dropped.
    """
    clip = audio[start : start + samples]
    drawn = draw_augmentations(policy, rng)
    if not drawn:
        return clip, drawn
    if "room" in drawn or "colour" in drawn:
        first = max(0, start - int(PRE_ROLL_SECONDS * sample_rate))
        context = np.asarray(audio[first : start + samples], np.float32)
        board = _board(drawn, sample_rate)
        clip = board(context[None, :], sample_rate)[0, start - first :].astype(np.float32)
    if "dynamics" in drawn:
        d = drawn["dynamics"]
        where = np.linspace(0, 1, clip.size)
        clip = clip * (10 ** (np.interp(where, d["at"], d["gain_db"]) / 20)).astype(np.float32)
    if "noise" in drawn:
        noise = drawn["noise"]
        clip = clip + _noise_floor(noise["kind"], noise["level_db"], clip, rng)
    if "drive" in drawn:
        clip = drive(clip, drawn["drive"]["kind"], drawn["drive"]["drive_db"], sample_rate)
    if "silence" in drawn:
        clip = clip * _gaps(drawn["silence"], clip.size, sample_rate)
    return np.ascontiguousarray(clip, np.float32), drawn


def drive(clip: np.ndarray, kind: str, drive_db: float, sample_rate: int) -> np.ndarray:
    """``clip`` driven ``drive_db`` past saturation (``soft``: pedalboard.Distortion's tanh)
    or clipping (``hard``: pedalboard.Clipping), then turned back to its own peak."""
    import pedalboard

    peak = float(np.abs(clip).max())
    if peak == 0.0:
        return clip
    unit = (clip / peak).astype(np.float32)
    if kind == "soft":
        plugin = pedalboard.Distortion(drive_db=drive_db)
    else:
        plugin = pedalboard.Clipping(threshold_db=-drive_db)
    driven = plugin(unit, sample_rate)
    return (driven * (peak / max(float(np.abs(driven).max()), 1e-30))).astype(np.float32)


def _gaps(silence: dict[str, Any], samples: int, sample_rate: int) -> np.ndarray:
    """A gain of 1 with each gap at exactly 0, reached by raised-cosine fades outside it."""
    gain = np.ones(samples, np.float32)
    fade = max(1, int(silence["fade_ms"] * sample_rate / 1000))
    # Rising from just above 0 to just below 1: the zeros are the gap's alone.
    ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / (fade + 1))).astype(np.float32)
    for a, b in silence["gaps"]:
        first, last = int(a * samples), int(b * samples)
        gain[first:last] = 0.0
        out = slice(max(0, first - fade), first)  # fade out before the gap
        gain[out] = np.minimum(gain[out], ramp[::-1][fade - (out.stop - out.start) :])
        into = slice(last, min(samples, last + fade))  # and in after it
        gain[into] = np.minimum(gain[into], ramp[: into.stop - into.start])
    return gain
