"""Augmentations of the dry clips in pass 1 of a build (``fxr build --augment``): what each
draws (:mod:`.augmented` applies them).

The synthesizer's clips are clean, close and dry; a user's recording has a
room, a microphone and an instrument's colour, a noise floor, and often
saturation or clipping from an amp, a sampler or a loud master. Each dry
clip may get any of these *before* the level policy and before any effect
renders it, so the stored dry clip is the augmented one and every wet clip
is rendered from it: dry and wet stay exactly paired by construction.

Every draw comes from the clip's own generator (keyed by seed, recording and
clip, on a stream of its own so the level and the settings draw what they
drew before), so a build stays the same whatever the worker count or shard,
and :func:`fxregistry.dataset.clips.remake_clips` can make the clips again.
numpy draws; :mod:`.augmented` renders with pedalboard and numpy.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fxregistry.errors import FxrError

__all__ = [
    "AUGMENTATIONS",
    "DEFAULT",
    "AugmentPolicy",
    "ColourSpec",
    "DriveSpec",
    "NoiseSpec",
    "RoomSpec",
    "SilenceSpec",
    "draw_augmentations",
    "drawn_json",
    "parse_augment",
    "show_augment",
]

Range = tuple[float, float]


@dataclass(frozen=True)
class RoomSpec:
    """A small to medium room (pedalboard.Reverb), applied with ``probability``."""

    probability: float = 0.5
    room_size: Range = (0.05, 0.5)
    damping: Range = (0.2, 0.8)
    wet_level: Range = (0.05, 0.3)


@dataclass(frozen=True)
class ColourSpec:
    """Microphone and instrument colour: a band limit, a resonance and two shelves."""

    probability: float = 0.7
    highpass_hz: Range = (20.0, 200.0)
    lowpass_hz: Range = (4000.0, 20000.0)
    peak_hz: Range = (200.0, 6000.0)
    peak_gain_db: Range = (-6.0, 6.0)
    peak_q: Range = (0.5, 2.0)
    low_shelf_hz: Range = (80.0, 300.0)
    high_shelf_hz: Range = (3000.0, 8000.0)
    shelf_gain_db: Range = (-4.0, 4.0)


@dataclass(frozen=True)
class NoiseSpec:
    """A noise floor ``level_db`` below the clip's RMS level, pink with ``pink_share``."""

    probability: float = 0.5
    level_db: Range = (-70.0, -40.0)
    pink_share: float = 0.5


@dataclass(frozen=True)
class DynamicsSpec:
    """A performance's dynamics: the clip's gain swells and dips, down to ``depth_db``.

    A gain curve in dB through 2-5 points at random times, one of them at 0 dB,
    the others drawn down to a depth drawn from ``depth_db``; applied after
    the room and the microphone, under the noise floor. Real takes have
    quiet passages and decays that the synthesizer's takes, dense from end to
    end, lack (docs/real-audio.md).
    """

    probability: float = 0.4
    depth_db: Range = (10.0, 40.0)


@dataclass(frozen=True)
class SilenceSpec:
    """Digital silence: 1-3 gaps of exact zeros, ``share`` of the clip in all, faded.

    A recording is silent, sample for sample, where a take was edited or
    gated, where a sampled instrument rests between notes, and where a quiet
    decay rounds to zero in 16 bits (docs/real-audio.md). A noise floor never
    is; the gaps come after it.
    Not in ``default`` (:data:`DEFAULT`).
    """

    probability: float = 0.3
    share: Range = (0.05, 0.4)
    fade_ms: Range = (2.0, 50.0)


@dataclass(frozen=True)
class DriveSpec:
    """Saturation or clipping the music already carries, ``drive_db`` deep.

    A driven amp or tape, a drum machine's clipped samples, a master clipped
    to be loud: the clip's peak is driven ``drive_db`` past the point where
    it saturates (pedalboard.Distortion's tanh, with ``soft_share``) or clips
    hard (pedalboard.Clipping), then turned back to its own peak. After the
    noise floor, which is clipped with the music, and before the edit's
    silences. Not in ``default`` (:data:`DEFAULT`).
    """

    probability: float = 0.3
    drive_db: Range = (0.5, 12.0)
    soft_share: float = 0.5


SPECS = {
    "room": RoomSpec,
    "colour": ColourSpec,
    "noise": NoiseSpec,
    "dynamics": DynamicsSpec,
    "silence": SilenceSpec,
    "drive": DriveSpec,
}
# In the order they are drawn (one added last leaves what the others draw). Applied:
# the room, the microphone that hears it, the dynamics of the playing, the floor, the
# drive of what recorded or mastered it, then the edit's silences.
AUGMENTATIONS = tuple(SPECS)
# What ``default`` applies. Silence is left out: it took one model's misses on quiet real
# clips away, but as a default for every effect it cost two others more on real
# recordings than it gained (docs/real-audio.md). Drive is left out: made for the blind
# identifier, which clipped and saturated sources fooled (docs/estimate.md), and not
# measured on every effect's estimators.
DEFAULT = ("room", "colour", "noise", "dynamics")


@dataclass(frozen=True)
class AugmentPolicy:
    """Which augmentations a build applies, each with its probability and ranges.

    ``name`` is what was typed (``none``, ``default``, ``room,noise``); the
    specs are the whole policy, stored in the dataset's provenance.
    """

    name: str = "none"
    room: RoomSpec | None = None
    colour: ColourSpec | None = None
    noise: NoiseSpec | None = None
    dynamics: DynamicsSpec | None = None
    silence: SilenceSpec | None = None
    drive: DriveSpec | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, kind) is not None for kind in AUGMENTATIONS)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentPolicy:
        specs = {}
        for kind, spec in SPECS.items():
            given = data.get(kind)
            if given is not None:
                # JSON has lists where the spec has ranges.
                specs[kind] = spec(
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
                )
        return cls(name=str(data.get("name", "none")), **specs)

    @classmethod
    def from_json(cls, text: str) -> AugmentPolicy:
        return cls.from_dict(json.loads(text))


def parse_augment(text: str) -> AugmentPolicy:
    """``none``, ``default`` (:data:`DEFAULT`) or a comma list of :data:`AUGMENTATIONS`."""
    text = text.strip()
    if text == "none":
        return AugmentPolicy()
    names = list(DEFAULT) if text == "default" else [n.strip() for n in text.split(",")]
    unknown = [n for n in names if n not in SPECS]
    if unknown or not names or len(set(names)) != len(names):
        raise FxrError(
            f"--augment must be 'none', 'default' or a comma list of "
            f"{', '.join(AUGMENTATIONS)}, got {text!r}"
        )
    return AugmentPolicy(name=text, **{n: SPECS[n]() for n in names})


def show_augment(policy: AugmentPolicy) -> str:
    """The inverse of :func:`parse_augment` for the policies it makes."""
    return policy.name


def _draw(rng: np.random.Generator, bounds: Range, log: bool = False) -> float:
    """Uniform in ``bounds``; frequencies uniform on a log scale, as the ear hears them."""
    low, high = bounds
    if log:
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def _room(spec: RoomSpec, rng: np.random.Generator) -> dict[str, float]:
    return {
        "room_size": _draw(rng, spec.room_size),
        "damping": _draw(rng, spec.damping),
        "wet_level": _draw(rng, spec.wet_level),
    }


def _colour(spec: ColourSpec, rng: np.random.Generator) -> dict[str, float]:
    return {
        "highpass_hz": _draw(rng, spec.highpass_hz, log=True),
        "lowpass_hz": _draw(rng, spec.lowpass_hz, log=True),
        "peak_hz": _draw(rng, spec.peak_hz, log=True),
        "peak_gain_db": _draw(rng, spec.peak_gain_db),
        "peak_q": _draw(rng, spec.peak_q),
        "low_shelf_hz": _draw(rng, spec.low_shelf_hz, log=True),
        "low_shelf_gain_db": _draw(rng, spec.shelf_gain_db),
        "high_shelf_hz": _draw(rng, spec.high_shelf_hz, log=True),
        "high_shelf_gain_db": _draw(rng, spec.shelf_gain_db),
    }


def _noise(spec: NoiseSpec, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "level_db": _draw(rng, spec.level_db),
        "kind": "pink" if rng.uniform() < spec.pink_share else "white",
    }


def _dynamics(spec: DynamicsSpec, rng: np.random.Generator) -> dict[str, Any]:
    points = int(rng.integers(2, 6))
    gains = rng.uniform(-_draw(rng, spec.depth_db), 0.0, points)
    gains[rng.integers(points)] = 0.0
    return {"at": sorted(rng.uniform(0, 1, points).tolist()), "gain_db": gains.tolist()}


def _silence(spec: SilenceSpec, rng: np.random.Generator) -> dict[str, Any]:
    gaps = int(rng.integers(1, 4))
    lengths = rng.dirichlet(np.ones(gaps)) * _draw(rng, spec.share)
    starts = rng.uniform(0, 1, gaps) * (1 - lengths)
    return {
        "gaps": sorted([float(a), float(a + n)] for a, n in zip(starts, lengths, strict=True)),
        "fade_ms": _draw(rng, spec.fade_ms),
    }


def _drive(spec: DriveSpec, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "drive_db": _draw(rng, spec.drive_db),
        "kind": "soft" if rng.uniform() < spec.soft_share else "hard",
    }


# How each augmentation draws its settings; keyed as SPECS.
DRAWS = {
    "room": _room,
    "colour": _colour,
    "noise": _noise,
    "dynamics": _dynamics,
    "silence": _silence,
    "drive": _drive,
}


def draw_augmentations(policy: AugmentPolicy, rng: np.random.Generator) -> dict[str, Any]:
    """What one clip gets: ``{augmentation: its drawn settings}``, in the order drawn.

    Every augmentation draws its settings even when it is not applied, so that
    turning one off does not change what the others draw.
    """
    drawn = {}
    for kind in AUGMENTATIONS:
        draw = DRAWS[kind]
        spec = getattr(policy, kind)
        if spec is None:
            continue
        applied = rng.uniform() < spec.probability
        settings = draw(spec, rng)
        if applied:
            drawn[kind] = settings
    return drawn


def drawn_json(drawn: dict[str, Any]) -> str:
    """One clip's record in ``clips/augment``: JSON of what was applied, ``{}`` for nothing."""
    return json.dumps(drawn, sort_keys=True)
