"""Voices that sound :class:`~.music.Note` events: bass, keys and a lead synth.

Each voice renders one whole note with numpy (no per-sample loops) and
:func:`sound` adds the notes into a part; filters that colour the whole part
(a ladder lowpass, a bass amp) are pedalboard's. Every voice's timbre is drawn
once per part so a part keeps one sound, as a player keeps one patch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pedalboard

from fxregistry import SAMPLE_RATE

from .music import STYLES, Note, Plan, midi_hz
from .strings import Strings

Voice = Callable[[Note, int], np.ndarray]


def sound(notes: list[Note], samples: int, voice: Voice, release: float) -> np.ndarray:
    """Add every note, rendered for its duration plus ``release`` seconds, into one part."""
    out = np.zeros(samples)
    for note in notes:
        start = int(note.time * SAMPLE_RATE)
        length = min(samples - start, int((note.duration + release) * SAMPLE_RATE))
        if length > 0:
            out[start : start + length] += voice(note, length)
    return out


def envelope(note: Note, length: int, attack: float, decay: float, release: float) -> np.ndarray:
    """Linear attack, exponential decay while held, exponential release after the key is up."""
    t = np.arange(length) / SAMPLE_RATE
    env = np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)
    up = t > note.duration
    env[up] *= np.exp(-(t[up] - note.duration) / max(release / 5, 1e-3))
    return env


def phase(freq: np.ndarray | float, length: int) -> np.ndarray:
    return np.cumsum(np.broadcast_to(freq, (length,)) / SAMPLE_RATE) % 1.0


def saw(ph: np.ndarray, dt: float) -> np.ndarray:
    """A band-limited sawtooth (PolyBLEP): naive saws alias audibly at high notes."""
    out = 2 * ph - 1
    head = ph < dt
    t = ph[head] / dt
    out[head] -= t + t - t * t - 1
    tail = ph > 1 - dt
    t = (ph[tail] - 1) / dt
    out[tail] -= t * t + t + t + 1
    return out


def square(ph: np.ndarray, dt: float) -> np.ndarray:
    return saw(ph, dt) - saw((ph + 0.5) % 1.0, dt)


def vibrato(note: Note, length: int, depth: float, rate: float) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    # Vibrato fades in after the attack, as players do.
    return midi_hz(note.pitch) * 2 ** (
        depth / 1200 * np.sin(2 * np.pi * rate * t) * np.minimum(1, t / 0.4)
    )


# ---------------------------------------------------------------- keys


def electric_piano(rng: np.random.Generator) -> tuple[Voice, float]:
    """FM tines: the modulation index (brightness) grows with velocity and dies away."""
    ratio = float(rng.choice([1.0, 1.0, 2.0, 3.0]))
    index = rng.uniform(1.0, 3.5)
    decay = rng.uniform(1.0, 2.5)

    def voice(note: Note, length: int) -> np.ndarray:
        t = np.arange(length) / SAMPLE_RATE
        f = midi_hz(note.pitch)
        mod = index * (0.3 + note.velocity) * np.exp(-t / 0.3) * np.sin(2 * np.pi * ratio * f * t)
        env = envelope(note, length, 0.002, decay * (1 - (note.pitch - 48) / 80), 0.25)
        return note.velocity * env * np.sin(2 * np.pi * f * t + mod)

    return voice, 0.25


def organ(rng: np.random.Generator) -> tuple[Voice, float]:
    """Drawbars: sine partials at the organ's footages, each drawn to its own level."""
    ratios = np.array([0.5, 1.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
    levels = rng.integers(0, 9, ratios.size) / 8 * (rng.random(ratios.size) < 0.7)
    levels[2] = max(levels[2], 0.75)  # the 8' drawbar is always out: the note's own pitch
    click = rng.uniform(0, 0.2)

    def voice(note: Note, length: int) -> np.ndarray:
        t = np.arange(length) / SAMPLE_RATE
        f = midi_hz(note.pitch)
        keep = levels * (ratios * f < 0.45 * SAMPLE_RATE)
        y = np.sin(2 * np.pi * f * np.outer(t, ratios)) @ keep / keep.sum()
        y[:200] += click * rng.uniform(-1, 1, min(200, length))  # key click
        return 0.6 * env_gate(note, length, 0.005, 0.03) * y

    return voice, 0.05


def env_gate(note: Note, length: int, attack: float, release: float) -> np.ndarray:
    return envelope(note, length, attack, 1e9, release)


def pad(rng: np.random.Generator) -> tuple[Voice, float]:
    """Detuned sawtooths with a slow attack and a long release."""
    attack = rng.uniform(0.2, 1.2)
    release = rng.uniform(0.4, 1.2)
    detune = rng.uniform(4, 15)

    def voice(note: Note, length: int) -> np.ndarray:
        y = np.zeros(length)
        for cents in (-detune, 0.0, detune):
            f = midi_hz(note.pitch + cents / 100)
            y += saw(phase(f, length), f / SAMPLE_RATE)
        return note.velocity * envelope(note, length, attack, 30.0, release) * y / 3

    return voice, release


def keys(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Electric piano, organ or pad comping the chords: held, stabbed or arpeggiated."""
    kind = rng.choice(["electric-piano", "organ", "pad"], p=[0.45, 0.3, 0.25])
    voice, release = {"electric-piano": electric_piano, "organ": organ, "pad": pad}[kind](rng)
    styles = ["chords", "stabs", "arpeggio", "line"] if kind != "pad" else ["chords"]
    style = rng.choice(styles)
    notes = STYLES[style](plan, int(rng.integers(48, 60)), rng.uniform(0.4, 1.0), rng)
    part = sound(notes, plan.samples, voice, release)
    if kind == "organ" and rng.random() < 0.6:
        # A rotating speaker: a few hertz of tremolo.
        t = np.arange(plan.samples) / SAMPLE_RATE
        part *= 1 + rng.uniform(0.05, 0.25) * np.sin(2 * np.pi * rng.uniform(0.8, 6.5) * t)
    if kind == "pad":
        board = pedalboard.Pedalboard([pedalboard.LowpassFilter(float(rng.uniform(1200, 5000)))])
        part = board(part.astype(np.float32), SAMPLE_RATE).astype(np.float64)
    return part


# ---------------------------------------------------------------- lead and bass


def lead(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A monophonic synth: saw or square through a resonant ladder lowpass."""
    wave = saw if rng.random() < 0.6 else square
    attack, decay = rng.uniform(0.003, 0.05), rng.uniform(0.5, 4.0)
    depth, rate = rng.uniform(0, 30), rng.uniform(4.5, 6.5)

    def voice(note: Note, length: int) -> np.ndarray:
        freq = vibrato(note, length, depth, rate)
        y = wave(phase(freq, length), float(freq[0]) / SAMPLE_RATE)
        return note.velocity * envelope(note, length, attack, decay, 0.08) * y

    style = rng.choice(["line", "riff", "arpeggio"], p=[0.6, 0.25, 0.15])
    notes = STYLES[style](plan, int(rng.integers(55, 70)), rng.uniform(0.5, 1.0), rng)
    part = sound(notes, plan.samples, voice, 0.08).astype(np.float32)
    ladder = pedalboard.LadderFilter(
        pedalboard.LadderFilter.Mode.LPF24,
        cutoff_hz=float(rng.uniform(700, 6000)),
        resonance=float(rng.uniform(0.0, 0.7)),
        drive=float(rng.uniform(1.0, 3.0)),
    )
    return ladder(part, SAMPLE_RATE).astype(np.float64)


BASS_TUNING = (28, 33, 38, 43)  # E1 A1 D2 G2


def bass(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A bass guitar (plucked or picked strings) or, a quarter of the time, a synth bass."""
    style = rng.choice(["bassline", "riff", "line"], p=[0.6, 0.25, 0.15])
    notes = STYLES[style](plan, int(rng.integers(28, 36)), rng.uniform(0.6, 1.0), rng)
    if rng.random() < 0.25:
        cutoff = rng.uniform(300, 1500)

        def voice(note: Note, length: int) -> np.ndarray:
            f = midi_hz(note.pitch)
            y = saw(phase(f, length), f / SAMPLE_RATE)
            return note.velocity * envelope(note, length, 0.004, 1.5, 0.05) * y

        part = sound(notes, plan.samples, voice, 0.05).astype(np.float32)
        ladder = pedalboard.LadderFilter(
            cutoff_hz=float(cutoff), resonance=float(rng.uniform(0, 0.5))
        )
        return ladder(part, SAMPLE_RATE).astype(np.float64)
    picked = rng.random() < 0.4  # a pick is brighter than fingers
    strings = Strings(
        plan.samples, rng, BASS_TUNING, sustain=0.8, brightness=0.05 if picked else -0.1
    )
    for note in notes:
        string = max(
            s for s, open_note in enumerate(BASS_TUNING) if open_note <= note.pitch or s == 0
        )
        fret = int(note.pitch) - BASS_TUNING[string]
        if fret < 0:
            continue
        strings.play(string, fret, note.time, note.velocity, note.duration)
    # A bass amp's speaker: two first-order lowpasses make a 12 dB/octave roll-off.
    cutoff = float(rng.uniform(1200, 3500) if picked else rng.uniform(500, 1500))
    board = pedalboard.Pedalboard(
        [
            pedalboard.HighpassFilter(35.0),
            pedalboard.LowpassFilter(cutoff),
            pedalboard.LowpassFilter(cutoff),
        ]
    )
    return board(strings.render().astype(np.float32), SAMPLE_RATE).astype(np.float64)
