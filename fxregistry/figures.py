"""The figures fxr writes: ``loss.png`` of a fit, the confusion and reconstruction
figures of ``fxr evaluate`` (matplotlib, no display needed, no torch)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fxregistry.files import atomic_write

__all__ = ["confusion_figure", "loss_figure", "reconstruction_figure"]


@functools.cache
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, and no GUI toolkit to import
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> None:
    # keep_suffix: matplotlib would otherwise pick the format from ".partial".
    with atomic_write(path, keep_suffix=True) as partial:
        fig.savefig(partial, format="png", dpi=100)
    _pyplot().close(fig)


def loss_figure(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Train and validation loss per epoch, one panel per stage; ``rows`` of metrics.jsonl."""
    plt = _pyplot()
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    fig, axes = plt.subplots(1, len(stages), figsize=(5 * len(stages), 3.5), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        mine = [r for r in rows if r["stage"] == stage]
        epochs = [r["epoch"] for r in mine]
        ax.plot(epochs, [r["train_loss"] for r in mine], marker="o", label="train")
        if any(r["valid_loss"] is not None for r in mine):
            ax.plot(epochs, [r["valid_loss"] for r in mine], marker="o", label="valid")
        loss = "L2 (reconstruction)" if mine[0]["task"] == "reconstruct" else "L1 (parameters)"
        ax.set(title=stage, xlabel="epoch", ylabel=loss, yscale="log")
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def confusion_figure(
    matrix: np.ndarray, labels: Sequence[str], name: str, path: str | os.PathLike, title: str
) -> None:
    """Rows: the true value (a grid value, or a class); columns: the predicted one.

    ``name`` says what is confused, e.g. a parameter and its unit, or ``effect``.
    """
    plt = _pyplot()
    size = max(4.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel=f"predicted {name}", ylabel=f"true {name}", title=f"{name}: {title}")
    if len(labels) <= 12:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                color = "white" if count > matrix.max() / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save(fig, path)


def reconstruction_figure(images: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Normalized spectrograms ``(bins, frames)`` side by side, titled by their keys
    (``fxr evaluate``: the wet input, the model's reconstruction, the dry target)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(13, 3.6), sharey=True, squeeze=False)
    for ax, (title, image) in zip(axes[0], images.items(), strict=True):
        shown = ax.imshow(image, origin="lower", aspect="auto", vmin=0, vmax=1)
        ax.set(title=title, xlabel="frame")
    axes[0, 0].set_ylabel("bin")
    fig.colorbar(shown, ax=axes, fraction=0.02)
    _save(fig, path)
