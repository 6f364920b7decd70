"""The ``fxr`` command group: error handling and the commands' registration.

Whatever goes wrong ends in one line on stderr, in one place, here:

- bad usage or input (:class:`~fxregistry.errors.FxrError`, a click usage
  error, an ``OSError`` on a user's path): ``fxr: error: MESSAGE``, exit 2;
- Ctrl-C: ``fxr: interrupted``, exit 130, after the command's own cleanup;
- anything else is a bug: ``fxr: internal error: ...``, exit 1
  (``FXR_DEBUG=1`` shows the traceback).

``--json`` output goes to stdout, everything meant for a person to stderr or
a table on stdout. The commands live in ``catalog`` (what is installed),
``data`` (audio and datasets) and ``models`` (fit, evaluate, estimate);
their options in ``options``, their text in ``text``.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any, NoReturn

import click

from fxregistry import __version__
from fxregistry.cli import catalog, data, models
from fxregistry.errors import FxrError, did_you_mean

__all__ = ["EXIT_BUG", "EXIT_INTERRUPTED", "EXIT_USAGE", "FxrGroup", "UserError", "cli"]

EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

# OSErrors that are the environment's, not fxr's, even when they name no file
# (h5py puts the file's name in the message instead).
_ENVIRONMENT_ERRNOS = {
    errno.EACCES,
    errno.EDQUOT,
    errno.EEXIST,
    errno.EFBIG,
    errno.EISDIR,
    errno.ENAMETOOLONG,
    errno.ENOENT,
    errno.ENOSPC,
    errno.ENOTDIR,
    errno.EPERM,
    errno.EROFS,
}


# Plain `fxr` shows the help; click >= 8.2 raises this usage error to do it (8.1 exits 0).
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def one_line(text: str) -> str:
    """``text`` on one line: a message is never split over several."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


class UserError(click.ClickException):
    """A ClickException with the exit status of bad usage (2), shown as one line."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:
        click.echo(f"fxr: error: {one_line(self.format_message())}", err=True)


def usage_message(exc: click.UsageError) -> str:
    """Click's usage error as fxr says things: lower case, and where to read more."""
    message = one_line(exc.format_message()).rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    if exc.ctx is not None:
        message += f"; see {exc.ctx.command_path} --help"
    return message


def environment_error(exc: OSError) -> str | None:
    """One line for an OSError on a user's path (read-only, full, missing...), else None."""
    if exc.filename is not None:
        path = os.fsdecode(exc.filename)
        if exc.errno == errno.EEXIST and os.path.isfile(path):  # os.makedirs over a file
            return f"{path}: is a file, where a folder is needed"
        return f"{path}: {exc.strerror or exc}"
    if exc.errno in _ENVIRONMENT_ERRNOS:
        return one_line(exc.strerror or exc)
    return None


def _interrupted(exc: KeyboardInterrupt) -> NoReturn:
    # Interrupted carries what to do next (fit's resume command).
    click.echo("fxr: interrupted" + (f"; {one_line(exc)}" if str(exc) else ""), err=True)
    sys.exit(EXIT_INTERRUPTED)


def _internal_error(exc: Exception) -> NoReturn:
    if os.environ.get("FXR_DEBUG"):
        traceback.print_exc()
    else:
        click.echo(
            f"fxr: internal error: {type(exc).__name__}: {one_line(exc)} "
            "(set FXR_DEBUG=1 for the traceback)",
            err=True,
        )
    sys.exit(EXIT_BUG)


class FxrGroup(click.Group):
    """Every error of every command ends here, as one line and its exit status."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Run fxr; as click's own ``main`` but every error is one line (see the module)."""
        if not standalone_mode:  # a caller that handles errors itself
            return super().main(*args, standalone_mode=False, **kwargs)
        # Click's standalone mode prints usage errors as a Usage/Try/Error block and
        # Ctrl-C as "Aborted!" with exit 1: fxr renders them itself.
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
        except _NO_ARGS_IS_HELP as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            click.echo(f"fxr: error: {usage_message(exc)}", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            UserError(exc.format_message()).show()
            sys.exit(EXIT_USAGE)
        except click.Abort as exc:  # Ctrl-C while the command line was parsed
            _interrupted(KeyboardInterrupt(*exc.args))
        # A command's return value is not an exit status; click.exceptions.Exit's is.
        sys.exit(status if isinstance(status, int) else 0)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = self.list_commands(ctx)
            raise click.UsageError(
                f"unknown command {name!r}{did_you_mean(name, known)}", ctx
            ) from None
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FxrError as exc:
            raise UserError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as exc:
            _interrupted(exc)
        except OSError as exc:
            # The safety net for a user's path that no layer below turned into an FxrError.
            if (message := environment_error(exc)) is not None:
                raise UserError(message) from None
            if exc.errno == errno.EPIPE:
                raise  # click's main quiets a closed pipe (`fxr list-effects | head -1`)
            _internal_error(exc)
        except Exception as exc:
            _internal_error(exc)


@click.group(cls=FxrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fxr")
def cli() -> None:
    """Estimate the settings of digital audio effects from spectrograms.

    Effects, dry-audio sources and models are plugins; `fxr list-effects`,
    `fxr list-sources` and `fxr list-models` show what is installed.
    """


for command in (*catalog.COMMANDS, *data.COMMANDS, *models.COMMANDS):
    cli.add_command(command)
