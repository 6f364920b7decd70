"""The plugin manager: finds plugins through the entry-point group ``fxregistry``.

Built-in effects, sources and models are ordinary plugins listed in fxr's own
``pyproject.toml``; a third-party package adds itself the same way.  A plugin
that fails to import, or that pluggy rejects (a hook with a wrong signature),
is reported in one warning line and skipped, so one broken package never takes
the command line down.  A hook a plugin implements but no spec declares (a
misspelt name) is reported in one warning line too; the plugin's other hooks
still work.

Environment variables:

``FXR_PLUGINS``
    Comma-separated entry-point names to load (all others are skipped).
    Set it to an empty string to load no plugins at all.
``FXR_TRACE_HOOKS``
    When set, every hook call is printed to stderr, one line each: the hook,
    the plugin, and what it registered or the error it raised.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from fxregistry.errors import did_you_mean
from fxregistry.registry import hookspecs

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "error_line",
    "get_plugin_manager",
    "plugin_info",
    "reset",
    "warn",
]

ENTRY_POINT_GROUP = "fxregistry"


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin came from: its entry-point name and its distribution."""

    name: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} from {self.distribution} {self.version}".strip()


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


def error_line(exc: BaseException) -> str:
    """``Type: message`` on one line (pluggy's validation errors span several)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


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
            warn(f"{info} could not be loaded: {error_line(exc)}")
            continue
        _info[ep.name] = info
        _warn_unknown_hooks(pm, plugin, info)


def _warn_unknown_hooks(pm: pluggy.PluginManager, plugin: object, info: PluginInfo) -> None:
    """One warning per hook ``plugin`` implements that no spec declares.

    This is pluggy's ``check_pending()`` test, asked of one plugin and without
    stopping at the first hit: ``check_pending()`` raises for whichever plugin
    it meets first, so it cannot name every offender or keep the rest working.
    """
    specs = [name for name, caller in vars(pm.hook).items() if caller.has_spec()]
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
        if all(impl.optionalhook for impl in impls):
            continue
        warn(
            f"{info} implements unknown hook {caller.name!r}"
            f"{did_you_mean(caller.name, specs)}; it is never called"
        )


def _trace_before(hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    # Nothing yet: one line per call, written once its outcome is known, reads best.
    pass


def _trace_after(
    outcome: pluggy.Result, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]
) -> None:
    plugins = ", ".join(repr(impl.plugin_name) for impl in hook_impls) or "none"
    if outcome.exception is not None:
        what = f"raised {error_line(outcome.exception)}"
    else:
        # The registry's register callback keeps the names it was given; a
        # hook called some other way shows its return value instead.
        names = getattr(kwargs.get("register"), "names", None)
        if names is None:
            what = f"returned {outcome.get_result()!r}"
        else:
            what = f"registered {', '.join(names) or 'nothing'}"
    print(f"fxr: trace: {hook_name} in plugin {plugins}: {what}", file=sys.stderr)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded on first use."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        pm.add_hookspecs(hookspecs)
        if os.environ.get("FXR_TRACE_HOOKS"):
            pm.add_hookcall_monitoring(_trace_before, _trace_after)
        _load_entry_points(pm)
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
