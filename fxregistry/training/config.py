"""The options of ``fxr fit`` and the names they choose from.

Torch-free, so that the command line can read the options' defaults, help
and choices without importing the engine: ``fxregistry.cli.options`` makes
one option of each field of :class:`FitConfig` from its ``metadata``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fxregistry.dataset.config import MAX_SEED
from fxregistry.errors import FxrError, check_range

__all__ = [
    "DEFAULT_MODEL",
    "DEVICE_HELP",
    "INPUTS",
    "NORMALIZATIONS",
    "FitConfig",
    "Normalization",
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
# What `fxr fit` trains when no --model is named: the best model measured so far. Of the
# study's three cnn is best (docs/results.md); fxnet beats cnn on real recordings on every
# effect, and fxnet2 (its evidence standardized once, not per batch) beats fxnet on three
# of the eight effect-and-input rows on real recordings and equals it on the rest
# (benchmarks/real_audio.py, docs/real-audio.md). Change it only with a measurement.
DEFAULT_MODEL = "fxnet2"


# A hyperparameter value that is not JSON is taken as a string only when it is one plain
# word (``relu``): anything else, ``[1,2`` say, is a typo that would otherwise reach the
# model as a string.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _json_value(key: str, text: str) -> Any:
    """``text`` as JSON with finite numbers only (json.loads takes NaN, Infinity and 1e999)."""

    def not_finite(number: str) -> float:
        raise FxrError(f"--hparam {key}: {number} is not a finite number")

    def finite(number: str) -> float:
        value = float(number)
        return value if math.isfinite(value) else not_finite(number)

    return json.loads(text, parse_constant=not_finite, parse_float=finite)


def parse_hyperparameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON (numbers, lists, quoted strings) or a plain word."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise FxrError(f"--hparam takes KEY=VALUE, not {pair!r}")
        try:
            parsed[key] = _json_value(key, value)
        except json.JSONDecodeError as exc:
            if not _WORD.fullmatch(value):
                raise FxrError(
                    f"--hparam {key}: {value!r} is neither JSON ({exc.msg}) nor a plain word"
                ) from None
            parsed[key] = value
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

    # Neither is required on the command line: --resume takes them from the run.
    model: str = field(
        metadata={
            "help": f"A registered model (fxr list-models) [default: {DEFAULT_MODEL}, the best "
            "measured; with --resume: the run's].",
            "required": False,
        }
    )
    data: str = field(
        metadata={"help": "A dataset built by `fxr build`.", "path": True, "required": False}
    )
    # None: pair+residual when the dataset has residuals, else pair; fit() records which.
    input: str | None = field(
        default=None,
        metadata={
            "help": "pair: wet and dry spectrograms; wet: the wet one alone (no dry at "
            "estimate time); pair+residual: also the spectrogram of wet minus dry [default: "
            "pair+residual if the dataset has residuals (fxr build's default), else pair].",
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
    # None: the model's own (fxregistry.Model.lr), which fit() writes into the run.
    lr: float | None = field(
        default=None,
        metadata={
            "help": "Adam learning rate [default: the model's, fxr list-models --json; 1e-4 "
            "for the study's three]."
        },
    )
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
            "help": "Model hyperparameter: VALUE is JSON or one plain word (fxr list-models "
            "--json).",
            "flag": "--hparam",
            "metavar": "KEY=VALUE",
            "multiple": True,
            "parse": parse_hyperparameters,
        },
    )

    def __post_init__(self) -> None:
        if self.input is not None:
            check_input(self.input)
        for flag, value in (
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--lr-step", self.lr_step),
        ):
            check_range(flag, value, at_least=1)
        if self.pretrain_epochs is not None:
            check_range("--pretrain-epochs", self.pretrain_epochs, at_least=1)
        if self.lr is not None:
            check_range("--lr", self.lr, above=0)
        # A factor of 0 or below would make the learning rate 0 or negative after one step.
        check_range("--lr-gamma", self.lr_gamma, above=0)
        check_range("--seed", self.seed, at_least=0, at_most=MAX_SEED)
        check_range("--workers", self.workers, at_least=0)
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
    IDENTIFY = "identify"  # cross-entropy on which effect, or none (a file over several)
    RECONSTRUCT = "reconstruct"  # L2 loss on the dry spectrogram

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Stage:
    name: StageName
    task: Task
    epochs: int
    freeze_encoder: bool = False


@dataclass(frozen=True)
class Normalization:
    """How dB spectrograms are scaled for a network.

    ``fixed`` maps ``[low_db, high_db]`` linearly to [0, 1] for every
    spectrogram alike, so absolute level survives: gain reduction or an added
    noise floor stays visible. ``minmax`` is the study's per-spectrogram
    min-max (the study's appendix, eq. 7), which erases level; with it the
    study's level-dependent effect stayed at chance (docs/training.md).
    """

    kind: str = "fixed"
    low_db: float = -100.0  # the floor: 10 log10(1e-10), digital silence
    high_db: float = 40.0  # above a full-scale guitar's loudest Mel band

    def __post_init__(self) -> None:
        if self.kind not in NORMALIZATIONS:
            raise FxrError(
                f"unknown normalization {self.kind!r} (known: {', '.join(NORMALIZATIONS)})"
            )

    def __call__(self, db: Any) -> Any:
        """``(..., bins, frames)`` dB -> normalized, same shape, float32.

        A torch tensor (training) or a numpy array (estimate served without
        torch) gives the same kind back.
        """
        numpy = isinstance(db, np.ndarray)
        db = db.astype(np.float32, copy=False) if numpy else db.float()
        if self.kind == "fixed":
            return (db - self.low_db) / (self.high_db - self.low_db)
        if numpy:
            low, high = db.min(axis=(-2, -1), keepdims=True), db.max(axis=(-2, -1), keepdims=True)
        else:
            low, high = db.amin(dim=(-2, -1), keepdim=True), db.amax(dim=(-2, -1), keepdim=True)
        return (db - low) / (high - low + 1e-8)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
