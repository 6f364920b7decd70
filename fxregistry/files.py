"""Writing files so that an interrupted write never leaves a file that looks whole.

Every file fxr writes (datasets, audio, run files, figures) goes through
:func:`atomic_write`: the data goes to a temporary name beside the target,
which is renamed over the target only when the writing finished, and deleted
otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "partial_path", "write_json"]


def partial_path(path: str | os.PathLike, keep_suffix: bool = False) -> Path:
    """The temporary name of ``path``: ``NAME.partial``, or ``.STEM.partial.SUFFIX``.

    ``keep_suffix`` is for writers that choose the format from the suffix
    (audio encoders, matplotlib).
    """
    path = Path(path)
    if keep_suffix:
        return path.with_name(f".{path.stem}.partial{path.suffix}")
    return path.with_name(path.name + ".partial")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` when the block ends without error."""
    path = Path(path)
    partial = partial_path(path, keep_suffix)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(data: Any, path: str | os.PathLike) -> None:
    """``data`` as indented JSON, written atomically."""
    with atomic_write(path) as partial:
        partial.write_text(json.dumps(data, indent=2) + "\n")
