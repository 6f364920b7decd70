"""The identifiability floor: how well any estimator could do on a dataset's clips.

Some settings make the same audio (a threshold the clip never reaches makes
every release time sound alike; two coarse quantizations of quiet audio can
both give silence). No estimator can tell those apart, so a model's error is judged
against the error of the best possible one: exhaustive analysis by synthesis
over the grid with the dry audio known (what ``fxr estimate --refine`` does).
For each example, the dry clip is rendered at every grid setting; the
settings whose render is closest to the example's wet audio are the
candidates. One candidate is the answer. Several make the same audio: the
estimate that minimizes the expected absolute error among them is, for each
parameter, their median (normalized), which is what the floor takes. The
floor is the error of those estimates; an estimator trained with an L1 loss
can reach it, not beat it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fxregistry import registry
from fxregistry.dataset.header import DatasetHeader, open_dataset
from fxregistry.estimation.search import closest_grid_settings, search_settings
from fxregistry.evaluation.examples import split_examples
from fxregistry.evaluation.metrics import split_metrics

__all__ = ["identifiability_floor"]


def identifiability_floor(
    path: str | os.PathLike, split: str = "test", limit: int | None = None
) -> dict[str, Any]:
    """Metrics (as :func:`~fxregistry.evaluation.metrics.split_metrics`) of exhaustive search.

    ``limit`` evaluates that many examples spread evenly over the split.
    """
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
    effect = registry.get_effect(header.effect)
    continuous = header.grid != "paper"
    truth, predicted = [], []
    for _, setting, dry, wet in split_examples(path, split, limit):
        truth.append(effect.normalize(setting))
        if continuous:
            best, _ = search_settings(effect, dry, wet, setting, continuous=True)
            predicted.append(effect.normalize(best))
        else:
            tied = closest_grid_settings(effect, dry, wet)
            predicted.append(np.median([effect.normalize(s) for s in tied], axis=0))
    width = len(effect.parameters)
    return split_metrics(np.reshape(predicted, (-1, width)), np.reshape(truth, (-1, width)), effect)
