"""fxr: estimate the settings of digital audio effects from spectrograms.

The public API for plugin authors is what this module exports: the hook
marker and the spec classes an effect, source or model plugin registers.
"""

from importlib.metadata import PackageNotFoundError, version

from .effects import Effect, Parameter
from .hookspecs import hookimpl
from .models import Model
from .sources import Recording, Source

try:
    __version__ = version("fxregistry")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Effect", "Model", "Parameter", "Recording", "Source", "hookimpl", "__version__"]
