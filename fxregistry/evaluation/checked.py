"""What a blind ``fxr estimate RUN WET`` answers on a dataset's examples.

Without the dry audio, ``fxr estimate`` runs the check the effect supports
(:mod:`fxregistry.estimation.evidence`: fixed points, echoes) and takes the
setting the check finds over the network's. The network alone is what
``evaluate``'s tables score; this scores the answer a user gets, on the same
examples: each one's wet audio is made again (:mod:`.examples`), checked,
and the check's setting, where it found one, replaces the network's.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from fxregistry.estimation.evidence import answered_setting, blind_evidence
from fxregistry.evaluation.examples import split_examples
from fxregistry.specs.effect import Effect

__all__ = ["checked_predictions"]


def checked_predictions(
    path: str | os.PathLike,
    split: str,
    prediction: np.ndarray,
    effect: Effect,
    checked_one: Callable[[], None] | None = None,
) -> tuple[np.ndarray, float]:
    """``prediction`` (the network's, normalized, in split order) with the blind check's
    setting wherever it found one, and the share of examples it found one for.

    ``checked_one`` is called after each example (a progress bar's advance).
    """
    checked = np.array(prediction, dtype=np.float64, copy=True)
    answered = 0
    for i, _, _, wet in split_examples(path, split):
        # Rendered here in float32, as a lossless file keeps it: the samples are exact.
        evidence = blind_evidence(effect, wet, exact=True)
        answer = answered_setting(evidence)
        if answer is not None:
            checked[i] = effect.normalize(answer)
            answered += 1
        if checked_one is not None:
            checked_one()
    return checked, answered / max(len(checked), 1)
