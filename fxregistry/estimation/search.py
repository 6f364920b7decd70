"""Analysis by synthesis: the grid setting whose render of the dry audio matches the wet.

Used by ``fxr estimate --refine`` and by the identifiability floor: render
the dry audio at candidate settings and keep the one whose render is closest
to the wet audio in a multi-resolution spectral distance.

A linear effect's grid setting is read from its echoes where the pair shows
them (:func:`~fxregistry.estimation.echoes.echo_setting` with the dry): a
render at the effect's fixed settings (an echo's feedback and mix) fits a
wet made at others worse than the dry itself does, so the closest render
can be the identity, while the echoes' times are the setting's whatever
their strength (benchmarks/variants.py).
"""

from __future__ import annotations

import itertools

import numpy as np

from fxregistry.audio.features import distance_to
from fxregistry.audio.io import SAMPLE_RATE, resample
from fxregistry.estimation.echoes import confirms, echo_setting
from fxregistry.specs.effect import Effect

__all__ = ["EXHAUSTIVE", "closest_grid_settings", "search_settings"]

EXHAUSTIVE = 64  # grids up to this many settings are searched exhaustively


def search_settings(
    effect: Effect,
    dry: np.ndarray,
    wet: np.ndarray,
    start: dict[str, float],
    continuous: bool = False,
    sample_rate: int = SAMPLE_RATE,
    noise: float = 0.0,
) -> tuple[dict[str, float], float]:
    """The setting whose render of ``dry`` (at ``sample_rate``; by the effect or by any
    of its variants) is closest to ``wet``, and its distance; ``noise``: the rms of the
    rounding noise the wet's file added (:func:`~fxregistry.audio.io.rounding_noise`),
    which the distance counts as silence."""
    cache: dict[tuple[float, ...], float] = {}
    to_wet = distance_to(wet, noise=noise)
    ways = effect.implementations()  # the wet may be a variant's render (Effect.variants)

    def cost(setting: dict[str, float]) -> float:
        key = tuple(setting[p.name] for p in effect.parameters)
        if key not in cache:
            cache[key] = min(to_wet(way(dry, sample_rate, **setting)) for way in ways)
        return cache[key]

    grid = effect.grid()
    echoed = _echoed_setting(effect, dry, wet, sample_rate)
    if echoed is not None:
        best = echoed
    elif len(grid) <= EXHAUSTIVE:
        # Ties (settings that sound the same) go to the first in grid order.
        best = min(grid, key=cost)
    else:
        best = _walk_grid(effect, {p.name: p.snap(start[p.name]) for p in effect.parameters}, cost)
    if continuous:
        best = _local_search(effect, best, cost)
    return best, cost(best)


def _echoed_setting(
    effect: Effect, dry: np.ndarray, wet: np.ndarray, sample_rate: int
) -> dict[str, float] | None:
    """The grid setting whose echoes the pair confirms, for a linear effect; else None."""
    if not effect.linear:
        return None
    # Mono at 44.1 kHz, as the echoes' filters are rendered.
    dry, wet = (
        resample(np.mean(np.atleast_2d(a), axis=0), sample_rate, SAMPLE_RATE) for a in (dry, wet)
    )
    if not np.any(wet) or not np.any(dry):
        return None
    found = echo_setting(effect, wet, dry)
    return found["setting"] if found is not None and confirms(found) else None


def closest_grid_settings(
    effect: Effect,
    dry: np.ndarray,
    wet: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
) -> list[dict[str, float]]:
    """Every grid setting whose render of ``dry`` (at ``sample_rate``; by the effect or by
    any of its variants) is as close to ``wet`` as the closest.

    More than one means those settings make the same audio here.
    """
    to_wet = distance_to(wet)
    ways = effect.implementations()
    costs = [(min(to_wet(way(dry, sample_rate, **s)) for way in ways), s) for s in effect.grid()]
    best = min(c for c, _ in costs)
    return [s for c, s in costs if c <= best + 1e-9]


def _walk_grid(effect: Effect, current: dict[str, float], cost) -> dict[str, float]:
    """Move to the best grid neighbour (one parameter one step) until none is better."""
    while True:
        neighbours = []
        for p in effect.parameters:
            i = p.grid.index(current[p.name])
            for j in (i - 1, i + 1):
                if 0 <= j < len(p.grid):
                    neighbours.append({**current, p.name: p.grid[j]})
        best = min(neighbours, key=cost, default=current)
        if cost(best) >= cost(current):
            return current
        current = best


def _local_search(effect: Effect, current: dict[str, float], cost, rounds: int = 6):
    """Pattern search in normalized space, steps halving from a quarter grid step."""
    step = 0.25 / max(len(p.grid) for p in effect.parameters)
    x = effect.normalize(current)
    for _ in range(rounds):
        improved = True
        while improved:
            improved = False
            for i, sign in itertools.product(range(len(x)), (-1, 1)):
                trial = x.copy()
                trial[i] = np.clip(trial[i] + sign * step, 0, 1)
                if cost(effect.denormalize(trial)) < cost(effect.denormalize(x)):
                    x, improved = trial, True
        step /= 2
    return effect.denormalize(x)
