"""Blind evidence beyond the network: is the wet audio a fixed point of a setting?

An effect that declares ``projection`` (quantization, band-limiting) leaves
its own output in place when applied again at the same setting, within the
distance it declares. So without the dry audio each grid setting can still
be tested on the wet audio alone: render the wet again at the setting and
measure how far it moved. Measured on real recordings (docs/estimate.md):

- A projection declared at most :data:`EXACT` is exact (quantization): its
  fixed points hold sample for sample, and the test is that. A wet quantized
  to some bit depth is left exactly in place at that depth and every higher
  one; unquantized audio, or quantized audio turned down, at none.
- Otherwise the multi-resolution spectral distance of
  :func:`~fxregistry.audio.features.spectral_distance` (log magnitudes, so
  an emptied high band counts): a wet resampled down and back moves by at
  most 0.066 at its own rate, and mostly more at any other (as little as 0.033
  where the audio has nothing between the two rates); the answer is the
  least moved setting, if it moved no more than the effect's ``projection``.

Among settings tied in place (every bit depth from the true one up) the
answer is the strongest, the one that moves a probe of white noise most,
which is the true one. A wet that no setting leaves in place (a gain change
or a lossy encoding after the effect, or another effect) gives no answer,
and the network's estimate stands. The identity setting, which leaves
everything in place, is never an answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.audio.features import distance_to, spectral_distance
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.specs.effect import Effect

__all__ = ["EXACT", "fixed_point_setting", "moves", "strength"]

EXACT = 0.01  # a projection declared this tight or tighter is exact, sample for sample
SAME_SAMPLES = 1e-6  # relative to the peak: float32 rounding, nothing more
TIE = 0.005  # spectral distances this close to the least count as tied
PROBE_SECONDS = 1.0
MAX_SETTINGS = 64  # grids larger than this are not searched exhaustively

# (effect name, setting) -> how far the setting moves the probe: the same for every wet.
_probe_moved: dict[tuple[str, tuple], float] = {}


def strength(effect: Effect, setting: dict[str, float]) -> float:
    """How far ``setting`` moves a probe of white noise (more: a stronger projection)."""
    key = (effect.name, tuple(sorted(setting.items())))
    if key not in _probe_moved:
        rng = np.random.default_rng(0)
        probe = (0.1 * rng.standard_normal(int(PROBE_SECONDS * SAMPLE_RATE))).astype(np.float32)
        _probe_moved[key] = spectral_distance(effect(probe, SAMPLE_RATE, **setting), probe)
    return _probe_moved[key]


def moves(
    effect: Effect, wet: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> tuple[list[dict[str, float]], np.ndarray] | None:
    """Each setting tested, and how far re-rendering ``wet`` at it moved it; None when the
    effect declares no ``projection`` or has more than :data:`MAX_SETTINGS` settings.

    The measure is the largest sample change relative to the peak for an exact
    projection, else the spectral distance. ``wet`` is mono audio at ``sample_rate``.
    """
    settings = effect.changing_grid()
    if effect.projection is None or not settings or len(settings) > MAX_SETTINGS:
        return None
    wet = np.asarray(wet, dtype=np.float32)
    renders = (effect(wet, sample_rate, **s) for s in settings)
    if effect.projection <= EXACT:
        peak = max(float(np.abs(wet).max()), 1e-12)
        return settings, np.array([float(np.abs(r - wet).max()) / peak for r in renders])
    to_wet = distance_to(wet)
    return settings, np.array([to_wet(r) for r in renders])


def fixed_point_setting(
    effect: Effect,
    wet: np.ndarray,
    measured: tuple[list[dict[str, float]], np.ndarray] | None = None,
) -> dict[str, Any] | None:
    """``{"setting", "moved"}`` of the setting ``wet`` is a fixed point of, or None.

    ``moved`` is how far re-rendering moved the wet; ``measured`` is what
    :func:`moves` gave for it, when the caller has it already.
    """
    measured = moves(effect, wet) if measured is None else measured
    if measured is None:
        return None
    settings, moved = measured
    if effect.projection <= EXACT:
        in_place = moved <= SAME_SAMPLES
    else:
        least = float(moved.min())
        in_place = (moved <= least + min(TIE, effect.projection)) & (least <= effect.projection)
    tied = [s for s, hit in zip(settings, in_place, strict=True) if hit]
    if not tied:
        return None
    strongest = max(tied, key=lambda s: strength(effect, s))
    return {"setting": strongest, "moved": float(moved[settings.index(strongest)])}
