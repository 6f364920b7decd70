"""The figures ``fxr evaluate`` writes (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fxregistry.specs.effect import Parameter
from fxregistry.training.batches import Batches, Normalization

__all__ = ["confusion_figure", "reconstruction_figure"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    fig.savefig(partial, format="png", dpi=100)
    _pyplot().close(fig)
    partial.replace(path)


def confusion_figure(matrix: np.ndarray, parameter: Parameter, path: Path, title: str) -> None:
    """Rows: the true grid value; columns: the predicted one (snapped to the grid)."""
    plt = _pyplot()
    labels = [f"{v:g}" for v in parameter.grid]
    size = max(4.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(
        xlabel=f"predicted {parameter.name} [{parameter.unit}]",
        ylabel=f"true {parameter.name} [{parameter.unit}]",
        title=f"{parameter.name}: {title}",
    )
    if len(labels) <= 12:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                color = "white" if count > matrix.max() / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save(fig, path)


@torch.no_grad()
def reconstruction_figure(model, bundle, data, device, path: Path) -> None:
    """Wet input, the model's reconstruction and the dry target of the first example."""
    plt = _pyplot()
    normalize = Normalization(**bundle["normalization"])
    wet, dry, _, _ = next(Batches(data, 1, device, shuffle=False).epoch(0))
    w = normalize(wet)[:, None]
    model.eval()
    images = {
        "wet (input)": w[0, 0],
        "reconstruction": model.reconstruct(w).float()[0, 0],
        "dry (target)": normalize(dry)[0],
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, (title, image) in zip(axes, images.items(), strict=True):
        shown = ax.imshow(image.cpu().numpy(), origin="lower", aspect="auto", vmin=0, vmax=1)
        ax.set(title=title, xlabel="frame")
    axes[0].set_ylabel("bin")
    fig.colorbar(shown, ax=axes, fraction=0.02)
    _save(fig, path)
