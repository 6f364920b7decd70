"""The hooks a plugin can implement.

Each hook receives a ``register`` callback, so one plugin can register any
number of things.  A plugin module implements a hook with ``@fxregistry.hookimpl``
and is found through the entry-point group ``fxregistry`` (see docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("fxregistry")
hookimpl = pluggy.HookimplMarker("fxregistry")


@hookspec
def register_effects(register: Callable[[Any], None]) -> None:
    """Register effects: call ``register(Effect(...))`` once per effect."""


@hookspec
def register_sources(register: Callable[[Any], None]) -> None:
    """Register dry-audio sources: call ``register(Source(...))`` once per source."""


@hookspec
def register_models(register: Callable[[Any], None]) -> None:
    """Register model architectures: call ``register(Model(...))`` once per model."""


@hookspec
def register_estimators(register: Callable[[Any], None]) -> None:
    """Register trained models that ``fxr estimate WET`` uses without a run:
    call ``register(Estimator(...))`` once per model file."""
