"""The study's three architectures (registered by ``fxr_plugins.models``): torch modules.

Kept apart from the registration so that loading the plugins, which every
``fxr`` command does, does not import torch; a model is built only by fit,
evaluate and estimate, which need torch anyway. The architectures are
described in ``fxr_plugins.models``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_block(in_channels: int, out_channels: int, stride: int = 2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def pooled(features: torch.Tensor) -> torch.Tensor:
    """(batch, channels, h, w) -> (batch, 2 * channels): mean and max over the map.

    The mean keeps overall energy (level, bandwidth); the max keeps the
    strongest local evidence (one echo, one aliasing band).
    """
    return torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)


class CNN(nn.Module):
    def __init__(self, in_channels: int, outputs: int, channels=(16, 32, 64, 128), hidden=128):
        super().__init__()
        layers, previous = [], in_channels
        for width in channels:
            layers.append(conv_block(previous, width))
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(2 * previous, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, outputs),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(pooled(self.features(x)))


class Encoder(nn.Module):
    """One spectrogram -> the feature maps of every level (the last is the bottleneck)."""

    def __init__(self, channels):
        super().__init__()
        widths = (1, *channels)
        self.levels = nn.ModuleList(
            conv_block(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for level in self.levels:
            x = level(x)
            maps.append(x)
        return maps


class Decoder(nn.Module):
    """Bottleneck (and, for a U-Net, the skips) -> one spectrogram of the input's size."""

    def __init__(self, channels, skips: bool):
        super().__init__()
        self.skips = skips
        widths = tuple(reversed(channels))  # e.g. 128, 64, 32, 16
        self.levels = nn.ModuleList()
        for i, width in enumerate(widths[1:]):
            incoming = widths[i] + (width if skips else 0)
            self.levels.append(conv_block(incoming, width, stride=1))
        self.out = nn.Conv2d(widths[-1], 1, 3, padding=1)

    def forward(self, maps: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        x = maps[-1]
        for level, skip in zip(self.levels, reversed(maps[:-1]), strict=True):
            # Interpolating to the skip's exact size handles odd sizes (173 frames).
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = level(torch.cat([x, skip], dim=1) if self.skips else x)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.out(x)


class EncoderDecoder(nn.Module):
    def __init__(self, in_channels: int, outputs: int, channels=(16, 32, 64, 128), skips=False):
        super().__init__()
        self.encoder = Encoder(channels)
        self.decoder = Decoder(channels, skips)
        # Linear, as the study: the frozen encoder's code must carry the answer.
        self.head = nn.Sequential(nn.Linear(in_channels * 2 * channels[-1], outputs), nn.Sigmoid())

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, C, bins, frames) -> (batch, C * 2 * bottleneck channels)."""
        batch, c = x.shape[:2]
        bottleneck = self.encoder(x.reshape(batch * c, 1, *x.shape[2:]))[-1]
        return pooled(bottleneck).reshape(batch, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.code(x))

    def reconstruct(self, wet: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(wet), size=wet.shape[-2:])
