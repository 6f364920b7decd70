"""The study's sample-rate reduction: resample down to a target rate and back up.

torchaudio's band-limited sinc resampler (as in the study), ported to numpy
(``fxregistry.resample``) so that rendering needs no torch, removes what
lies above the target's Nyquist frequency; tests check that it gives
torchaudio's output.  The result has the input's rate and length.  A target
at or above the input rate leaves the audio untouched.

The target is rounded to a multiple of 25 Hz (a 1764th of 44.1 kHz; every
grid value is one). The resampler's kernel grows with the rates' ratio in
lowest terms: 13,217 Hz against 44.1 kHz needs gigabytes, 13,225 Hz 12 MB.
Settings drawn at random (``--grid random:N``) would otherwise exhaust memory.
"""

from __future__ import annotations

import functools

import numpy as np
import pedalboard

import fxregistry
from fxregistry import Effect, Parameter, resample

RATE_STEP_HZ = 25


def render(audio: np.ndarray, sample_rate: float, *, target_khz: float) -> np.ndarray:
    rate = int(round(sample_rate))
    target = RATE_STEP_HZ * int(round(target_khz * 1000 / RATE_STEP_HZ))
    if target >= rate:
        return audio.copy()
    y = resample(resample(audio, rate, target), target, rate)
    n = audio.shape[-1]
    out = np.zeros_like(audio)
    out[..., : min(n, y.shape[-1])] = y[..., :n]
    return out


def other_resampler(
    quality: str, audio: np.ndarray, sample_rate: float, *, target_khz: float
) -> np.ndarray:
    """The same setting through pedalboard's resampler of ``quality``, down and back up.

    Reference tracks are band-limited by whatever resampler made them, most
    often a steeper windowed sinc than torchaudio's short one (pedalboard's
    default, and most converters'): no leakage above the target's Nyquist
    frequency, and a passband that reaches closer to it.
    """
    rate = int(round(sample_rate))
    target = RATE_STEP_HZ * int(round(target_khz * 1000 / RATE_STEP_HZ))
    if target >= rate:
        return audio.copy()
    down = pedalboard.Resample(target, quality=getattr(pedalboard.Resample.Quality, quality))
    return down(audio, rate)


# Trained on (fxr build --variants) and tested by the fixed-point check, so each must be
# a projection as the effect is (tests/test_effects.py holds it to that). Not here: the
# aliasing decimators of lo-fi plugins. Linear interpolation, rendered again at 24 kHz,
# moves its own output past the effect's tolerance (0.104 of 0.1), and sample-and-hold at
# a rate that does not divide 44.1 kHz by a fifth of full scale: the check would refute
# what they made. Lagrange, Catmull-Rom and longer sincs are left out to measure what was
# not trained on (benchmarks/variants.py).
VARIANTS = {"sinc": functools.partial(other_resampler, "WindowedSinc32")}

SAMPLE_RATE_REDUCTION = Effect(
    name="sample-rate",
    description="Sample-rate reduction: band-limited resampling to the target and back",
    parameters=(
        Parameter(
            "target_khz",
            "kHz",
            grid=(8.0, 11.025, 12.0, 16.0, 22.05, 24.0, 32.0, 44.1),
            range=(8.0, 44.1),
            scale="log",
            description="rate the audio passes through; 44.1 leaves it untouched",
        ),
    ),
    render=render,
    identity={"target_khz": 44.1},
    # Band-limited audio passes the same band limit again all but unchanged: it moved by
    # at most 0.066 on real recordings (benchmarks/blind_checks.py, docs/estimate.md).
    projection=0.1,
    variants=VARIANTS,
)


@fxregistry.hookimpl
def register_effects(register):
    register(SAMPLE_RATE_REDUCTION)
