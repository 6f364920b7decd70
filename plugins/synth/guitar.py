"""The guitars: six Karplus–Strong strings played with chord shapes.

The acoustic guitar is the source's original instrument, made to stress the
effects the way real guitar does: sharp plucked transients (the limiter's
attack), long decaying tails (the bitcrusher's quiet end), harmonics up to
~10 kHz (the sample-rate reduction) and rhythmic onsets (the delay's
repeats). Its strings feed a body of a few resonant modes. The electric
guitar plays the same strings through a pickup and, half the time, an
overdrive and a speaker cabinet, and adds palm-muted power-chord riffs.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from fxregistry import SAMPLE_RATE

from .music import Plan
from .strings import Strings

# Standard tuning, low to high (MIDI notes E2 A2 D3 G3 B3 E4).
TUNING = (40, 45, 50, 55, 59, 64)


def chord_shape(root: int, quality: tuple[int, ...], position: int) -> list[int | None]:
    """Frets per string (None = not played) for a chord around a hand position."""
    tones = {(root + q) % 12 for q in quality}
    frets: list[int | None] = []
    for open_note in TUNING:
        candidates = [f for f in range(position, position + 4) if (open_note + f) % 12 in tones]
        if position <= 2 and open_note % 12 in tones:
            candidates.insert(0, 0)
        frets.append(candidates[0] if candidates else None)
    # The lowest sounding string should carry the root, as guitarists voice chords.
    for string, fret in enumerate(frets):
        if fret is not None and (TUNING[string] + fret) % 12 == root % 12:
            break
        frets[string] = None
    return frets


def playable_shape(root: int, quality: tuple[int, ...], position: int) -> list[int | None]:
    """The chord at ``position``, or the nearest position where four or more strings sound."""
    for offset in (0, 1, -1, 2, -2, 3, -3, 4, 5, 6, 7):
        frets = chord_shape(root, quality, max(0, position + offset))
        if sum(f is not None for f in frets) >= 4:
            return frets
    return chord_shape(root, quality, 0)


def strum(strings: Strings, frets, time: float, beat: float, velocity: float, rng) -> None:
    """Eighth-note strumming: down strokes on the beat, lighter up strokes between."""
    played = [s for s, f in enumerate(frets) if f is not None]
    for eighth in range(8):
        if eighth % 2 and rng.random() < 0.35:
            continue  # a skipped up stroke keeps the rhythm human
        down = eighth % 2 == 0
        order = (
            played if down else played[::-1][: rng.integers(min(3, len(played)), len(played) + 1)]
        )
        spread = rng.uniform(0.004, 0.012) if down else rng.uniform(0.003, 0.008)
        accent = 1.0 if eighth == 0 else 0.8 if down else 0.55
        start = time + eighth * beat / 2 + rng.normal(0, 0.006)
        for i, string in enumerate(order):
            strings.play(
                string,
                frets[string],
                start + i * spread,
                velocity * accent * rng.uniform(0.85, 1.05),
            )


def arpeggio(strings: Strings, frets, time: float, beat: float, velocity: float, rng) -> None:
    """Chord tones one string at a time, bass first, on eighths or sixteenths."""
    played = [s for s, f in enumerate(frets) if f is not None]
    pattern = played + played[-2:0:-1]
    step = beat / (2 if rng.random() < 0.6 else 4)
    for i in range(int(4 * beat / step)):
        string = pattern[i % len(pattern)]
        strings.play(
            string,
            frets[string],
            time + i * step + rng.normal(0, 0.004),
            velocity * rng.uniform(0.7, 1.0),
        )


def melody(
    strings: Strings, key: int, scale, time: float, beat: float, velocity: float, rng, state: dict
) -> None:
    """A single-note line: a random walk on the scale, mostly steps, some rests."""
    step = beat / 2
    for i in range(8):
        if rng.random() < 0.15:
            continue
        state["degree"] += int(rng.choice([-2, -1, -1, 1, 1, 2]))
        note = 45 + key + scale[state["degree"] % 7] + 12 * (state["degree"] // 7)
        if not TUNING[0] <= note <= TUNING[-1] + 12:  # off the neck: turn the line around
            state["degree"] += 7 if note < TUNING[0] else -7
            note += 12 if note < TUNING[0] else -12
        # Play it on the highest string that reaches it within 12 frets.
        for string in range(5, -1, -1):
            fret = note - TUNING[string]
            if 0 <= fret <= 12:
                strings.play(
                    string,
                    fret,
                    time + i * step + rng.normal(0, 0.005),
                    velocity * rng.uniform(0.75, 1.1),
                )
                break


def power_riff(strings: Strings, root: int, time: float, beat: float, velocity: float, rng, motif):
    """Power chords (root, fifth, octave) on the low strings, palm-muted eighths or held."""
    string = 0 if (root - TUNING[0]) % 12 <= 7 else 1
    fret = (root - TUNING[string]) % 12
    for eighth, held in motif:
        start = time + eighth * beat / 2 + rng.normal(0, 0.004)
        hold = beat * (1.5 if held else rng.uniform(0.12, 0.3))
        accent = velocity * (1.0 if eighth % 2 == 0 else 0.8) * rng.uniform(0.85, 1.05)
        for k, offset in enumerate((0, 2, 2)):  # fifth and octave sit two frets up
            strings.play(string + k, fret + offset, start + k * 0.003, accent, hold)


def body(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The guitar body: a few resonant modes (air, top plate, back) over the strings."""
    board = pedalboard.Pedalboard(
        [
            pedalboard.PeakFilter(float(rng.uniform(90, 110)), 5.0, 8.0 / 1.4),
            pedalboard.PeakFilter(float(rng.uniform(180, 220)), 4.0, 10.0 / 1.4),
            pedalboard.PeakFilter(float(rng.uniform(360, 420)), 3.0, 12.0 / 1.4),
            pedalboard.HighpassFilter(60.0),
        ]
    )
    return board(audio.astype(np.float32), SAMPLE_RATE).astype(np.float64)


def play_guitar(plan: Plan, rng: np.random.Generator, strings: Strings, styles, p) -> Strings:
    """Play the plan's chords bar by bar in one of ``styles`` (or a mix of them)."""
    style = rng.choice([*styles, "mixed"], p=p)
    velocity = rng.uniform(0.45, 1.0)
    state = {"degree": int(rng.integers(3, 10))}
    motif = [(e, rng.random() < 0.2) for e in range(8) if e == 0 or rng.random() < 0.6]
    for time, root, quality in plan.bars():
        frets = playable_shape(root, quality, int(rng.integers(0, 8)))
        bar_style = rng.choice(styles) if style == "mixed" else style
        dynamics = velocity * rng.uniform(0.8, 1.1)
        if bar_style == "strum":
            strum(strings, frets, time, plan.beat, dynamics, rng)
        elif bar_style == "arpeggio":
            arpeggio(strings, frets, time, plan.beat, dynamics, rng)
        elif bar_style == "riff":
            power_riff(strings, root, time, plan.beat, dynamics, rng, motif)
        else:
            melody(strings, plan.key, plan.scale, time, plan.beat, dynamics, rng, state)
    return strings


def acoustic_guitar(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Strummed chords, arpeggios and single-note lines on a steel-string acoustic."""
    strings = Strings(plan.samples, rng, TUNING)
    styles = ["strum", "arpeggio", "melody"]
    play_guitar(plan, rng, strings, styles, [0.35, 0.25, 0.2, 0.2])
    return body(strings.render(), rng)


def electric_guitar(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """An electric guitar, clean or driven through an amp and a speaker cabinet."""
    strings = Strings(plan.samples, rng, TUNING, sustain=1.3, brightness=0.08)
    styles = ["strum", "arpeggio", "melody", "riff"]
    play_guitar(plan, rng, strings, styles, [0.2, 0.2, 0.2, 0.25, 0.15])
    audio = strings.render().astype(np.float32)
    audio /= np.max(np.abs(audio)) + 1e-9
    # A pickup hears the string, not a body: a highpass and a presence bump.
    chain = [
        pedalboard.HighpassFilter(float(rng.uniform(70, 120))),
        pedalboard.PeakFilter(float(rng.uniform(1500, 4000)), float(rng.uniform(0, 6)), 0.8),
    ]
    if rng.random() < 0.5:
        # Overdrive into a guitar speaker: the cabinet rolls off above a few kHz.
        chain += [
            pedalboard.Gain(float(rng.uniform(-6, 0))),
            pedalboard.Distortion(float(rng.uniform(12, 36))),
            pedalboard.LowpassFilter(float(rng.uniform(3000, 6000))),
            pedalboard.PeakFilter(float(rng.uniform(90, 140)), float(rng.uniform(0, 5)), 1.0),
            pedalboard.HighpassFilter(float(rng.uniform(60, 90))),
        ]
    elif rng.random() < 0.4:
        chain.append(pedalboard.Chorus(rate_hz=float(rng.uniform(0.3, 1.5)), mix=0.4))
    else:
        chain.append(pedalboard.LowpassFilter(float(rng.uniform(6000, 12000))))
    return pedalboard.Pedalboard(chain)(audio, SAMPLE_RATE).astype(np.float64)
