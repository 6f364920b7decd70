"""The build's worker processes: how they start, how they stop, and results in submission order.

Results are consumed in submission order through a bounded window, so a
build's output is the same bit for bit whatever the number of workers, and
memory stays bounded however many tasks there are.

Workers never outlive the build: the pool is always shut down, an error or
an interrupt kills the workers instead of waiting for their tasks, and on
Linux the kernel kills them when the main process dies, even by SIGKILL.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from threadpoolctl import threadpool_limits

__all__ = ["ordered_map", "worker_pool"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _init_worker(parent: int) -> None:
    _die_with_parent(parent)
    # A terminal's Ctrl-C reaches the whole process group; the main process
    # answers it by killing the workers, and in a worker it would only print
    # a traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the main process's SIGTERM handler (fxregistry.interrupts):
    # here SIGTERM must simply end the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Parallelism comes from the processes; threads inside each would fight: numpy's
    # BLAS threads (features, resampling) made a two-worker render pass ten times slower.
    # A plugin that imports torch here reads OMP_NUM_THREADS then.
    threadpool_limits(1)
    os.environ["OMP_NUM_THREADS"] = "1"


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the main process ``parent`` dies (Linux only).

    Without it a SIGKILLed build leaves its workers blocked on the task
    queue forever. Elsewhere there is no such call, and this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            return
    except (OSError, AttributeError):  # no libc symbols to find (a static build): go without
        return
    if os.getppid() != parent:
        os._exit(1)  # the parent died before prctl took effect: no signal will come


def _start_method() -> multiprocessing.context.BaseContext:
    # Forked workers share the parent's pages and skip re-importing what it
    # imported. Safe here: the pool forks at its first task, before this
    # process has started threads. Elsewhere only spawn is dependable.
    # The fork happens in the thread that submits, the one that runs the
    # build: PR_SET_PDEATHSIG fires when that thread ends, not the process.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """``workers`` processes, or None (work in this process) for one; stopped on exit.

    On an error or an interrupt the workers are killed at once: their tasks'
    results would be thrown away, and a render can take minutes.
    """
    if workers <= 1:
        # One BLAS thread here too: a threaded matrix product sums in another order
        # (the Mel bands moved by 2e-6 dB), and the file must not depend on --workers.
        with threadpool_limits(1):
            yield None
        return
    pool = ProcessPoolExecutor(
        workers, mp_context=_start_method(), initializer=_init_worker, initargs=(os.getpid(),)
    )
    try:
        yield pool
    except BaseException:
        _kill_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill ``pool``'s processes; its shutdown then finds them gone and returns at once."""
    kill = getattr(pool, "kill_workers", None)  # Python >= 3.14
    if kill is not None:
        kill()
        return
    # Before 3.14 ProcessPoolExecutor has no public way to stop its workers
    # (shutdown waits for the tasks in flight): its private map of pid ->
    # Process (there through 3.13) is the only handle on them. SIGKILL, not
    # SIGTERM: a worker holds nothing that needs a clean exit, and one forked
    # a moment ago may still carry the main process's SIGTERM handler.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):  # already gone, or closed
            process.kill()
    # A worker killed while it sent a result leaves the pool's manager thread reading the
    # rest of that message, and shutdown waits for that thread: forever, as this process
    # holds the pipe's write end too. Once the workers are dead, closing it ends the read
    # (end of file), and the pool stops as it does for any worker that died.
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.join()
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()


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
