"""MIDI phrases for the real-audio corpus: a song's harmony, and parts in playing styles.

A song is a key, a tempo and a chord per bar; every part of a mix follows
the same chords, so mixes sound like a band rather than unrelated takes.
Notes are humanized (timing and velocity) because a quantized, flat
performance is itself a colour no recording has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# General MIDI program ranges of each role (GM numbers counted from 0).
FAMILIES: dict[str, range] = {
    "guitar": range(24, 32),  # nylon, steel, jazz, clean, muted, overdriven, distortion, harmonics
    "bass": range(32, 40),
    "keys": range(0, 24),  # pianos, chromatic percussion, organs
    "strings": range(48, 56),  # ensembles, synth strings, choirs
    "lead": range(56, 88),  # brass, reeds, pipes, synth leads
}
STYLES: dict[str, tuple[str, ...]] = {
    "guitar": ("strum", "arpeggio", "line", "riff"),
    "bass": ("roots", "walking", "octaves"),
    "keys": ("block", "comp", "arpeggio"),
    "strings": ("pad",),
    "lead": ("line",),
}
# The pitch range each role plays in, as MIDI notes.
RANGES: dict[str, tuple[int, int]] = {
    "guitar": (40, 79),
    "bass": (28, 52),
    "keys": (43, 84),
    "strings": (48, 79),
    "lead": (60, 88),
}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (5, 3, 0, 4), (0, 6, 5, 4), (0, 3, 4, 3))
TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class Song:
    """What every part of one file shares."""

    tempo: float  # beats per minute
    key: int  # pitch class of the tonic
    minor: bool
    progression: tuple[int, ...]  # scale degree of each bar's chord, cycled
    bars: int

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo

    def scale(self) -> tuple[int, ...]:
        return MINOR if self.minor else MAJOR

    def chord(self, bar: int) -> tuple[int, ...]:
        """Pitch classes of the bar's triad, root first."""
        degree = self.progression[bar % len(self.progression)]
        scale = self.scale()
        return tuple((self.key + scale[(degree + step) % 7]) % 12 for step in (0, 2, 4))


@dataclass(frozen=True)
class Part:
    role: str
    program: int
    style: str


Note = tuple[float, float, int, int]  # start (beats), length (beats), pitch, velocity


def random_song(rng: np.random.Generator, seconds: float) -> Song:
    tempo = float(rng.integers(70, 161))
    bars = int(np.ceil(seconds / (4 * 60.0 / tempo)))
    progression = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    return Song(tempo, int(rng.integers(12)), bool(rng.random() < 0.4), progression, bars)


def random_part(rng: np.random.Generator, role: str, programs: frozenset[int]) -> Part:
    """A part of ``role`` with a program the soundfont really has."""
    choices = [p for p in FAMILIES[role] if p in programs]
    styles = STYLES[role]
    return Part(role, int(rng.choice(choices)), str(styles[rng.integers(len(styles))]))


def _pitches(pcs: tuple[int, ...], low: int, high: int) -> list[int]:
    return [n for n in range(low, high + 1) if n % 12 in pcs]


def _voicing(pcs: tuple[int, ...], low: int, count: int) -> list[int]:
    """``count`` chord tones stacked upward from the first root at or above ``low``."""
    start = next(n for n in range(low, low + 12) if n % 12 == pcs[0])
    return _pitches(pcs, start, start + 36)[:count]


def _strum(song: Song, rng: np.random.Generator, low: int) -> list[Note]:
    patterns = ("D.D.D.D.", "D.DUD.DU", "D..UD.DU", "D.DU.UDU", "D...D...")
    pattern = patterns[rng.integers(len(patterns))]
    spread = rng.uniform(0.008, 0.025) / song.beat_s  # seconds between strings, in beats
    notes: list[Note] = []
    for bar in range(song.bars):
        chord = _voicing(song.chord(bar), low, int(rng.integers(4, 7)))
        for slot, stroke in enumerate(pattern):
            if stroke == ".":
                continue
            strings = chord if stroke == "D" else chord[::-1]
            velocity = 95 if slot % 4 == 0 else 75
            for i, pitch in enumerate(strings):
                start = bar * 4 + slot * 0.5 + i * spread
                notes.append((start, 0.5 * rng.uniform(0.8, 2.0), pitch, velocity))
    return notes


def _arpeggio(song: Song, rng: np.random.Generator, low: int) -> list[Note]:
    step = 0.5 if rng.random() < 0.6 else 0.25
    ring = step * rng.uniform(1.0, 4.0)  # let notes overlap, as fingerpicked strings do
    notes: list[Note] = []
    for bar in range(song.bars):
        chord = _voicing(song.chord(bar), low, 4)
        order = chord + chord[-2:0:-1] if rng.random() < 0.5 else chord
        for i in range(int(4 / step)):
            notes.append((bar * 4 + i * step, ring, order[i % len(order)], 80))
    return notes


def _line(song: Song, rng: np.random.Generator, low: int, high: int) -> list[Note]:
    """A melody: a random walk on the scale that leans on chord tones."""
    scale = _pitches(tuple((song.key + s) % 12 for s in song.scale()), low, high)
    index = len(scale) // 2
    notes: list[Note] = []
    beat = 0.0
    while beat < song.bars * 4:
        length = float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        if rng.random() > 0.15:
            index = int(np.clip(index + rng.integers(-2, 3), 0, len(scale) - 1))
            pitch = scale[index]
            chord = song.chord(int(beat // 4))
            if beat % 1 == 0 and pitch % 12 not in chord and index + 1 < len(scale):
                pitch = scale[index + 1]
            notes.append((beat, length * 0.95, pitch, int(rng.integers(70, 105))))
        beat += length
    return notes


def _riff(song: Song, rng: np.random.Generator, low: int) -> list[Note]:
    """Power chords on a repeated one-bar rhythm, muted short like a palm-muted riff."""
    rhythm = [i for i in range(16) if i == 0 or rng.random() < 0.45]
    notes: list[Note] = []
    for bar in range(song.bars):
        root = _voicing(song.chord(bar), low, 1)[0]
        for i in rhythm:
            length = 0.2 if rng.random() < 0.7 else 0.5
            for pitch in (root, root + 7, root + 12):
                notes.append((bar * 4 + i * 0.25, length, pitch, 100 if i % 4 == 0 else 80))
    return notes


def _bass(song: Song, rng: np.random.Generator, style: str, low: int) -> list[Note]:
    notes: list[Note] = []
    for bar in range(song.bars):
        chord = song.chord(bar)
        root = _voicing(chord, low, 1)[0]
        if style == "roots":
            for beat in range(4):
                notes.append((bar * 4 + beat, 0.9, root, 95 if beat == 0 else 80))
        elif style == "octaves":
            for i in range(8):
                notes.append((bar * 4 + i * 0.5, 0.45, root + 12 * (i % 2), 85))
        else:  # walking: root, chord tones, then a step toward the next bar's root
            tones = _voicing(chord, low, 3)
            following = _voicing(song.chord(bar + 1), low, 1)[0]
            walk = [root, tones[1], tones[2], following + (1 if rng.random() < 0.5 else -1)]
            for beat, pitch in enumerate(walk):
                notes.append((bar * 4 + beat, 0.95, pitch, 85))
    return notes


def _keys(song: Song, rng: np.random.Generator, style: str, low: int) -> list[Note]:
    hits = [(0.0, 4.0)] if style in ("block", "pad") else [(0.0, 1.0), (1.5, 0.5), (2.5, 1.5)]
    notes: list[Note] = []
    for bar in range(song.bars):
        chord = _voicing(song.chord(bar), low + 12, 4)
        root = _voicing(song.chord(bar), low, 1)[0]
        for start, length in hits:
            notes += [(bar * 4 + start, length * 0.97, p, 72) for p in chord]
        if style != "pad":  # the left hand's root
            notes.append((bar * 4, 3.9, root, 70))
    return notes


def part_notes(song: Song, part: Part, rng: np.random.Generator) -> list[Note]:
    low, high = RANGES[part.role]
    if part.role == "bass":
        return _bass(song, rng, part.style, low)
    if part.style == "strum":
        return _strum(song, rng, low)
    if part.style == "arpeggio":
        return _arpeggio(song, rng, low + (12 if part.role == "keys" else 0))
    if part.style == "riff":
        return _riff(song, rng, low)
    if part.style == "line":
        return _line(song, rng, low + (12 if part.role == "guitar" else 0), high)
    return _keys(song, rng, part.style, low)


def write_midi(path: Path, song: Song, parts: list[Part], rng: np.random.Generator) -> None:
    """One track per part, on its own channel, with its own level and reverb send."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    end = song.bars * 4 + 2.0 / song.beat_s  # two seconds of tail for releases and reverb
    for channel, part in enumerate(parts):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(song.tempo)))
        track.append(mido.Message("program_change", channel=channel, program=part.program))
        track.append(mido.Message("control_change", channel=channel, control=7, value=100))
        reverb = int(rng.integers(0, 70))
        track.append(mido.Message("control_change", channel=channel, control=91, value=reverb))
        events: list[tuple[int, int, int, int]] = []  # tick, order (offs first), pitch, velocity
        jitter = rng.uniform(0.003, 0.015) / song.beat_s
        for start, length, pitch, velocity in part_notes(song, part, rng):
            start = max(0.0, start + rng.normal(0, jitter))
            velocity = int(np.clip(velocity + rng.integers(-10, 11), 20, 127))
            on = round(start * TICKS_PER_BEAT)
            off = max(on + 1, round((start + length) * TICKS_PER_BEAT))
            events += [(on, 1, pitch, velocity), (off, 0, pitch, 0)]
        now = 0
        for tick, _, pitch, velocity in sorted(events):
            kind = "note_on" if velocity else "note_off"
            track.append(
                mido.Message(kind, channel=channel, note=pitch, velocity=velocity, time=tick - now)
            )
            now = tick
        track.append(
            mido.MetaMessage("end_of_track", time=max(0, round(end * TICKS_PER_BEAT) - now))
        )
        midi.tracks.append(track)
    midi.save(str(path))
