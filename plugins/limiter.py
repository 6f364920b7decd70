"""The study's limiter: threshold and release of pedalboard's (JUCE's) Limiter."""

from __future__ import annotations

import numpy as np
import pedalboard

import fxregistry
from fxregistry import Effect, Parameter


def render(audio: np.ndarray, sample_rate: float, *, threshold_db: float, release_ms: float):
    limiter = pedalboard.Limiter(threshold_db=threshold_db, release_ms=release_ms)
    return limiter(audio, sample_rate)


LIMITER = Effect(
    name="limiter",
    description="Brick-wall limiter (pedalboard.Limiter); its output is made up to 0 dBFS peaks",
    parameters=(
        Parameter(
            "threshold_db",
            "dB",
            grid=(-9.0, -5.0, 0.0),
            range=(-9.0, 0.0),
            description="level above which gain is reduced",
        ),
        Parameter(
            "release_ms",
            "ms",
            grid=(0.0, 500.0, 900.0),
            range=(0.0, 900.0),
            description="time for the gain reduction to recover",
        ),
    ),
    render=render,
    # JUCE's limiter makes its threshold up to full scale and clips there: whatever
    # it limits peaks at 1.0 (fxregistry.estimation.evidence; tested).
    ceiling=1.0,
    # JUCE's first stage compresses 4:1 above -10 dBFS at every setting, and the output
    # gain adds 3.75 dB to the threshold's make-up: at 0 dB it compresses what passes
    # -10 dBFS and limits nothing, so its peaks stay at -6.25 dBFS and above (tested).
    gentle_peak_db=-6.25,
)


@fxregistry.hookimpl
def register_effects(register):
    register(LIMITER)
