"""The ``fxr`` command group: error handling and the commands' registration.

Every command turns :class:`~fxregistry.errors.FxrError` into one line on
stderr and exit status 2; ``--json`` output goes to stdout, everything meant
for a person to stderr or a table on stdout. The commands live in
``catalog`` (what is installed), ``data`` (audio and datasets) and
``models`` (fit, evaluate, estimate); their options in ``options``, their
text in ``text``.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from fxregistry import __version__
from fxregistry.cli import catalog, data, models
from fxregistry.errors import FxrError

__all__ = ["FxrGroup", "UserError", "cli"]


class UserError(click.ClickException):
    """A ClickException with the exit status of bad usage (2)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"fxr: error: {self.format_message()}", err=True)


class FxrGroup(click.Group):
    """Turns fxr's own errors into one line and exit 2, bugs into exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FxrError as exc:
            raise UserError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("FXR_DEBUG"):
                traceback.print_exc()
            else:
                click.echo(
                    f"fxr: internal error: {type(exc).__name__}: {exc} "
                    "(set FXR_DEBUG=1 for the traceback)",
                    err=True,
                )
            sys.exit(1)


@click.group(cls=FxrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fxr")
def cli() -> None:
    """Estimate the settings of digital audio effects from spectrograms.

    Effects, dry-audio sources and models are plugins; `fxr list-effects`,
    `fxr list-sources` and `fxr list-models` show what is installed.
    """


for command in (*catalog.COMMANDS, *data.COMMANDS, *models.COMMANDS):
    cli.add_command(command)
