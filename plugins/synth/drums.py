"""A drum kit: each piece synthesized once per take, then placed on a groove.

Kick: a pitched sine sweep with a click. Snare: a tuned body plus bandpassed
noise (the wires). Hi-hats and cymbals: highpassed noise with short or long
decays. Toms: lower, longer sine sweeps. Each piece is rendered in three
variants so repeated hits are not identical, and hits are scaled by velocity.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from fxregistry import SAMPLE_RATE

from .music import Plan


def seconds(s: float) -> np.ndarray:
    return np.arange(int(s * SAMPLE_RATE)) / SAMPLE_RATE


def filtered(noise: np.ndarray, *filters) -> np.ndarray:
    board = pedalboard.Pedalboard(list(filters))
    return board(noise.astype(np.float32), SAMPLE_RATE).astype(np.float64)


def kick(rng: np.random.Generator) -> np.ndarray:
    t = seconds(0.5)
    low, high, sweep = rng.uniform(45, 65), rng.uniform(120, 250), rng.uniform(0.02, 0.06)
    freq = low + (high - low) * np.exp(-t / sweep)
    body = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t / rng.uniform(0.12, 0.35))
    click = filtered(rng.uniform(-1, 1, t.size), pedalboard.HighpassFilter(1500.0))
    return body + rng.uniform(0.1, 0.5) * click * np.exp(-t / 0.004)


def snare(rng: np.random.Generator) -> np.ndarray:
    t = seconds(0.4)
    tone = np.sin(2 * np.pi * rng.uniform(160, 240) * t) * np.exp(-t / rng.uniform(0.03, 0.08))
    wires = filtered(
        rng.uniform(-1, 1, t.size),
        pedalboard.HighpassFilter(float(rng.uniform(800, 2000))),
        pedalboard.LowpassFilter(float(rng.uniform(6000, 12000))),
    )
    return 0.7 * tone + rng.uniform(0.5, 1.0) * wires * np.exp(-t / rng.uniform(0.06, 0.18))


def cymbal(rng: np.random.Generator, decay: float, cutoff: float) -> np.ndarray:
    t = seconds(min(3.0, 6 * decay))
    noise = filtered(rng.uniform(-1, 1, t.size), pedalboard.HighpassFilter(cutoff))
    # A few inharmonic square-ish partials give metal its ring.
    ring = np.sign(np.sin(2 * np.pi * np.outer(t, rng.uniform(300, 800, 4)))).sum(axis=1) / 4
    ring = filtered(ring, pedalboard.HighpassFilter(cutoff))
    return (noise + 0.5 * ring) * np.exp(-t / decay) * np.minimum(1, t / 0.001)


def tom(rng: np.random.Generator, pitch: float) -> np.ndarray:
    t = seconds(0.7)
    freq = pitch * (1 + 0.5 * np.exp(-t / 0.03))
    body = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t / rng.uniform(0.2, 0.4))
    return body + 0.1 * rng.uniform(-1, 1, t.size) * np.exp(-t / 0.01)


def kit(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Three variants of every piece; one kit per take, as a drummer brings one kit."""
    hat_cut, ride_cut = rng.uniform(5000, 9000), rng.uniform(3000, 6000)
    tom_pitch = rng.uniform(80, 140)
    return {
        "kick": [kick(rng) for _ in range(3)],
        "snare": [snare(rng) for _ in range(3)],
        "hat": [cymbal(rng, rng.uniform(0.02, 0.05), hat_cut) for _ in range(3)],
        "open-hat": [cymbal(rng, rng.uniform(0.15, 0.3), hat_cut) for _ in range(3)],
        "ride": [cymbal(rng, rng.uniform(0.6, 1.2), ride_cut) for _ in range(3)],
        "crash": [cymbal(rng, rng.uniform(0.8, 1.6), 0.6 * ride_cut) for _ in range(3)],
        "tom": [tom(rng, tom_pitch * r) for r in (1.5, 1.2, 1.0)],
    }


def groove(rng: np.random.Generator) -> dict[str, list[tuple[int, float]]]:
    """One bar on a sixteenth grid: piece -> [(sixteenth, velocity)]."""
    kicks = [0, 8] + [s for s in (6, 10, 14, 3, 11) if rng.random() < 0.25]
    snares = [4, 12] + [s for s in (7, 15, 13) if rng.random() < 0.15]
    hat_step = int(rng.choice([2, 2, 4, 1]))
    cymbal_piece = "ride" if rng.random() < 0.2 else "hat"
    hats = [(s, 0.9 if s % 4 == 0 else 0.6) for s in range(0, 16, hat_step)]
    out = {
        "kick": [(s, 1.0) for s in kicks],
        "snare": [(s, 1.0 if s in (4, 12) else 0.4) for s in snares],
        cymbal_piece: hats,
    }
    if cymbal_piece == "hat" and rng.random() < 0.4:
        out["open-hat"] = [(14, 0.7)]
        out["hat"] = [h for h in hats if h[0] != 14]
    return out


def drums(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A groove through the progression: crashes on phrase starts, tom fills at phrase ends."""
    pieces = kit(rng)
    pattern = groove(rng)
    sparse = rng.random() < 0.2  # sometimes only kick and snare with rests: a half-time feel
    velocity = rng.uniform(0.5, 1.0)
    mix = {
        "kick": 1.0,
        "snare": rng.uniform(0.5, 1.0),
        "hat": rng.uniform(0.1, 0.4),
        "open-hat": rng.uniform(0.1, 0.4),
        "ride": rng.uniform(0.1, 0.3),
        "crash": rng.uniform(0.2, 0.5),
        "tom": rng.uniform(0.5, 0.9),
    }
    out = np.zeros(plan.samples + 3 * SAMPLE_RATE)
    sixteenth = plan.beat / 4

    def hit(piece: str, time: float, v: float) -> None:
        sample = pieces[piece][int(rng.integers(3))]
        start = max(0, int((time + rng.normal(0, 0.003)) * SAMPLE_RATE))
        if start < plan.samples:
            out[start : start + sample.size] += mix[piece] * v * rng.uniform(0.85, 1.05) * sample

    for bar, (time, _, _) in enumerate(plan.bars()):
        if bar % 4 == 0 and rng.random() < 0.5:
            hit("crash", time, velocity)
        fill = bar % 4 == 3 and rng.random() < 0.4
        for piece, steps in pattern.items():
            if sparse and piece not in ("kick", "snare") and bar % 2:
                continue
            for step, v in steps:
                if fill and step >= 8:
                    continue
                hit(piece, time + step * sixteenth, velocity * v)
        if fill:
            # The three toms are the three variants: a fill wanders between them.
            for step in range(8, 16, int(rng.choice([1, 2]))):
                hit("tom", time + step * sixteenth, velocity * 0.9)
    return out[: plan.samples]
