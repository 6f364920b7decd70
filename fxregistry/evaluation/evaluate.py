"""``fxr evaluate``: the study's tables and figures for a trained run.

Per split: N, MSE and MAE on parameters normalized to [0, 1] (the study's
Tables 1-4) beside chance (1/3: a uniform guess against uniform targets,
paper §4.1); per parameter, the MAE in its own unit and the grid accuracy (the
prediction snapped to the nearest grid value equals the truth's grid value).
Figures: a confusion matrix per parameter (paper Figs. 7, 8) and, for a model
with a decoder, a wet / reconstructed / dry triple (Fig. 10) with the
reconstruction error and high-frequency energy ratios (Figs. 9, 11).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fxregistry.dataset.header import SPLITS, effect_from_spec, feature_configs, open_dataset
from fxregistry.errors import FxrError
from fxregistry.specs.effect import Effect, Parameter
from fxregistry.training.batches import Batches, Normalization, load_split, model_input
from fxregistry.training.config import INPUTS
from fxregistry.training.device import select_device
from fxregistry.training.runs import create_model, load_bundle, write_json_atomic

__all__ = [
    "CHANCE_MAE",
    "to_units",
    "grid_index",
    "split_metrics",
    "confusion_matrix",
    "predict",
    "evaluate",
]

CHANCE_MAE = 1 / 3


def to_units(parameter: Parameter, x: np.ndarray) -> np.ndarray:
    """Normalized values -> the parameter's unit (vectorized :meth:`Parameter.denormalize`)."""
    low, high = parameter.range
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if parameter.scale == "log":
        return low * (high / low) ** x
    return low + x * (high - low)


def grid_index(parameter: Parameter, x: np.ndarray) -> np.ndarray:
    """Index of the grid value nearest to each normalized value (nearest on the scale)."""
    grid = np.array([parameter.normalize(v) for v in parameter.grid])
    return np.abs(np.asarray(x)[..., None] - grid).argmin(axis=-1)


def split_metrics(prediction: np.ndarray, truth: np.ndarray, effect: Effect) -> dict[str, Any]:
    """The metrics of one split; ``prediction`` and ``truth`` are ``(N, P)`` normalized."""
    n = int(truth.shape[0])
    if n == 0:
        return {"n": 0, "mse": None, "mae": None, "grid_accuracy": None, "per_parameter": {}}
    error = prediction - truth
    correct = np.ones(n, dtype=bool)
    per_parameter = {}
    for i, p in enumerate(effect.parameters):
        hit = grid_index(p, prediction[:, i]) == grid_index(p, truth[:, i])
        correct &= hit
        per_parameter[p.name] = {
            "mae": float(np.mean(np.abs(to_units(p, prediction[:, i]) - to_units(p, truth[:, i])))),
            "unit": p.unit,
            "mae_normalized": float(np.mean(np.abs(error[:, i]))),
            "grid_accuracy": float(np.mean(hit)),
        }
    return {
        "n": n,
        "mse": float(np.mean(error**2)),
        "mae": float(np.mean(np.abs(error))),
        "grid_accuracy": float(np.mean(correct)),
        "per_parameter": per_parameter,
    }


def confusion_matrix(parameter: Parameter, prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Counts ``[true grid index, predicted grid index]`` for one parameter's column."""
    size = len(parameter.grid)
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (grid_index(parameter, truth), grid_index(parameter, prediction)), 1)
    return matrix


@torch.no_grad()
def predict(
    model: torch.nn.Module, bundle: dict[str, Any], data, device: torch.device, batch_size: int = 64
) -> np.ndarray:
    """Normalized predictions ``(N, P)`` for every example of a split, in file order."""
    normalize = Normalization(**bundle["normalization"])
    model.eval()
    out = []
    for batch in Batches(data, batch_size, device, shuffle=False).epoch(0):
        out.append(model(model_input(bundle["input"], normalize, batch)).float().cpu().numpy())
    if not out:
        return np.zeros((0, bundle["outputs"]), dtype=np.float32)
    return np.concatenate(out)


def _check_compatible(bundle: dict[str, Any], data: Path) -> str:
    """The feature kind to read; refuses a dataset the model was not made for."""
    with open_dataset(data) as f:
        effect = str(f.attrs["effect"])
        kinds = feature_configs(f)
    if effect != bundle["effect"]["name"]:
        raise FxrError(
            f"{data} holds {effect!r} examples, "
            f"but the model estimates {bundle['effect']['name']!r}"
        )
    kind = bundle["features"]["kind"]
    if kind not in kinds or kinds[kind].as_dict() != bundle["features"]:
        raise FxrError(f"{data} has no features like the model's ({kind}, {bundle['features']})")
    return kind


def evaluate(
    run: str | os.PathLike,
    data: str | os.PathLike | None = None,
    device: str = "auto",
    figures: bool = True,
    floor: bool = False,
    floor_limit: int | None = None,
) -> dict[str, Any]:
    """Evaluate the run's ``model.pt`` on every split; write ``eval.json`` and figures.

    ``floor`` adds the identifiability floor of the figures' split (see
    :mod:`fxregistry.evaluation.floor`), over at most ``floor_limit`` examples.
    """
    run = Path(run)
    if not run.is_dir():
        raise FxrError(f"{run}: not a run directory")
    bundle = load_bundle(run)
    if data is None:
        data = bundle.get("data", {}).get("path")
        if not data:
            raise FxrError(f"{run}: the run does not name its dataset; pass --data")
    data = Path(data)
    kind = _check_compatible(bundle, data)
    effect = effect_from_spec(bundle["effect"])
    torch_device = select_device(device)
    model = create_model(bundle).to(torch_device)

    result: dict[str, Any] = {
        "effect": effect.name,
        "model": bundle["model"],
        "input": bundle["input"],
        "normalization": bundle["normalization"]["kind"],
        "data": str(data),
        "chance_mae": CHANCE_MAE,
        "splits": {},
    }
    predictions = {}
    for split in SPLITS:
        split_data = load_split(data, split, kind, "residual" in INPUTS[bundle["input"]])
        prediction = predict(model, bundle, split_data, torch_device)
        truth = split_data.targets.numpy()
        predictions[split] = (prediction, truth, split_data)
        result["splits"][split] = split_metrics(prediction, truth, effect)

    # Figures describe the test split, or the largest one there is.
    shown = next(s for s in ("test", "valid", "train") if len(predictions[s][1]) or s == "train")
    prediction, truth, split_data = predictions[shown]
    result["figures_split"] = shown
    if floor and len(truth):
        from fxregistry.evaluation.floor import identifiability_floor

        result["floor"] = {shown: identifiability_floor(data, shown, floor_limit)}
    if getattr(model, "reconstruct", None) is not None and len(truth):
        result["reconstruction"] = _reconstruction(model, bundle, split_data, torch_device)
    if figures and len(truth):
        from fxregistry.figures import confusion_figure, reconstruction_figure

        for i, p in enumerate(effect.parameters):
            matrix = confusion_matrix(p, prediction[:, i], truth[:, i])
            confusion_figure(matrix, p, run / f"confusion_{p.name}.png", f"{shown} split")
        if "reconstruction" in result:
            reconstruction_figure(
                model, bundle, split_data, torch_device, run / "reconstruction.png"
            )
    write_json_atomic(result, run / "eval.json")
    return result


@torch.no_grad()
def _reconstruction(model, bundle, data, device, batch_size: int = 32) -> dict[str, Any]:
    """L2 of the reconstruction (and of the wet input, as the do-nothing baseline) and
    the share of energy in the top quarter of the bins, in the model's normalized space."""
    normalize = Normalization(**bundle["normalization"])
    model.eval()
    totals = {"l2": 0.0, "l2_wet": 0.0}
    hf = {"wet": 0.0, "reconstruction": 0.0, "dry": 0.0}
    n = 0
    for wet, dry, _, _ in Batches(data, batch_size, device, shuffle=False).epoch(0):
        w, d = normalize(wet)[:, None], normalize(dry)[:, None]
        r = model.reconstruct(w).float()
        totals["l2"] += float(((r - d) ** 2).mean(dim=(1, 2, 3)).sum())
        totals["l2_wet"] += float(((w - d) ** 2).mean(dim=(1, 2, 3)).sum())
        top = w.shape[2] - w.shape[2] // 4
        for name, x in (("wet", w), ("reconstruction", r), ("dry", d)):
            x = x.clamp(min=0)
            hf[name] += float((x[:, :, top:].sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))).sum())
        n += wet.shape[0]
    return {
        "l2": totals["l2"] / n,
        "l2_wet_as_is": totals["l2_wet"] / n,
        "high_frequency_ratio": {k: v / n for k, v in hf.items()},
    }
