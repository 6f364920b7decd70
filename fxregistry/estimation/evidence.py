"""What the wet audio alone says of an effect, beside the network: the blind checks.

An effect supports a check by declaring a property of itself; the core
never names an effect:

- ``projection``: the fixed-point check (:mod:`.fixed_point`). The effect's
  output is a fixed point of its own setting, so a wet that is a fixed point
  of no setting was not processed by it (*refuted*). An exact fixed point
  (quantization) is not found by chance, so one *confirms* the effect,
  and so does one that holds once a level change after the effect is
  undone (a normalized wet still lies on a grid of levels, only a scaled
  one); a spectral one only gives the setting (band-limited recordings are fixed
  points of a band limit they never passed through), and *locates* it
  when the wet moved well within the tolerance (:data:`LOCATED`).
- ``linear``: the echo check (:mod:`.echoes`). A score of ``ECHO_SCORE`` or
  more at some setting, as strong as ``ECHO_SHARE`` of its own echoes,
  *confirms* the effect; no train of its echoes
  (``TRAIN_SCORE``) at any time between its settings' *refutes* it.
- ``ceiling``: the held-peaks check. An effect that limits peaks holds each
  at its ceiling, so a limited wet has many samples there (up to about 5,000
  in a 2 s clip of our recordings); audio it only turned up has one, its
  peak (benchmarks/blind_checks.py). :data:`HELD_PEAKS` or more samples at
  the ceiling *confirm* the effect. A level change after the effect (a
  normalized reference track) moves the ceiling, but the held samples stay
  equal to each other, so where no sample is at the ceiling,
  :data:`HELD_PEAKS` or more exactly at the wet's own peak confirm it too,
  unless the wet has few levels (a coarse quantizer's output repeats each).
  Music has its peak sample once or twice (benchmarks/producer.py
  ``--normalize``). None *refutes* it (no limiting was done, so at most a
  gain change), unless the effect declares ``gentle_peak_db`` and the wet
  peaks above it: a gentler compression that holds no peak may have been
  done there, and the check says nothing.

The fixed-point and echo checks also say which setting, when they find one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fxregistry.audio.features import noise_hides
from fxregistry.audio.io import SAMPLE_RATE, resample, rounding_noise
from fxregistry.estimation.echoes import TRAIN_SCORE, confirms, echo_setting
from fxregistry.estimation.fixed_point import (
    MAX_LEVELS,
    any_fixed_point,
    exact_projection,
    fills_band,
    moves,
)
from fxregistry.estimation.gathered import near_fixed_point
from fxregistry.specs.effect import Effect

__all__ = [
    "CONFIRMED",
    "LOCATED",
    "REFUTED",
    "Evidence",
    "answered_setting",
    "blind_evidence",
    "can_confirm",
    "check_of",
    "finds_settings",
]

CONFIRMED, REFUTED = "confirmed", "refuted"
HELD_PEAKS = 3  # samples at the ceiling that only limiting holds there
AT_CEILING_DB = 0.01  # within this of the ceiling a sample is held there
# A gentle change's quietest peak, read from a file: a 16-bit one rounds it by far less.
GENTLE_MARGIN_DB = 0.05
# A spectral fixed point locates its setting only within this share of the effect's
# tolerance (Effect.projection): a positive claim, where the check refutes beyond all of
# it. On real recordings a band limit's own output moved at most 0.066 of 0.1
# (benchmarks/blind_checks.py), 0.068 in a probe of 8 groups at the levels; the
# one untouched clip the check did not refute, a drum groove with little above 16 kHz,
# moved 0.090 (docs/estimate.md).
LOCATED = 0.75


@dataclass(frozen=True)
class Evidence:
    """One check's answer for one effect on one wet.

    ``verdict`` is :data:`CONFIRMED`, :data:`REFUTED` or None (the check
    says nothing of whether the effect was applied). ``setting`` is the
    setting it found, if any; ``found`` is the check's own result (what
    ``estimate --json`` shows under ``fixed_point`` or ``echoes``).
    """

    check: str  # "fixed_point", "echoes" or "held_peaks": its key in estimate --json
    verdict: str | None
    setting: dict[str, float] | None
    found: dict[str, Any] | None
    exact: bool = False  # an exact fixed point: a confirmation no chance can give
    # Said nothing because what the check reads may not be in this wet though the effect
    # was applied (a gentle compression holds no peak; a band limit under a 16-bit file's
    # rounding): the network's word alone is weak.
    beyond_reach: bool = False
    # Found the setting the wet is a fixed point of, well within the check's tolerance
    # (:data:`LOCATED`), though it cannot confirm it (a band limit); in a file whose
    # rounding hides what lies above the band, only where the music fills it to its top.
    located: bool = False


def check_of(effect: Effect) -> str | None:
    """The check ``effect`` supports ("fixed_point", "echoes", "held_peaks"), or None."""
    if effect.projection is not None:
        return "fixed_point"
    if effect.linear:
        return "echoes"
    return None if effect.ceiling is None else "held_peaks"


def finds_settings(effect: Effect) -> bool:
    """Whether the check ``effect`` supports can say which setting (fixed points, echoes)."""
    return check_of(effect) in ("fixed_point", "echoes")


def can_confirm(effect: Effect) -> bool:
    """Whether the check ``effect`` supports can confirm it (else refute it at most)."""
    return exact_projection(effect) or effect.linear or effect.ceiling is not None


def blind_evidence(
    effect: Effect,
    wet: np.ndarray,
    exact: bool = True,
    sample_rate: int = SAMPLE_RATE,
    word_bits: int | None = None,
) -> Evidence | None:
    """The check ``effect`` supports, run on mono ``wet``; None if it supports none.

    ``exact`` says the wet's samples are as the effect left them; a lossily
    encoded file's are not, and the checks that need them can then neither
    confirm nor refute: held peaks, and fixed points (a codec's noise moves
    a band-limited wet further than a band limit does), except that samples
    still gathered at a quantizer's levels confirm it. ``sample_rate`` is the
    wet's, the rate the effect rendered at: the fixed points are tested at it
    (a resampled quantized wet is no longer quantized), the echoes at 44.1 kHz.
    ``word_bits``: the wet was read from a file of integers that long
    (:func:`~fxregistry.audio.io.word_bits`), which the fixed points allow for.
    """
    wet = np.ascontiguousarray(wet, dtype=np.float32)
    return _check(effect, wet, exact, int(sample_rate), word_bits)


def answered_setting(evidence: Evidence | None) -> dict[str, float] | None:
    """The setting a blind estimate answers in place of the network's: the one the
    check found (an exact fixed point, an impulse response's echoes), or None where
    it found none and the network's stands."""
    return None if evidence is None else evidence.setting


def _check(
    effect: Effect, wet: np.ndarray, exact: bool, rate: int, word_bits: int | None
) -> Evidence | None:
    if not exact:
        # A codec's error hides held peaks and a band limit's edge, and takes every sample
        # off a quantizer's levels, but less than a coarse step: the samples gather there.
        near = near_fixed_point(effect, wet, rate)
        if near is not None:
            return Evidence("fixed_point", CONFIRMED, near["setting"], near)
        if effect.ceiling is not None or effect.projection is not None:
            return None
    if effect.projection is not None:
        measured = moves(effect, wet, rate, word_bits)
        if measured is None:  # too many settings to search
            return None
        found = any_fixed_point(effect, wet, measured, rate, word_bits)
        if found is None:
            return Evidence("fixed_point", REFUTED, None, None)
        exact = exact_projection(effect)
        verdict = CONFIRMED if exact else None
        # In a file whose rounding the check counts as silence (16 bits), music that never
        # filled a band is a fixed point of its limit as much as a limited render is: a
        # guitar solo's top at 14 kHz is the 32 kHz setting's (docs/estimate.md). Unless
        # the music fills the band to its top, the check neither locates nor confirms
        # there, and the network's word alone is weak.
        rounded = noise_hides(rounding_noise(word_bits))
        hidden = (
            not exact and rounded and not fills_band(effect, found["setting"], wet, rate, word_bits)
        )
        # Well within by some setting, not only by the strongest in place (the answer): a
        # band limit's render holds its own setting best, and where the music has little
        # between its band and a stronger setting's, that stronger one is in place too but
        # moves it further. Measured: docs/estimate.md ("other-closest").
        # Not under a 16-bit file's rounding, where weaker settings move music that never
        # filled the band as little: there it located untouched guitar solos as band-limited
        # (producer.py --bits 16 --tag 16bit-closest, docs/estimate.md).
        closest = found["moved"] if rounded else float(np.min(measured[1]))
        located = not exact and not hidden and closest <= LOCATED * effect.projection
        return Evidence(
            "fixed_point",
            verdict,
            found["setting"],
            found,
            exact,
            beyond_reach=hidden,
            located=located,
        )
    if effect.linear:
        found = echo_setting(effect, resample(wet, rate, SAMPLE_RATE))
        if found is None:
            return None
        if confirms(found):
            return Evidence("echoes", CONFIRMED, found["setting"], found)
        if found["peak"] < TRAIN_SCORE:
            return Evidence("echoes", REFUTED, None, found)
        # A train of echoes at no grid setting: the effect between two settings, or music
        # that repeats (a walking bass line), which the check cannot tell apart.
        return Evidence("echoes", None, None, found, beyond_reach=True)
    if effect.ceiling is not None:
        magnitudes = np.abs(wet)
        peak = float(magnitudes.max())
        level = effect.ceiling
        held = int(np.sum(magnitudes >= level * 10 ** (-AT_CEILING_DB / 20)))
        if held == 0:  # turned down after the effect, or never limited
            at_peak = int(np.sum(magnitudes == peak))
            # A coarse quantizer's output repeats each of its few levels, its peak too.
            if at_peak >= HELD_PEAKS and np.unique(magnitudes).size > MAX_LEVELS:
                level, held = peak, at_peak
        level_db = 20 * np.log10(max(level, 1e-12))
        verdict = CONFIRMED if held >= HELD_PEAKS else REFUTED if held == 0 else None
        found = {"samples": held, "level_db": level_db}
        gentle = effect.gentle_peak_db
        if verdict == REFUTED and gentle is not None:
            if 20 * np.log10(max(peak, 1e-12)) >= gentle - GENTLE_MARGIN_DB:
                return Evidence("held_peaks", None, None, found, beyond_reach=True)
        return Evidence("held_peaks", verdict, None, found)
    return None
