"""The study's metrics, on parameters normalized to [0, 1].

Per split: N, MSE and MAE beside chance (1/3: a uniform guess against
uniform targets, the study's §4.1); per parameter, the MAE in its own unit
and the grid accuracy (the prediction snapped to the nearest grid value
equals the truth's grid value); confusion matrices over grid values. For
identification (a model trained on a file over several effects): accuracy
overall, on the examples an effect changed and on untouched audio, recall per
class, and the confusion matrix over classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxregistry.specs.effect import Effect, Parameter

__all__ = [
    "CHANCE_MAE",
    "class_confusion",
    "confusion_matrix",
    "identification_metrics",
    "split_metrics",
]

CHANCE_MAE = 1 / 3


def split_metrics(prediction: np.ndarray, truth: np.ndarray, effect: Effect) -> dict[str, Any]:
    """The metrics of one split; ``prediction`` and ``truth`` are ``(N, P)`` normalized."""
    n = int(truth.shape[0])
    if n == 0:
        return {"n": 0, "mse": None, "mae": None, "grid_accuracy": None, "per_parameter": {}}
    error = prediction - truth
    correct = np.ones(n, dtype=bool)
    per_parameter = {}
    for i, p in enumerate(effect.parameters):
        hit = p.grid_indices(prediction[:, i]) == p.grid_indices(truth[:, i])
        correct &= hit
        per_parameter[p.name] = {
            "mae": float(np.mean(np.abs(p.to_units(prediction[:, i]) - p.to_units(truth[:, i])))),
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
    np.add.at(matrix, (parameter.grid_indices(truth), parameter.grid_indices(prediction)), 1)
    return matrix


def identification_metrics(
    probabilities: np.ndarray, truth: np.ndarray, classes: tuple[str, ...]
) -> dict[str, Any]:
    """The identification metrics of one split: ``(N, classes)`` probabilities, true classes.

    ``changed_accuracy`` is over examples an effect changed (class > 0, "none"
    being class 0), ``none_accuracy`` over untouched ones; ``confusion`` counts
    ``[true class, predicted class]``, so splits' matrices add up.
    """
    n = int(len(truth))
    predicted = np.argmax(probabilities, axis=1) if n else np.zeros(0, dtype=np.int64)
    hit = predicted == truth

    def share(mask: np.ndarray) -> float | None:
        return float(hit[mask].mean()) if mask.any() else None

    return {
        "n": n,
        "accuracy": share(np.ones(n, dtype=bool)),
        "changed_accuracy": share(truth > 0),
        "none_accuracy": share(truth == 0),
        "confusion": class_confusion(probabilities, truth, len(classes)).tolist(),
        "per_class": {
            name: {"n": int(np.sum(truth == c)), "recall": share(truth == c)}
            for c, name in enumerate(classes)
        },
    }


def class_confusion(probabilities: np.ndarray, truth: np.ndarray, classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    if len(truth):
        np.add.at(matrix, (truth, np.argmax(probabilities, axis=1)), 1)
    return matrix
