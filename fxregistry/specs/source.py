"""What a dry-audio source is: a named way to list recordings and load them.

A source plugin registers a :class:`Source`.  ``fxr build --source SPEC``
resolves ``SPEC`` here: ``NAME`` or ``NAME:ARGUMENT`` names a registered
source (``synth:20``, ``guitarset:/data/GuitarSet``); anything else is taken
as a path and handed to the source that declares ``takes_paths``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fxregistry.audio.io import SAMPLE_RATE

__all__ = ["Recording", "Source"]


@dataclass(frozen=True)
class Recording:
    """One take: an id that names it across splits, a group, and a way to load it.

    ``load()`` returns mono float32 audio at ``sample_rate`` Hz.  It must be
    picklable (a module-level function or a ``functools.partial`` of one) so
    that build workers can load recordings in parallel.  ``group`` is what
    ``--split-by group`` keeps together (GuitarSet's player, say).
    """

    id: str
    load: Callable[[], np.ndarray]
    group: str = ""
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True)
class Source:
    """A dry-audio source.

    ``recordings(argument, seed)`` lists the recordings cheaply (loading is
    deferred to :attr:`Recording.load`); ``argument`` is what followed
    ``NAME:`` in the source spec, or ``None``.  ``argument_help`` says what
    that argument is, for ``fxr list-sources``.
    """

    name: str
    description: str
    recordings: Callable[[str | None, int], Sequence[Recording]]
    argument_help: str = ""
    takes_paths: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "argument": self.argument_help,
            "takes_paths": self.takes_paths,
        }


def split_spec(spec: str, known: Sequence[str]) -> tuple[str | None, str | None]:
    """``"synth:4"`` -> ``("synth", "4")``; a path -> ``(None, path)``."""
    name, sep, argument = spec.partition(":")
    if name in known:
        return name, (argument if sep else None)
    if os.path.exists(spec) or os.sep in spec:
        return None, spec
    return name, (argument if sep else None)
