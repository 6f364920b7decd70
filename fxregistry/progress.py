"""The one progress bar (rich, on stderr), shown only when stderr is a terminal."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(*, transient: bool = False, enabled: bool = True):
    """A ``rich.progress.Progress``; each task carries an ``info`` field shown after the count.

    ``transient`` bars vanish when done (per-epoch bars); others stay as a record.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
        transient=transient,
    )
