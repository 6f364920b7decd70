"""Writing files so that an interrupted write never leaves a file that looks whole.

Every file fxr writes (datasets, audio, run files, figures) goes through
:func:`atomic_write`: the data goes to a temporary name beside the target,
which is renamed over the target only when the writing finished, and deleted
otherwise. A write that fails for the environment's sake (a full disk, a
read-only folder) raises :class:`~fxregistry.errors.FxrError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fxregistry.errors import FxrError

__all__ = ["append_text", "atomic_write", "partial_path", "write_error", "write_json"]


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
    except OSError as exc:
        # A full disk or a read-only folder is the environment, not a bug: one line naming
        # the file. An OSError about another file (one the block was reading) stays itself.
        if exc.filename is not None and Path(exc.filename) not in (path, partial):
            raise
        raise write_error(path, exc) from None
    finally:
        with contextlib.suppress(OSError):  # never hide the error that got us here
            partial.unlink(missing_ok=True)


def write_error(path: str | os.PathLike, exc: OSError) -> FxrError:
    """The one-line error for an OSError raised while writing ``path``."""
    # The errno's own words: h5py puts a paragraph of HDF5 detail into strerror.
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    reason = os.strerror(exc.errno) if exc.errno else detail
    return FxrError(f"{path}: cannot be written ({reason})")


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to ``path``; a failed append (a full disk) leaves the file as it was."""
    path = Path(path)
    data = memoryview(text.encode())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            try:
                while data:
                    data = data[os.write(fd, data) :]
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # drop a torn line, so that the file still parses
                raise
        finally:
            os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from None


def write_json(data: Any, path: str | os.PathLike) -> None:
    """``data`` as indented JSON, written atomically."""
    with atomic_write(path) as partial:
        partial.write_text(json.dumps(data, indent=2) + "\n")
