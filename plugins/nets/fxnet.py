"""fxnet's torch module and its evidence (registered by ``fxr_plugins.fxnet``).

Kept apart from the registration so that loading the plugins does not
import torch; ``fxr_plugins.fxnet`` describes the architecture.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

LAGS = 32  # frames: 0.37 s at hop 512, beyond the delay grid's 0.25 s (the ``lags`` default)
GROUPS = 8  # band groups whose onsets are correlated
BANDS = 32  # bands the level quantiles are pooled to
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def channels_of(x: torch.Tensor) -> torch.Tensor:
    """(batch, C, bins, frames) -> the same with wet minus dry appended when C >= 2."""
    if x.shape[1] < 2:
        return x
    return torch.cat([x, x[:, :1] - x[:, 1:2]], dim=1)


def onsets(spectrogram: torch.Tensor) -> torch.Tensor:
    """(batch, bins, frames) -> (batch, GROUPS, frames - 1): rises per band group, mean 0."""
    groups = pool_bins(spectrogram, GROUPS)
    rises = F.relu(groups[..., 1:] - groups[..., :-1])
    return rises - rises.mean(dim=-1, keepdim=True)


def pool_bins(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(..., bins, W)`` -> ``(..., size, W)``: the mean of each run of adjacent bins.

    Adaptive average pooling over the bins, written as a reshape when ``size``
    divides them (128 Mel bins into 8 groups or 32 bands): the same numbers, and
    it exports to ONNX, which adaptive pooling sized by the input does not.
    """
    bins = int(x.shape[-2])
    if bins % size:  # (513 STFT bins): uneven runs, as adaptive pooling cuts them
        return F.adaptive_avg_pool2d(x, (size, x.shape[-1]))
    return x.reshape(*x.shape[:-2], size, bins // size, x.shape[-1]).mean(dim=-2)


def correlation(a: torch.Tensor, b: torch.Tensor, lags: int = LAGS) -> torch.Tensor:
    """(batch, G, T) twice -> (batch, G, lags + 1): corr(a[t], b[t + lag]), in [-1, 1]."""
    if a.shape[-1] <= lags:  # a clip shorter than the lags: no evidence past its end
        a, b = F.pad(a, (0, lags + 1 - a.shape[-1])), F.pad(b, (0, lags + 1 - b.shape[-1]))
    frames = a.shape[-1]
    scale = a.norm(dim=-1) * b.norm(dim=-1) + 1e-6
    at = [(a[..., : frames - lag] * b[..., lag:]).sum(dim=-1) for lag in range(lags + 1)]
    return torch.stack(at, dim=-1) / scale.unsqueeze(-1)


def lag_evidence(channels: torch.Tensor, lags: int = LAGS) -> torch.Tensor:
    """:func:`channels_of` the model input -> (batch, features) onset correlations."""
    wet = onsets(channels[:, 0])
    pairs = [(wet, wet)]
    if channels.shape[1] >= 3:  # the dry given: wet, dry[, residual], wet minus dry
        dry = onsets(channels[:, 1])
        pairs += [(dry, wet), (dry, onsets(channels[:, -1]))]
    return torch.cat([correlation(a, b, lags).flatten(1) for a, b in pairs], dim=1)


def level_evidence(channels: torch.Tensor) -> torch.Tensor:
    """(batch, C, bins, frames) -> (batch, C * len(QUANTILES) * BANDS) quantiles over time."""
    ordered = channels.sort(dim=-1).values
    last = int(channels.shape[-1]) - 1  # a number, also where the shape is traced for export
    picks = ordered[..., [round(q * last) for q in QUANTILES]]  # (batch, C, bins, Q)
    return pool_bins(picks, BANDS).flatten(1)


class FirstBatchNorm(nn.Module):
    """A per-feature shift and scale, set from the first training batch, then learned.

    ActNorm (Kingma & Dhariwal, 2018): the evidence is standardized as
    BatchNorm would, but by statistics fixed once rather than drawn from every
    batch. With BatchNorm's per-batch statistics, at fxr's batch of 16, fxnet
    did not fit even its own training split of the paired bitcrusher
    (benchmarks/split_accuracy.py, docs/real-audio.md).
    """

    def __init__(self, features: int, eps: float = 1e-2):
        super().__init__()
        self.eps = eps
        self.shift = nn.Parameter(torch.zeros(features))
        self.scale = nn.Parameter(torch.ones(features))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not bool(self.initialized):
            self._initialize(x)
        return (x + self.shift) * self.scale

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        x = x.float()  # under autocast the batch may be half precision
        moments = torch.stack([x.mean(dim=0), (x * x).mean(dim=0)])
        if dist.is_available() and dist.is_initialized():  # every process the same start
            dist.all_reduce(moments)
            moments /= dist.get_world_size()
        mean, square = moments
        self.shift.copy_(-mean)
        self.scale.copy_(1.0 / ((square - mean * mean).clamp_min(0).sqrt() + self.eps))
        self.initialized.fill_(True)


NORMS = {"batch": nn.BatchNorm1d, "first-batch": FirstBatchNorm}


def mlp(features: int, width: int, norm: str = "batch") -> nn.Sequential:
    # Standardized first: the evidence's scales differ (correlations, dB), and a
    # per-feature affine map still lets the network compare absolute levels.
    return nn.Sequential(NORMS[norm](features), nn.Linear(features, width), nn.ReLU(inplace=True))


class FxNet(nn.Module):
    def __init__(
        self,
        in_channels: int,
        outputs: int,
        channels=(16, 32, 64, 128),
        hidden=128,
        evidence_norm: str = "batch",
        lags: int = LAGS,
    ):
        super().__init__()
        self.lag_count = lags
        if evidence_norm not in NORMS:
            known = ", ".join(NORMS)
            raise ValueError(f"evidence_norm must be one of {known}, not {evidence_norm!r}")
        derived = in_channels + (1 if in_channels >= 2 else 0)
        layers, previous = [], derived
        for width in channels:
            layers.append(conv_block(previous, width))
            previous = width
        self.features = nn.Sequential(*layers)
        lag_features = (1 if in_channels < 2 else 3) * GROUPS * (lags + 1)
        self.lags = mlp(lag_features, hidden, evidence_norm)
        self.levels = mlp(derived * len(QUANTILES) * BANDS, hidden, evidence_norm)
        self.head = nn.Sequential(
            nn.Linear(2 * previous + 2 * hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, outputs),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = channels_of(x)
        maps = self.features(channels)
        pooled = torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)
        evidence = [
            self.lags(lag_evidence(channels, self.lag_count)),
            self.levels(level_evidence(channels)),
        ]
        return self.head(torch.cat([pooled, *evidence], dim=1))
