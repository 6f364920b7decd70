"""Identification: which effect processed the audio, or none, from a model's outputs.

Every registered model ends in a sigmoid, one output per target (the
``Model`` contract). For identification the outputs are one per class
(:func:`fxregistry.dataset.identification.class_names`); the activations
before the sigmoid are taken as the classes' logits, so any model trains
with a softmax cross-entropy and its answers are probabilities that add up
to one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # estimate reads probabilities without torch
    import torch

__all__ = ["class_logits", "class_probabilities", "one_hot"]

# Sigmoid outputs are clamped this far from 0 and 1 before the logit: float32
# rounds a confident output to exactly 1, whose logit is infinite.
_EDGE = 1e-6


def class_logits(outputs: torch.Tensor) -> torch.Tensor:
    """``(batch, classes)`` sigmoid outputs -> the logits they came from."""
    import torch

    return torch.logit(outputs.float(), eps=_EDGE)


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """``(batch, classes)`` sigmoid outputs -> class probabilities (rows add up to 1).

    The softmax of :func:`class_logits`, in numpy (estimate serves without torch).
    """
    outputs = np.clip(np.asarray(outputs, dtype=np.float64), _EDGE, 1 - _EDGE)
    logits = np.log(outputs) - np.log1p(-outputs)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """Class indices -> ``(n, classes)`` float32 targets."""
    return np.eye(classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]
