"""The tap as a process of its own, `python -m tap_centaur`, its stdout read as it comes and
the run stopped when a `Stop` says; under RELIABILITY_SABOTAGE=<name> it loads that sabotage
(`tests/reliability/sabotage/sitecustomize.py`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.harness.checks import Run, parse

SABOTAGE_DIR = Path(__file__).resolve().parents[1] / "reliability" / "sabotage"
SABOTAGE_ENV = "RELIABILITY_SABOTAGE"
#: The tap's settings variables: a tap run gets those of its run only, not the test process's.
ENV_PREFIX = "TAP_CENTAUR_"


@dataclass(frozen=True)
class Stop:
    """Send `sig` (None: no signal) once `after_bytes` of stdout were read, `after_seconds`
    passed, stdout holds `after_text` or `after()` is true, whichever is set. `blocked_reader`:
    stop reading, signal once the pipe is full (the tap blocked writing), read again after
    `resume_after` seconds or (None) once the run ended. `close_reader`: close the pipe once
    due (the target exited). `to_thread`: signal a thread other than the main one (Linux's
    kill(2) of a thread id: the kernel may give a process's signal to any of its threads)."""

    sig: int | None = signal.SIGKILL
    after_bytes: int | None = None
    after_seconds: float | None = None
    after_text: bytes | None = None
    after: Callable[[], bool] | None = None
    blocked_reader: bool = False
    resume_after: float | None = None
    close_reader: bool = False
    to_thread: bool = False

    def due(self, out: bytes | bytearray, elapsed: float) -> bool:
        return (
            (self.after_bytes is not None and len(out) >= self.after_bytes)
            or (self.after_seconds is not None and elapsed >= self.after_seconds)
            or (self.after_text is not None and self.after_text in out)
            or (self.after is not None and self.after())
        )


def process_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment but its TAP_CENTAUR_* variables, `env`, the sabotage."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    name = os.environ.get(SABOTAGE_ENV)
    if name:
        path = os.pathsep.join(p for p in (str(SABOTAGE_DIR), os.environ.get("PYTHONPATH")) if p)
        env = {**env, "PYTHONPATH": path, "TAP_CENTAUR_SABOTAGE": name}
    return {**base, **env}


def run_subprocess(
    argv: list[str],
    env: dict[str, str],
    run_dir: Path,
    stop: Stop | None,
    timeout: float,
    *,
    stdout: IO[Any] | None = None,
) -> Run:
    """`python -m tap_centaur ARGV`, its stdout (a pipe unless given) read as it comes."""
    stderr_path = run_dir / "stderr.log"
    started = time.monotonic()
    command = [sys.executable, "-m", "tap_centaur", *argv]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            stdout=stdout or subprocess.PIPE,
            stderr=stderr,
            env=process_env(env),
            cwd=run_dir,
        )
        try:
            out, stopped, first, signalled, ended = bytearray(), False, None, None, None
            if process.stdout is not None:
                with process.stdout:
                    out, stopped, first, signalled = _read(
                        process, stop, started=started, timeout=timeout, argv=argv
                    )
                ended = time.monotonic()
            exit_code = process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
        except BaseException:  # a failed check, a timeout, an interrupt: no run outlives it
            process.kill()
            process.wait()
            raise
    if stopped and stop is not None and stop.sig == signal.SIGKILL:
        stopped = exit_code == -signal.SIGKILL  # False: the run was exiting when it was sent
    return parse(
        exit_code,
        bytes(out),
        stderr_path.read_text(errors="replace"),
        duration=time.monotonic() - started,
        first_output=first,
        stopped=stopped,
        in_process=False,
        stop_seconds=None if signalled is None or ended is None else ended - signalled,
    )


def _read(
    process: subprocess.Popen[bytes],
    stop: Stop | None,
    *,
    started: float,
    timeout: float,
    argv: list[str],
) -> tuple[bytearray, bool, float | None, float | None]:
    """(stdout to its end, whether the stop was due, seconds to the first byte, when the
    signal was sent: `time.monotonic()` or None), stopping the run as `stop` says."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    out, stopped = bytearray(), False
    first_output: float | None = None
    signalled: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise AssertionError(f"tap run exceeded {timeout} s: {argv}")
            read_size, wait = 1 << 16, 0.5
            if stop is not None and not stopped:
                if stop.due(out, elapsed):
                    signalled = _signal(process, fd, stop, started + timeout)
                    stopped = signalled is not None or stop.sig is None
                    if stop.close_reader:  # nothing more to read
                        return out, stopped, first_output, signalled
                elif stop.after_seconds is not None:
                    wait = max(0.0, min(wait, stop.after_seconds - elapsed))
                else:
                    wait = 0.05  # `after()` is polled
                if stop.after_bytes is not None:  # to stop at that very byte
                    read_size = min(read_size, max(1, stop.after_bytes - len(out)))
            if not selector.select(wait):
                continue
            chunk = os.read(fd, read_size)
            if not chunk:
                return out, stopped, first_output, signalled
            if first_output is None:
                first_output = time.monotonic() - started
            out += chunk


def _signal(process: subprocess.Popen[bytes], fd: int, stop: Stop, deadline: float) -> float | None:
    """Signal the run as `stop` says; return when (None: not sent)."""
    if stop.blocked_reader:
        _wait_for_a_full_pipe(process, fd, deadline)
    sent = None
    if stop.sig is not None and process.poll() is None:
        target = process.pid
        if stop.to_thread:  # the newest thread (ids grow): not the main one, whose id is the pid
            target = max(int(tid) for tid in os.listdir(f"/proc/{process.pid}/task"))
            assert target != process.pid, "the run has no thread but its main one"
        os.kill(target, stop.sig)
        sent = time.monotonic()
    if stop.close_reader:  # the pipe's read end closes; the descriptor now reads /dev/null
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, fd)
        os.close(null)
    if stop.blocked_reader and stop.resume_after is not None:
        time.sleep(stop.resume_after)
    elif stop.blocked_reader:
        with contextlib.suppress(subprocess.TimeoutExpired):  # reported by the caller
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    return sent


def _wait_for_a_full_pipe(process: subprocess.Popen[bytes], fd: int, deadline: float) -> None:
    capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    held, since = -1, time.monotonic()
    while time.monotonic() - since < 0.3 or held < capacity // 2:  # full: not growing
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"the run ended or never filled its pipe ({held} bytes)")
        time.sleep(0.05)
        now = int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)
        if now != held:
            held, since = now, time.monotonic()
