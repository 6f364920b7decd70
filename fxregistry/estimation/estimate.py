"""``fxr estimate``: the settings of the effect on a user's audio, and the match.

1. Read the wet file (and the dry one for a run whose input uses it) at
   44.1 kHz, as is: an effect's settings may be absolute levels (a
   threshold in dBFS), so no gain is applied. The networks hear the mean of
   the channels, as they were trained on mono clips; the blind checks and
   the renders of steps 4 and 5 read the channels as the effect left them.
2. Cut it into windows of the run's clip length (the last one padded with
   silence when it is at least a quarter full; a file shorter than a clip is
   one padded window); windows quieter than the dataset's threshold are left
   out unless all are. A file shorter than a quarter of a clip, or silent,
   is refused: no window would hold enough of it to estimate from.
3. Predict every window; each parameter is the median over windows, in its
   unit, snapped to the grid when the run was trained on the paper grid;
   ``spread`` is half the interquartile range across windows.
4. ``refine`` (needs the dry audio and the effect installed): analysis by
   synthesis. Render the dry audio at candidate settings and keep the one
   whose render is closest to the wet audio in a multi-resolution spectral
   distance: every grid setting when there are at most ``EXHAUSTIVE`` of
   them, else a walk over grid neighbours from the network's estimate; for a
   run trained on random settings, then a local search in the continuous
   range. Channel by channel when the two files have as many channels.
5. Without the dry audio, for an installed effect that supports a blind
   check (:mod:`~fxregistry.estimation.evidence`: it declares ``projection``
   or ``linear``): the check on the loudest window, in the channel that
   peaks highest there; the setting it finds replaces the network's
   (``fixed_point`` or ``echoes`` in the result).

An identification run (trained on a file over several effects) answers
which effect processed the audio instead: the class probabilities averaged
over windows, the most probable first, "none" among them (SPEC's
``estimate --json``: ``"effect"`` is null when none is the most probable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxregistry import registry
from fxregistry.audio.features import spectral_distance, spectrogram
from fxregistry.audio.io import (
    SAMPLE_RATE,
    check_audio_output,
    read_audio,
    resample,
    rms_db,
    rounding_noise,
    sample_exact,
    word_bits,
    write_audio,
)
from fxregistry.dataset.identification import NONE
from fxregistry.errors import FxrError
from fxregistry.estimation.evidence import Evidence, answered_setting, blind_evidence
from fxregistry.estimation.fixed_point import exact_projection
from fxregistry.estimation.models import Predictor, load_predictor
from fxregistry.estimation.search import search_settings
from fxregistry.specs.effect import Effect
from fxregistry.training.config import INPUTS
from fxregistry.training.identify import class_probabilities

__all__ = ["Inputs", "estimate", "identification_result", "read_inputs", "read_usable", "windows"]

REFINE_SECONDS = 20.0  # refinement compares at most this much audio (all channels together)
# A file whose peak stays below this is silence: far under any recording's
# noise floor (24-bit dither sits near -140 dBFS, 16-bit near -100).
SILENCE_DB = -120.0


def windows(audio: np.ndarray, samples: int) -> np.ndarray:
    """Non-overlapping windows ``(W, samples)``; see the module docstring for padding."""
    full, rest = divmod(audio.shape[-1], samples)
    parts = [audio[i * samples : (i + 1) * samples] for i in range(full)]
    if rest and (full == 0 or rest >= samples // 4):
        parts.append(np.pad(audio[full * samples :], (0, samples - rest)))
    return np.stack(parts).astype(np.float32)


def read_usable(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """``path`` as ``(channels, samples)`` at its own rate, and the rate; refused if silent."""
    audio, rate = read_audio(path, sample_rate=None, mono=False)
    if np.max(np.abs(audio)) < 10 ** (SILENCE_DB / 20):
        raise FxrError(
            f"{path}: the audio is silent (no sample above {SILENCE_DB:g} dBFS); "
            "there is nothing to estimate from"
        )
    return audio, rate


@dataclass(frozen=True)
class Inputs:
    """The files of one ``fxr estimate``, read once (:func:`read_inputs`).

    The default estimators run two or three estimates and the blind checks on
    the same files; they share one of these, so each file is read and each
    check run once. The networks hear the channels' mean at 44.1 kHz, as they
    were trained; the blind checks and the renders read the samples as the
    effect left them: one channel at a time, at the file's own rate.
    """

    wet_path: Path
    dry_path: Path | None
    wet: np.ndarray  # mono 44.1 kHz: the mean of the channels
    dry: np.ndarray | None  # the same length as ``wet``
    wet_native: np.ndarray  # (channels, samples) at ``rate``, as in the file
    dry_native: np.ndarray | None  # (channels, samples) at ``dry_rate``
    rate: int
    dry_rate: int | None
    exact: bool  # the wet's samples are as the effect left them (not a lossy codec)
    word_bits: int | None  # the wet file's integer word length (16), None for floats
    dry_word_bits: int | None  # the dry file's
    lengths: tuple[int, int | None]  # of the wet and dry, in 44.1 kHz samples, before the cut
    _evidence: dict = field(default_factory=dict, repr=False, compare=False)

    def check_length(self, clip: int) -> None:
        """Refuse audio too short for one window of ``clip`` samples (a quarter of one)."""
        shortest = clip // 4
        for path, length in zip((self.wet_path, self.dry_path), self.lengths, strict=True):
            if length is not None and length < shortest:
                raise FxrError(
                    f"{path}: {length / SAMPLE_RATE:.3f} s of audio is too short for the "
                    f"{clip / SAMPLE_RATE:g} s windows; give at least "
                    f"{shortest / SAMPLE_RATE:.3f} s"
                )

    def checked_window(self, clip: int) -> tuple[np.ndarray, int]:
        """The wet's loudest window of ``clip`` samples (at 44.1 kHz), as the file holds
        it: at its own rate, in the channel that peaks highest there; and that rate.

        Not resampled, not the channels' mean: a resampled quantized wet is not
        quantized, the mean of two quantized channels falls between their steps
        (one bit more), and a peak held at a ceiling in one channel is
        held in neither.
        """
        mono = windows(self.wet, clip)
        at = max(range(len(mono)), key=lambda i: rms_db(mono[i]))
        scale = self.rate / SAMPLE_RATE
        start, length = round(at * clip * scale), round(clip * scale)
        part = self.wet_native[:, start : start + length]
        part = np.pad(part, ((0, 0), (0, length - part.shape[-1])))  # as windows() pads
        return part[int(np.argmax(np.abs(part).max(axis=1)))], self.rate

    def synthesis_pair(self, samples: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(dry, wet, rate): the start of both files, to render and compare sample
        for sample as the effect rendered them: channel by channel at the files'
        own rate; the channels' means where their counts differ, at 44.1 kHz
        where their rates do. ``samples`` (at 44.1 kHz) over all the channels, so
        that a stereo pair costs what a mono one does. Needs the dry."""
        if self.dry_native is None:
            raise FxrError("analysis by synthesis needs the dry audio (--dry)")
        if self.dry_rate != self.rate:
            return self.dry[:samples], self.wet[:samples], SAMPLE_RATE
        dry, wet = self.dry_native, self.wet_native
        if dry.shape[0] != wet.shape[0]:
            dry, wet = dry.mean(axis=0, keepdims=True), wet.mean(axis=0, keepdims=True)
        n = round(samples * self.rate / SAMPLE_RATE) // wet.shape[0]
        if wet.shape[0] == 1:
            return dry[0, :n], wet[0, :n], self.rate
        return dry[:, :n], wet[:, :n], self.rate

    def evidence(self, effect: Effect, clip: int) -> Evidence | None:
        """:func:`~fxregistry.estimation.evidence.blind_evidence` on
        :meth:`checked_window`, run once per effect and window length."""
        key = (effect.name, clip)
        if key not in self._evidence:
            window, rate = self.checked_window(clip)
            self._evidence[key] = blind_evidence(effect, window, self.exact, rate, self.word_bits)
        return self._evidence[key]


def read_inputs(wet_path: str | os.PathLike, dry_path: str | os.PathLike | None = None) -> Inputs:
    """:func:`read_usable` of the wet, and of the dry if given, cut to the same length."""

    def mono(audio: np.ndarray, rate: int) -> np.ndarray:
        return resample(audio.mean(axis=0), rate, SAMPLE_RATE)  # the mean, then the rate

    wet_native, rate = read_usable(wet_path)
    wet, dry, dry_native, dry_rate = mono(wet_native, rate), None, None, None
    lengths = (wet.size, None)
    if dry_path is not None:
        dry_native, dry_rate = read_usable(dry_path)
        dry = mono(dry_native, dry_rate)
        lengths = (wet.size, dry.size)
        # Renders keep the dry length; a longer file is a tail of silence or an export pad.
        n = min(lengths)
        wet, dry = wet[:n], dry[:n]
        if dry_rate == rate:
            n = min(wet_native.shape[-1], dry_native.shape[-1])
            wet_native, dry_native = wet_native[:, :n], dry_native[:, :n]
    return Inputs(
        wet_path=Path(wet_path),
        dry_path=None if dry_path is None else Path(dry_path),
        wet=wet,
        dry=dry,
        wet_native=wet_native,
        dry_native=dry_native,
        rate=rate,
        dry_rate=dry_rate,
        exact=sample_exact(wet_path),
        word_bits=word_bits(wet_path),
        dry_word_bits=None if dry_path is None else word_bits(dry_path),
        lengths=lengths,
    )


def _predict_windows(predictor: Predictor, wet_windows, dry_windows) -> np.ndarray:
    card = predictor.card

    def db(audio: np.ndarray) -> np.ndarray:
        return card.normalization(spectrogram(audio, card.features))

    audio = {"wet": wet_windows, "dry": dry_windows}
    if "residual" in INPUTS[card.input]:
        audio["residual"] = wet_windows - dry_windows
    # The channels of the input, stacked as training.batches.model_input does.
    x = np.stack([db(audio[name]) for name in INPUTS[card.input]], axis=1)
    return predictor.predict(x)


def estimate(
    run: str | os.PathLike,
    wet_path: str | os.PathLike,
    dry_path: str | os.PathLike | None = None,
    *,
    refine: bool = False,
    render_to: str | os.PathLike | None = None,
    device: str = "auto",
    inputs: Inputs | None = None,
) -> dict[str, Any]:
    """What ``fxr estimate --json`` prints; see the module docstring.

    ``inputs``: the files already read (:func:`read_inputs`), for a caller that
    runs several estimates on them.
    """
    if render_to is not None:
        check_audio_output(render_to)  # before any work, not after it
    predictor = load_predictor(run, device)
    card = predictor.card
    if "dry" in INPUTS[card.input] and dry_path is None:
        raise FxrError(
            f"{run} was trained with --input {card.input}: pass the unprocessed audio "
            "with --dry (or use a run trained with --input wet)"
        )
    if (refine or render_to) and dry_path is None:
        raise FxrError(f"{'--refine' if refine else '--render-to'} needs the dry audio (--dry)")
    stored = card.effect
    data = card.data
    clip = card.clip
    if inputs is None:
        inputs = read_inputs(wet_path, dry_path)
    inputs.check_length(clip)
    wet, dry = inputs.wet, inputs.dry

    wet_windows = windows(wet, clip)
    dry_windows = windows(dry, clip) if dry is not None else None
    loud = np.array([rms_db(w) >= data.get("min_level_db", -60.0) for w in wet_windows])
    if loud.any():
        wet_windows = wet_windows[loud]
        dry_windows = dry_windows[loud] if dry_windows is not None else None
    per_window = _predict_windows(predictor, wet_windows, dry_windows)
    if card.classes is not None:
        if refine or render_to:
            raise FxrError(f"{run} identifies effects; --refine and --render-to need a run of one")
        return identification_result(class_probabilities(per_window), card.classes)

    median = np.median(per_window, axis=0)
    low, high = np.percentile(per_window, [25, 75], axis=0)
    on_grid = data.get("grid", "paper") == "paper"
    parameters, setting = {}, {}
    for i, p in enumerate(stored.parameters):
        value = p.denormalize(float(np.clip(median[i], 0, 1)))
        grid_value = p.snap(value)
        setting[p.name] = grid_value if on_grid else value
        spread = (
            p.denormalize(float(np.clip(high[i], 0, 1)))
            - p.denormalize(float(np.clip(low[i], 0, 1)))
        ) / 2
        parameters[p.name] = {
            "value": setting[p.name],
            "unit": p.unit,
            "grid_value": grid_value,
            "spread": float(spread),
            "network": value,
        }
    result: dict[str, Any] = {
        "effect": stored.name,
        "parameters": parameters,
        "windows": int(len(per_window)),
        "refined": False,
        "distance_before": None,
        "distance_after": None,
    }
    if dry is None:
        _check_blind_evidence(result, stored.name, inputs, clip)
    if dry is not None and (refine or render_to):
        effect = _installed(stored.name)
        d, w, rate = inputs.synthesis_pair(int(REFINE_SECONDS * SAMPLE_RATE))
        before = spectral_distance(effect(d, rate, **setting), w)
        result["distance_before"] = before
        if refine:
            setting, after = search_settings(
                effect,
                d,
                w,
                setting,
                continuous=not on_grid,
                sample_rate=rate,
                noise=_rounding_that_hides(effect, inputs.word_bits),
            )
            result["refined"] = True
            result["distance_after"] = after
            for name, value in setting.items():
                parameters[name]["value"] = value
                parameters[name]["grid_value"] = effect.parameter(name).snap(value)
        if render_to:
            original, rate = read_audio(dry_path, sample_rate=None, mono=False)
            rendered = effect(original, rate, **setting)
            result["rendered_to"] = str(write_audio(render_to, rendered, rate))
    return result


def _rounding_that_hides(effect: Effect, word_bits: int | None) -> float:
    """The wet file's rounding noise, for the refinement to count as silence: it fills
    the band a band limit emptied. Not for an exact projection, whose own change (a
    quantizer a few of the file's steps coarse) is noise at that level."""
    return 0.0 if exact_projection(effect) else rounding_noise(word_bits)


def _check_blind_evidence(result: dict[str, Any], name: str, inputs: Inputs, clip: int) -> None:
    """The blind check the effect supports (:mod:`~fxregistry.estimation.evidence`), if any,
    on the loudest window: its result under its own key, and the setting it answers."""
    try:
        effect = registry.get_effect(name)
    except FxrError:
        return  # not installed here: nothing can be rendered
    evidence = inputs.evidence(effect, clip)
    if evidence is None:
        return
    result[evidence.check] = evidence.found
    for parameter, value in (answered_setting(evidence) or {}).items():
        result["parameters"][parameter]["value"] = value
        result["parameters"][parameter]["grid_value"] = value


def identification_result(per_window: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """What estimate says of which effect: ``per_window`` is ``(windows, classes)``.

    The probabilities are averaged over windows; ``probabilities`` ranks every
    class, most probable first. ``effect`` is the most probable, or None when
    that is "none" (no registered effect shows in the audio).
    """
    mean = per_window.mean(axis=0)
    order = np.argsort(-mean, kind="stable")
    top = classes[order[0]]
    return {
        "effect": None if top == NONE else top,
        "probability": float(mean[order[0]]),
        "probabilities": {classes[c]: float(mean[c]) for c in order},
        "parameters": {},
        "windows": int(len(per_window)),
        "refined": False,
        "distance_before": None,
        "distance_after": None,
    }


def _installed(name: str) -> Effect:
    try:
        return registry.get_effect(name)
    except FxrError:
        raise FxrError(
            f"rendering needs the effect {name!r}, which is not installed here"
        ) from None
