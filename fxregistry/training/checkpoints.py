"""Where a fit stands, and the checkpoint that lets ``fxr fit --resume`` continue it exactly.

A checkpoint holds the position (stage, epoch, batches done, the epoch's
running loss and time, the best validation loss so far), the weights, the
optimizer, the schedule, the loss scaler and the CPU random state: all that
makes the resumed run end where an uninterrupted one would.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from fxregistry.errors import FxrError
from fxregistry.files import atomic_write
from fxregistry.interrupts import deferred_signals

__all__ = ["Position", "Checkpoint", "save_whole"]


@dataclass
class Position:
    """The next batch to train is ``step`` of ``epoch`` of ``stage`` (indexes from 0)."""

    stage: int = 0
    epoch: int = 0
    step: int = 0
    # The epoch so far: for its mean loss and speed when it ends after a resume.
    epoch_loss: float = 0.0
    epoch_samples: int = 0
    epoch_seconds: float = 0.0
    best: float = math.inf  # the best validation loss of a parameter stage

    def next_epoch(self) -> None:
        self.epoch, self.step = self.epoch + 1, 0
        self.epoch_loss, self.epoch_samples, self.epoch_seconds = 0.0, 0, 0.0

    def next_stage(self) -> None:
        self.stage, self.epoch = self.stage + 1, 0


@dataclass(frozen=True)
class Checkpoint:
    """A fit's whole state; ``to_dict``'s keys are the format of ``checkpoint.pt``."""

    position: Position
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any]
    rng: torch.Tensor

    def to_dict(self) -> dict[str, Any]:
        p = self.position
        return {
            "position": [p.stage, p.epoch, p.step],
            "epoch_progress": [p.epoch_loss, p.epoch_samples, p.epoch_seconds],
            "best": p.best,
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
            "rng": self.rng,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Checkpoint:
        stage, epoch, step = stored["position"]
        loss, samples, seconds = stored["epoch_progress"]
        position = Position(stage, epoch, step, loss, samples, seconds, stored["best"])
        parts = ("model", "optimizer", "scheduler", "scaler", "rng")
        return cls(position, **{name: stored[name] for name in parts})

    def save(self, path: str | os.PathLike) -> None:
        """Written whole (:func:`save_whole`): an interrupted save leaves the last checkpoint."""
        save_whole(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device) -> Checkpoint:
        """The checkpoint at ``path``; :class:`FxrError` naming it when it is not one."""
        try:
            return cls.from_dict(torch.load(path, map_location=device, weights_only=True))
        except Exception as exc:  # torch raises many kinds for a bad file; a dict may lack keys
            raise FxrError(
                f"{path}: not a readable fxr checkpoint ({type(exc).__name__}); "
                "the run cannot be resumed, start it again with --force"
            ) from None


def save_whole(stored: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` of every file a fit writes: through a temporary file, so that a crash
    leaves the previous file whole, and with Ctrl-C and SIGTERM waiting for the write."""
    # Cut inside torch.save, a signal surfaced as torch's own RuntimeError and a stopped
    # fit ended as an internal error.
    with deferred_signals(), atomic_write(path) as partial, open(partial, "wb") as f:
        # To a file object: torch then lets a full disk's OSError through (to a path it
        # raises a RuntimeError of its own), which atomic_write turns into one line.
        torch.save(stored, f)
