"""``fxnet``: a network handed the evidence an effect leaves, whatever the music.

The study's CNN sees wet and dry spectrograms and must find out, from one
synthesizer's takes, what the effect changed; on recordings it never heard it
learns the synthesizer instead (docs/real-audio.md). fxnet computes the
evidence in forms that do not depend on what is played, and its head reads
them beside the CNN's own features:

- **the change**: with the dry given, wet minus dry per bin, the dB that the
  effect added or took away, as one more channel of the CNN;
- **time lags**: the normalized correlation of onsets (rises of each band
  group's level) at every lag up to 0.37 s: of the dry's with the wet's and
  with the change's, and of the wet's with itself. A delay puts a peak at its
  time whatever plays;
- **levels**: per band, quantiles over time of every channel, in absolute dB
  (with ``--normalization fixed``): a bitcrusher's noise floor, a sample
  rate's band limit, a limiter's ceiling.

``fxnet2``, the default model, is the same network with the evidence
standardized by statistics taken once, from the first training batch,
instead of BatchNorm's per-batch ones, which kept fxnet from fitting even
its own training data on the paired bitcrusher (docs/real-audio.md).

Everything is written with sorts, slices and sums, so that it exports to ONNX.
The module and its evidence live in ``fxr_plugins.nets.fxnet``, imported
when a model is built: loading the plugins must not cost torch's import.
"""

from __future__ import annotations

import fxregistry
from fxregistry import Model


def fxnet(in_channels: int, outputs: int, channels, hidden, evidence_norm, lags):
    # Model.build passes every hyperparameter: their defaults live in _model's table alone.
    from fxr_plugins.nets.fxnet import FxNet

    return FxNet(in_channels, outputs, tuple(channels), hidden, evidence_norm, lags)


def _model(name: str, description: str, evidence_norm: str) -> Model:
    return Model(
        name=name,
        description=description,
        create=fxnet,
        hyperparameters={
            "channels": [16, 32, 64, 128],
            "hidden": 128,
            "evidence_norm": evidence_norm,
            # Onset correlations up to this many frames (0.37 s). 48 (0.56 s) reaches the
            # second echo of the grid's longer delays and lifts the blind delay on real
            # audio by up to 4 points, but costs the sample rate on guitar solos as much
            # (docs/real-audio.md): a delay model's setting, not every model's.
            "lags": 32,
        },
        # Measured: at 1e-4 eight epochs leave fxnet far from trained (delay pair 89-95 %
        # on real audio against 98-100 % at 1e-3; docs/real-audio.md).
        lr=1e-3,
    )


@fxregistry.hookimpl
def register_models(register):
    register(
        _model(
            "fxnet", "CNN on wet, dry and their change + onset time lags + level quantiles", "batch"
        )
    )
    # A new name rather than a new fxnet, so that fxnet's runs keep loading as trained.
    register(
        _model(
            "fxnet2",
            "fxnet with its evidence standardized once, from the first batch",
            "first-batch",
        )
    )
