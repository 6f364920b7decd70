"""What a model architecture is: a name, a constructor and what it can do.

A model plugin registers a :class:`Model`; ``fxr fit --model NAME`` builds it
with ``create(in_channels=C, outputs=P, **hyperparameters)``.  The module it
returns must follow this contract, which the engine relies on and the tests
check for every registered model:

- ``module(x)`` maps normalized spectrograms ``x`` of shape
  ``(batch, C, bins, frames)`` to ``(batch, P)`` parameter estimates in [0, 1].
  ``C`` is 2 for ``--input pair`` (channel 0 wet, channel 1 dry), 3 for
  ``--input pair+residual`` (channel 2 the residual) and 1 for ``--input wet``.
  Any ``bins`` and ``frames`` must work.
- With ``reconstructs=True``, ``module.reconstruct(wet)`` maps a wet
  spectrogram ``(batch, 1, bins, frames)`` to the dry one, same shape; it is
  what ``--freeze-encoder`` pretrains with an L2 loss.
- With ``encoder="NAME"``, ``module.NAME`` is the sub-module that
  ``--freeze-encoder`` freezes and ``--init`` loads from another run. Its
  output must feed the parameter head, so that a frozen encoder still leaves
  a trainable head.

``lr`` is the Adam learning rate the model was measured at: ``fxr fit`` uses
it unless ``--lr`` is given (the study's three train at its 1e-4; a model with
normalized evidence may learn faster, and a rate that suits one architecture
can make another diverge).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fxregistry.errors import FxrError

__all__ = ["Model"]


@dataclass(frozen=True)
class Model:
    """A registered architecture; see the module docstring for the contract."""

    name: str
    description: str
    create: Callable[..., Any]
    reconstructs: bool = False
    encoder: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    lr: float = 1e-4

    def __post_init__(self) -> None:
        if self.reconstructs and self.encoder is None:
            raise ValueError(f"model {self.name!r} reconstructs, so it must name its encoder")
        if not self.lr > 0:  # also refuses NaN
            raise ValueError(f"model {self.name!r}: lr must be above 0, not {self.lr!r}")
        object.__setattr__(self, "hyperparameters", MappingProxyType(dict(self.hyperparameters)))

    def build(self, in_channels: int, outputs: int, **overrides: Any):
        """The ``torch.nn.Module`` with the default hyperparameters updated by ``overrides``."""
        unknown = sorted(set(overrides) - set(self.hyperparameters))
        if unknown:
            known = ", ".join(sorted(self.hyperparameters)) or "none"
            raise FxrError(
                f"model {self.name!r} has no hyperparameter {', '.join(unknown)} (known: {known})"
            )
        try:
            return self.create(
                in_channels=in_channels, outputs=outputs, **{**self.hyperparameters, **overrides}
            )
        except (TypeError, ValueError, RuntimeError) as exc:
            if not overrides:
                raise  # the plugin's own defaults fail: a bug, not the user's input
            # A value of the right JSON type can still be one the architecture refuses
            # (hidden=-5, channels="abc"): the user's input, said in one line.
            given = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise FxrError(f"model {self.name!r} cannot be built with {given}: {reason}") from exc

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "reconstructs": self.reconstructs,
            "encoder": self.encoder,
            "hyperparameters": dict(self.hyperparameters),
            "lr": self.lr,
        }
