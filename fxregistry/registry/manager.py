"""The plugin manager: finds plugins through the entry-point group ``fxregistry``.

Built-in effects, sources and models are ordinary plugins listed in fxr's own
``pyproject.toml``; a third-party package adds itself the same way.  A plugin
that fails to import is reported in one warning line and skipped, so one
broken package never takes the command line down.

Environment variables:

``FXR_PLUGINS``
    Comma-separated entry-point names to load (all others are skipped).
    Set it to an empty string to load no plugins at all.
``FXR_TRACE_HOOKS``
    When set, every hook call and its result are printed to stderr.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from dataclasses import dataclass

import pluggy

from fxregistry.registry import hookspecs

__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "get_plugin_manager", "plugin_info", "reset", "warn"]

ENTRY_POINT_GROUP = "fxregistry"


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin came from: its entry-point name and its distribution."""

    name: str
    distribution: str
    version: str


_pm: pluggy.PluginManager | None = None
# Plugin name -> provenance, filled as entry points are loaded.
_info: dict[str, PluginInfo] = {}
# Warnings already printed, so each problem is said once per process.
_warned: set[str] = set()


def warn(message: str) -> None:
    """Print one warning line to stderr (once per message)."""
    if message not in _warned:
        _warned.add(message)
        print(f"fxr: warning: {message}", file=sys.stderr)


def _allowed() -> set[str] | None:
    value = os.environ.get("FXR_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = _allowed()
    seen_values: set[str] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        # The same distribution can be visible twice on sys.path (an editable
        # install plus a build folder); load each target once.
        if ep.value in seen_values or pm.has_plugin(ep.name):
            continue
        seen_values.add(ep.value)
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            distribution=dist.metadata["Name"] if dist else "?",
            version=dist.version if dist else "?",
        )
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not take the CLI down
            warn(
                f"plugin {ep.name!r} from {info.distribution} {info.version} "
                f"could not be loaded: {type(exc).__name__}: {exc}"
            )
            continue
        _info[ep.name] = info


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded on first use."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        pm.add_hookspecs(hookspecs)
        _load_entry_points(pm)
        if os.environ.get("FXR_TRACE_HOOKS"):
            pm.trace.root.setwriter(lambda line: print(line, end="", file=sys.stderr))
            pm.enable_tracing()
        _pm = pm
    return _pm


def plugin_info(name: str) -> PluginInfo:
    """Provenance of a registered plugin (plugins registered by hand show as 'local')."""
    return _info.get(name, PluginInfo(name=name, distribution="local", version=""))


def reset() -> None:
    """Forget every loaded plugin and registry, so the next use loads them anew."""
    global _pm
    _pm = None
    _info.clear()
    _warned.clear()
