"""Plucked strings: a Karplus–Strong loop per string, six of them on a fretboard.

Each string is a Karplus–Strong loop (a delay line of one period with a
fractional-delay, damping loss filter), excited by a noise burst shaped by the
pick position and the velocity. It is shared by the guitars and the bass.
"""

from __future__ import annotations

import numpy as np

from fxregistry import SAMPLE_RATE

from .music import midi_hz


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


class Strings:
    """Strings with their own decay and damping; a new note on a string ends the last.

    ``tuning`` is the open strings' MIDI notes, low to high; ``sustain`` scales
    every string's decay time (electric strings ring longer, basses too).
    """

    def __init__(
        self,
        samples: int,
        rng: np.random.Generator,
        tuning: tuple[int, ...],
        sustain: float = 1.0,
        brightness: float = 0.0,
    ):
        self.rng = rng
        self.tuning = tuning
        self.out = np.zeros(samples)
        # Low strings ring longer.
        self.t60 = [sustain * rng.uniform(4.5, 7.0) * (0.82**i) for i in range(len(tuning))]
        self.damping = [rng.uniform(0.25, 0.45) - 0.03 * i - brightness for i in range(len(tuning))]
        self.pick = rng.uniform(0.08, 0.22)
        self.notes: list[list[tuple[int, int, float, int]]] = [[] for _ in tuning]

    def play(
        self, string: int, fret: int, time: float, velocity: float, hold: float | None = None
    ) -> None:
        """Pluck ``string`` at ``fret``; ``hold`` seconds later a palm or finger stops it."""
        # A strum's spread can put its first string before the take starts: start it at 0.
        start = max(0, int(time * SAMPLE_RATE))
        stop = start + int(hold * SAMPLE_RATE) if hold is not None else self.out.size
        self.notes[string].append((start, fret, float(np.clip(velocity, 0.05, 1)), stop))

    def render(self) -> np.ndarray:
        total = self.out.size
        for string, notes in enumerate(self.notes):
            notes.sort()
            for k, (start, fret, velocity, stop) in enumerate(notes):
                if start >= total:
                    continue
                end = min(notes[k + 1][0] if k + 1 < len(notes) else total, stop)
                # Let a note ring 30 ms past its stop: fingers do not stop it at once.
                length = min(total - start, end - start + int(0.03 * SAMPLE_RATE))
                if length <= 0:
                    continue
                cents = self.rng.normal(0, 3)
                period = SAMPLE_RATE / midi_hz(self.tuning[string] + fret + cents / 100)
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
