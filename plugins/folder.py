"""Dry audio from a folder: every audio file below a path, any rate and channel count.

Files are downmixed to mono and resampled to 44.1 kHz when loaded.  A file
that ``read_audio`` refuses (undecodable, truncated, empty, NaN or Inf
samples) fails at load time, where the build names it in one warning and
skips it (or stops, with ``--strict``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import fxregistry
from fxregistry import AUDIO_SUFFIXES, FxrError, Recording, Source, read_audio


def load(path: str):
    return read_audio(path)[0]


def audio_files(root: Path) -> list[Path]:
    """Audio files below ``root`` (by suffix), in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def recordings(argument: str | None, seed: int) -> list[Recording]:
    if not argument:
        raise FxrError("the folder source needs a path: folder:PATH or just PATH")
    root = Path(argument).expanduser()
    if not root.exists():
        raise FxrError(f"{root}: no such file or folder")
    files = audio_files(root)
    if not files:
        raise FxrError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) below it")
    base = root if root.is_dir() else root.parent
    return [
        Recording(
            id=str(path.relative_to(base).with_suffix("")),
            load=functools.partial(load, str(path)),
            group=str(path.parent.relative_to(base)),
        )
        for path in files
    ]


FOLDER = Source(
    name="folder",
    description="Every audio file below a folder (wav, flac, ogg, mp3, aiff), as mono 44.1 kHz",
    recordings=recordings,
    argument_help="PATH: a folder or a file",
    takes_paths=True,
)


@fxregistry.hookimpl
def register_sources(register):
    register(FOLDER)
