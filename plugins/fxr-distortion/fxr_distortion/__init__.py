"""Distortion for fxr: how much a guitar was driven into pedalboard's tanh distortion.

This file is the whole plugin: one Effect, and the default estimator it
ships (a blind model, ``distortion-wet.pt`` beside this file, trained by
``train.sh``), registered by two hooks. Its pyproject.toml names this package
under the entry-point group ``fxregistry``, which is all fxr needs to find it.
"""

from importlib.resources import files

import numpy as np
import pedalboard

import fxregistry


def render(audio: np.ndarray, sample_rate: float, *, drive_db: float) -> np.ndarray:
    return pedalboard.Distortion(drive_db=drive_db)(audio, sample_rate)


DISTORTION = fxregistry.Effect(
    name="distortion",
    description="Overdrive: gain into a tanh waveshaper (pedalboard.Distortion)",
    parameters=(
        fxregistry.Parameter(
            "drive_db",
            "dB",
            grid=(0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0),
            range=(0.0, 36.0),
            description="gain applied before the waveshaper",
        ),
    ),
    render=render,
)


@fxregistry.hookimpl
def register_effects(register):
    register(DISTORTION)


@fxregistry.hookimpl
def register_estimators(register):
    # `fxr estimate WET --effect distortion` works right after `pip install`.
    weights = files(__package__) / "distortion-wet.pt"
    if weights.is_file():
        register(
            fxregistry.Estimator(
                "distortion-wet", "distortion", "wet", weights, "drive from the wet audio alone"
            )
        )
