"""The features are the study's: torchaudio's Mel spectrogram in dB."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio

from fxregistry.audio.features import FeatureConfig, spectrogram


def reference(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """What a study script computes: torchaudio's transform, then 10·log10(S + eps)."""
    if config.kind == "mel":
        transform = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            n_mels=config.n_mels,
            power=config.power,
        )
    else:
        transform = torchaudio.transforms.Spectrogram(
            n_fft=config.n_fft, hop_length=config.hop_length, power=config.power
        )
    power = transform(torch.from_numpy(audio)).numpy()
    return 10 * np.log10(power + config.eps)


# The study's 128 bands over a 1024-point FFT leave the lowest bands empty.
@pytest.mark.filterwarnings("ignore:At least one mel filterbank")
def test_mel_and_stft_features_equal_torchaudio_in_db(guitar):
    clips = np.stack([guitar, 0.1 * guitar[::-1]])
    for kind in ("mel", "stft"):
        config = FeatureConfig(kind=kind)
        ours = spectrogram(clips, config)
        assert ours.shape == (2, *config.shape(88200))
        # Bands above -80 dB: below, float32 rounding of tiny powers dominates.
        loud = reference(clips, config) > -80
        assert np.abs(ours - reference(clips, config))[loud].max() < 1e-3


def test_silence_is_the_floor_not_minus_infinity():
    floor = spectrogram(np.zeros(88200, np.float32))
    assert np.all(floor == np.float32(10 * np.log10(1e-10)))
