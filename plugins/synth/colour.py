"""What lies between the instruments and the file: a room, a microphone, a level, a noise floor.

These are drawn per take and applied to the finished mix, so a band shares one
room, as it does on a live or home recording.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from fxregistry import SAMPLE_RATE


def room(rng: np.random.Generator) -> list:
    """Small rooms mostly (a bedroom, a studio booth), sometimes none at all (direct input)."""
    if rng.random() < 0.35:
        return []
    return [
        pedalboard.Reverb(
            room_size=float(rng.uniform(0.05, 0.6)),
            damping=float(rng.uniform(0.2, 0.8)),
            wet_level=float(rng.uniform(0.03, 0.3)),
            dry_level=1.0,
            width=0.0,  # the take is mono
        )
    ]


def microphone(rng: np.random.Generator) -> list:
    """A microphone and preamp's colour: a low cut, a tilt, a bump, a high roll-off."""
    chain = [pedalboard.HighpassFilter(float(rng.uniform(20, 120)))]
    if rng.random() < 0.7:
        chain.append(
            pedalboard.LowShelfFilter(float(rng.uniform(80, 300)), float(rng.uniform(-6, 6)))
        )
    if rng.random() < 0.7:
        chain.append(
            pedalboard.PeakFilter(
                float(rng.uniform(300, 6000)), float(rng.uniform(-6, 6)), float(rng.uniform(0.5, 2))
            )
        )
    if rng.random() < 0.7:
        chain.append(
            pedalboard.HighShelfFilter(float(rng.uniform(3000, 10000)), float(rng.uniform(-8, 4)))
        )
    if rng.random() < 0.3:
        chain.append(pedalboard.LowpassFilter(float(rng.uniform(6000, 18000))))
    return chain


def noise_floor(samples: int, rng: np.random.Generator) -> np.ndarray:
    """Hiss (white, or pinkish with a gentle lowpass) and sometimes mains hum, −90…−60 dBFS."""
    level = 10 ** (rng.uniform(-90, -60) / 20)
    hiss = rng.normal(0, 1, samples).astype(np.float32)
    if rng.random() < 0.5:
        hiss = pedalboard.LowpassFilter(float(rng.uniform(1000, 8000)))(hiss, SAMPLE_RATE)
        hiss /= np.std(hiss) + 1e-12
    noise = level * hiss.astype(np.float64)
    if rng.random() < 0.2:
        t = np.arange(samples) / SAMPLE_RATE
        mains = float(rng.choice([50.0, 60.0]))
        hum = np.sin(2 * np.pi * mains * t) + 0.5 * np.sin(2 * np.pi * 3 * mains * t)
        noise += level * rng.uniform(0.5, 3) * hum
    return noise


def record(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mix as a file holds it: room and microphone, a peak of −20…−1 dBFS, a noise floor."""
    board = pedalboard.Pedalboard(room(rng) + microphone(rng))
    audio = board(audio.astype(np.float32), SAMPLE_RATE).astype(np.float64)
    peak_db = rng.uniform(-20, -1)
    audio *= 10 ** (peak_db / 20) / (np.max(np.abs(audio)) + 1e-12)
    audio += noise_floor(audio.size, rng)
    return np.clip(audio, -1, 1).astype(np.float32)
