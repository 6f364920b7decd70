"""The features are the study's: torchaudio's Mel spectrogram in dB, computed with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio

from fxregistry.audio.features import (
    LEVELS_FLOOR_DB,
    FeatureConfig,
    _filterbank,
    spectral_distance,
    spectrogram,
)

# torchaudio builds the filterbank in float32: its weights are 1e-5 off the float64 ones.
FILTERBANK_TOLERANCE = 2e-5
# float32 FFTs round at about 1e-7 of a frame's peak, torch's five times more than numpy's
# against a float64 FFT: a power bin 80 dB below its frame's peak moves by 0.015 dB. Bins
# within this of their peak are compared; below it, rounding outweighs any real difference.
COMPARED_RANGE_DB = 60.0


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
@pytest.mark.parametrize(
    "config", [FeatureConfig(), FeatureConfig(n_fft=2048, n_mels=64, sample_rate=22050)]
)
def test_the_filterbank_is_torchaudios(config):
    expected = torchaudio.functional.melscale_fbanks(
        config.n_fft // 2 + 1, 0.0, config.sample_rate / 2, config.n_mels, config.sample_rate
    )
    ours = _filterbank(config)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected.numpy(), rtol=0, atol=FILTERBANK_TOLERANCE)


@pytest.mark.filterwarnings("ignore:At least one mel filterbank")
@pytest.mark.parametrize(
    "config",
    [
        FeatureConfig(),
        FeatureConfig(kind="stft"),
        FeatureConfig(power=1.0),
        FeatureConfig(n_fft=2048, hop_length=256, n_mels=64),
    ],
    ids=["mel", "stft", "mel-magnitude", "mel-2048"],
)
def test_features_equal_torchaudio_in_db(config, guitar):
    clips = np.stack([guitar, 0.1 * guitar[::-1]])
    ours = spectrogram(clips, config)
    assert ours.shape == (2, *config.shape(88200))
    assert ours.dtype == np.float32
    expected = reference(clips, config)
    # A magnitude feature (power 1) spans half the decibels of a power one.
    below_peak = expected.max(axis=-2, keepdims=True) - expected
    compared = (expected > -80) & (below_peak < COMPARED_RANGE_DB * config.power / 2)
    assert np.abs(ours - expected)[compared].max() < 1e-3


def test_batches_tensors_and_long_batches_give_each_clips_own_spectrogram(guitar, monkeypatch):
    import fxregistry.audio.features as features

    clips = np.stack([guitar, 0.5 * guitar, guitar[::-1]]).reshape(3, 1, -1)
    one_by_one = np.stack([spectrogram(c) for c in clips])
    monkeypatch.setattr(features, "_CHUNK_SAMPLES", 2 * guitar.size)  # two clips a chunk
    np.testing.assert_array_equal(spectrogram(clips), one_by_one)
    np.testing.assert_array_equal(spectrogram(torch.from_numpy(clips)), one_by_one)


def test_silence_is_the_floor_not_minus_infinity():
    floor = spectrogram(np.zeros(88200, np.float32))
    assert np.all(floor == np.float32(10 * np.log10(1e-10)))


LEVELS = FeatureConfig(kind="levels")


def test_levels_are_each_frames_share_of_samples_per_level_bin(guitar):
    shares = 10 ** (spectrogram(guitar, LEVELS) / 10) - LEVELS.eps
    assert shares.shape == LEVELS.shape(guitar.size) == FeatureConfig().shape(guitar.size)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0, rtol=1e-5)
    # A frame's bins, counted by hand: the middle frame's samples at each 0.5 dB level.
    width = -LEVELS_FLOOR_DB / LEVELS.n_mels
    t = 80
    frame = guitar[t * LEVELS.hop_length - LEVELS.n_fft // 2 :][: LEVELS.n_fft]
    level = 20 * np.log10(
        np.maximum(np.abs(frame.astype(np.float64)), 10 ** (LEVELS_FLOOR_DB / 20))
    )
    counts = np.bincount(
        np.minimum((level - LEVELS_FLOOR_DB) // width, LEVELS.n_mels - 1).astype(int),
        minlength=LEVELS.n_mels,
    )
    np.testing.assert_allclose(shares[:, t], counts / LEVELS.n_fft, atol=1e-6)


def test_levels_put_full_scale_in_the_top_bin_and_silence_in_the_lowest():
    held = np.zeros(88200, np.float32)
    held[40000:50000] = 1.0  # samples held at the ceiling, as a limiter holds them
    held[60000:63000] = 4.0  # a float file may exceed full scale: the top bin too
    db = spectrogram(held, LEVELS)
    assert db[-1, 45000 // LEVELS.hop_length] == pytest.approx(0.0, abs=1e-6)
    assert db[-1, 61500 // LEVELS.hop_length] == pytest.approx(0.0, abs=1e-6)
    assert db[0, 10] == pytest.approx(0.0, abs=1e-6)  # silence: every sample in the lowest
    assert np.all(db[1:-1] == np.float32(10 * np.log10(LEVELS.eps)))


def torch_spectral_distance(a: np.ndarray, b: np.ndarray, fft_sizes=(256, 1024, 4096)) -> float:
    """The torch formula spectral_distance was ported from."""
    x, y = torch.from_numpy(a), torch.from_numpy(b)
    total = 0.0
    for n_fft in fft_sizes:
        window = torch.hann_window(n_fft)
        sx = torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        sy = torch.stft(y, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        total += float(torch.mean(torch.abs(torch.log10(sx + 1e-5) - torch.log10(sy + 1e-5))))
    return total / len(fft_sizes)


def test_spectral_distance_equals_the_torch_formula(guitar):
    noise = (0.1 * np.random.default_rng(0).standard_normal(guitar.size)).astype(np.float32)
    for a, b in [(guitar, 0.5 * guitar), (guitar, noise), (guitar + noise, guitar)]:
        assert spectral_distance(a, b) == pytest.approx(torch_spectral_distance(a, b), abs=1e-5)
    assert spectral_distance(guitar, guitar) == 0.0
