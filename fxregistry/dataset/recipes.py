"""Dataset recipes: a TOML file of ``fxr build`` options, kept with the data it makes.

``datasets/`` holds the project's recipes (the study's dataset per effect, the
data of shipped estimators); ``fxr build --recipe FILE`` builds one. A recipe
is a ``[build]`` table whose keys are ``fxr build``'s long option names and
whose values are what would follow them on the command line::

    # datasets/study/EFFECT.toml
    [build]
    effect = "EFFECT"
    source = "synth:40"
    max-clips = 160

Options given on the command line win over the recipe's, so a recipe is a
starting point (``--source guitarset:PATH`` runs it on real recordings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from fxregistry.errors import FxrError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["load_recipe"]

TABLE = "build"


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """The ``[build]`` table of the recipe at ``path``, as ``{option name: value}``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FxrError(f"{path}: no such recipe") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FxrError(f"{path}: cannot read the recipe ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FxrError(f"{path}: not a valid TOML recipe ({exc})") from None
    table = data.get(TABLE)
    if not isinstance(table, dict) or not table:
        raise FxrError(f"{path}: a recipe needs a [{TABLE}] table of fxr build options")
    return dict(table)
