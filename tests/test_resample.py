"""The sample-rate effect renders with numpy exactly what it rendered with torchaudio."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio
from fxr_plugins.sample_rate import SAMPLE_RATE_REDUCTION, render

from fxregistry.audio import resample as resampling

SAMPLE_RATE = 44100
# Every reduction on the effect's grid, and one whose rates share no factor but 25 Hz.
TARGETS_KHZ = [k for k in SAMPLE_RATE_REDUCTION.parameters[0].grid if k < 44.1] + [13.225]
TOLERANCE = 1e-5


def torchaudio_render(audio: np.ndarray, target_khz: float) -> np.ndarray:
    """The effect as it was: torchaudio's transforms down to the target and back."""
    target = 25 * int(round(target_khz * 1000 / 25))
    down = torchaudio.transforms.Resample(SAMPLE_RATE, target)
    up = torchaudio.transforms.Resample(target, SAMPLE_RATE)
    with torch.inference_mode():
        y = up(down(torch.from_numpy(audio))).numpy()
    n = audio.shape[-1]
    out = np.zeros_like(audio)
    out[..., : min(n, y.shape[-1])] = y[..., :n]
    return out


def signals() -> dict[str, np.ndarray]:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    noise = 0.3 * np.random.default_rng(0).standard_normal(SAMPLE_RATE)
    return {
        "noise": noise.astype(np.float32),
        "sine": (0.5 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32),
    }


@pytest.mark.parametrize("target_khz", TARGETS_KHZ)
@pytest.mark.parametrize("signal", ["noise", "sine"])
def test_render_equals_torchaudios(target_khz, signal):
    audio = signals()[signal]
    ours = render(audio, SAMPLE_RATE, target_khz=target_khz)
    assert ours.dtype == np.float32 and ours.shape == audio.shape
    expected = torchaudio_render(audio, target_khz)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("new_hz", [8000, 13225, 22050, 48000])
def test_resample_equals_torchaudio_on_batches_of_any_length(new_hz, monkeypatch):
    # A few frames at a time, as a whole song is; an odd length, rounded up like torchaudio.
    monkeypatch.setattr(resampling, "_CHUNK_VALUES", 10_000)
    audio = signals()["noise"][: 3 * 7001].reshape(3, 1, 7001)
    ours = resampling.resample(audio, SAMPLE_RATE, new_hz)
    expected = torchaudio.transforms.Resample(SAMPLE_RATE, new_hz)(torch.from_numpy(audio))
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected.numpy(), rtol=0, atol=TOLERANCE)
