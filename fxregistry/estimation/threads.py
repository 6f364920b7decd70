"""Renders of one wet at many settings, side by side on the machine's cores.

A blind check and a refinement render the same audio at every setting of an
effect, each render independent of the others. numpy's FFTs and pedalboard's
plugins (a variant's resampler) release the GIL while they work, so threads
run them in parallel without copying the audio: on 2 cores, the sample
rate's fixed-point check of a 2 s window took 350 ms in two threads where it
took 500-560 ms in one (a one-off probe, with a training beside it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["MAX_THREADS", "render_map"]

MAX_THREADS = 4  # renders of one window are a few dozen: more threads only contend

Item = TypeVar("Item")
Result = TypeVar("Result")


def render_map(work: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[work(item) for item in items]``, in order, on up to :data:`MAX_THREADS` threads."""
    items = list(items)
    threads = min(MAX_THREADS, os.cpu_count() or 1, len(items))
    if threads <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(work, items))
