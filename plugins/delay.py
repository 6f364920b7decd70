"""The study's delay: delay time of pedalboard.Delay with fixed feedback and mix.

Feedback 0.7 is the study's; mix 0.5 is pedalboard's default, which the
study kept.  Neither is estimated.
"""

from __future__ import annotations

import numpy as np
import pedalboard

import fxregistry
from fxregistry import Effect, Parameter

FEEDBACK = 0.7
MIX = 0.5


def render(audio: np.ndarray, sample_rate: float, *, delay_seconds: float):
    delay = pedalboard.Delay(delay_seconds=delay_seconds, feedback=FEEDBACK, mix=MIX)
    return delay(audio, sample_rate)


DELAY = Effect(
    name="delay",
    description="Feedback delay (pedalboard.Delay), feedback 0.7, mix 0.5",
    parameters=(
        Parameter(
            "delay_seconds",
            "s",
            grid=tuple(np.linspace(0.0, 0.25, 8).tolist()),
            range=(0.0, 0.25),
            description="time between repeats",
        ),
    ),
    render=render,
    fixed={"feedback": FEEDBACK, "mix": MIX},
    identity={"delay_seconds": 0.0},
    # A feedback delay is a comb filter: its echoes show in the wet's cepstrum
    # (fxregistry.estimation.echoes); the tests check that it is linear.
    linear=True,
)


@fxregistry.hookimpl
def register_effects(register):
    register(DELAY)
