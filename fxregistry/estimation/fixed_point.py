"""Blind evidence beyond the network: is the wet audio a fixed point of a setting?

An effect that declares ``projection`` (quantization, band-limiting) leaves
its own output in place when applied again at the same setting, within the
distance it declares. So without the dry audio each grid setting can still
be tested on the wet audio alone: render the wet again at the setting and
measure how far it moved. Measured on real recordings (docs/estimate.md):

- A projection declared at most :data:`EXACT` is exact (quantization): its
  fixed points hold sample for sample, and the test is that. A wet quantized
  to some bit depth is left exactly in place at that depth and every higher
  one; unquantized audio, or quantized audio turned down, at none.
- Otherwise the multi-resolution spectral distance of
  :func:`~fxregistry.audio.features.spectral_distance` (log magnitudes, so
  an emptied high band counts): a wet resampled down and back moves by at
  most 0.066 at its own rate, and mostly more at any other (as little as 0.033
  where the audio has nothing between the two rates); every setting that
  moved it no more than the effect's ``projection`` is in place.

Among settings tied in place (every bit depth from the true one up) the
answer is the strongest, the one that moves a probe of white noise most,
which is the true one. A wet that no setting leaves in place (a lossy
encoding after the effect, or another effect) gives no answer, and the
network's estimate stands. The identity setting, which leaves everything
in place, is never an answer.

A level change after an exact projection (a reference track normalized
after the quantizer) takes the wet off every setting's fixed points, but
not off a grid of evenly spaced levels: :func:`scaled_fixed_point` finds
that grid's step and tests each setting on the wet scaled to its own step.
Which gain was applied is not known, so every setting with as many levels
or more fits; the answer is the strongest, the one that puts the wet's peak
nearest full scale (benchmarks/producer.py ``--normalize``).

In a lossily encoded wet no setting's fixed point holds; how near a
quantizer's levels its samples still lie is :mod:`.gathered`'s test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.features import (
    FFT_SIZES,
    SAME_SAMPLES,
    distance_to,
    magnitudes,
    silence_floors,
    spectral_distance,
)
from fxregistry.audio.io import SAMPLE_RATE, rounding_noise, word_step
from fxregistry.specs.effect import Effect

__all__ = [
    "EXACT",
    "any_fixed_point",
    "exact_projection",
    "coarser_than_word",
    "fills_band",
    "fixed_point_setting",
    "moves",
    "own_step",
    "scaled_fixed_point",
    "strength",
]

EXACT = 0.01  # a projection declared this tight or tighter is exact, sample for sample
PROBE_SECONDS = 1.0
MAX_SETTINGS = 64  # grids larger than this are not searched exhaustively
# Levels from silence to the peak of a scaled grid worth testing: a recording's own
# word length has more unless it is quieter than -42 dBFS (16 bits), and music
# does not fall on a coarse grid by chance (benchmarks/blind_checks.py: none did).
MAX_LEVELS = 256
ON_GRID = 1e-3  # of a step: float32 rounding of a level change, nothing more
RAMP_SAMPLES = 2**17 + 1  # a ramp over full scale, finer than any step tested
# Steps of a file's own word length a setting's grid must span to be told from it: a
# recording is within one step of any grid of 2 (rounding), but not of 4.
WORD_STEPS = 4
# Samples of an integer file, off silence and below half scale, that must all be on a
# setting's grid of codes to confirm it (each is on a grid of two by chance half the time).
MIN_CODES = 64

# Under a file's rounding (16 bits), music that never filled a band is as much a fixed
# point of its limit as a limited render is; the limit shows only where the music fills
# the top of the band a setting passes: the top tenth of the bins a probe of white noise
# keeps within 1 dB, this far over the rounding's silence floor (median over those bins
# and the frames). On 16-bit corpus clips the band-limited band mixes stood 20-26 dB over
# it at their 10th percentile, and the untouched guitar solos that no setting refuted
# 7-17 dB at their median (a one-off probe, docs/estimate.md).
FILLED_DB = 20.0
PASSED_DB = -1.0
TOP_OF_BAND = 0.1

# (effect name, setting) -> how far the setting moves the probe: the same for every wet.
_probe_moved: dict[tuple[str, tuple], float] = {}
# (effect name, setting, rate) -> the step of the setting's fixed points, None if uneven.
_own_steps: dict[tuple[str, tuple, int], float | None] = {}
# (effect name, setting, rate) -> the STFT bins at the top of the band the setting passes.
_band_tops: dict[tuple[str, tuple, int], np.ndarray] = {}


def exact_projection(effect: Effect) -> bool:
    """Whether ``effect`` is a projection exact sample for sample (quantization)."""
    return effect.projection is not None and effect.projection <= EXACT


def strength(effect: Effect, setting: dict[str, float]) -> float:
    """How far ``setting`` moves a probe of white noise (more: a stronger projection)."""
    key = (effect.name, tuple(sorted(setting.items())))
    if key not in _probe_moved:
        rng = np.random.default_rng(0)
        probe = (0.1 * rng.standard_normal(int(PROBE_SECONDS * SAMPLE_RATE))).astype(np.float32)
        _probe_moved[key] = spectral_distance(effect(probe, SAMPLE_RATE, **setting), probe)
    return _probe_moved[key]


def fills_band(
    effect: Effect,
    setting: dict[str, float],
    wet: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    word_bits: int | None = None,
) -> bool:
    """Whether mono ``wet`` fills the top of the band ``setting`` passes :data:`FILLED_DB`
    over the silence of its file's rounding (``word_bits``): a limit whose edge the music
    shows, not a band the music never filled."""
    n_fft = FFT_SIZES[-1]
    top = _top_of_band(effect, setting, sample_rate, n_fft)
    floor = silence_floors(rounding_noise(word_bits), (n_fft,))[0]
    level = magnitudes(wet, n_fft)[:, top]
    return float(np.median(20 * np.log10(np.maximum(level, 1e-12) / floor))) >= FILLED_DB


def _top_of_band(
    effect: Effect, setting: dict[str, float], sample_rate: int, n_fft: int
) -> np.ndarray:
    key = (effect.name, tuple(sorted(setting.items())), sample_rate)
    if key not in _band_tops:
        rng = np.random.default_rng(0)
        probe = (0.1 * rng.standard_normal(int(PROBE_SECONDS * sample_rate))).astype(np.float32)
        before = np.mean(magnitudes(probe, n_fft) ** 2, axis=0)
        after = np.mean(magnitudes(effect(probe, sample_rate, **setting), n_fft) ** 2, axis=0)
        passed = np.flatnonzero(after >= before * 10 ** (PASSED_DB / 10))
        top = int(passed.max()) if passed.size else 0
        _band_tops[key] = np.arange(int(top * (1 - TOP_OF_BAND)), top + 1)
    return _band_tops[key]


def moves(
    effect: Effect, wet: np.ndarray, sample_rate: int = SAMPLE_RATE, word_bits: int | None = None
) -> tuple[list[dict[str, float]], np.ndarray] | None:
    """Each setting tested, and how far re-rendering ``wet`` at it moved it (the least of
    the effect's own render and its variants'); None when the effect declares no
    ``projection`` or has more than :data:`MAX_SETTINGS` settings.

    The measure is the largest sample change relative to the peak for an exact
    projection, else the spectral distance, under which the rounding noise of a
    ``word_bits`` integer file counts as silence. ``wet`` is mono audio at ``sample_rate``.
    """
    settings = effect.changing_grid()
    if effect.projection is None or not settings or len(settings) > MAX_SETTINGS:
        return None
    wet = np.asarray(wet, dtype=np.float32)
    if effect.projection <= EXACT:
        peak = max(float(np.abs(wet).max()), 1e-12)

        def measure(render: np.ndarray) -> float:
            return float(np.abs(render - wet).max()) / peak
    else:
        measure = distance_to(wet, noise=rounding_noise(word_bits))
    # A wet any implementation of the setting leaves in place is that setting's fixed point.
    ways = effect.implementations()
    moved = [min(measure(way(wet, sample_rate, **s)) for way in ways) for s in settings]
    return settings, np.array(moved)


def fixed_point_setting(
    effect: Effect,
    wet: np.ndarray,
    measured: tuple[list[dict[str, float]], np.ndarray] | None = None,
    sample_rate: int = SAMPLE_RATE,
    word_bits: int | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "moved"}`` of the setting ``wet`` is a fixed point of, or None.

    ``moved`` is how far re-rendering moved the wet; ``measured`` is what
    :func:`moves` gave for it, when the caller has it already. ``word_bits``:
    the wet was read from a file of integers that long (:func:`~fxregistry.
    audio.io.word_bits`), so an exact fixed point holds within one of its
    steps, and settings finer than :data:`WORD_STEPS` of them are not told
    from the file's own word length that way; a setting whose grid is a whole
    number of the file's integers is tested on them exactly (:func:`_on_codes`).
    Of the settings a spectral one holds in place, the strongest is the
    answer, not the least moved.
    """
    measured = moves(effect, wet, sample_rate, word_bits) if measured is None else measured
    if measured is None:
        return None
    settings, moved = measured
    if effect.projection <= EXACT:
        word = word_step(word_bits)
        peak = max(float(np.abs(wet).max()), 1e-12)
        in_place = moved <= max(SAME_SAMPLES, word * (1 + ON_GRID) / peak)
        if word:
            coarse = [coarser_than_word(effect, s, sample_rate, word) for s in settings]
            codes = _low_codes(wet, word_bits)
            on = [_on_codes(codes, own_step(effect, s, sample_rate), word_bits) for s in settings]
            in_place = (in_place & np.array(coarse)) | np.array(on)
    else:
        # Every setting in place is tied, not only the least moved: a weaker setting can move
        # the wet less than its own, under a file's rounding noise (what told them apart lay
        # under -100 dB) and where the wet is another resampler's (a steeper one than any
        # the effect knows leaves its passband's top to be cut by its own setting's renders).
        in_place = moved <= effect.projection
    tied = [s for s, hit in zip(settings, in_place, strict=True) if hit]
    if not tied:
        return None
    strongest = max(tied, key=lambda s: strength(effect, s))
    return {"setting": strongest, "moved": float(moved[settings.index(strongest)])}


def any_fixed_point(
    effect: Effect,
    wet: np.ndarray,
    measured: tuple[list[dict[str, float]], np.ndarray],
    sample_rate: int = SAMPLE_RATE,
    word_bits: int | None = None,
) -> dict[str, Any] | None:
    """:func:`fixed_point_setting`, else :func:`scaled_fixed_point`: what the check finds.

    Also the scaled grid where the fixed point held only within a file's rounding
    (an integer file's): a wet of few levels, turned after the effect, falls
    within a step of some fine setting's grid by chance, not of a coarse one.
    """
    found = fixed_point_setting(effect, wet, measured, sample_rate, word_bits)
    if found is None or (word_bits and found["moved"] > SAME_SAMPLES):
        found = scaled_fixed_point(effect, wet, sample_rate, word_bits) or found
    return found


def scaled_fixed_point(
    effect: Effect,
    wet: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    word_bits: int | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "moved", "gain_db"}``: the strongest setting of an exact projection
    whose fixed points ``wet`` is on once a level change of ``gain_db`` after the effect
    is undone; None when ``wet`` is on no coarse grid of levels or no setting fits.
    ``word_bits`` as for :func:`fixed_point_setting`.
    """
    if not exact_projection(effect):
        return None
    word = word_step(word_bits)
    step = _grid_step(wet, word)
    if step is None:
        return None
    peak = float(np.abs(wet).max())
    for setting in sorted(effect.changing_grid(), key=lambda s: -strength(effect, s)):
        own = own_step(effect, setting, sample_rate)
        if own is None or peak * own / step > 1.0 + ON_GRID:  # past full scale: too few levels
            continue
        scaled = (np.asarray(wet, dtype=np.float64) * (own / step)).astype(np.float32)
        moved = float(np.abs(effect(scaled, sample_rate, **setting) - scaled).max())
        if moved <= (ON_GRID * step + word) * own / step:  # within a step of the grid
            return {
                "setting": setting,
                "moved": moved / (peak * own / step),  # relative to the peak, as in moves()
                "gain_db": 20 * np.log10(step / own),
            }
    return None


def coarser_than_word(effect: Effect, setting: dict[str, float], rate: int, word: float) -> bool:
    """Whether ``setting``'s fixed points are far enough apart (:data:`WORD_STEPS` steps
    of the file's word length) that audio of that word length is not on them by
    rounding; settings whose fixed points are no grid of levels are tested as they are."""
    own = own_step(effect, setting, rate)
    return own is None or own >= WORD_STEPS * word * (1 - ON_GRID)


def _low_codes(wet: np.ndarray, word_bits: int) -> np.ndarray:
    """The integers of a ``word_bits`` file that :func:`_on_codes` tests: off silence
    and below half scale, where writers scaling full scale by ``2**(bits-1)`` or by
    that less one round alike."""
    codes = np.round(np.asarray(wet, np.float64) / word_step(word_bits)).astype(np.int64)
    return codes[(codes != 0) & (np.abs(codes) < 2 ** (word_bits - 2))]


def _on_codes(low: np.ndarray, own: float | None, word_bits: int) -> bool:
    """Whether a file's integers (:func:`_low_codes`) are all on a grid of ``own`` (a
    setting's step) when that is a whole number of them, two or more. At two codes
    (14 bits in a 16-bit file) no step's tolerance can tell the grid from the file's
    own rounding; the codes can, exactly."""
    if own is None:
        return False
    per_code = own * 2 ** (word_bits - 1)
    if per_code < 2 - ON_GRID or abs(per_code - round(per_code)) > ON_GRID:
        return False
    # Each code of audio off the grid is on it by chance one time in per_code: this
    # many never are all at once.
    return low.size >= MIN_CODES and not np.any(low % round(per_code))


def _grid_step(wet: np.ndarray, word: float = 0.0) -> float | None:
    """The step of the evenly spaced levels ``wet`` lies on (within ``word``, the step
    of the file's own word length, and :data:`ON_GRID` of its own), if it has at most
    :data:`MAX_LEVELS` of them up to its peak and the step is not the file's own word
    length: a power of two, or under :data:`WORD_STEPS` steps of ``word``."""
    levels = np.unique(np.abs(np.asarray(wet, dtype=np.float64)))
    levels = levels[levels > 0]
    if not 1 <= levels.size <= 2 * MAX_LEVELS:
        return None
    if word:  # a level and its negative, a step apart: a writer scaling them apart
        starts = np.flatnonzero(np.diff(levels, prepend=-np.inf) > 1.5 * word)
        if np.diff(np.append(starts, levels.size)).max() > 2:  # a run of steps: no grid
            return None
        levels = np.add.reduceat(levels, starts) / np.diff(np.append(starts, levels.size))
    if levels.size > MAX_LEVELS:
        return None
    # The smallest gap is a step, give or take the rounding at both ends; refit on the
    # low levels first, where that error cannot yet pick the wrong multiple.
    step = float(np.diff(levels, prepend=0.0).min())
    for span in (8, 64, MAX_LEVELS):
        near = levels[levels <= (span + 0.5) * step]
        if near.size == 0:  # the smallest gap is between loud levels: no grid from silence
            return None
        multiples = np.maximum(np.round(near / step), 1)
        step = float(multiples @ near / (multiples @ multiples))
    multiples = np.round(levels / step)
    if multiples[-1] > MAX_LEVELS or step < WORD_STEPS * word:
        return None
    if np.abs(levels - multiples * step).max() > ON_GRID * step + word:
        return None
    if abs(np.log2(step) - np.round(np.log2(step))) < ON_GRID:
        return None
    return step


def own_step(effect: Effect, setting: dict[str, float], sample_rate: int) -> float | None:
    """The step of the evenly spaced levels ``setting`` renders a full-scale ramp to,
    or None when they are not evenly spaced (fixed points that are no grid of levels)."""
    key = (effect.name, tuple(sorted(setting.items())), sample_rate)
    if key not in _own_steps:
        ramp = np.linspace(-1.0, 1.0, RAMP_SAMPLES, dtype=np.float32)
        levels = np.unique(effect(ramp, sample_rate, **setting).astype(np.float64))
        gaps = np.diff(levels)
        even = levels.size > 1 and gaps.max() - gaps.min() <= ON_GRID * gaps.min()
        _own_steps[key] = float(gaps.min()) if even else None
    return _own_steps[key]
