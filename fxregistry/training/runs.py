"""Run directories and model bundles: what ``fxr fit`` writes and later commands read.

A run directory holds the files :class:`RunDirectory` names (and nothing
else names them):

- ``config.json``: the fit's options and what they resolved to (dataset,
  effect, feature kind, device, stages), enough to reproduce the run; the
  dataset by its absolute path (:func:`locate_dataset` finds it for runs that
  recorded a relative one);
- ``model.pt``: the final model bundle; ``best.pt``: the bundle with the best
  validation loss of the parameter stage;
- ``checkpoint.pt``: where training stands, for ``fxr fit --resume``;
- ``metrics.jsonl``: one line per epoch; ``loss.png``: the loss curves;
- after ``fxr evaluate``: ``eval.json`` and its figures.

A **bundle** (:class:`RunBundle`) is saved with ``torch.save`` as a plain
dict: the weights plus everything ``estimate`` needs to use them (model name
and hyperparameters, input mode, normalization, effect spec, feature config,
the dataset's clip length and level), so a bundle works alone. Its keys are
the format: a bundle written by any earlier fxr of the same format version
must load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from fxregistry import __version__, registry
from fxregistry.audio.features import FeatureConfig
from fxregistry.errors import FxrError
from fxregistry.specs.effect import Effect
from fxregistry.training.batches import Normalization
from fxregistry.training.checkpoints import save_whole

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "RunBundle",
    "RunDirectory",
    "bundle_path",
    "locate_dataset",
]

BUNDLE_FORMAT = "fxr-model"
BUNDLE_VERSION = 1
MODEL_FILE = "model.pt"  # the bundle that evaluate and estimate read from a run directory


def _file(name: str, doc: str) -> property:
    return property(lambda self: self.path / name, doc=f"``{name}``: {doc}")


@dataclass(frozen=True)
class RunDirectory:
    """The files of one run directory."""

    path: Path

    config = _file("config.json", "the fit's options and what they resolved to")
    metrics = _file("metrics.jsonl", "one row per epoch")
    checkpoint = _file("checkpoint.pt", "where training stands, for --resume")
    model = _file(MODEL_FILE, "the final model bundle")
    best = _file("best.pt", "the bundle of the best validation loss")
    loss_figure = _file("loss.png", "the loss curves")
    evaluation = _file("eval.json", "what fxr evaluate measured")
    reconstruction_figure = _file("reconstruction.png", "wet, reconstruction and dry")

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def read_config(self) -> dict[str, Any]:
        """``config.json`` as written by fit; :class:`FxrError` naming it when it is damaged."""
        try:
            config = json.loads(self.config.read_text())
        except FileNotFoundError:
            raise FxrError(f"{self.config}: no such file (not a run directory?)") from None
        except (ValueError, OSError) as exc:  # not JSON, not UTF-8, unreadable
            raise FxrError(f"{self.config}: damaged, not a run's config ({exc})") from None
        if not isinstance(config, dict):
            raise FxrError(f"{self.config}: damaged, not a run's config (not a JSON object)")
        return config

    def confusion_figure(self, parameter: str) -> Path:
        return self.path / f"confusion_{parameter}.png"

    def fit_outputs(self) -> tuple[Path, ...]:
        """What a fit writes besides ``config.json`` (rewritten): ``--force`` clears them."""
        return (self.checkpoint, self.model, self.best, self.metrics, self.loss_figure)


@dataclass(frozen=True)
class RunBundle:
    """A trained model that works alone: its weights and all that is needed to feed it."""

    model_name: str
    hyperparameters: Mapping[str, Any]
    in_channels: int
    outputs: int
    input: str
    normalization: Normalization
    effect_spec: Mapping[str, Any]  # as ``fxr list-effects --json`` describes it
    features: FeatureConfig
    state_dict: Mapping[str, torch.Tensor]  # on the CPU
    # What estimate must know of the dataset the model saw (path, clip_seconds,
    # sample_rate, level, grid, min_level_db).
    data: Mapping[str, Any] = field(default_factory=dict)
    # An identification model's classes, in output order ("none" first); None for a
    # model of one effect's parameters.
    classes: tuple[str, ...] | None = None
    # Set in best.pt: the epoch whose validation loss was the best.
    stage: str | None = None
    epoch: int | None = None
    valid_loss: float | None = None
    fxr_version: str = __version__
    # Keys this fxr does not know (written by a later one): kept, so that they survive a save.
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The file it was loaded from, for messages; not stored.
    source: Path | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_module(cls, module: torch.nn.Module, **fields: Any) -> RunBundle:
        """A bundle of ``module``'s current weights (copied to the CPU)."""
        state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        return cls(state_dict=state, **fields)

    # -- what the bundle describes

    @property
    def effect(self) -> Effect:
        """The effect's parameters, as an :class:`Effect` that cannot render."""
        return Effect.from_dict(self.effect_spec)

    def create_model(self) -> torch.nn.Module:
        """The bundle's module with its weights loaded (needs the model's plugin installed)."""
        spec = registry.get_model(self.model_name)
        module = spec.build(self.in_channels, self.outputs, **self.hyperparameters)
        try:
            module.load_state_dict(self.state_dict)
        except RuntimeError as exc:  # weights of another shape: the file was altered
            first = str(exc).strip().splitlines()[0]
            raise FxrError(
                f"{self.source or 'the bundle'}: damaged, its weights do not fit model "
                f"{self.model_name!r} ({first})"
            ) from None
        return module

    # -- the stored form

    def to_dict(self) -> dict[str, Any]:
        """The dict ``torch.save`` stores; keys and their order are the file format."""
        stored = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_VERSION,
            "fxr_version": self.fxr_version,
            "model": self.model_name,
            "hyperparameters": dict(self.hyperparameters),
            "in_channels": self.in_channels,
            "outputs": self.outputs,
            "input": self.input,
            "normalization": self.normalization.as_dict(),
            "effect": dict(self.effect_spec),
            "features": self.features.as_dict(),
            "state_dict": dict(self.state_dict),
        }
        if self.data:
            stored["data"] = dict(self.data)
        if self.classes is not None:
            stored["classes"] = list(self.classes)
        for key in ("stage", "epoch", "valid_loss"):
            if getattr(self, key) is not None:
                stored[key] = getattr(self, key)
        return {**stored, **self.extra}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RunBundle:
        """The bundle of a loaded dict; refuses what is not a bundle this fxr reads."""
        if not isinstance(stored, Mapping) or stored.get("format") != BUNDLE_FORMAT:
            raise FxrError("not an fxr model bundle")
        if stored.get("format_version") != BUNDLE_VERSION:
            raise FxrError(
                f"model format version {stored.get('format_version')}, "
                f"this fxr reads {BUNDLE_VERSION}"
            )
        missing = [key for key in _REQUIRED if key not in stored]
        if missing:
            raise FxrError(f"not a whole fxr model bundle (no {', '.join(missing)})")
        known = {"format", "format_version", *_REQUIRED, *_OPTIONAL}
        return cls(
            model_name=stored["model"],
            hyperparameters=stored["hyperparameters"],
            in_channels=stored["in_channels"],
            outputs=stored["outputs"],
            input=stored["input"],
            normalization=Normalization(**stored["normalization"]),
            effect_spec=stored["effect"],
            features=FeatureConfig(**stored["features"]),
            state_dict=stored["state_dict"],
            data=stored.get("data", {}),
            classes=None if stored.get("classes") is None else tuple(stored["classes"]),
            stage=stored.get("stage"),
            epoch=stored.get("epoch"),
            valid_loss=stored.get("valid_loss"),
            fxr_version=stored["fxr_version"],
            extra={k: v for k, v in stored.items() if k not in known},
        )

    def save(self, path: str | os.PathLike) -> None:
        """Written whole (:func:`~fxregistry.training.checkpoints.save_whole`)."""
        save_whole(self.to_dict(), path)

    @classmethod
    def load(cls, run_or_file: str | os.PathLike, name: str = MODEL_FILE) -> RunBundle:
        """A run directory's ``name`` bundle, or a bundle file; refuses anything else clearly."""
        path = bundle_path(run_or_file, name)
        run = RunDirectory(path.parent)
        if Path(run_or_file).is_dir() and run.config.exists():
            run.read_config()  # a run directory is whole only with a readable config.json
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many kinds for a bad file
            raise FxrError(f"{path}: not a readable fxr model ({type(exc).__name__})") from None
        try:
            return replace(cls.from_dict(stored), source=path)
        except FxrError as exc:
            raise FxrError(f"{path}: {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value of a wrong type
            raise FxrError(f"{path}: not a whole fxr model bundle ({exc})") from None


_REQUIRED = (
    "fxr_version",
    "model",
    "hyperparameters",
    "in_channels",
    "outputs",
    "input",
    "normalization",
    "effect",
    "features",
    "state_dict",
)
_OPTIONAL = ("data", "classes", "stage", "epoch", "valid_loss")


def locate_dataset(recorded: str | os.PathLike, run: str | os.PathLike) -> Path:
    """The dataset that ``run`` recorded, wherever the command runs.

    New runs record an absolute path. Older ones recorded it relative to the
    folder fit ran in: that is tried from the current folder, then from the
    run directory's parent (``fit --out runs/x`` run beside the data).
    """
    path = Path(recorded)
    tried = [path] if path.is_absolute() else [path, Path(os.path.abspath(run)).parent / path]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    where = " or ".join(os.path.abspath(candidate) for candidate in tried)
    raise FxrError(
        f"{run}: its dataset is not at {where} (moved?); pass --data FILE to say where it is"
    )


def bundle_path(run_or_file: str | os.PathLike, name: str = MODEL_FILE) -> Path:
    """A run directory's ``name`` bundle, or the bundle file itself."""
    path = Path(run_or_file)
    if path.is_dir():
        path = path / name
    if not path.exists():
        raise FxrError(f"{path}: no such file (expected a run directory or a .pt bundle)")
    return path
