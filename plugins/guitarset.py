"""GuitarSet as distributed, its mono microphone recordings named
``audio_mono-mic/<player>_<style><progression>-<tempo>-<key>_<comp|solo>_mic.wav``.

Recordings keep their GuitarSet ids (``00_BN1-129-Eb_comp``) and are grouped by
player, so ``fxr build --split-by player`` tests on players never heard in
training.  GuitarSet cannot be downloaded here; point ``guitarset:PATH`` at a
copy (the folder holding ``audio_mono-mic/``, or that folder itself).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import fxregistry
from fxregistry import FxrError, Recording, Source, read_audio

AUDIO_FOLDER = "audio_mono-mic"
NAME = re.compile(
    r"^(?P<player>\d{2})_(?P<style>[A-Za-z]+)(?P<progression>\d)-(?P<tempo>\d+)-"
    r"(?P<key>[A-G][#b]?)_(?P<mode>comp|solo)_mic\.wav$"
)


def load(path: str):
    return read_audio(path)[0]


def parse_name(filename: str) -> dict[str, str] | None:
    """The fields of a GuitarSet file name, or None for any other file."""
    match = NAME.match(filename)
    return match.groupdict() if match else None


def recordings(argument: str | None, seed: int) -> list[Recording]:
    if not argument:
        raise FxrError("the guitarset source needs a path: guitarset:PATH")
    root = Path(argument).expanduser()
    folder = root if root.name == AUDIO_FOLDER else root / AUDIO_FOLDER
    if not folder.is_dir():
        raise FxrError(f"{root}: not a GuitarSet folder (no {AUDIO_FOLDER}/ inside)")
    found = []
    for path in sorted(folder.glob("*.wav")):
        fields = parse_name(path.name)
        if fields is None:
            continue
        found.append(
            Recording(
                id=path.name.removesuffix("_mic.wav"),
                load=functools.partial(load, str(path)),
                group=fields["player"],
            )
        )
    if not found:
        raise FxrError(f"{folder}: no GuitarSet recordings (*_mic.wav) in it")
    return found


GUITARSET = Source(
    name="guitarset",
    description="GuitarSet's mono microphone recordings, grouped by player",
    recordings=recordings,
    argument_help="PATH: GuitarSet's folder (holding audio_mono-mic/)",
)


@fxregistry.hookimpl
def register_sources(register):
    register(GUITARSET)
