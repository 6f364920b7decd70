"""The ``fxr`` command line (the console script is ``fxregistry.cli:cli``)."""

from fxregistry.cli.main import cli

__all__ = ["cli"]
