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
best-scoring setting, if the match also holds :data:`ECHO_SHARE` of the
setting's own echoes (``share``: the match against the impulse response's
own): a band limit empties the noise that the score is measured in, and
then a faint repetition in the music (a low note's period) stands out by
as many deviations as an echo, at a hundredth of an echo's strength.
Echoes at a time between two grid settings' match no filter: a wet is
only refuted when it holds no train of the effect's echoes at any time in
the range either (:func:`_train_peak`, :data:`TRAIN_SCORE`).
Measured on real recordings (benchmarks/blind_checks.py, docs/estimate.md):
every grid setting of the echo effect confirmed (scores 79 to 808); of
untouched audio and the other effects' output, 0 to 0.4 % confirmed
(0 to 1.8 % without the share: band-limited clips whose music repeats
faintly at an echo's time) and 93 to 99.6 % refuted; 0 to 4.2 % of settings between two grid
settings refuted. An effect
whose impulse responses hold nothing past the floor (a short filter) gives
no evidence either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.specs.effect import Effect

__all__ = [
    "ECHO_SCORE",
    "ECHO_SHARE",
    "FLOOR_SECONDS",
    "TRAIN_SCORE",
    "confirms",
    "echo_scores",
    "echo_setting",
]

ECHO_SCORE = 30.0  # noise deviations; an echo effect's own output scored 79 or more
# Of the setting's own echoes. On real recordings (every grid setting of the echo effect,
# 20 clips of each solo and mix of both corpora) its own output held 0.013 and more: 0.095
# or more on the guitar solos and band mixes, under 0.02 on one bass clip alone. Other
# effects' output that scored 30 or more held 0.007-0.009 (band-limited clips) and up to
# 0.07 (1- to 4-bit quantized ones, which their exact fixed point decides anyway).
ECHO_SHARE = 0.02
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


# (effect name, setting, samples) -> matched filter and its length: the same for every wet.
# Bounded, the oldest dropped first: a process that estimates many files of many lengths
# (a benchmark, a server) would otherwise keep a filter per length for good.
_cache: dict[tuple[str, tuple, int], tuple[np.ndarray, float] | None] = {}
_CACHE_SIZE = 256  # a few lengths of every setting of a grid of dozens


def _echoes(
    effect: Effect, setting: dict[str, float], samples: int
) -> tuple[np.ndarray, float] | None:
    """The setting's matched filter (its impulse-response cepstrum past the floor, unit
    length) and that cepstrum's length (its own match); None if it holds no echoes."""
    key = (effect.name, tuple(sorted(setting.items())), samples)
    if key not in _cache:
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[key] = _echoes_of(effect(_impulse(samples), SAMPLE_RATE, **setting))
    return _cache[key]


def _impulse(samples: int) -> np.ndarray:
    impulse = np.zeros(samples, dtype=np.float32)
    impulse[0] = 1.0
    return impulse


def _echoes_of(response: np.ndarray) -> tuple[np.ndarray, float] | None:
    cepstrum = _cepstrum(response)
    cepstrum[0] = 0.0  # the response's overall gain: not an echo
    echoes = cepstrum.copy()
    echoes[: int(FLOOR_SECONDS * SAMPLE_RATE)] = 0.0
    energy = float(np.sum(echoes**2))
    if energy <= MIN_ECHO_SHARE * float(np.sum(cepstrum**2)):
        return None
    return echoes / np.sqrt(energy), float(np.sqrt(energy))


def _centred_cepstrum(wet: np.ndarray, dry: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The wet's cepstrum (less the dry's, when given: the impulse response's alone) less
    its median, and its noise, both taken past the floor (robustly: the median absolute
    deviation)."""
    cepstrum = _cepstrum(np.asarray(wet, dtype=np.float32))
    if dry is not None:
        cepstrum = cepstrum - _cepstrum(np.asarray(dry, dtype=np.float32))
    past_floor = cepstrum[int(FLOOR_SECONDS * SAMPLE_RATE) :]
    middle = float(np.median(past_floor))
    noise = 1.4826 * float(np.median(np.abs(past_floor - middle)))
    return cepstrum - middle, max(noise, 1e-12)


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
    found = _matches(effect, wet)
    if found is None:
        return None
    settings, matches, _, scored = found
    return (settings, matches / scored[1]), scored[0]


def _matches(effect: Effect, wet: np.ndarray, dry: np.ndarray | None = None):
    """``(settings, each one's match, its echoes' own match, (peak, noise))``, or None."""
    settings = effect.changing_grid()
    if not effect.linear or not settings or len(settings) > MAX_SETTINGS:
        return None
    samples = np.shape(wet)[-1]
    kept = [(s, e) for s in settings if (e := _echoes(effect, s, samples)) is not None]
    if not kept:
        return None
    cepstrum, noise = _centred_cepstrum(wet, dry)
    filters = [f for _, (f, _) in kept]
    matches = np.array([float(f @ cepstrum) for f in filters])
    own = np.array([length for _, (_, length) in kept])
    peak = _train_peak(cepstrum / noise, filters)
    return [s for s, _ in kept], matches, own, (peak, noise)


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
    dry: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "score", "share", "peak"}``: the best-scoring setting, or None when no
    evidence.

    The setting's echoes are in the wet when :func:`confirms` says so; no echo
    the effect makes is when ``peak`` stays below :data:`TRAIN_SCORE`. With the
    ``dry`` (mono, the wet's length, 44.1 kHz) the match is on the cepstrum of
    the wet less the dry's, the impulse response's own: the music's repetitions
    cancel, and the echo times decide whatever their strength, where a render
    at the effect's fixed settings (its feedback, its mix) fits only those.
    """
    found = _matches(effect, wet, dry)
    if found is None:
        return None
    settings, matches, own, (peak, noise) = found
    best = int(np.argmax(matches))
    return {
        "setting": settings[best],
        "score": float(matches[best] / noise),
        "share": float(matches[best] / own[best]),
        "peak": peak,
    }


def confirms(found: dict[str, Any]) -> bool:
    """Whether :func:`echo_setting`'s answer confirms the effect: its score stands out of
    the wet's noise by :data:`ECHO_SCORE`, with :data:`ECHO_SHARE` of its own echoes."""
    return found["score"] >= ECHO_SCORE and found["share"] >= ECHO_SHARE
