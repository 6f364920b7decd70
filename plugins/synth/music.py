"""What every part of a take agrees on: key, tempo, progression, and the notes parts play.

A take is planned once (:class:`Plan`) and each part turns the plan into
:class:`Note` events with a playing style, so a band plays one progression at
one tempo. Instruments then only have to sound the notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxregistry import SAMPLE_RATE

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as scale degrees (0 = tonic), common in pop, folk and jazz.
PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 4), (1, 4, 0, 0), (0, 5, 3, 4), (0, 3, 0, 4))


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def chord_of(key: int, scale: tuple[int, ...], degree: int) -> tuple[int, tuple[int, ...]]:
    """The triad on ``degree`` of ``scale`` in ``key``: (root pitch class, intervals)."""
    root = key + scale[degree % 7]
    third = (scale[(degree + 2) % 7] - scale[degree % 7]) % 12
    fifth = (scale[(degree + 4) % 7] - scale[degree % 7]) % 12
    return root % 12, (0, third, fifth)


@dataclass(frozen=True)
class Plan:
    """The shared score of one take: its length, tempo, key and chords."""

    seconds: float
    beat: float  # seconds per quarter note
    key: int  # pitch class of the tonic
    scale: tuple[int, ...]
    progression: tuple[int, ...]
    start: float  # the first bar's time: takes may begin with a short rest

    @property
    def samples(self) -> int:
        return int(self.seconds * SAMPLE_RATE)

    def bars(self) -> list[tuple[float, int, tuple[int, ...]]]:
        """(time, chord root pitch class, chord intervals) of every bar that starts in the take."""
        out, time, bar = [], self.start, 0
        while time < self.seconds:
            degree = self.progression[bar % len(self.progression)]
            out.append((time, *chord_of(self.key, self.scale, degree)))
            time += 4 * self.beat
            bar += 1
        return out


def draw_plan(rng: np.random.Generator) -> Plan:
    return Plan(
        seconds=float(rng.uniform(10, 30)),
        beat=60 / float(rng.uniform(70, 150)),
        key=int(rng.integers(0, 12)),
        scale=MAJOR if rng.random() < 0.6 else MINOR,
        progression=PROGRESSIONS[rng.integers(len(PROGRESSIONS))],
        start=float(rng.uniform(0.0, 0.4)),
    )


@dataclass(frozen=True)
class Note:
    time: float  # seconds
    duration: float  # seconds the key or string is held
    pitch: float  # MIDI note
    velocity: float  # 0..1


def near(pitch_class: int, low: int) -> int:
    """The lowest MIDI note of ``pitch_class`` at or above ``low``."""
    return low + (pitch_class - low) % 12


def voicing(root: int, quality: tuple[int, ...], low: int, rng: np.random.Generator) -> list[int]:
    """A close chord voicing above ``low`` (sometimes inverted, sometimes with the octave)."""
    base = near(root, low)
    notes = [base + q for q in quality]
    for _ in range(int(rng.integers(0, 3))):  # inversions keep the hand in one place
        notes = notes[1:] + [notes[0] + 12]
    if rng.random() < 0.4:
        notes.append(notes[0] + 12)
    return notes


def human(rng: np.random.Generator, time: float, spread: float = 0.006) -> float:
    return max(0.0, time + float(rng.normal(0, spread)))


def chords(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """Sustained chords: one or two per bar, held to the next."""
    out = []
    per_bar = 1 if rng.random() < 0.6 else 2
    for time, root, quality in plan.bars():
        notes = voicing(root, quality, low, rng)
        length = 4 * plan.beat / per_bar
        for k in range(per_bar):
            v = velocity * rng.uniform(0.8, 1.05)
            for i, p in enumerate(notes):
                out.append(Note(human(rng, time + k * length + i * 0.004), length * 0.98, p, v))
    return out


def stabs(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """Staccato comping: short chords on a syncopated eighth-note rhythm, with rests."""
    rhythm = [e for e in range(8) if rng.random() < (0.5 if e % 2 else 0.35)] or [1, 5]
    out = []
    for time, root, quality in plan.bars():
        notes = voicing(root, quality, low, rng)
        for e in rhythm:
            v = velocity * rng.uniform(0.75, 1.05)
            length = plan.beat * rng.uniform(0.15, 0.4)
            for p in notes:
                out.append(Note(human(rng, time + e * plan.beat / 2), length, p, v))
    return out


def arpeggio(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """Chord tones one at a time, up and down, on eighths or sixteenths, left to ring."""
    step = plan.beat / (2 if rng.random() < 0.6 else 4)
    out = []
    for time, root, quality in plan.bars():
        notes = voicing(root, quality, low, rng)
        notes = notes + [notes[0] + 12]
        pattern = notes + notes[-2:0:-1]
        for i in range(int(round(4 * plan.beat / step))):
            t = human(rng, time + i * step, 0.004)
            out.append(Note(t, step * 2, pattern[i % len(pattern)], velocity * rng.uniform(0.7, 1)))
    return out


def line(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """A single-note melody: a random walk on the scale, mostly steps, legato or staccato."""
    degree = int(rng.integers(3, 10))
    gate = rng.uniform(0.3, 1.0)  # how much of each step a note is held
    out = []
    for time, _, _ in plan.bars():
        step = plan.beat / (2 if rng.random() < 0.7 else 1)
        for i in range(int(round(4 * plan.beat / step))):
            if rng.random() < 0.15:
                continue  # rests
            degree += int(rng.choice([-2, -1, -1, 1, 1, 2]))
            pitch = low + plan.key + plan.scale[degree % 7] + 12 * (degree // 7)
            if not low <= pitch <= low + 24:  # out of range: turn the line around
                degree += 7 if pitch < low else -7
                pitch += 12 if pitch < low else -12
            v = velocity * rng.uniform(0.75, 1.1)
            out.append(Note(human(rng, time + i * step, 0.005), step * gate, pitch, v))
    return out


def riff(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """A one-bar motif on the chord root (root, fifth, octave), repeated through the changes."""
    slots = [e for e in range(8) if e == 0 or rng.random() < 0.55]
    intervals = [int(rng.choice([0, 0, 7, 12, 10 if plan.scale == MINOR else 5])) for _ in slots]
    gate = rng.uniform(0.25, 0.9)
    out = []
    for time, root, _ in plan.bars():
        base = near(root, low)
        for e, interval in zip(slots, intervals, strict=True):
            v = velocity * (1.0 if e % 2 == 0 else 0.8) * rng.uniform(0.85, 1.05)
            out.append(
                Note(human(rng, time + e * plan.beat / 2), gate * plan.beat / 2, base + interval, v)
            )
    return out


def bassline(plan: Plan, low: int, velocity: float, rng: np.random.Generator) -> list[Note]:
    """Roots and fifths on quarters or eighths, with passing notes and rests."""
    step = plan.beat if rng.random() < 0.5 else plan.beat / 2
    gate = rng.uniform(0.4, 0.95)
    out = []
    for time, root, quality in plan.bars():
        base = near(root, low)
        for i in range(int(round(4 * plan.beat / step))):
            if i and rng.random() < 0.15:
                continue
            pitch = base + (0 if i == 0 else int(rng.choice([0, 0, quality[2], 12, quality[1]])))
            v = velocity * (1.0 if i == 0 else rng.uniform(0.7, 0.95))
            out.append(Note(human(rng, time + i * step, 0.004), step * gate, pitch, v))
    return out


STYLES = {
    "chords": chords,
    "stabs": stabs,
    "arpeggio": arpeggio,
    "line": line,
    "riff": riff,
    "bassline": bassline,
}
