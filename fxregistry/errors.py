"""The errors fxr raises on purpose.

Every one of them is a user's mistake or an environment problem that can be
said in one line; the CLI prints the message and exits with status 2.
Anything else that escapes is a bug (exit status 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "FxrError",
    "UnknownNameError",
    "DuplicateNameError",
    "ParameterError",
    "did_you_mean",
]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``name``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class FxrError(Exception):
    """Base class: a problem the user can fix, explained in one line."""


class UnknownNameError(FxrError, KeyError):
    """A name that no plugin registered; lists the known names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        message = f"unknown {kind} {name!r}{did_you_mean(name, self.known)}"
        listed = ", ".join(self.known) if self.known else "none are installed"
        message += f"; known {kind}s: {listed}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateNameError(FxrError):
    """Two plugins registered the same name for the same kind of thing."""


class ParameterError(FxrError, ValueError):
    """A parameter value outside its range, or a missing or unknown parameter."""
