"""fxr: estimate the settings of digital audio effects from spectrograms.

The public API for plugin authors is what this module exports, and nothing
else: the hook marker, the spec classes an effect, source or model plugin
registers (and the default estimators it may ship), the errors a plugin
raises for its user's mistakes, and the audio helpers a source needs (the
sample rate everything runs at, reading files, resampling).
Plugins import only these names; the subpackages are fxr's own.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fxregistry")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from fxregistry.audio.io import AUDIO_SUFFIXES, SAMPLE_RATE, read_audio, resample, write_audio
from fxregistry.errors import FxrError, ParameterError
from fxregistry.registry.hookspecs import hookimpl
from fxregistry.specs.effect import Effect, Parameter
from fxregistry.specs.estimator import Estimator
from fxregistry.specs.model import Model
from fxregistry.specs.source import Recording, Source

__all__ = [
    "AUDIO_SUFFIXES",
    "SAMPLE_RATE",
    "Effect",
    "Estimator",
    "FxrError",
    "Model",
    "Parameter",
    "ParameterError",
    "Recording",
    "Source",
    "__version__",
    "hookimpl",
    "read_audio",
    "resample",
    "write_audio",
]
