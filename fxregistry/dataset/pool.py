"""The build's worker processes: how they start, and results in submission order.

Results are consumed in submission order through a bounded window, so a
build's output is the same bit for bit whatever the number of workers, and
memory stays bounded however many tasks there are.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

__all__ = ["ordered_map", "worker_pool"]


def _init_worker() -> None:
    import torch

    # Parallelism comes from the processes; threads inside each would fight.
    torch.set_num_threads(1)


def _start_method() -> multiprocessing.context.BaseContext:
    # Forked workers share the parent's pages (torch alone is ~500 MB per
    # process), which halves a build's memory and skips re-importing torch.
    # Safe here: the pool forks at its first task, before this process has
    # started threads or run a torch op. Elsewhere only spawn is dependable.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """``workers`` processes, or None (work in this process) for one; stopped on exit."""
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(workers, mp_context=_start_method(), initializer=_init_worker)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ordered_map(
    fn: Callable[[Any], Any], tasks: Iterable[Any], pool: Executor | None, window: int
) -> Iterator[Any]:
    """``map(fn, tasks)`` in order, at most ``window`` tasks in flight."""
    if pool is None:
        yield from map(fn, tasks)
        return
    pending: collections.deque = collections.deque()
    iterator = iter(tasks)
    try:
        for task in iterator:
            pending.append(pool.submit(fn, task))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            for task in iterator:
                pending.append(pool.submit(fn, task))
                break
            yield result
    finally:
        for future in pending:
            future.cancel()
