"""`make demo`'s producer's case judges fxr's answer as issue 14 counts it."""

from __future__ import annotations

import numpy as np

from fxregistry import Effect, Parameter
from fxregistry.demo import expected_answer

SAMPLE_RATE = 44100


def test_a_setting_that_only_changed_the_level_expects_no_effect(guitar):
    # A dynamics effect below its threshold only makes the audio up: fxr is right to
    # say none there, and the demo must not call that wrong.
    def render(audio, sample_rate, *, ceiling):
        return np.clip(audio * np.float32(2.0), -ceiling, ceiling)

    ceiling = Parameter("ceiling", "", grid=(0.1, 1.0), range=(0.1, 1.0))
    doubled = Effect("doubled", "twice the level, clipped at the ceiling", (ceiling,), render)
    quiet = (guitar / np.abs(guitar).max() * 0.2).astype(np.float32)
    assert expected_answer(doubled, quiet, doubled(quiet, SAMPLE_RATE, ceiling=1.0)) is None
    clipped = doubled(quiet, SAMPLE_RATE, ceiling=0.1)
    assert expected_answer(doubled, quiet, clipped) == "doubled"
