"""What is installed: ``fxr list-effects``, ``list-sources``, ``list-models``, ``plugins``.

The three list commands are one body (:func:`list_command`) over a
:class:`Listing`: which registry kind, which table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from fxregistry import registry
from fxregistry.cli.options import json_option
from fxregistry.cli.text import (
    effect_rows,
    estimator_rows,
    model_rows,
    print_json,
    source_rows,
    table,
)
from fxregistry.registry import get_plugin_manager, plugin_info

__all__ = ["COMMANDS", "LISTINGS", "Listing", "list_command", "list_plugins"]


@dataclass(frozen=True)
class Listing:
    """One ``fxr list-*`` command: a registry kind shown as a table."""

    kind: str  # "effect", "source", "model" or "estimator" (registry.KINDS)
    help: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[registry.Registration], list[list[str]]]
    empty_note: str


LISTINGS = (
    Listing(
        "effect",
        "The registered effects and their parameters.",
        "Effects",
        ("effect", "provided by", "parameter", "unit", "grid", "range", "fixed", "variants"),
        effect_rows,
        "Install an effect plugin (docs/plugins.md).",
    ),
    Listing(
        "source",
        "The registered dry-audio sources (`fxr build --source NAME[:ARGUMENT]`).",
        "Sources",
        ("source", "provided by", "argument", "description"),
        source_rows,
        "Dry-audio source plugins register with the `register_sources` hook.",
    ),
    Listing(
        "model",
        "The registered model architectures (`fxr fit --model NAME`).",
        "Models",
        ("model", "provided by", "decoder", "description"),
        model_rows,
        "Model plugins register with the `register_models` hook.",
    ),
    Listing(
        "estimator",
        "The default estimators installed: trained models `fxr estimate WET` uses without a "
        "run (identification, then the effect's parameters).",
        "Default estimators",
        ("estimator", "provided by", "estimates", "input", "measured"),
        estimator_rows,
        "`make models` trains fxr's own; plugins register theirs with the "
        "`register_estimators` hook.",
    ),
)


def registrations_json(found: dict[str, registry.Registration]) -> list[dict[str, Any]]:
    """Each registered item's own description plus where it came from."""
    return [
        {
            **r.item.as_dict(),
            "plugin": r.distribution,
            "plugin_version": r.version,
            "entry_point": r.plugin,
        }
        for r in found.values()
    ]


def list_command(listing: Listing) -> click.Command:
    """The command ``fxr list-<kind>s`` for ``listing``."""

    @click.command(f"list-{listing.kind}s", help=listing.help)
    @json_option
    def command(as_json: bool) -> None:
        found = registry.registrations(listing.kind)
        if as_json:
            print_json(registrations_json(found))
            return
        rows = [row for reg in found.values() for row in listing.rows(reg)]
        table(listing.title, listing.columns, rows, listing.empty_note)

    return command


@click.command("plugins")
@json_option
def list_plugins(as_json: bool) -> None:
    """The installed plugins, their distributions and the hooks they implement."""
    pm = get_plugin_manager()
    found = []
    for name, plugin in sorted(pm.list_name_plugin()):
        info = plugin_info(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        found.append(
            {
                "name": name,
                "distribution": info.distribution,
                "version": info.version,
                "hooks": hooks,
            }
        )
    if as_json:
        print_json(found)
        return
    rows = [
        [p["name"], f"{p['distribution']} {p['version']}".strip(), ", ".join(p["hooks"])]
        for p in found
    ]
    table("Plugins", ["plugin", "distribution", "hooks"], rows, "")


COMMANDS = (*(list_command(listing) for listing in LISTINGS), list_plugins)
