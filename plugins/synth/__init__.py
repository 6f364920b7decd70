"""The built-in dry-audio source: a small band of synthesized instruments.

It exists so that ``fxr build`` works on a fresh machine with no downloads,
and so that models trained on it meet more than one sound: each take is a
solo instrument or a mix of two to four parts (guitars acoustic and
electric, clean and driven, bass, drums, keys, a lead synth) playing one
progression at one tempo in one of many playing styles, recorded in a room
through a microphone at a random level over a noise floor. Everything is
drawn from ``numpy.random.default_rng((seed, take))``.

Modules: ``music`` (the plan and the playing styles), ``strings``
(Karplus–Strong), ``guitar``, ``voices`` (bass, keys, lead), ``drums``,
``colour`` (room, microphone, level, noise).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

import fxregistry
from fxregistry import SAMPLE_RATE, FxrError, Recording, Source

from .colour import record
from .drums import drums
from .guitar import acoustic_guitar, electric_guitar
from .music import Plan, draw_plan
from .strings import excitation, karplus_strong
from .voices import bass, keys, lead

__all__ = ["FAMILIES", "SYNTH", "excitation", "karplus_strong", "synthesize_take"]

DEFAULT_TAKES = 24
# Every instrument family: a function of the take's plan and a generator, returning a part.
FAMILIES: dict[str, Callable[[Plan, np.random.Generator], np.ndarray]] = {
    "acoustic-guitar": acoustic_guitar,
    "electric-guitar": electric_guitar,
    "bass": bass,
    "drums": drums,
    "keys": keys,
    "lead": lead,
}
# How often each family plays alone, and how often it joins a band. The acoustic guitar,
# once the only instrument, stays the most common solo.
SOLO = {
    "acoustic-guitar": 0.3,
    "electric-guitar": 0.2,
    "bass": 0.1,
    "drums": 0.1,
    "keys": 0.2,
    "lead": 0.1,
}
BAND = {
    "acoustic-guitar": 0.15,
    "electric-guitar": 0.2,
    "bass": 0.22,
    "drums": 0.22,
    "keys": 0.13,
    "lead": 0.08,
}
SOLO_SHARE = 0.5


def lineup(rng: np.random.Generator) -> tuple[str, ...]:
    """A solo family, or a band of two to four different families."""
    if rng.random() < SOLO_SHARE:
        return (str(rng.choice(list(SOLO), p=list(SOLO.values()))),)
    size = int(rng.integers(2, 5))
    return tuple(str(f) for f in rng.choice(list(BAND), size, replace=False, p=list(BAND.values())))


def synthesize_take(
    seed: int,
    index: int,
    sample_rate: int = SAMPLE_RATE,
    families: tuple[str, ...] | None = None,
) -> np.ndarray:
    """Take ``index`` for ``seed``: 10–30 s of mono float32 at 44.1 kHz.

    ``families`` forces the lineup (tests use it to hear one family alone);
    by default the take draws its own.
    """
    if sample_rate != SAMPLE_RATE:
        raise FxrError(f"the synthesizer renders at {SAMPLE_RATE} Hz, not {sample_rate}")
    rng = np.random.default_rng([seed, index])
    plan = draw_plan(rng)
    drawn = lineup(rng)
    families = families or drawn
    mix = np.zeros(plan.samples)
    for k, family in enumerate(families):
        # Each part has its own generator, so adding a part never changes another's notes.
        part = FAMILIES[family](plan, np.random.default_rng([seed, index, k]))
        rms = np.sqrt(np.mean(part**2)) + 1e-12
        level = 1.0 if len(families) == 1 else 10 ** (rng.uniform(-12, 0) / 20)
        mix += level * part / rms
    return record(mix, rng)


def recordings(argument: str | None, seed: int) -> list[Recording]:
    """``synth`` or ``synth:N``: N takes (default 24), each a recording of its own."""
    takes = DEFAULT_TAKES
    if argument is not None:
        if not argument.strip().isdigit() or int(argument) < 1:
            raise FxrError(f"synth:N needs a whole number of takes >= 1, got {argument!r}")
        takes = int(argument)
    return [
        Recording(
            id=f"synth-{i:03d}",
            load=functools.partial(synthesize_take, seed, i),
            group=f"player{i % 6}",
        )
        for i in range(takes)
    ]


SYNTH = Source(
    name="synth",
    description=(
        "Built-in band synthesizer: guitars, bass, drums, keys and lead, solo or mixed, "
        "in rooms at any level"
    ),
    recordings=recordings,
    argument_help=f"N: number of takes (default {DEFAULT_TAKES})",
)


@fxregistry.hookimpl
def register_sources(register):
    register(SYNTH)
