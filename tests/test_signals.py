"""Signals on real processes: Ctrl-C and SIGTERM end a build or a fit cleanly
(exit 130, no ``.partial`` file, no worker left), and a SIGKILLed build's
workers die with it, leaving nothing that passes as a dataset.

The commands run as subprocesses in a session of their own, so that every
process they start can be found (``/proc/PID/stat``'s session field) and
signalled as a terminal would signal its foreground group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest
import torch

from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.pool import worker_pool
from fxregistry.interrupts import deferred_signals, remember_ctrl_c, sigterm_as_ctrl_c
from fxregistry.training.checkpoints import Checkpoint, Position
from fxregistry.training.runs import RunBundle

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG are Linux's"
)

LEGACY_RUN = Path(__file__).parent / "data" / "legacy" / "run"
FXR = Path(sys.executable).with_name("fxr")  # the console script beside this interpreter
WAIT = 30.0  # seconds: generous, for a loaded machine; a pass takes far less


@pytest.fixture
def fxr():
    """``fxr(*ARGS, stderr=FILE)`` runs fxr in a new session (its id is the process's pid).

    Whatever a failed test leaves running of those sessions is killed at the end.
    """
    started = []

    def start(*args: object, stderr: Path) -> subprocess.Popen:
        with open(stderr, "w") as err:
            process = subprocess.Popen(
                [str(FXR), *map(str, args)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        for pid in session(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def session(sid: int) -> set[int]:
    """The live processes of session ``sid`` (a zombie is dead, only not yet reaped)."""
    alive = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
        state, _ppid, _pgrp, session_id = text.rpartition(")")[2].split()[:4]
        if int(session_id) == sid and state not in "ZX":
            alive.add(int(text.split(None, 1)[0]))
    return alive


def wait_for(condition, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"fxr ended (status {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {WAIT:g} s")
        time.sleep(0.05)


def start_build(fxr, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A ``--workers 2`` build, once pass 2 runs: ``OUT.partial`` written, both workers up."""
    out = tmp_path / "delay.h5"
    # A short pass 1 (3 takes) and a long pass 2 (~120 clips at 100 settings each):
    # the signal comes while OUT.partial is written, with seconds of work left.
    process = fxr(
        *("build", "--effect", "delay", "--source", "synth:3", "--grid", "random:100"),
        *("--clip-seconds", 0.5, "--out", out, "--workers", 2),
        stderr=tmp_path / "stderr",
    )
    partial = out.with_name(out.name + ".partial")
    wait_for(lambda: partial.exists() and len(session(process.pid)) >= 3, "pass 2", process)
    return process, out


def end(process: subprocess.Popen) -> int:
    try:
        return process.wait(WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"fxr still runs {WAIT:g} s after the signal")


def left_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "stderr")


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="ctrl-c-to-the-group"),
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="sigterm-to-the-main-process"),
    ],
)
def test_an_interrupted_build_exits_130_and_leaves_no_file_and_no_worker(fxr, tmp_path, send):
    process, _ = start_build(fxr, tmp_path)
    send(process.pid)
    assert end(process) == 130
    # One line: no traceback from the main process, none from the workers.
    assert (tmp_path / "stderr").read_text().splitlines() == ["fxr: interrupted"]
    assert left_in(tmp_path) == []  # neither OUT.partial nor OUT.partial.clips
    assert session(process.pid) == set()  # the workers were stopped before fxr exited


def test_a_killed_build_takes_its_workers_and_leaves_nothing_that_inspects(fxr, tmp_path):
    process, out = start_build(fxr, tmp_path)
    os.kill(process.pid, signal.SIGKILL)
    assert end(process) == -signal.SIGKILL
    wait_for(lambda: session(process.pid) == set(), "end of the orphaned workers")
    assert left_in(tmp_path) == ["delay.h5.partial", "delay.h5.partial.clips"]
    partial = out.with_name(out.name + ".partial")
    inspect = subprocess.run(
        [str(FXR), "inspect", str(partial)], capture_output=True, text=True, timeout=WAIT
    )
    assert inspect.returncode == 2, inspect.stderr
    assert inspect.stderr.startswith("fxr: error: ") and str(partial) in inspect.stderr
    assert len(inspect.stderr.splitlines()) == 1


def test_sigterm_stops_a_fit_as_ctrl_c_does_with_its_checkpoint(fxr, tmp_path):
    data = tmp_path / "data.h5"
    config = BuildConfig(effect="delay", source="synth:3", clip_seconds=0.25, max_clips=6)
    build(config, data, workers=1)
    run = tmp_path / "run"
    fit = fxr(
        *("fit", "--model", "cnn", "--data", data, "--out", run, "--device", "cpu"),
        *("--epochs", 10000, "--hparam", "channels=[4,8]", "--hparam", "hidden=8"),
        stderr=tmp_path / "stderr",
    )
    wait_for((run / "checkpoint.pt").exists, "checkpoint", fit)
    fit.send_signal(signal.SIGTERM)
    assert end(fit) == 130
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and "--resume" in stderr.splitlines()[-1]
    assert (run / "checkpoint.pt").exists() and not (run / "model.pt").exists()
    assert not [p for p in run.iterdir() if "partial" in p.name]


# ---------------------------------------------------------------- the parts, in this process


def test_an_error_in_a_pool_kills_its_workers_instead_of_waiting_for_their_tasks():
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="stop"), worker_pool(2) as pool:
        future = pool.submit(time.sleep, 600)
        wait_for(future.running, "running task")
        raise RuntimeError("stop")
    assert time.monotonic() - started < WAIT


# A worker killed while it sent a result: its message cut short in the result pipe.
CUT_SHORT = """
import os, struct
from fxregistry.dataset.pool import worker_pool
try:
    with worker_pool(2) as pool:
        pool.submit(abs, -1).result()  # the pool's manager thread is up
        # A result's header promising a megabyte, and a few bytes of it.
        os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"cut")
        raise RuntimeError("stop")
except RuntimeError:
    pass
"""


def test_a_result_cut_short_by_a_killed_worker_does_not_hang_the_pool():
    # Its manager thread would wait for the rest of the message for ever, and the
    # pool's shutdown for that thread: a Ctrl-C'd build hung so.
    done = subprocess.run([sys.executable, "-c", CUT_SHORT], timeout=WAIT, capture_output=True)
    assert done.returncode == 0 and done.stderr == b""


def test_sigterm_acts_as_ctrl_c_only_inside_and_never_over_a_handler_of_the_program():
    with pytest.raises(KeyboardInterrupt), sigterm_as_ctrl_c():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with sigterm_as_ctrl_c():
            signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == [signal.SIGTERM]


def test_a_ctrl_c_that_something_swallowed_is_raised_again_by_check():
    # Python drops an exception raised in a weakref callback or a __del__ (it only
    # prints "Exception ignored in"): the build must still stop before it completes.
    before = signal.getsignal(signal.SIGINT)
    with remember_ctrl_c() as ctrl_c:
        ctrl_c.check()  # nothing came yet
        with contextlib.suppress(KeyboardInterrupt):  # as in a weakref callback
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.check()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_ctrl_c_dropped_in_a_weakref_callback_is_not_reported_and_is_raised_again():
    # A build's Ctrl-C once landed in an import's module-lock callback: Python printed
    # "Exception ignored in ..." and a traceback above "fxr: interrupted".
    class Thing:
        pass

    reported = []
    previous = sys.unraisablehook
    sys.unraisablehook = reported.append  # stands for Python's printer
    try:
        with remember_ctrl_c() as ctrl_c:
            thing = Thing()
            _ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))
            del thing  # the callback runs here; its KeyboardInterrupt cannot propagate
            with pytest.raises(KeyboardInterrupt):
                ctrl_c.check()
            _ref = weakref.ref(thing := Thing(), lambda _: 1 / 0)
            del thing  # any other dropped exception is still reported
        assert sys.unraisablehook == reported.append
    finally:
        sys.unraisablehook = previous
    assert [r.exc_type for r in reported] == [ZeroDivisionError]


def test_after_a_ctrl_c_a_failing_thread_is_not_reported_and_before_it_is():
    # A pool's threads fail as its killed workers vanish: "Exception in thread" and a
    # traceback once came above "fxr: interrupted".
    def fail() -> None:
        raise EOFError("the pipe ended")

    def run_failing_thread() -> None:
        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()

    reported = []
    previous = threading.excepthook
    threading.excepthook = reported.append  # stands for Python's printer
    try:
        with remember_ctrl_c() as ctrl_c:
            run_failing_thread()
            with contextlib.suppress(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
            run_failing_thread()
            assert ctrl_c.pressed
        assert threading.excepthook == reported.append
    finally:
        threading.excepthook = previous
    assert [r.exc_type for r in reported] == [EOFError]


def test_a_signal_during_a_deferred_write_acts_once_the_write_is_done():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here unless it is deferred
            done.append("written")
    assert done == ["written"]


def _checkpoint() -> Checkpoint:
    return Checkpoint(Position(), {"w": torch.zeros(3)}, {}, {}, {}, torch.get_rng_state())


@pytest.mark.parametrize(
    "written", [_checkpoint, lambda: RunBundle.load(LEGACY_RUN)], ids=["checkpoint", "model"]
)
def test_a_ctrl_c_while_fit_writes_a_file_stops_it_after_the_file_is_whole(
    written, tmp_path, monkeypatch
):
    # torch.save cut by a KeyboardInterrupt raises a RuntimeError of its own; the signal
    # must wait for the write, and the file it leaves must load.
    real_save = torch.save

    def slow_save(obj, f):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here unless it is deferred
        real_save(obj, f)

    stored = written()
    monkeypatch.setattr(torch, "save", slow_save)
    with pytest.raises(KeyboardInterrupt):
        stored.save(tmp_path / "file.pt")
    assert set(torch.load(tmp_path / "file.pt", weights_only=True)) == set(stored.to_dict())
