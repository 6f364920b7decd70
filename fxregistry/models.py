"""What a model architecture is: a name, a constructor and what it can do.

A model plugin registers a :class:`Model`; ``fxr fit --model NAME`` builds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Model"]


@dataclass(frozen=True)
class Model:
    """A registered architecture.

    ``create(**hyperparameters)`` returns a ``torch.nn.Module``.
    ``reconstructs`` says whether the module has a decoder that maps a wet
    spectrogram back to the dry one (needed for ``--freeze-encoder``).
    """

    name: str
    description: str
    create: Callable[..., Any]
    reconstructs: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "reconstructs": self.reconstructs,
        }
