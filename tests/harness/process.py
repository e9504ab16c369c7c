"""Running the tap as a process of its own: `python -m tap_centaur`, stopped when told to.

The process is forked from the fork server (`forked.py`) unless the run needs a fresh
interpreter (a sabotage, PYTHON* variables of its own, TEST_FORKED_RUNS=0).

Stdout is read as it comes, so a run can be signalled after N bytes, after N seconds or once
a text appeared, behind a slow reader if asked. RELIABILITY_SABOTAGE=<name> makes the process
load that sabotage at start-up (`tests/reliability/sabotage/sitecustomize.py`).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.harness.forked import SERVER, ForkedProcess
from tests.harness.output import Output

SABOTAGE_DIR = Path(__file__).resolve().parents[1] / "reliability" / "sabotage"
SABOTAGE_ENV = "RELIABILITY_SABOTAGE"
#: The tap's settings variables: a tap run gets those of its run only, not the test process's.
ENV_PREFIX = "TAP_CENTAUR_"


@dataclass(frozen=True)
class Stop:
    """Cut a subprocess run short: send `sig` once `after_bytes` of stdout were read, once
    `after_seconds` passed, or once stdout holds `after_text` (whichever is set).

    With `slow_reader`, the reader first slows down for that many seconds (4 KiB every
    10 ms, like a busy target), so the signal finds the tap in the middle of a write.
    """

    sig: int = signal.SIGKILL
    after_bytes: int | None = None
    after_seconds: float | None = None
    after_text: bytes | None = None
    slow_reader: float = 0.0

    def due(self, out: bytes | bytearray, elapsed: float) -> bool:
        """Whether the condition to stop is met."""
        return (
            (self.after_bytes is not None and len(out) >= self.after_bytes)
            or (self.after_seconds is not None and elapsed >= self.after_seconds)
            or (self.after_text is not None and self.after_text in out)
        )


def sabotage_env() -> dict[str, str]:
    """Environment that makes a tap subprocess load a sabotage, when one is requested."""
    name = os.environ.get(SABOTAGE_ENV)
    if not name:
        return {}
    path = os.pathsep.join(p for p in (str(SABOTAGE_DIR), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "TAP_CENTAUR_SABOTAGE": name}


def run_subprocess(
    argv: list[str], env: dict[str, str], run_dir: Path, stop: Stop | None, timeout: float
) -> Output:
    """`python -m tap_centaur ARGV`, its stdout read as it comes (see `Stop`)."""
    process_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)},
        **env,
        **sabotage_env(),
    }
    stderr_path = run_dir / "stderr.log"
    forkable = not sabotage_env() and SERVER.can_run(process_env)
    if forkable:
        SERVER.ready()
    started = time.monotonic()
    with stderr_path.open("wb") as stderr_file:
        process, fd = _start(argv, process_env, run_dir, stderr_file.fileno(), forkable=forkable)
        try:
            with _closing(fd):
                out, stopped, first_output = _read(
                    process, fd, stop, started=started, timeout=timeout, argv=argv
                )
            exit_code = process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
        except BaseException:  # a failed check, a timeout, an interrupt: no run outlives it
            _end(process)
            raise
    if stopped and stop is not None and stop.sig == signal.SIGKILL:
        stopped = exit_code == -signal.SIGKILL  # False: the run was exiting when it was sent
    return Output(
        exit_code,
        bytes(out),
        stderr_path.read_text(errors="replace"),
        time.monotonic() - started,
        first_output,
        stopped,
        forked=isinstance(process, ForkedProcess),
    )


def _read(
    process: subprocess.Popen[bytes] | ForkedProcess,
    fd: int,
    stop: Stop | None,
    *,
    started: float,
    timeout: float,
    argv: list[str],
) -> tuple[bytearray, bool, float | None]:
    """Read stdout to its end, stopping the run as `stop` says: (output, stopped, first byte)."""
    out = bytearray()
    stopped = False
    slow_since: float | None = None
    first_output: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise AssertionError(f"tap run exceeded {timeout} s: {argv}")
            read_size = 1 << 16
            if stop is not None and not stopped:
                due = stop.due(out, elapsed)
                if due and stop.slow_reader and slow_since is None:
                    slow_since = time.monotonic()
                if slow_since is not None and time.monotonic() - slow_since < stop.slow_reader:
                    read_size = 4096
                    time.sleep(0.01)
                elif due:
                    stopped = _send(process, stop.sig)
            wait = 0.5
            if stop is not None and not stopped and stop.after_seconds is not None:
                wait = max(0.0, min(wait, stop.after_seconds - elapsed))
            if not selector.select(wait):
                continue
            chunk = os.read(fd, read_size)
            if not chunk:
                return out, stopped, first_output
            if first_output is None:
                first_output = time.monotonic() - started
            out += chunk


def _end(process: subprocess.Popen[bytes] | ForkedProcess) -> None:
    """Kill a run abandoned mid-way and reap it (a forked one frees the server)."""
    with contextlib.suppress(Exception):
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _start(
    argv: list[str], env: dict[str, str], run_dir: Path, stderr: int, *, forkable: bool
) -> tuple[subprocess.Popen[bytes] | ForkedProcess, int]:
    """Start the run (forked from the server when `forkable`); return it and its stdout."""
    read_end, write_end = os.pipe()
    process: subprocess.Popen[bytes] | ForkedProcess | None = None
    try:
        if forkable:
            process = SERVER.start(argv, env, run_dir, write_end, stderr)
        if process is None:
            command = [sys.executable, "-m", "tap_centaur", *argv]
            process = subprocess.Popen(
                command, stdout=write_end, stderr=stderr, env=env, cwd=run_dir
            )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return process, read_end


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)


def _send(process: subprocess.Popen[bytes] | ForkedProcess, sig: int) -> bool:
    if process.poll() is not None:
        return False
    process.send_signal(sig)
    return True
