"""The errors fxr raises on purpose.

Every one of them is a user's mistake or an environment problem that can be
said in one line; the CLI prints the message and exits with status 2
(:class:`Interrupted`, a Ctrl-C, exits 130). Anything else that escapes is a
bug (exit status 1). The checks here are what every option that takes a
number goes through, in the config dataclasses, so library users get them too.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable

__all__ = [
    "FxrError",
    "Interrupted",
    "UnknownNameError",
    "DuplicateNameError",
    "ParameterError",
    "check_finite",
    "check_range",
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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what to do next: the CLI prints ``fxr: interrupted; MESSAGE``, exit 130."""


def check_finite(name: str, value: object) -> float:
    """``value`` if it is a finite number, else an FxrError naming ``name`` (an option)."""
    # float() parses "nan" and "inf" without complaint: every float an option takes passes here.
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise FxrError(f"{name} must be a finite number, got {value!r}")
    return value


def check_range(
    name: str,
    value: object,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> float:
    """``value`` if it is a finite number within the bounds, else an FxrError naming ``name``."""
    check_finite(name, value)
    if (
        (at_least is not None and value < at_least)
        or (above is not None and value <= above)
        or (at_most is not None and value > at_most)
    ):
        bounds = [
            f"{word} {bound if isinstance(bound, int) else format(bound, 'g')}"
            for word, bound in (("at least", at_least), ("above", above), ("at most", at_most))
            if bound is not None
        ]
        raise FxrError(f"{name} must be {' and '.join(bounds)}, got {value!r}")
    return value
