"""SIGTERM takes Ctrl-C's path: the same cleanup, the same exit status (130).

A job scheduler, a container runtime or ``kill`` stops a process with
SIGTERM, whose default action ends it at once: no ``finally`` runs, so a
build would leave ``OUT.partial`` and its worker processes behind. While a
build or a fit runs, :func:`sigterm_as_ctrl_c` hands SIGTERM to whatever
answers Ctrl-C at that moment: Python's handler (KeyboardInterrupt, which
unwinds through every cleanup) or the trainer's (stop after this step, keep
the checkpoint).

Python raises Ctrl-C's KeyboardInterrupt wherever the main thread happens to
be, and one raised inside a weakref callback or a ``__del__`` (an import's
module-lock callback, say) is dropped and printed ("Exception ignored in ...",
a traceback): the build went on and exited 0 after the user had pressed Ctrl-C.
:func:`remember_ctrl_c` keeps the fact, silences that print (the interrupt is
not lost, so there is nothing to report), and the build asks for it again
after every block it writes.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["CtrlC", "deferred_signals", "remember_ctrl_c", "sigterm_as_ctrl_c"]


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While the block (or the decorated function) runs, SIGTERM acts as Ctrl-C."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        # Only the main thread may set handlers, and a program that embeds fxr
        # and handles SIGTERM itself keeps its own handler.
        yield
        return

    def as_ctrl_c(signum: int, frame: object) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # SIGINT ignored (a job started with `&` or nohup): SIGTERM must still stop
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, as_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """While the block runs, Ctrl-C and SIGTERM wait for it to end, then act as they would.

    For a file written in one call that a signal must not cut: torch.save interrupted
    inside its pickler raised a RuntimeError of its own ("unexpected pos"), not the
    KeyboardInterrupt, and a stopped fit ended as an internal error (tests/test_signals.py).
    Only Python-level handlers are deferred; a default or ignored disposition stays.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, object]] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for number, handler in previous.items():
        if callable(handler):
            signal.signal(number, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        for number, handler in previous.items():
            if callable(handler):
                signal.signal(number, handler)
        if caught:
            number, frame = caught[0]
            previous[number](number, frame)


class CtrlC:
    """Whether Ctrl-C (or SIGTERM, see above) came while :func:`remember_ctrl_c` was on."""

    def __init__(self) -> None:
        self.pressed = False

    def check(self) -> None:
        """Raise KeyboardInterrupt again if one came, even if something swallowed it."""
        if self.pressed:
            raise KeyboardInterrupt


@contextlib.contextmanager
def remember_ctrl_c() -> Iterator[CtrlC]:
    """While the block runs, Ctrl-C raises KeyboardInterrupt as usual and is remembered."""
    ctrl_c = CtrlC()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield ctrl_c  # no handler of ours: ignored stays ignored, and check() never raises
        return

    def remember(signum: int, frame: object) -> None:
        ctrl_c.pressed = True
        previous(signum, frame)

    report = sys.unraisablehook

    def drop_remembered(unraisable: sys.UnraisableHookArgs) -> None:
        if not (ctrl_c.pressed and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            report(unraisable)

    report_thread = threading.excepthook

    def quiet_after_ctrl_c(failed: threading.ExceptHookArgs) -> None:
        # A worker pool's threads fail as its workers are killed: the command's one line
        # (fxr: interrupted) says what happened.
        if not ctrl_c.pressed:
            report_thread(failed)

    signal.signal(signal.SIGINT, remember)
    sys.unraisablehook = drop_remembered
    threading.excepthook = quiet_after_ctrl_c
    try:
        yield ctrl_c
    finally:
        threading.excepthook = report_thread
        sys.unraisablehook = report
        signal.signal(signal.SIGINT, previous)
