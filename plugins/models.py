"""The study's three architectures as model plugins.

- ``cnn``: strided 2-D convolutions down to a small feature map, pooled,
  then a fully connected head. All input channels enter the first layer
  together, so with ``--input pair`` the network compares wet and dry from
  its first filter on (what a limiter's gain reduction needs).
- ``encdec``: a convolutional encoder and a decoder that mirrors it, without
  skip connections; the bottleneck feeds the parameter head.
- ``unet``: the same with skip connections from each encoder level to the
  decoder level of the same size.

The encoder of ``encdec`` and ``unet`` sees one spectrogram at a time: it is
pretrained to reconstruct dry from wet, so it must accept a wet spectrogram
alone. With ``--input pair`` it encodes wet and dry separately (shared
weights) and the head reads both codes, which a linear head can subtract.

Strided convolutions rather than convolution + pooling: four times fewer
multiply-adds at the first layers, which is what makes the CNN train at a few
hundred examples per second on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fxregistry
from fxregistry import Model

# The modules live in fxr_plugins.nets.study, imported when a model is built: listing
# or loading the plugins must not cost torch's import (1.7 s).


def cnn(in_channels: int, outputs: int, channels=(16, 32, 64, 128), hidden=128):
    from fxr_plugins.nets.study import CNN

    return CNN(in_channels, outputs, tuple(channels), hidden)


def encdec(in_channels: int, outputs: int, channels=(16, 32, 64, 128)):
    from fxr_plugins.nets.study import EncoderDecoder

    return EncoderDecoder(in_channels, outputs, tuple(channels), skips=False)


def unet(in_channels: int, outputs: int, channels=(16, 32, 64, 128)):
    from fxr_plugins.nets.study import EncoderDecoder

    return EncoderDecoder(in_channels, outputs, tuple(channels), skips=True)


WIDTHS = {"channels": [16, 32, 64, 128]}


def autoencoder(name: str, description: str, create: Callable[..., Any]) -> Model:
    # encdec and unet differ only in their skips: both pretrain by reconstructing
    # dry from wet, and their ``encoder`` is what --freeze-encoder and --init act on.
    return Model(
        name, description, create, reconstructs=True, encoder="encoder", hyperparameters=WIDTHS
    )


@fxregistry.hookimpl
def register_models(register):
    register(
        Model(
            name="cnn",
            description="2-D conv downsampling feature extractor -> fully connected head",
            create=cnn,
            hyperparameters={**WIDTHS, "hidden": 128},
        )
    )
    register(autoencoder("encdec", "encoder-decoder (no skips); bottleneck -> linear head", encdec))
    register(autoencoder("unet", "U-Net (skip connections); bottleneck -> linear head", unet))
