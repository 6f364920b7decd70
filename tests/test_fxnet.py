"""fxnet's evidence says what the effect did, whatever the music.

The network itself is tested with every registered model (test_fit.py);
these are the claims its docstring makes about the evidence it computes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from fxr_plugins.delay import render as delay
from fxr_plugins.nets.fxnet import (
    GROUPS,
    LAGS,
    QUANTILES,
    FirstBatchNorm,
    channels_of,
    lag_evidence,
    level_evidence,
    pool_bins,
)

from fxregistry.audio.features import FeatureConfig, spectrogram
from fxregistry.training.batches import Normalization

FEATURES = FeatureConfig()


def model_input(*audio) -> torch.Tensor:
    """(1, channels, bins, frames) as fit feeds a model (fixed normalization)."""
    db = [torch.as_tensor(spectrogram(a, FEATURES)) for a in audio]
    return torch.stack([Normalization()(d) for d in db]).unsqueeze(0)


def profiles(x: torch.Tensor) -> torch.Tensor:
    """lag_evidence as (pairs, lags), averaged over the band groups."""
    return lag_evidence(channels_of(x))[0].reshape(-1, GROUPS, LAGS + 1).mean(dim=1)


@pytest.mark.parametrize("seconds", [0.071429, 0.14286, 0.25])
def test_a_delay_shows_at_its_lag_with_and_without_the_dry(guitar, seconds):
    wet = delay(guitar, FEATURES.sample_rate, delay_seconds=seconds)
    frames = round(seconds * FEATURES.sample_rate / FEATURES.hop_length)
    # With the dry: its onsets return in the change (wet minus dry) after the delay, and
    # nowhere else as strongly, though the guitar's notes come every 9 frames.
    _wet_wet, _dry_wet, dry_change = profiles(model_input(wet, guitar))
    assert abs(int(dry_change[2:].argmax()) + 2 - frames) <= 1
    # Without: the wet resembles itself at the delay far more than the dry did.
    (wet_wet,), (dry_dry,) = profiles(model_input(wet)), profiles(model_input(guitar))
    assert wet_wet[frames] > dry_dry[frames] + 0.1


def test_more_lags_reach_the_second_echo_of_the_longest_delay(guitar):
    # Feedback repeats the delay: with lags to 0.56 s (48 frames) the wet resembles
    # itself again at twice the grid's longest delay, which the default 32 cannot see.
    wet = delay(guitar, FEATURES.sample_rate, delay_seconds=0.25)
    second = round(2 * 0.25 * FEATURES.sample_rate / FEATURES.hop_length)
    assert LAGS < second <= 48

    def self_similarity(audio):
        evidence = lag_evidence(channels_of(model_input(audio)), lags=48)
        return evidence[0].reshape(GROUPS, 49).mean(dim=0)

    assert self_similarity(wet)[second] > self_similarity(guitar)[second] + 0.05


def test_level_quantiles_keep_absolute_level(guitar):
    loud, quiet = level_evidence(model_input(guitar)), level_evidence(model_input(guitar / 10))
    assert loud.shape == quiet.shape == (1, len(QUANTILES) * 32)
    # 20 dB quieter is 20/140 of the fixed normalization's range lower, except where the
    # quieter one reaches digital silence (-100 dB), as the lowest band always does (it
    # pools Mel bands without an FFT bin).
    lower = loud - quiet
    assert ((lower >= 0) & (lower <= 20 / 140 + 1e-3)).all()
    assert ((lower - 20 / 140).abs() < 2e-3).float().mean() > 0.9


@pytest.mark.parametrize("bins", [128, 513])
@pytest.mark.parametrize("shape", [(2,), (2, 3)])
def test_pooling_bins_is_adaptive_average_pooling(bins, shape):
    # Written as a reshape for 128 Mel bins so that the model exports to ONNX:
    # the numbers must stay those the shipped weights were trained on.
    x = torch.rand(*shape, bins, 17)
    expected = F.adaptive_avg_pool2d(x.reshape(-1, 1, bins, 17), (8, 17)).reshape(*shape, 8, 17)
    torch.testing.assert_close(pool_bins(x, 8), expected)


def test_first_batch_norm_standardizes_the_first_batch_then_keeps_its_statistics():
    norm = FirstBatchNorm(3).train()
    first = torch.randn(16, 3) * torch.tensor([0.01, 1.0, 30.0]) + torch.tensor([5.0, -2.0, 0.0])
    out = norm(first).detach()
    assert torch.allclose(out.mean(dim=0), torch.zeros(3), atol=1e-4)
    # eps keeps a feature that barely varies from being blown up: 0.01 / (0.01 + eps)
    assert out.std(dim=0, unbiased=False)[1:].sub(1).abs().max() < 0.02
    assert 0.4 < float(out.std(dim=0, unbiased=False)[0]) < 0.6
    # Later batches are scaled as the first was, not by their own statistics.
    later = torch.randn(4, 3) + 100.0
    one_by_one = torch.cat([norm(row[None]) for row in later])
    assert torch.allclose(norm(later), one_by_one)
    assert torch.allclose(norm.eval()(later), one_by_one)


def test_first_batch_norm_is_restored_with_the_weights_not_set_again():
    trained = FirstBatchNorm(2).train()
    trained(torch.randn(8, 2) * 3 + 1)
    restored = FirstBatchNorm(2)
    restored.load_state_dict(trained.state_dict())
    restored.train()
    x = torch.randn(8, 2) - 50.0  # would move the statistics if it set them again
    assert torch.equal(restored(x), trained(x))


RANK = """
import sys, torch, torch.distributed as dist
from fxr_plugins.nets.fxnet import FirstBatchNorm
rank, store, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
norm = FirstBatchNorm(2).train()
torch.manual_seed(rank)
norm(torch.randn(8, 2) * (1 + 4 * rank) + 10 * rank)  # each process its own first batch
torch.save({"shift": norm.shift.detach(), "scale": norm.scale.detach()}, out)
dist.destroy_process_group()
"""


def test_under_torchrun_every_process_starts_from_the_statistics_of_all_first_batches(tmp_path):
    # DDP keeps the processes' weights equal only if they start equal: the shift and
    # scale are set from every process's first batch, not each from its own.
    outs = [tmp_path / f"rank{r}.pt" for r in (0, 1)]
    ranks = [
        subprocess.Popen([sys.executable, "-c", RANK, str(r), str(tmp_path / "store"), str(out)])
        for r, out in enumerate(outs)
    ]
    assert [p.wait(timeout=120) for p in ranks] == [0, 0]
    first, second = (torch.load(out) for out in outs)
    assert torch.equal(first["shift"], second["shift"])
    assert torch.equal(first["scale"], second["scale"])
    batches = []
    for rank in (0, 1):
        torch.manual_seed(rank)
        batches.append(torch.randn(8, 2) * (1 + 4 * rank) + 10 * rank)
    both = torch.cat(batches)
    torch.testing.assert_close(first["shift"], -both.mean(dim=0))
    expected = 1 / (both.std(dim=0, unbiased=False) + FirstBatchNorm(2).eps)
    torch.testing.assert_close(first["scale"], expected)
