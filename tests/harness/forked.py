"""Tap processes forked from one that imported the tap once: `python -m tap_centaur`, sooner.

Each `python -m tap_centaur` spends ~0.4 s of CPU importing the SDK and the tap before it
reads its config: most of what the suite's ~50 subprocess runs cost (signals, SIGKILLs,
exit codes). A test worker starts this module once (`python -m tests.harness.forked FD`); it
imports the tap, then forks one process per run. That process is the run's own: its stdout
is the test's pipe, its stderr the run's file, its signals and exit status its own (the
server reaps it and reports the status). It then runs `tap_centaur/__main__.py` as the
command does, and exits through the interpreter's normal exit (atexit handlers included).

What differs from a fresh interpreter: the imports happened before the fork (a signal can
no longer land in them), and runs share the server's hash seed. `process.py` falls back to
a fresh `python -m tap_centaur` under a sabotage (loaded at interpreter start), when a run
sets PYTHON* variables of its own, or when TEST_FORKED_RUNS=0.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: TEST_FORKED_RUNS=0: every subprocess run starts a fresh interpreter.
SWITCH = "TEST_FORKED_RUNS"
_MESSAGE_SIZE = 1 << 20


class ForkedProcess:
    """The part of `subprocess.Popen` that `run_subprocess` uses, for a forked run."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._server = server

    def poll(self) -> int | None:
        """The exit code once the run ended (negative: the signal that ended it), else None."""
        if self.returncode is None:
            self._collect(timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run's end (subprocess.TimeoutExpired after `timeout` seconds)."""
        if self.returncode is None:
            self._collect(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"forked run {self.pid}", timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Signal the run, unless it already ended."""
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the run."""
        self.send_signal(signal.SIGKILL)

    def _collect(self, timeout: float | None) -> None:
        report = self._server.receive(timeout)
        if report is not None:
            self.returncode = int(report["exit_code"])
            self._server.release()


class ForkServer:
    """The test worker's end of the server: one run at a time, started on first use."""

    def __init__(self) -> None:
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._busy = threading.Lock()

    def ready(self) -> None:
        """Start the server if it is not running: a run's time then excludes the imports."""
        if self._busy.acquire(blocking=False):  # else a run is in progress: it is running
            try:
                self._connect()
            finally:
                self._busy.release()

    def start(
        self, argv: list[str], env: dict[str, str], cwd: Path, stdout: int, stderr: int
    ) -> ForkedProcess | None:
        """Fork a run of `python -m tap_centaur ARGV`, or None when one is in progress."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            channel = self._connect()
            request = {"argv": argv, "env": env, "cwd": str(cwd)}
            socket.send_fds(channel, [json.dumps(request).encode()], [stdout, stderr])
            report = self.receive(timeout=30)
            if report is None:
                raise RuntimeError("the fork server did not fork the run within 30 s")
            return ForkedProcess(self, int(report["pid"]))
        except BaseException:
            self._busy.release()
            raise

    def receive(self, timeout: float | None) -> dict[str, Any] | None:
        """The server's next report, or None if none came within `timeout` seconds."""
        assert self._channel is not None
        ready, _, _ = select.select([self._channel], [], [], timeout)
        if not ready:
            return None
        message = self._channel.recv(_MESSAGE_SIZE)
        if not message:
            raise RuntimeError("the fork server exited")
        report: dict[str, Any] = json.loads(message)
        return report

    def release(self) -> None:
        """The run ended: the next one may start."""
        self._busy.release()

    def _connect(self) -> socket.socket:
        if self._channel is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_CENTAUR_")}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.harness.forked", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            theirs.close()
            self._channel = ours
            if self.receive(timeout=60) is None:  # {"ready": pid} once the tap is imported
                raise RuntimeError("the fork server did not import the tap within 60 s")
        return self._channel


SERVER = ForkServer()


def forked_runs_enabled(env: dict[str, str]) -> bool:
    """Whether a run with `env` (added to this process's) may be forked from the server."""
    if os.environ.get(SWITCH, "1") == "0" or not hasattr(os, "fork"):
        return False
    return not any(
        name.startswith("PYTHON") and os.environ.get(name) != value for name, value in env.items()
    )


def _serve(channel: socket.socket) -> dict[str, Any] | None:
    """Fork a process per request; return its request in that process, None at the end."""
    channel.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        message, fds, _flags, _address = socket.recv_fds(channel, _MESSAGE_SIZE, 2)
        if not message:
            return None
        pid = os.fork()
        if pid == 0:
            channel.close()
            request: dict[str, Any] = json.loads(message)
            request["fds"] = fds
            return request
        for fd in fds:
            os.close(fd)
        channel.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        channel.send(json.dumps({"exit_code": os.waitstatus_to_exitcode(status)}).encode())


def _become(request: dict[str, Any]) -> None:
    """Turn this forked process into the run: its stdio, directory, environment, argv."""
    stdout, stderr = request["fds"]
    stdin = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-m", *request["argv"]]


def main() -> None:
    """Import the tap, then serve forks; in a forked process, run the command."""
    import tap_centaur.cli  # noqa: F401 - what every run would import

    gc.freeze()  # as the command does after its imports: forked runs keep it shared
    request = _serve(socket.socket(fileno=int(sys.argv[1])))
    if request is not None:
        _become(request)
        runpy.run_module("tap_centaur", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
