"""The built-in dry-audio source: a plucked-string acoustic guitar synthesizer.

It exists so that ``fxr build`` works on a fresh machine with no downloads,
and it is made to stress the effects the way real guitar does: sharp
plucked transients (the limiter's attack), long decaying tails with a noise
floor (the bitcrusher's quiet end), harmonics up to ~10 kHz (the sample-rate
reduction) and rhythmic onsets (the delay's repeats).

Each string is a Karplus–Strong loop (a delay line of one period with a
fractional-delay, damping loss filter), excited by a noise burst shaped by
the pick position and the velocity, and the six strings feed a body made of
a few resonant modes. Takes play strummed chords (with per-string onset
spread, down and up strokes), arpeggios and single-note lines in a random
key, tempo and dynamics, at a random level with a faint noise floor.
Everything is drawn from ``numpy.random.default_rng((seed, take))``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torchaudio

import fxregistry
from fxregistry import SAMPLE_RATE, FxrError, Recording, Source

DEFAULT_TAKES = 24
# Standard tuning, low to high (MIDI notes E2 A2 D3 G3 B3 E4).
TUNING = (40, 45, 50, 55, 59, 64)
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as scale degrees (0 = tonic), common in pop, folk and jazz.
PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 4), (1, 4, 0, 0), (0, 5, 3, 4), (0, 3, 0, 4))


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


# ---------------------------------------------------------------- one string


def karplus_strong(
    excitation: np.ndarray, period: float, t60: float, damping: float, samples: int
) -> np.ndarray:
    """A plucked string: ``excitation`` circulating in a loop of ``period`` samples.

    The loop filter is a linear-interpolation fractional delay convolved with
    a symmetric smoother ``[d/2, 1-d, d/2]`` (more ``damping``, darker
    string), times the gain that makes the loop decay by 60 dB in ``t60`` s.
    The recursion only looks back at least ``N - 1`` samples, so it runs a
    block of ``N - 1`` samples at a time with numpy instead of per sample.
    """
    n = int(period)
    frac = period - n
    taps = np.convolve([1 - frac, frac], [damping / 2, 1 - damping, damping / 2])  # delays n-1..n+2
    gain = 10 ** (-3 * period / (t60 * SAMPLE_RATE))
    taps = taps * gain
    pad = n + 2
    y = np.zeros(pad + samples)
    x = np.zeros(pad + samples)
    x[pad : pad + min(samples, excitation.size)] = excitation[:samples]
    block = n - 1
    for start in range(pad, pad + samples, block):
        stop = min(start + block, pad + samples)
        y[start:stop] = (
            x[start:stop]
            + taps[0] * y[start - n + 1 : stop - n + 1]
            + taps[1] * y[start - n : stop - n]
            + taps[2] * y[start - n - 1 : stop - n - 1]
            + taps[3] * y[start - n - 2 : stop - n - 2]
        )
    return y[pad:]


def excitation(period: float, velocity: float, pick: float, rng: np.random.Generator) -> np.ndarray:
    """One period of noise, darker when soft, comb-filtered at the pick position."""
    n = max(2, int(period))
    burst = rng.uniform(-1, 1, n)
    # Soft plucks are darker: a one-pole lowpass whose pole moves with velocity.
    pole = 0.85 - 0.6 * velocity
    for i in range(1, n):
        burst[i] = (1 - pole) * burst[i] + pole * burst[i - 1]
    # Plucking at a fraction `pick` of the string cancels harmonics at multiples of 1/pick.
    shift = max(1, int(round(pick * n)))
    burst = burst - np.concatenate([np.zeros(shift), burst[:-shift]])
    return velocity * burst / (np.max(np.abs(burst)) + 1e-9)


# ---------------------------------------------------------------- the player


class Strings:
    """Six strings with their own decay and damping; a new note on a string ends the last."""

    def __init__(self, samples: int, rng: np.random.Generator):
        self.rng = rng
        self.out = np.zeros(samples)
        self.t60 = [rng.uniform(4.5, 7.0) * (0.82**i) for i in range(6)]  # low strings ring longer
        self.damping = [rng.uniform(0.25, 0.45) - 0.03 * i for i in range(6)]
        self.pick = rng.uniform(0.08, 0.22)
        self.notes: list[list[tuple[int, int, float]]] = [[] for _ in range(6)]

    def play(self, string: int, fret: int, time: float, velocity: float) -> None:
        # A strum's spread can put its first string before the take starts: start it at 0.
        self.notes[string].append(
            (max(0, int(time * SAMPLE_RATE)), fret, float(np.clip(velocity, 0.05, 1)))
        )

    def render(self) -> np.ndarray:
        total = self.out.size
        for string, notes in enumerate(self.notes):
            notes.sort()
            for k, (start, fret, velocity) in enumerate(notes):
                if start >= total:
                    continue
                end = notes[k + 1][0] if k + 1 < len(notes) else total
                # Let a note ring 30 ms into the next pluck: fingers do not stop it at once.
                length = min(total - start, end - start + int(0.03 * SAMPLE_RATE))
                if length <= 0:
                    continue
                cents = self.rng.normal(0, 3)
                period = SAMPLE_RATE / midi_hz(TUNING[string] + fret + cents / 100)
                pick = self.pick * self.rng.uniform(0.85, 1.15)
                note = karplus_strong(
                    excitation(period, velocity, pick, self.rng),
                    period,
                    self.t60[string] * (1 - fret / 40),
                    float(np.clip(self.damping[string] + fret * 0.004, 0.05, 0.6)),
                    length,
                )
                fade = min(length, int(0.03 * SAMPLE_RATE))
                note[length - fade :] *= np.linspace(1, 0, fade) if end < total else 1
                self.out[start : start + length] += note
        return self.out


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


def chord_of(key: int, scale: tuple[int, ...], degree: int) -> tuple[int, tuple[int, ...]]:
    root = key + scale[degree % 7]
    third = (scale[(degree + 2) % 7] - scale[degree % 7]) % 12
    fifth = (scale[(degree + 4) % 7] - scale[degree % 7]) % 12
    return root % 12, (0, third, fifth)


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


def body(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The guitar body: the strings plus a few resonant modes (air, top plate, back)."""
    x = torch.from_numpy(audio.astype(np.float32))
    out = x.clone()
    for freq, q, gain in (
        (rng.uniform(90, 110), 8.0, 0.8),
        (rng.uniform(180, 220), 10.0, 0.6),
        (rng.uniform(360, 420), 12.0, 0.4),
    ):
        out += gain * torchaudio.functional.bandpass_biquad(x, SAMPLE_RATE, freq, q)
    out = torchaudio.functional.highpass_biquad(out, SAMPLE_RATE, 60.0)
    return out.numpy().astype(np.float64)


def synthesize_take(seed: int, index: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Take ``index`` for ``seed``: 10–30 s of mono float32 guitar at 44.1 kHz."""
    if sample_rate != SAMPLE_RATE:
        raise FxrError(f"the synthesizer renders at {SAMPLE_RATE} Hz, not {sample_rate}")
    rng = np.random.default_rng([seed, index])
    seconds = rng.uniform(10, 30)
    samples = int(seconds * SAMPLE_RATE)
    beat = 60 / rng.uniform(70, 150)
    key = int(rng.integers(0, 12))
    scale = MAJOR if rng.random() < 0.6 else MINOR
    progression = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    style = rng.choice(["strum", "arpeggio", "melody", "mixed"], p=[0.35, 0.25, 0.2, 0.2])
    velocity = rng.uniform(0.45, 1.0)
    strings = Strings(samples, rng)
    state = {"degree": int(rng.integers(3, 10))}
    time, bar = rng.uniform(0.0, 0.4), 0
    while time < seconds:
        root, quality = chord_of(key, scale, progression[bar % len(progression)])
        frets = playable_shape(root, quality, int(rng.integers(0, 8)))
        bar_style = rng.choice(["strum", "arpeggio", "melody"]) if style == "mixed" else style
        dynamics = velocity * rng.uniform(0.8, 1.1)
        if bar_style == "strum":
            strum(strings, frets, time, beat, dynamics, rng)
        elif bar_style == "arpeggio":
            arpeggio(strings, frets, time, beat, dynamics, rng)
        else:
            melody(strings, key, scale, time, beat, dynamics, rng, state)
        time += 4 * beat
        bar += 1
    audio = body(strings.render(), rng)
    peak_db = rng.uniform(-20, -1)
    audio *= 10 ** (peak_db / 20) / (np.max(np.abs(audio)) + 1e-12)
    audio += rng.normal(0, 10 ** (rng.uniform(-80, -70) / 20), samples)  # room and preamp noise
    return np.clip(audio, -1, 1).astype(np.float32)


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
    description="Built-in plucked-string guitar synthesizer: strums, arpeggios, lines",
    recordings=recordings,
    argument_help=f"N: number of takes (default {DEFAULT_TAKES})",
)


@fxregistry.hookimpl
def register_sources(register):
    register(SYNTH)
