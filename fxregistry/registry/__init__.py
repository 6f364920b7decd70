"""The plugin layer: hook specs, the plugin manager, and the one place names are resolved.

``hookspecs`` says what a plugin can implement, ``manager`` finds plugins
through the entry-point group ``fxregistry``, and ``lookup`` asks them for
their effects, sources and models and resolves names (with a did-you-mean).
"""

from fxregistry.registry.lookup import (
    KINDS,
    Registration,
    effect_names,
    get_effect,
    get_model,
    get_source,
    registrations,
    resolve,
)
from fxregistry.registry.manager import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    get_plugin_manager,
    plugin_info,
    reset,
    warn,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "PluginInfo",
    "Registration",
    "effect_names",
    "get_effect",
    "get_model",
    "get_plugin_manager",
    "get_source",
    "plugin_info",
    "registrations",
    "reset",
    "resolve",
    "warn",
]
