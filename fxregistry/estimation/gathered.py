"""Blind evidence in a lossy file: do a quantizer's levels still gather the samples?

A lossy codec after an exact projection (a quantized wet delivered as an
mp3) moves every sample off the setting's fixed points (:mod:`.fixed_point`),
by an error that grows with the music's level; where that error is well
under a step, the samples still gather at the grid's levels. How much they
gather is the length of the mean of exp(2 pi i (sample - its render) /
step), 1 on the levels and near 0 off them, and it is measured against the
same music half a sample later, which lies on no grid: music whose runs of
equal samples or quiet passages fall on a coarse grid by chance gathers as
much either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.io import SAMPLE_RATE, word_step
from fxregistry.estimation.fixed_point import (
    coarser_than_word,
    exact_projection,
    own_step,
    strength,
)
from fxregistry.specs.effect import Effect

__all__ = ["GATHERED", "near_fixed_point"]

# In a lossy file (an mp3), how much more a setting's levels gather the wet's samples than
# they gather the same music half a sample later (:func:`near_fixed_point`). Probed on
# mp3s of 3 corpora x 5 groups (guitar, band, drums, bass, keys), 6 clips each at their
# own peaks and at -20 ... -1 dBFS: every other effect's output and the untouched clips
# gathered at most 0.086 more at any setting tested (2**-2 to 2**-13 of full scale a
# step), the quantized ones at their own setting 0.21-0.42 at the 10th percentile for
# steps of 2**-7 to 2**-12 (benchmarks/gathered_levels.py; docs/estimate.md). Coarse
# settings gather music by chance (its runs of equal samples fall on a level), and music
# recorded at 16 bits keeps that grid through a codec with bits to spare (at a step of
# 2**-15, 677 of those 1758 wets gathered over 0.1 more, most of them other effects'
# output), as a 16-bit file keeps its rounding: settings within WORD_STEPS of CODEC_BITS'
# step are not tested, and the network answers for both. At 128 kbps (producer.py --kbps
# 128) the probe's bound did not hold: an untouched fluid guitar solo gathered 0.27 at a
# step of 2**-13, and a clip peaking under two steps of 2**-2 gathered 0.34 (its few
# samples above a step lie mostly just above the first level, and half a sample later too,
# but not alike). So the threshold is 0.3, and a setting is tested only where the wet's
# peak spans MIN_STEPS of its steps: over fewer, no music is spread evenly between its
# levels.
GATHERED = 0.3
CODEC_BITS = 16
MIN_STEPS = 4
MIN_GATHERED_SAMPLES = 1000  # a step or more from silence, where a grid's levels lie


def near_fixed_point(
    effect: Effect, wet: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> dict[str, Any] | None:
    """``{"setting", "moved", "gathered"}``: the strongest setting of an exact projection
    whose levels a lossily encoded ``wet`` still gathers at (:data:`GATHERED`), or None.

    ``gathered`` is how much more the samples sit at the setting's levels than
    the same music half a sample later does; ``moved`` as in
    :func:`~fxregistry.estimation.fixed_point.moves`.
    """
    if not exact_projection(effect):
        return None
    wet = np.asarray(wet, dtype=np.float32)
    later = _half_sample_later(wet)
    word = word_step(CODEC_BITS)
    peak = max(float(np.abs(wet).max()), 1e-12)
    found = []
    for setting in effect.changing_grid():
        own = own_step(effect, setting, sample_rate)
        if own is None or peak < MIN_STEPS * own:
            continue
        if not coarser_than_word(effect, setting, sample_rate, word):
            continue
        gathered = _gathering(effect, setting, wet, own, sample_rate) - _gathering(
            effect, setting, later, own, sample_rate
        )
        if gathered >= GATHERED:
            found.append((setting, gathered))
    if not found:
        return None
    setting, gathered = max(found, key=lambda f: strength(effect, f[0]))
    moved = float(np.abs(effect(wet, sample_rate, **setting) - wet).max()) / peak
    return {"setting": setting, "moved": moved, "gathered": float(gathered)}


def _gathering(
    effect: Effect, setting: dict[str, float], audio: np.ndarray, own: float, rate: int
) -> float:
    """How tightly ``audio``'s samples sit at ``setting``'s levels (a step ``own`` apart):
    the length of the mean of exp(2 pi i (sample - its render) / step) over the samples a
    step or more from silence; 1 on the levels, near 0 for audio off them."""
    away = np.abs(audio) >= own
    if np.count_nonzero(away) < MIN_GATHERED_SAMPLES:
        return 0.0
    off = (audio[away] - effect(audio, rate, **setting)[away]).astype(np.float64) / own
    return float(np.abs(np.mean(np.exp(2j * np.pi * off))))


def _half_sample_later(audio: np.ndarray) -> np.ndarray:
    """``audio`` half a sample later (its spectrum kept, its phases turned, circularly):
    the same music, on no grid of levels."""
    spectrum = np.fft.rfft(audio.astype(np.float64))
    spectrum *= np.exp(-1j * np.pi * np.fft.rfftfreq(audio.size))
    return np.fft.irfft(spectrum, audio.size).astype(np.float32)
