"""With the dry audio: which effect renders it into the wet (analysis by synthesis).

The identification network guesses from spectrograms; with the dry take in
hand there is a test that does not guess. Every installed effect renders the
dry at each of its grid settings that can change audio, and each render is
compared with the wet sample by sample: its *fit* is the wet's energy over
the residual's, in dB. A deterministic effect at the setting that made the
wet gives it back to the precision of the files (float files exactly; a
16-bit file's rounding still leaves 60 dB or more on our recordings), while
another effect, or a setting between grid points, leaves a residual tens of
dB louder. The dry itself, at its best gain, stands for *none*: an identity
setting or a mere gain change counts as no effect.

:func:`identify_by_synthesis` says none when the wet is a mere gain change of
the dry, sample for sample (:func:`mere_gain_change`: a dynamics effect that
never reached its threshold renders the wet exactly, yet changed nothing but
the level). The test is on the samples, not on the spectrograms a build labels
its examples by (:func:`~fxregistry.audio.features.gain_change_only`, what a
network can see): a 15-bit quantization, or a dynamics effect that caught a few peaks,
moves no Mel band by 0.1 dB, yet the effect changed the audio, and its render
says so. Otherwise it
names an effect only when its fit is at least :data:`MATCH_DB` and beats
every other candidate's, none's included, by :data:`MARGIN_DB`; it says none
when the dry at its best gain matches and no effect beats it by that margin;
otherwise it says nothing, and the network's
answer stands (audio processed off the grid, a dry not aligned with its wet,
a lossy file). Renders start where the files start, as ``--refine`` compares
them: an effect with memory (echoes, a release) is only reproduced exactly
from the same start.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fxregistry.audio.features import at_best_gain, mere_gain_change
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.identification import NONE
from fxregistry.estimation.fixed_point import coarser_than_word, exact_projection
from fxregistry.specs.effect import Effect

__all__ = [
    "MARGIN_DB",
    "MATCH_DB",
    "decide",
    "identify_by_synthesis",
    "synthesis_fits",
]

MATCH_DB = 50.0  # a render this close is the wet, up to the files' rounding
MARGIN_DB = 10.0  # and this much closer than any other candidate's
_CEILING_DB = 200.0  # an exact render: the fit of float arithmetic, not infinity
INPUT_STEPS = 2  # a 16-bit sample read back: half a step of rounding, up to one of scale


def fit_db(render: np.ndarray, wet: np.ndarray) -> float:
    """The wet's energy over that of ``wet - render``, in dB (capped at 200)."""
    wet = np.asarray(wet, np.float64)
    residual = float(np.sum((wet - np.asarray(render, np.float64)) ** 2))
    energy = float(np.sum(wet**2))
    if residual <= energy * 10 ** (-_CEILING_DB / 10):
        return _CEILING_DB
    return 10.0 * np.log10(energy / residual)


def synthesis_fits(
    dry: np.ndarray,
    wet: np.ndarray,
    effects: Mapping[str, Effect],
    sample_rate: int = SAMPLE_RATE,
    word: float = 0.0,
) -> dict[str, float]:
    """Each effect's best fit over its settings that change audio, rendered by it or by
    any of its variants (Effect.variants); ``none``: the dry's.

    The renders are at ``sample_rate``, the files'. ``word``: the step of the dry
    file's word length (:func:`~fxregistry.audio.io.word_step`), 0 for floats.
    """
    fits = {NONE: fit_db(at_best_gain(dry, wet), wet)}
    for name, effect in effects.items():
        fitted = (
            _render_fit(way, dry, wet, s, sample_rate, word)
            for way in effect.implementations()  # its own render, or a variant's
            for s in effect.changing_grid()
        )
        fits[name] = max(fitted, default=-np.inf)
    return fits


def _render_fit(
    effect: Effect,
    dry: np.ndarray,
    wet: np.ndarray,
    setting: dict[str, float],
    sample_rate: int,
    word: float,
) -> float:
    """The fit of ``effect``'s render of ``dry`` at ``setting``.

    A dry read from an integer file is the effect's input only within
    :data:`INPUT_STEPS` steps of its word length (rounding, and a decoder's
    scale). An exact projection (a quantizer) puts a sample that close to one of
    its edges on either side of it, a whole step off the wet; so each sample's
    render is taken from the input within those steps that comes closest, at
    settings whose grid the word length does not blur (:func:`~fxregistry.
    estimation.fixed_point.coarser_than_word`).
    """
    render = effect(dry, sample_rate, **setting)
    # A grid within a few steps of the word length's would fit any small change so.
    if word and exact_projection(effect) and coarser_than_word(effect, setting, sample_rate, word):
        for shift in (-INPUT_STEPS * word, INPUT_STEPS * word):
            other = effect((dry + shift).astype(np.float32), sample_rate, **setting)
            render = np.where(np.abs(other - wet) < np.abs(render - wet), other, render)
    return fit_db(render, wet)


def identify_by_synthesis(
    dry: np.ndarray,
    wet: np.ndarray,
    effects: Mapping[str, Effect],
    sample_rate: int = SAMPLE_RATE,
    word: float = 0.0,
) -> tuple[str | None, dict[str, float]]:
    """The candidate the renders decide (an effect's name, or ``none``; None: undecided),
    and every candidate's fit (:func:`synthesis_fits`; ``word`` as there)."""
    fits = synthesis_fits(dry, wet, effects, sample_rate, word)
    if mere_gain_change(dry, wet):
        return NONE, fits
    return decide(fits), fits


def decide(fits: Mapping[str, float]) -> str | None:
    """The candidate the fits decide, by the margins of the module docstring, or None."""
    effects = {name: fit for name, fit in fits.items() if name != NONE}
    if effects:
        top = max(effects, key=effects.__getitem__)
        others = max((fit for name, fit in fits.items() if name != top), default=-np.inf)
        if fits[top] >= MATCH_DB and fits[top] - others >= MARGIN_DB:
            return top
    best_effect = max(effects.values(), default=-np.inf)
    if fits[NONE] >= MATCH_DB and fits[NONE] > best_effect - MARGIN_DB:
        return NONE
    return None
