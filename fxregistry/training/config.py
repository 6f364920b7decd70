"""The options of ``fxr fit`` and the names they choose from.

Torch-free, so that the command line can read the options' defaults, help
and choices without importing the engine: ``fxregistry.cli.options`` makes
one option of each field of :class:`FitConfig` from its ``metadata``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
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
    "parse_hyperparameters",
]

# What a network sees, as channels: the wet spectrogram alone (blind); wet and
# dry (the study's pairwise comparison); wet, dry and the residual, the
# spectrogram of wet minus dry audio, i.e. what the effect added or removed.
INPUTS = {"pair": ("wet", "dry"), "wet": ("wet",), "pair+residual": ("wet", "dry", "residual")}
# How spectrograms are scaled for a network (see training.batches.Normalization).
NORMALIZATIONS = ("fixed", "minmax")
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"


def parse_hyperparameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, lists), else a string."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise FxrError(f"--hparam takes KEY=VALUE, not {pair!r}")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def input_channels(mode: str) -> int:
    return len(INPUTS[mode])


def check_input(mode: str) -> None:
    if mode not in INPUTS:
        raise FxrError(f"unknown input {mode!r} (known: {', '.join(INPUTS)})")


@dataclass(frozen=True)
class FitConfig:
    """Every option of ``fxr fit``; defaults are the study's recipe.

    Each field's ``metadata`` is its command line (see ``fxregistry.cli.options``).
    """

    model: str = field(metadata={"help": "A registered model (fxr list-models)."})
    # Not required on the command line: --resume takes it from the run.
    data: str = field(
        metadata={"help": "A dataset built by `fxr build`.", "path": True, "required": False}
    )
    input: str = field(
        default="pair",
        metadata={
            "help": "pair: wet and dry spectrograms; wet: the wet one alone (no dry at "
            "estimate time); pair+residual: also the spectrogram of wet minus dry (a dataset "
            "built with --residual).",
            "choices": tuple(INPUTS),
        },
    )
    freeze_encoder: bool = field(
        default=False,
        metadata={
            "help": "Pretrain wet->dry reconstruction, freeze the encoder, train a linear head."
        },
    )
    init: str | None = field(
        default=None,
        metadata={
            "help": "Take the encoder from this run directory or bundle instead of pretraining.",
            "path": True,
        },
    )
    epochs: int = field(default=30, metadata={"help": "Epochs of the parameter stage."})
    pretrain_epochs: int | None = field(
        default=None,
        metadata={"help": "Epochs of the reconstruction stage [default: --epochs]."},
    )
    batch_size: int = field(default=16, metadata={"help": "Examples per step, over all processes."})
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate."})
    lr_step: int = field(default=5, metadata={"help": "StepLR step (epochs)."})
    lr_gamma: float = field(default=0.5, metadata={"help": "StepLR factor."})
    normalization: str = field(
        default="fixed",
        metadata={
            "help": "fixed: one dB range for all (keeps level); minmax: per spectrogram "
            "(the study's).",
            "choices": NORMALIZATIONS,
        },
    )
    features: str | None = field(
        default=None,
        metadata={"help": "Feature kind to train on [default: the dataset's first]."},
    )
    device: str = field(default="auto", metadata={"help": f"{DEVICE_HELP}."})
    seed: int = field(
        default=0, metadata={"help": "Seed of the initial weights and the batch order."}
    )
    workers: int = field(
        default=0,
        metadata={"help": "DataLoader processes, used only when a split is streamed."},
    )
    in_memory: bool | None = None  # None: load splits that fit in memory; not an option
    hyperparameters: Mapping[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Model hyperparameter, VALUE read as JSON (fxr list-models --json).",
            "flag": "--hparam",
            "metavar": "KEY=VALUE",
            "multiple": True,
            "parse": parse_hyperparameters,
        },
    )

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
