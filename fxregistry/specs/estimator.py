"""What a default estimator is: a trained model a plugin ships, so that no run is needed.

``fxr estimate WET`` (no run directory) answers with the registered
estimators: first the one that identifies the effect, then the effect's own
for its parameters. A plugin registers an :class:`Estimator` per model file,
usually package data (``importlib.resources.files(__package__) / "x.onnx"``):
a run's ``model.pt`` as ``fxr fit`` writes it, or its portable export
(``fxr export``, served without torch). The spec says what the file
estimates and from which input, so that the right one is picked without
loading any; the tests check that every registered file says the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Estimator", "PAIRED_INPUTS", "WET"]

WET = "wet"  # the input of a blind estimator: the processed audio alone
PAIRED_INPUTS = ("pair", "pair+residual")  # the dry audio needed too


@dataclass(frozen=True)
class Estimator:
    """A shipped model: see the module docstring.

    ``effect`` names the effect whose parameters it estimates; None for the
    identification model (which effect, or none). ``input`` is the input it
    was trained on (``wet``, ``pair`` or ``pair+residual``). ``lossy``: it
    was trained on wet clips as a lossy codec (an mp3) delivers them, so it
    is picked for a lossy wet file before any other, and never for an exact
    one (whose band limit and noise floor a codec's would hide). ``manifest``
    says how it was made and what it measured (recipe, data, seed, commit,
    accuracy), as ``fxr list-estimators --json`` shows it.
    """

    name: str
    effect: str | None
    input: str
    path: Any  # str, os.PathLike or an importlib.resources Traversable
    description: str = ""
    manifest: Mapping[str, Any] = field(default_factory=dict)
    lossy: bool = False  # last: a plugin's positional manifest keeps its place

    def __post_init__(self) -> None:
        if self.input != WET and self.input not in PAIRED_INPUTS:
            known = ", ".join((WET, *PAIRED_INPUTS))
            raise ValueError(f"estimator {self.name!r}: input must be one of {known}")
        object.__setattr__(self, "manifest", MappingProxyType(dict(self.manifest)))

    @property
    def identifies(self) -> bool:
        """Whether it says which effect processed the audio (rather than its settings)."""
        return self.effect is None

    @property
    def needs_dry(self) -> bool:
        return self.input != WET

    def file(self) -> str:
        """The model file's path (a package's data, on disk once installed)."""
        return os.fspath(self.path) if isinstance(self.path, (str, os.PathLike)) else str(self.path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "effect": self.effect,
            "task": "identify" if self.identifies else "parameters",
            "input": self.input,
            "lossy": self.lossy,
            "path": self.file(),
            "description": self.description,
            "manifest": dict(self.manifest),
        }
