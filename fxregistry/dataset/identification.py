"""Datasets over several effects: which effect processed the audio, or none.

``fxr build --effect A,B`` (or ``--effect all``, every installed
effect) renders each clip through every named effect, at each effect's
settings, and stores one more example per clip: the dry clip untouched. Each
example records which effect rendered it (``examples/effect``: its index in
the header's ``effects``, -1 for the untouched copy) and whether the effect
changed the audio beyond a gain (``examples/changed``). The class a model
learns follows from those two facts (:func:`labels`): *none* for the
untouched copy, for an effect at its identity setting (an echo after 0 s)
and for a setting that left this audio a mere gain change of itself (a
dynamics effect whose input never reaches its threshold is only make-up
gain); otherwise the effect.

The parameters of every effect are stored side by side in
``examples/params``: an example fills its own effect's columns and leaves
NaN in the others, so nothing is lost for later use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fxregistry.errors import FxrError
from fxregistry.specs.effect import Effect

__all__ = [
    "ALL",
    "NONE",
    "class_names",
    "composite_spec",
    "effect_list",
    "labels",
    "parameter_columns",
    "resolve_effects",
]

ALL = "all"  # --effect all: every installed effect
NONE = "none"  # the class of untouched audio, always class 0


def effect_list(text: str, installed: Sequence[str]) -> tuple[str, ...]:
    """The effect names ``--effect`` asks for: one name, a comma list, or ``all``.

    Unknown names are left to the registry, which lists the known ones.
    """
    if text.strip() == ALL:
        if not installed:
            raise FxrError("--effect all: no effect is installed (fxr list-effects)")
        return tuple(installed)
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise FxrError(f"--effect takes a name, a comma list of names or 'all', not {text!r}")
    if len(set(names)) != len(names):
        raise FxrError(f"--effect names an effect twice: {text!r}")
    if NONE in names:
        raise FxrError(f"--effect: {NONE!r} is the class of untouched audio, not an effect")
    return names


def resolve_effects(text: str) -> tuple[Effect, ...]:
    """The installed effects that ``--effect`` names (one, a comma list, or ``all``)."""
    from fxregistry import registry  # the registry loads the plugins; only when asked

    names = effect_list(text, registry.effect_names())
    return tuple(registry.get_effect(name) for name in names)


def class_names(effects: Sequence[str]) -> tuple[str, ...]:
    """What an identification model tells apart: none, then the effects in file order."""
    return (NONE, *effects)


def labels(effect: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Class indices (see :func:`class_names`) from ``examples/effect`` and ``examples/changed``."""
    effect = np.asarray(effect, dtype=np.int64)
    return np.where(np.asarray(changed, dtype=bool) & (effect >= 0), effect + 1, 0)


def parameter_columns(effects: Sequence[Effect]) -> list[slice]:
    """Each effect's columns of ``examples/params``, side by side in effect order."""
    columns, start = [], 0
    for effect in effects:
        columns.append(slice(start, start + len(effect.parameters)))
        start += len(effect.parameters)
    return columns


def composite_spec(effects: Sequence[Effect]) -> dict[str, Any]:
    """The ``effect_spec`` of a file over several effects: every parameter, named
    ``effect.parameter``, so that ``examples/params`` is described as in any file."""
    parameters = [
        {**p.as_dict(), "name": f"{effect.name}.{p.name}"}
        for effect in effects
        for p in effect.parameters
    ]
    return {
        "name": ",".join(e.name for e in effects),
        "description": "identification: " + ", ".join(e.name for e in effects) + " or none",
        "parameters": parameters,
        "fixed": {},
        "identity": None,
        "projection": None,
        "linear": False,
        "ceiling": None,
    }
