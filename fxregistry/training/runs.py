"""Run directories and model bundles: what ``fxr fit`` writes and later commands read.

A run directory holds (SPEC.md "Run directory"):

- ``config.json``: the fit's options and what they resolved to (dataset,
  effect, feature kind, device, stages), enough to reproduce the run;
- ``model.pt``: the final model bundle; ``best.pt``: the bundle with the best
  validation loss of the parameter stage;
- ``checkpoint.pt``: where training stands, for ``fxr fit --resume``;
- ``metrics.jsonl``: one line per epoch; ``loss.png``: the loss curves.

A **bundle** is a dict saved with ``torch.save``: the weights plus everything
``estimate`` needs to use them (model name and hyperparameters, input mode,
normalization, effect spec, feature config), so a bundle works alone.
Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from fxregistry import __version__, registry
from fxregistry.audio.features import FeatureConfig
from fxregistry.errors import FxrError
from fxregistry.training.batches import Normalization

__all__ = [
    "BUNDLE_FORMAT",
    "make_bundle",
    "save_atomic",
    "write_json_atomic",
    "load_bundle",
    "bundle_path",
    "create_model",
]

BUNDLE_FORMAT = "fxr-model"
BUNDLE_VERSION = 1


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file, so a crash leaves the old one."""
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def write_json_atomic(data: Any, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(partial, path)


def make_bundle(
    model: torch.nn.Module,
    *,
    model_name: str,
    hyperparameters: dict[str, Any],
    in_channels: int,
    input_mode: str,
    normalization: Normalization,
    effect_spec: dict[str, Any],
    features: FeatureConfig,
    **extra: Any,
) -> dict[str, Any]:
    """The self-contained description of a trained model (weights on the CPU)."""
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "fxr_version": __version__,
        "model": model_name,
        "hyperparameters": hyperparameters,
        "in_channels": in_channels,
        "outputs": len(effect_spec["parameters"]),
        "input": input_mode,
        "normalization": normalization.as_dict(),
        "effect": effect_spec,
        "features": features.as_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }


def bundle_path(run_or_file: str | os.PathLike, name: str = "model.pt") -> Path:
    """A run directory's ``name`` bundle, or the bundle file itself."""
    path = Path(run_or_file)
    if path.is_dir():
        path = path / name
    if not path.exists():
        raise FxrError(f"{path}: no such file (expected a run directory or a .pt bundle)")
    return path


def load_bundle(run_or_file: str | os.PathLike, name: str = "model.pt") -> dict[str, Any]:
    """Read a bundle, refusing with a clear message anything that is not one."""
    path = bundle_path(run_or_file, name)
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise FxrError(f"{path}: not a readable fxr model ({type(exc).__name__})") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise FxrError(f"{path}: not an fxr model bundle")
    if bundle.get("format_version") != BUNDLE_VERSION:
        raise FxrError(
            f"{path}: model format version {bundle.get('format_version')}, "
            f"this fxr reads {BUNDLE_VERSION}"
        )
    return bundle


def create_model(bundle: dict[str, Any]) -> torch.nn.Module:
    """The bundle's module with its weights loaded (needs the model's plugin installed)."""
    spec = registry.get_model(bundle["model"])
    module = spec.build(bundle["in_channels"], bundle["outputs"], **bundle["hyperparameters"])
    module.load_state_dict(bundle["state_dict"])
    return module
