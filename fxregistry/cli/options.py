"""Click options made from the fields of a config dataclass, so each is written once.

A field of ``BuildConfig`` or ``FitConfig`` whose ``metadata`` has a ``help``
becomes one option; its default is the field's default. The metadata keys:

``help``
    the option's help text (required: a field without it is not an option);
``flag``
    the option's name, by default ``--`` and the field's name with dashes;
``metavar``, ``multiple``, ``required``
    as for :func:`click.option` (``required`` defaults to "the field has no default");
``choices``
    the words the option takes (a :class:`click.Choice`);
``path``
    the option names a file or folder (a :class:`click.Path`);
``parse``
    a function from the text on the command line to the stored value, for
    fields whose text differs from it (``"80/10/10"`` -> fractions);
``show``
    the inverse of ``parse``: the field's default as it would be typed, which
    is the option's default (a test checks that ``parse`` gives it back).

Options that are not part of a config (``--out``, ``--force``, ...) stay
ordinary click options in the commands.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

import click

from fxregistry.training.config import FitConfig

__all__ = [
    "config_options",
    "config_values",
    "device_option",
    "field_option",
    "json_option",
    "option_fields",
]

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output on stdout."
)


def option_fields(config: type) -> list[dataclasses.Field]:
    """The fields of the dataclass ``config`` that are command-line options, in order."""
    return [f for f in dataclasses.fields(config) if "help" in f.metadata]


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _value_type(config: type, f: dataclasses.Field) -> type:
    """The field's annotation without ``| None``: ``int | None`` -> ``int``."""
    hint = typing.get_type_hints(config)[f.name]
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return hint


def field_option(config: type, name: str) -> Callable[[F], F]:
    """The click option of the field ``name`` of the dataclass ``config``."""
    f = next(f for f in option_fields(config) if f.name == name)
    meta = f.metadata
    default = _default(f)
    kwargs: dict[str, Any] = {
        "help": meta["help"],
        "required": meta.get("required", default is MISSING),
        "multiple": meta.get("multiple", False),
    }
    if "metavar" in meta:
        kwargs["metavar"] = meta["metavar"]
    value_type = _value_type(config, f)
    if value_type is bool:
        kwargs["is_flag"] = True
    elif "choices" in meta:
        kwargs["type"] = click.Choice(list(meta["choices"]))
    elif meta.get("path"):
        kwargs["type"] = click.Path()
    elif "parse" not in meta:
        kwargs["type"] = value_type
    # A parsed field's default is shown, and given to click, as it would be typed.
    shown = meta["show"](default) if "show" in meta else default
    given = shown is not None and shown is not MISSING
    if given and value_type is not bool and not kwargs["multiple"]:
        kwargs["default"] = shown
        kwargs["show_default"] = True
    flag = meta.get("flag", "--" + f.name.replace("_", "-"))
    if value_type is bool and default is True:
        # On unless turned off: the flag takes its --no- twin.
        flag = f"{flag}/--no-{flag[2:]}"
        kwargs.update(default=True, help=f"{kwargs['help']}  [default: on]")
    return click.option(flag, f.name, **kwargs)


def config_options(config: type) -> Callable[[F], F]:
    """Add one option per option field of the dataclass ``config``, in field order."""

    def decorate(command: F) -> F:
        for f in reversed(option_fields(config)):
            command = field_option(config, f.name)(command)
        return command

    return decorate


def config_values(config: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``config`` from a command's parameters.

    Parses the text of each option with a ``parse`` in field order, so the
    first bad option is the one reported; one that was not given (and has no
    default) is left out, so the field's default applies.
    """
    values = {}
    for f in option_fields(config):
        value = params[f.name]
        parse = f.metadata.get("parse")
        if parse is None:
            values[f.name] = value
        elif value is not None and value != ():
            values[f.name] = parse(value)
    return values


# evaluate and estimate pick a device exactly as fit does.
device_option = field_option(FitConfig, "device")
