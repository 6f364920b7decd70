"""Blind evidence for linear effects: the echoes an impulse response leaves in the cepstrum.

An effect that declares ``linear`` renders each setting as a convolution
with its impulse response ``h`` (its render of a unit impulse), and the real
cepstrum turns a convolution into a sum: ``cepstrum(wet) = cepstrum(dry) +
cepstrum(h)``. Past the first :data:`FLOOR_SECONDS` (where a recording's
spectral envelope and pitch periods live), a recording's cepstrum is
noise-like, while an impulse response with echoes (a feedback echo) has sharp peaks
at its echo times. Each setting's cepstrum past the floor is therefore a
matched filter for the wet's: the score is how many noise deviations of the
wet's own cepstrum (a robust estimate, from its median absolute deviation)
the match stands out by.

Measured on real recordings (benchmarks/blind_checks.py, docs/estimate.md):
untouched recordings, and every other effect's output, score at most 18 at
any setting; echoed recordings at least 54 at their own. So a score of
:data:`ECHO_SCORE` or more confirms the effect, at the best-scoring setting,
and a wet that no setting reaches it on was not processed by the effect. An
effect whose impulse responses hold nothing past the floor (a short filter)
gives no evidence either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.specs.effect import Effect

__all__ = ["ECHO_SCORE", "FLOOR_SECONDS", "echo_scores", "echo_setting"]

ECHO_SCORE = 30.0  # between untouched audio's highest score (18) and an echoed one's lowest (54)
FLOOR_SECONDS = 0.010  # envelope and pitch periods below; an echo effect's first repeat above
# Past the floor, an impulse response whose cepstrum holds less than this share of its
# energy echoes too little to be seen: no evidence.
MIN_ECHO_SHARE = 0.01
MAX_SETTINGS = 64  # as many as the fixed-point check searches


def _cepstrum(audio: np.ndarray) -> np.ndarray:
    """Real cepstrum of ``audio``, zero-padded to twice its length (no circular wrap)."""
    n = 2 * audio.shape[-1]
    magnitude = np.abs(np.fft.rfft(audio.astype(np.float64), n))
    # The floor keeps log() finite where the spectrum is empty (band-limited audio).
    floor = 1e-6 * float(magnitude.max()) + 1e-30
    return np.fft.irfft(np.log(magnitude + floor), n)[: audio.shape[-1]]


# (effect name, setting, samples) -> matched filter: the same for every wet.
_filters: dict[tuple[str, tuple, int], np.ndarray | None] = {}


def _matched_filter(effect: Effect, setting: dict[str, float], samples: int) -> np.ndarray | None:
    """The setting's impulse-response cepstrum past the floor, unit length; None if empty."""
    key = (effect.name, tuple(sorted(setting.items())), samples)
    if key not in _filters:
        _filters[key] = _echoes_of(effect(_impulse(samples), SAMPLE_RATE, **setting))
    return _filters[key]


def _impulse(samples: int) -> np.ndarray:
    impulse = np.zeros(samples, dtype=np.float32)
    impulse[0] = 1.0
    return impulse


def _echoes_of(response: np.ndarray) -> np.ndarray | None:
    cepstrum = _cepstrum(response)
    cepstrum[0] = 0.0  # the response's overall gain: not an echo
    echoes = cepstrum.copy()
    echoes[: int(FLOOR_SECONDS * SAMPLE_RATE)] = 0.0
    energy = float(np.sum(echoes**2))
    if energy <= MIN_ECHO_SHARE * float(np.sum(cepstrum**2)):
        return None
    return echoes / np.sqrt(energy)


Scored = tuple[list[dict[str, float]], np.ndarray]  # settings, and a score for each


def echo_scores(effect: Effect, wet: np.ndarray) -> Scored | None:
    """Each setting with echoes to look for, and how far the wet's cepstrum matches them.

    None when the effect is not ``linear``, has more than :data:`MAX_SETTINGS`
    settings, or none of them echoes past the floor. ``wet`` is mono audio at
    44.1 kHz, not silent.
    """
    identity = None if effect.identity is None else dict(effect.identity)
    settings = [s for s in effect.grid() if s != identity]
    if not effect.linear or not settings or len(settings) > MAX_SETTINGS:
        return None
    wet = np.asarray(wet, dtype=np.float32)
    filters = [_matched_filter(effect, s, wet.shape[-1]) for s in settings]
    kept = [(s, f) for s, f in zip(settings, filters, strict=True) if f is not None]
    if not kept:
        return None
    cepstrum = _cepstrum(wet)
    past_floor = cepstrum[int(FLOOR_SECONDS * SAMPLE_RATE) :]
    noise = 1.4826 * float(np.median(np.abs(past_floor - np.median(past_floor))))
    scores = np.array([float(f @ cepstrum) for _, f in kept]) / max(noise, 1e-12)
    return [s for s, _ in kept], scores


def echo_setting(
    effect: Effect,
    wet: np.ndarray,
    scored: Scored | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "score"}`` of the best-scoring setting, or None when no evidence.

    ``scored`` is what :func:`echo_scores` gave for it, when the caller has
    it already. The setting's echoes are in the wet when ``score`` reaches
    :data:`ECHO_SCORE`.
    """
    scored = echo_scores(effect, wet) if scored is None else scored
    if scored is None:
        return None
    settings, scores = scored
    best = int(np.argmax(scores))
    return {"setting": settings[best], "score": float(scores[best])}
