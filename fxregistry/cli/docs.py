"""Keep ``docs/cli.md`` equal to ``fxr --help``: ``python -m fxregistry.cli.docs``.

The page is prose written by hand with one generated block per command,
between the markers ``<!-- BEGIN GENERATED: fxr COMMAND --help -->`` and
``<!-- END GENERATED -->``. This module rewrites every block from the click
commands themselves (``--check``: only says whether the page is current), and
refuses a page that lacks a command's block, so the page cannot drift from
the command line. It is what simonw/llm does with cog, without cog.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from fxregistry.cli.main import cli
from fxregistry.files import atomic_write

__all__ = ["DOCS", "all_commands", "command_help", "render"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
REGENERATE = "python -m fxregistry.cli.docs"
# Help is wrapped to a fixed width, not the terminal's, so the page is the same everywhere.
WIDTH = 80
BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED: (?P<path>fxr(?: [a-z-]+)*) --help -->\n)"
    r".*?"
    r"(?P<end><!-- END GENERATED -->)",
    re.DOTALL,
)


def all_commands(group: click.Group = cli) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group``, the group itself first: (), ("build",), ..."""
    yield ()
    ctx = click.Context(group, info_name="fxr")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from ((name, *sub) for sub in all_commands(command))
        else:
            yield (name,)


def command_help(path: Sequence[str]) -> str:
    """``fxr PATH --help`` as a person sees it, at :data:`WIDTH` columns."""
    ctx = click.Context(
        cli, info_name="fxr", terminal_width=WIDTH, max_content_width=WIDTH, **cli.context_settings
    )
    command: click.Command = cli
    for name in path:
        command = command.get_command(ctx, name)
        ctx = click.Context(command, info_name=name, parent=ctx)
    return command.get_help(ctx)


def render(page: str) -> str:
    """``page`` with every generated block rewritten from the commands.

    Raises ValueError when a command has no block, or a block no command.
    """
    wanted = {" ".join(("fxr", *path)): path for path in all_commands()}
    found = [m["path"] for m in BLOCK.finditer(page)]
    if unknown := sorted(set(found) - set(wanted)):
        raise ValueError(f"docs/cli.md has blocks for commands that do not exist: {unknown}")
    if missing := sorted(set(wanted) - set(found)):
        raise ValueError(
            "docs/cli.md lacks a block for "
            + ", ".join(missing)
            + ": add '<!-- BEGIN GENERATED: fxr COMMAND --help -->' and "
            "'<!-- END GENERATED -->' lines where it belongs, then run " + REGENERATE
        )

    def block(match: re.Match) -> str:
        text = command_help(wanted[match["path"]])
        return f"{match['begin']}```text\n{text}\n```\n{match['end']}"

    return BLOCK.sub(block, page)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only say whether it is current.")
    parser.add_argument("path", nargs="?", type=Path, default=DOCS, help="The page to rewrite.")
    args = parser.parse_args(argv)
    page = args.path.read_text(encoding="utf-8")
    try:
        current = render(page)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if current == page:
        return 0
    if args.check:
        print(f"{args.path} differs from `fxr --help`; run {REGENERATE}", file=sys.stderr)
        return 1
    with atomic_write(args.path) as partial:
        partial.write_text(current, encoding="utf-8")
    print(f"{args.path} rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
