"""The options of ``fxr fit`` and the names they choose from.

Torch-free, so that the command line can read the options' defaults, help
and choices without importing the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from fxregistry.errors import FxrError

__all__ = [
    "DEVICE_HELP",
    "INPUTS",
    "NORMALIZATIONS",
    "FitConfig",
    "Stage",
    "StageName",
    "Task",
    "check_input",
    "input_channels",
]

# What a network sees, as channels: the wet spectrogram alone (blind); wet and
# dry (the study's pairwise comparison); wet, dry and the residual, the
# spectrogram of wet minus dry audio, i.e. what the effect added or removed.
INPUTS = {"pair": ("wet", "dry"), "wet": ("wet",), "pair+residual": ("wet", "dry", "residual")}
# How spectrograms are scaled for a network (see training.batches.Normalization).
NORMALIZATIONS = ("fixed", "minmax")
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"


def input_channels(mode: str) -> int:
    return len(INPUTS[mode])


def check_input(mode: str) -> None:
    if mode not in INPUTS:
        raise FxrError(f"unknown input {mode!r} (known: {', '.join(INPUTS)})")


@dataclass(frozen=True)
class FitConfig:
    """Every option of ``fxr fit``; defaults are the study's recipe (SPEC.md)."""

    model: str
    data: str
    input: str = "pair"
    freeze_encoder: bool = False
    init: str | None = None
    epochs: int = 30
    pretrain_epochs: int | None = None  # default: epochs
    batch_size: int = 16
    lr: float = 1e-4
    lr_step: int = 5
    lr_gamma: float = 0.5
    normalization: str = "fixed"
    features: str | None = None  # default: the dataset's first kind
    device: str = "auto"
    seed: int = 0
    workers: int = 0  # DataLoader processes, only when a split is streamed
    in_memory: bool | None = None  # None: load splits that fit in memory
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_input(self.input)
        for name in ("epochs", "batch_size", "lr_step"):
            if getattr(self, name) < 1:
                raise FxrError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.pretrain_epochs is not None and self.pretrain_epochs < 1:
            raise FxrError(f"pretrain_epochs must be at least 1, not {self.pretrain_epochs}")
        if not self.lr > 0:
            raise FxrError(f"lr must be positive, not {self.lr}")
        if self.normalization not in NORMALIZATIONS:
            raise FxrError(
                f"unknown normalization {self.normalization!r} (known: {', '.join(NORMALIZATIONS)})"
            )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hyperparameters": dict(self.hyperparameters)}


class StageName(str, enum.Enum):
    """The stages of a fit; the values are what config.json and metrics.jsonl record."""

    TRAIN = "train"  # the whole model on the parameters
    PRETRAIN = "pretrain"  # the reconstruction (wet -> dry spectrogram), for --freeze-encoder
    HEAD = "head"  # the head alone, on a frozen encoder

    def __str__(self) -> str:
        return self.value


class Task(str, enum.Enum):
    """What a stage trains the model to do."""

    PARAMETERS = "parameters"  # L1 loss on the normalized parameters
    RECONSTRUCT = "reconstruct"  # L2 loss on the dry spectrogram

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Stage:
    name: StageName
    task: Task
    epochs: int
    freeze_encoder: bool = False
