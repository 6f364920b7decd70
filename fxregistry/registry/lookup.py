"""The one place where names of effects, sources and models are resolved.

The registries are asked of the plugins each time (a hook call costs
microseconds), so registering or unregistering a plugin takes effect at once.
Each plugin's hook is called on its own, through pluggy (so that hook-call
monitoring, ``FXR_TRACE_HOOKS``, sees every call): a plugin whose hook raises,
or registers the wrong kind of object, is named in one warning and left out;
the rest still work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fxregistry.errors import DuplicateNameError, UnknownNameError
from fxregistry.registry.manager import (
    PluginInfo,
    error_line,
    get_plugin_manager,
    plugin_info,
    warn,
)
from fxregistry.specs.effect import Effect
from fxregistry.specs.estimator import Estimator
from fxregistry.specs.model import Model
from fxregistry.specs.source import Source

__all__ = [
    "KINDS",
    "Registration",
    "registrations",
    "resolve",
    "get_effect",
    "get_source",
    "get_model",
    "effect_names",
]

# kind -> (hook that registers it, the class a registered object must be)
KINDS: dict[str, tuple[str, type]] = {
    "effect": ("register_effects", Effect),
    "source": ("register_sources", Source),
    "model": ("register_models", Model),
    "estimator": ("register_estimators", Estimator),
}


@dataclass(frozen=True)
class Registration:
    """A registered object and the plugin that provided it."""

    name: str
    item: Any
    plugin: str
    distribution: str
    version: str

    @property
    def provider(self) -> str:
        return f"{self.distribution} {self.version}".strip()


class _Register:
    """The ``register`` callback one plugin's hook receives: checks and keeps what it is given."""

    def __init__(self, expected: type, info: PluginInfo):
        self.expected, self.info = expected, info
        self.registered: list[Registration] = []

    def __call__(self, item: Any) -> None:
        if not isinstance(item, self.expected):
            got = type(item).__name__
            raise TypeError(f"register() takes a {self.expected.__name__}, got {got}")
        info = self.info
        self.registered.append(
            Registration(item.name, item, info.name, info.distribution, info.version)
        )

    @property
    def names(self) -> list[str]:  # what FXR_TRACE_HOOKS prints
        return [reg.name for reg in self.registered]


def registrations(kind: str) -> dict[str, Registration]:
    """Everything of one kind that the plugins register, by name, sorted."""
    hook_name, expected = KINDS[kind]
    pm = get_plugin_manager()
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    found: dict[str, Registration] = {}
    # get_hookimpls() lists plugins in load order (pluggy calls them newest first).
    for impl in impls:
        # One plugin at a time, so that one raising leaves the others' results
        # intact; through pluggy, so that hook-call monitoring sees every call.
        others = [other.plugin for other in impls if other is not impl]
        register = _Register(expected, plugin_info(impl.plugin_name))
        try:
            pm.subset_hook_caller(hook_name, remove_plugins=others)(register=register)
        except Exception as exc:  # one broken plugin must not hide the others
            warn(f"plugin {impl.plugin_name!r} failed in {hook_name}: {error_line(exc)}")
            continue
        for reg in register.registered:
            if reg.name in found:
                first = found[reg.name]
                raise DuplicateNameError(
                    f"{kind} {reg.name!r} is registered twice: by plugin {first.plugin!r} "
                    f"({first.provider}) and by plugin {reg.plugin!r} ({reg.provider}); "
                    "uninstall one of them or set FXR_PLUGINS to choose"
                )
            found[reg.name] = reg
    return dict(sorted(found.items()))


def resolve(kind: str, name: str) -> Any:
    """The registered object called ``name``, or :class:`UnknownNameError`."""
    found = registrations(kind)
    if name not in found:
        raise UnknownNameError(kind, name, found)
    return found[name].item


def get_effect(name: str) -> Effect:
    return resolve("effect", name)


def get_source(name: str) -> Source:
    return resolve("source", name)


def get_model(name: str) -> Model:
    return resolve("model", name)


def effect_names() -> list[str]:
    return list(registrations("effect"))
