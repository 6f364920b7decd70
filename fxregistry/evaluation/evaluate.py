"""``fxr evaluate``: the study's tables and figures for a trained run.

Per split: N, MSE and MAE on parameters normalized to [0, 1] (the study's
Tables 1-4) beside chance (1/3: a uniform guess against uniform targets, the
study's §4.1); per parameter, the MAE in its own unit and the grid accuracy
(the prediction snapped to the nearest grid value equals the truth's grid
value). Figures: a confusion matrix per parameter (the study's Figs. 7, 8)
and, for a model with a decoder, a wet / reconstructed / dry triple (Fig. 10)
with the reconstruction error and high-frequency energy ratios (Figs. 9, 11).
An identification run (trained on a file over several effects) gets its
accuracy per split and a confusion matrix over the classes instead
(``confusion_effect.png``).

A wet-only run of an effect whose blind check can name a setting is also
scored as ``fxr estimate RUN WET`` answers, the check's setting in place of
the network's where it finds one (``blind_check``; :mod:`.checked`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fxregistry import registry
from fxregistry.dataset.header import SPLITS, read_header
from fxregistry.errors import FxrError
from fxregistry.estimation.evidence import check_of, finds_settings
from fxregistry.evaluation.metrics import (
    CHANCE_MAE,
    confusion_matrix,
    identification_metrics,
    split_metrics,
)
from fxregistry.files import write_json
from fxregistry.training.batches import Batches, load_split, model_input
from fxregistry.training.config import INPUTS
from fxregistry.training.device import select_device
from fxregistry.training.identify import class_probabilities
from fxregistry.training.runs import RunBundle, RunDirectory, locate_dataset

__all__ = ["predict", "evaluate"]


@torch.no_grad()
def predict(
    model: torch.nn.Module, bundle: RunBundle, data, device: torch.device, batch_size: int = 64
) -> np.ndarray:
    """The model's outputs ``(N, outputs)`` for every example of a split, in file order:
    normalized parameters, or class probabilities for an identification model."""
    model.eval()
    out = []
    for batch in Batches(data, batch_size, device, shuffle=False).epoch(0):
        x = model_input(bundle.input, bundle.normalization, batch)
        out.append(model(x).float().cpu().numpy())
    if not out:
        return np.zeros((0, bundle.outputs), dtype=np.float32)
    out = np.concatenate(out)
    return out if bundle.classes is None else class_probabilities(out)


def _check_compatible(bundle: RunBundle, data: Path) -> str:
    """The feature kind to read; refuses a dataset the model was not made for."""
    header = read_header(data)
    effect, kinds = header.effect, header.features
    wanted = bundle.effect_spec["name"]
    if bundle.classes is not None and header.classes != bundle.classes:
        said = "examples of one effect" if header.classes is None else f"classes {header.classes}"
        raise FxrError(f"{data} holds {said}, but the model tells apart {bundle.classes}")
    if effect != wanted:
        raise FxrError(f"{data} holds {effect!r} examples, but the model estimates {wanted!r}")
    features = bundle.features.as_dict()
    kind = features["kind"]
    if kind not in kinds or kinds[kind].as_dict() != features:
        raise FxrError(f"{data} has no features like the model's ({kind}, {features})")
    return kind


def evaluate(
    run: str | os.PathLike,
    data: str | os.PathLike | None = None,
    device: str = "auto",
    figures: bool = True,
    floor: bool = False,
    floor_limit: int | None = None,
    checks: bool = True,
) -> dict[str, Any]:
    """Evaluate the run's ``model.pt`` on every split; write ``eval.json`` and figures.

    ``floor`` adds the identifiability floor of the figures' split (see
    :mod:`fxregistry.evaluation.floor`), over at most ``floor_limit`` examples.
    ``checks`` adds, for a wet-only run, every split scored with the blind
    check (:mod:`fxregistry.evaluation.checked`), where the effect has one.
    """
    run = RunDirectory(Path(run))
    if not run.path.is_dir():
        raise FxrError(f"{run.path}: not a run directory")
    bundle = RunBundle.load(run.path)
    if data is None:
        recorded = bundle.data.get("path")
        if not recorded:
            raise FxrError(f"{run.path}: the run does not name its dataset; pass --data FILE")
        data = locate_dataset(recorded, run.path)
    data = Path(data)
    kind = _check_compatible(bundle, data)
    effect = bundle.effect
    torch_device = select_device(device)
    model = bundle.create_model().to(torch_device)

    result: dict[str, Any] = {
        "effect": effect.name,
        "model": bundle.model_name,
        "input": bundle.input,
        "normalization": bundle.normalization.kind,
        "data": str(data),
        "chance_mae": CHANCE_MAE,
        "splits": {},
    }
    predictions = {}
    for split in SPLITS:
        split_data = load_split(data, split, kind, "residual" in INPUTS[bundle.input])
        prediction = predict(model, bundle, split_data, torch_device)
        truth = split_data.targets.numpy()
        if bundle.classes is not None:
            truth = truth.argmax(axis=1) if len(truth) else np.zeros(0, dtype=np.int64)
            metrics = identification_metrics(prediction, truth, bundle.classes)
        else:
            metrics = split_metrics(prediction, truth, effect)
        predictions[split] = (prediction, truth, split_data)
        result["splits"][split] = metrics

    if checks:
        checked = _blind_check(bundle, data, predictions)
        if checked is not None:
            result["blind_check"] = checked

    # Figures describe the test split, or the largest one there is.
    shown = next(s for s in ("test", "valid", "train") if len(predictions[s][1]) or s == "train")
    prediction, truth, split_data = predictions[shown]
    result["figures_split"] = shown
    if bundle.classes is not None:
        result["classes"] = list(bundle.classes)
        result["confusion"] = result["splits"][shown]["confusion"]
    if floor and len(truth) and bundle.classes is None:
        from fxregistry.evaluation.floor import identifiability_floor

        result["floor"] = {shown: identifiability_floor(data, shown, floor_limit)}
    if getattr(model, "reconstruct", None) is not None and len(truth):
        result["reconstruction"] = _reconstruction(model, bundle, split_data, torch_device)
    if figures and len(truth):
        from fxregistry.figures import confusion_figure, reconstruction_figure

        title = f"{shown} split"
        if bundle.classes is not None:
            matrix, path = np.asarray(result["confusion"]), run.confusion_figure("effect")
            confusion_figure(matrix, bundle.classes, "effect", path, title)
        for i, p in enumerate(effect.parameters if bundle.classes is None else ()):
            matrix = confusion_matrix(p, prediction[:, i], truth[:, i])
            labels, name = [f"{v:g}" for v in p.grid], f"{p.name} [{p.unit}]"
            confusion_figure(matrix, labels, name, run.confusion_figure(p.name), title)
        if "reconstruction" in result:
            images = _first_reconstruction(model, bundle, split_data, torch_device)
            reconstruction_figure(images, run.reconstruction_figure)
    write_json(result, run.evaluation)
    return result


def _blind_check(bundle: RunBundle, data: Path, predictions: dict) -> dict[str, Any] | None:
    """Every split scored as a blind ``fxr estimate`` answers; None where it has no check.

    The check renders audio, so the effect must be installed and each
    example's dry clip made again from the dataset's source; where it cannot
    be, the reason is reported in place of the scores.
    """
    if bundle.classes is not None or "dry" in INPUTS[bundle.input]:
        return None
    try:
        effect = registry.get_effect(bundle.effect.name)
    except FxrError:
        return None  # not installed here: fxr estimate could not check either
    if not finds_settings(effect):
        return None
    from fxregistry.evaluation.checked import checked_predictions
    from fxregistry.progress import progress_bar

    result: dict[str, Any] = {"check": check_of(effect), "splits": {}}
    total = sum(len(truth) for _, truth, _ in predictions.values())
    try:
        # Seconds to minutes (every example rendered at every setting): show how far it is.
        with progress_bar(transient=True) as bar:
            task = bar.add_task(f"{result['check']} check", total=total, info="")
            for split, (prediction, truth, _) in predictions.items():
                answer, answered = checked_predictions(
                    data, split, prediction, effect, lambda: bar.advance(task)
                )
                result["splits"][split] = split_metrics(answer, truth, effect) | {
                    "answered": answered
                }
    except FxrError as error:  # the source is gone: nothing to render
        return {"check": result["check"], "skipped": str(error)}
    return result


@torch.no_grad()
def _first_reconstruction(model, bundle: RunBundle, data, device) -> dict[str, np.ndarray]:
    """Wet input, the model's reconstruction and the dry target of the split's first example."""
    normalize = bundle.normalization
    wet, dry, _, _ = next(Batches(data, 1, device, shuffle=False).epoch(0))
    w = normalize(wet)[:, None]
    model.eval()
    images = {
        "wet (input)": w[0, 0],
        "reconstruction": model.reconstruct(w).float()[0, 0],
        "dry (target)": normalize(dry)[0],
    }
    return {title: image.cpu().numpy() for title, image in images.items()}


@torch.no_grad()
def _reconstruction(model, bundle: RunBundle, data, device, batch_size: int = 32) -> dict[str, Any]:
    """L2 of the reconstruction (and of the wet input, as the do-nothing baseline) and
    the share of energy in the top quarter of the bins, in the model's normalized space."""
    normalize = bundle.normalization
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
            # A barely trained decoder can put out nothing above 0: its ratio is 0, not NaN.
            total = x.sum(dim=(1, 2, 3)).clamp(min=1e-12)
            hf[name] += float((x[:, :, top:].sum(dim=(1, 2, 3)) / total).sum())
        n += wet.shape[0]
    return {
        "l2": totals["l2"] / n,
        "l2_wet_as_is": totals["l2_wet"] / n,
        "high_frequency_ratio": {k: v / n for k, v in hf.items()},
    }
