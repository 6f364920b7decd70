"""Blind evidence for linear effects: the echoes an impulse response leaves in the cepstrum.

An effect that declares ``linear`` renders each setting as a convolution
with its impulse response ``h`` (its render of a unit impulse), and the real
cepstrum turns a convolution into a sum: ``cepstrum(wet) = cepstrum(dry) +
cepstrum(h)``. Past the first :data:`FLOOR_SECONDS` (where a recording's
spectral envelope and pitch periods live), a recording's cepstrum is
noise-like, while an impulse response with echoes (a feedback echo) has
sharp peaks at its echo times. Each setting's cepstrum past the floor is therefore a
matched filter for the wet's: the score is how many noise deviations of the
wet's own cepstrum (a robust estimate, from its median absolute deviation)
the match stands out by.

A score of :data:`ECHO_SCORE` or more confirms the effect, at the
best-scoring setting. Echoes at a time between two grid settings' match no
filter: a wet is only refuted when it holds no train of the effect's echoes
at any time in the range either (:func:`_train_peak`, :data:`TRAIN_SCORE`).
Measured on real recordings (benchmarks/blind_checks.py, docs/estimate.md):
every grid setting of the echo effect confirmed (scores 79 to 808); of
untouched audio and the other effects' output, 0 to 2.3 % confirmed
(heavily quantized or band-limited clips whose music repeats at an echo's
time) and 93 to 99.6 % refuted; 0 to 4.2 % of settings between two grid
settings refuted. An effect
whose impulse responses hold nothing past the floor (a short filter) gives
no evidence either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.specs.effect import Effect

__all__ = ["ECHO_SCORE", "FLOOR_SECONDS", "TRAIN_SCORE", "echo_scores", "echo_setting"]

ECHO_SCORE = 30.0  # noise deviations; an echo effect's own output scored 79 or more
# An echo train this high is the effect's, though at no grid setting; measured by
# benchmarks/blind_checks.py with the verdicts above.
TRAIN_SCORE = 50.0
FLOOR_SECONDS = 0.010  # envelope and pitch periods below; an echo effect's first repeat above
# Past the floor, an impulse response whose cepstrum holds less than this share of its
# energy echoes too little to be seen: no evidence.
MIN_ECHO_SHARE = 0.01
MAX_SETTINGS = 64  # as many as the fixed-point check searches
# A setting between two of the grid's echoes between theirs: echo trains are searched
# from the first setting's first echo to the last's, and this much (relative) beyond.
RANGE_MARGIN = 0.25
ECHOES_IN_A_TRAIN = 3  # the first echo and the next two, at twice and three times its time

Scored = tuple[list[dict[str, float]], np.ndarray]  # settings, and a score for each


def _cepstrum(audio: np.ndarray) -> np.ndarray:
    """Real cepstrum of ``audio``, zero-padded to twice its length (no circular wrap)."""
    n = 2 * audio.shape[-1]
    magnitude = np.abs(np.fft.rfft(audio.astype(np.float64), n))
    # The floor keeps log() finite where the spectrum is empty (band-limited audio).
    floor = 1e-6 * float(magnitude.max()) + 1e-30
    return np.fft.irfft(np.log(magnitude + floor), n)[: audio.shape[-1]]


# (effect name, setting, samples) -> matched filter: the same for every wet.
_cache: dict[tuple[str, tuple, int], np.ndarray | None] = {}


def _matched_filter(effect: Effect, setting: dict[str, float], samples: int) -> np.ndarray | None:
    """The setting's impulse-response cepstrum past the floor, unit length; None if empty."""
    key = (effect.name, tuple(sorted(setting.items())), samples)
    if key not in _cache:
        _cache[key] = _echoes_of(effect(_impulse(samples), SAMPLE_RATE, **setting))
    return _cache[key]


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


def _scored_cepstrum(wet: np.ndarray) -> np.ndarray:
    """The wet's cepstrum less its median, in units of its noise, both taken past the floor
    (robustly: the median absolute deviation)."""
    cepstrum = _cepstrum(np.asarray(wet, dtype=np.float32))
    past_floor = cepstrum[int(FLOOR_SECONDS * SAMPLE_RATE) :]
    middle = float(np.median(past_floor))
    noise = 1.4826 * float(np.median(np.abs(past_floor - middle)))
    return (cepstrum - middle) / max(noise, 1e-12)


def _settings_and_filters(effect: Effect, samples: int) -> list[tuple[dict, np.ndarray]]:
    settings = effect.changing_grid()
    if not effect.linear or not settings or len(settings) > MAX_SETTINGS:
        return []
    filters = [(s, _matched_filter(effect, s, samples)) for s in settings]
    return [(s, f) for s, f in filters if f is not None]


def echo_scores(effect: Effect, wet: np.ndarray) -> tuple[Scored, float] | None:
    """How far the wet's cepstrum matches each setting's echoes, and how high the
    strongest train of the effect's echoes stands in it.

    Returns ``((settings, scores), peak)``; None when the effect is not
    ``linear``, has more than :data:`MAX_SETTINGS` settings, or none of them
    echoes past the floor. ``peak``, in the same noise units, is searched at
    every time between the settings' first echoes (:data:`RANGE_MARGIN`
    beyond; :func:`_train_peak`): it finds echoes at times between the
    grid's, which the matched filters miss. ``wet`` is mono audio at 44.1
    kHz, not silent.
    """
    kept = _settings_and_filters(effect, np.shape(wet)[-1])
    if not kept:
        return None
    cepstrum = _scored_cepstrum(wet)
    scores = np.array([float(f @ cepstrum) for _, f in kept])
    return ([s for s, _ in kept], scores), _train_peak(cepstrum, [f for _, f in kept])


def _at(values: np.ndarray, lag: int) -> float:
    """The cepstrum at ``lag``, give or take a sample (echoes fall between samples)."""
    return float(values[max(0, lag - 1) : lag + 2].max()) if lag + 2 <= len(values) else 0.0


def _train_peak(cepstrum: np.ndarray, filters: list[np.ndarray]) -> float:
    """How high the strongest echo train stands in the wet, at any time between the settings'.

    A repeat of the audio leaves a peak in the cepstrum; a musical repetition
    (a note played again, a chorus) leaves one too, but only the effect's
    own echo train also has its later echoes, each as high relative to the
    first as in the effect's impulse responses. A train at time ``t`` stands
    as high as its weakest echo, each scaled by that ratio: ``min_k c(k t) /
    ratio_k``, for the first :data:`ECHOES_IN_A_TRAIN` echoes.
    """
    firsts = [int(np.argmax(f)) for f in filters]
    ratios = np.array(
        [
            [_at(f, k * lag) / f[lag] for k in range(1, ECHOES_IN_A_TRAIN + 1)]
            for f, lag in zip(filters, firsts, strict=True)
        ]
    ).min(axis=0)
    if not np.all(ratios > 0):  # no train of echoes to look for
        return float("inf")
    low = max(int(FLOOR_SECONDS * SAMPLE_RATE), int(min(firsts) * (1 - RANGE_MARGIN)))
    high = min(len(cepstrum) // ECHOES_IN_A_TRAIN, int(max(firsts) * (1 + RANGE_MARGIN)) + 1)
    lags = low + np.flatnonzero(cepstrum[low:high] >= ECHO_SCORE)
    trains = [
        min(_at(cepstrum, k * lag) / ratios[k - 1] for k in range(1, ECHOES_IN_A_TRAIN + 1))
        for lag in lags
    ]
    return float(max(trains, default=0.0))


def echo_setting(
    effect: Effect,
    wet: np.ndarray,
    scored: tuple[Scored, float] | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "score", "peak"}``: the best-scoring setting, or None when no evidence.

    ``scored`` is what :func:`echo_scores` gave for it, when the caller has
    it already. The setting's echoes are in the wet when ``score`` reaches
    :data:`ECHO_SCORE`; no echo the effect makes is when ``peak`` stays below
    :data:`TRAIN_SCORE`.
    """
    scored = echo_scores(effect, wet) if scored is None else scored
    if scored is None:
        return None
    (settings, scores), peak = scored
    best = int(np.argmax(scores))
    return {"setting": settings[best], "score": float(scores[best]), "peak": peak}
