"""Tap processes forked from one that imported the tap once: `python -m tap_centaur`, sooner.

Each `python -m tap_centaur` spends ~0.4 s of CPU importing the SDK and the tap before it
reads its config: most of what the suite's ~50 subprocess runs cost (signals, SIGKILLs,
exit codes). A test worker starts `fork_server.py` once; it imports the tap and forks one
process per run. That process is the run's own: its stdout is the test's pipe, its stderr
the run's file, its environment, signals and exit status its own.

What differs from a fresh interpreter: the imports happened before the fork (a signal can no
longer land in them); runs share the server's hash seed; and what an interpreter fixes at
start (PYTHON* variables, time zone, locale, stdio encoding) is the server's. `process.py`
starts a fresh interpreter instead under a sabotage (loaded at interpreter start), when a
run's PYTHON* variables differ from the server's, or with TEST_FORKED_RUNS=0.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.harness.fork_server import MESSAGE_SIZE

SERVER_SCRIPT = Path(__file__).with_name("fork_server.py")
#: TEST_FORKED_RUNS=0: every subprocess run starts a fresh interpreter.
SWITCH = "TEST_FORKED_RUNS"


class ForkedProcess:
    """The part of `subprocess.Popen` that `run_subprocess` uses, for a forked run."""

    def __init__(self, server: ForkServer, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._server = server
        self._pidfd = pidfd

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
        """Signal the run (through its pidfd: never another process), unless it ended."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it exited: the server says so next
                signal.pidfd_send_signal(self._pidfd, sig)

    def kill(self) -> None:
        """SIGKILL the run."""
        self.send_signal(signal.SIGKILL)

    def _collect(self, timeout: float | None) -> None:
        try:
            report = self._server.receive(timeout)
            if report is None:
                return
            if report.get("pid") != self.pid or "exit_code" not in report:
                raise RuntimeError(f"the fork server reported {report} for run {self.pid}")
            self.returncode = int(report["exit_code"])
        except BaseException:
            self._server.close()  # its reports are no longer in step with the runs
            self._end()
            raise
        self._end()

    def _end(self) -> None:
        os.close(self._pidfd)
        self._server.release()


class ForkServer:
    """The test worker's end of the server: one run at a time, started on first use."""

    def __init__(self) -> None:
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._python_variables: dict[str, str] = {}
        self._log = Path(tempfile.gettempdir()) / f"tap-centaur-fork-server-{os.getpid()}.log"
        self._busy = threading.Lock()

    def can_run(self, env: Mapping[str, str]) -> bool:
        """Whether a run with this whole environment may be forked: its PYTHON* variables
        are those the server started with (or would start with, from this process's)."""
        if os.environ.get(SWITCH, "1") == "0" or not hasattr(os, "pidfd_open"):
            return False
        started_with = self._python_variables if self._channel else _python_variables(os.environ)
        return _python_variables(env) == started_with

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
            if not select.select([channel], [], [], 30)[0]:
                raise RuntimeError("the fork server did not fork the run within 30 s")
            message, fds, _flags, _address = socket.recv_fds(channel, MESSAGE_SIZE, 1)
            return ForkedProcess(self, int(json.loads(message)["pid"]), fds[0])
        except BaseException:
            self.close()  # a report may still come: no later run may take it for its own
            self._busy.release()
            raise

    def receive(self, timeout: float | None) -> dict[str, Any] | None:
        """The server's next report, or None if none came within `timeout` seconds."""
        assert self._channel is not None
        if not select.select([self._channel], [], [], timeout)[0]:
            return None
        message = self._channel.recv(MESSAGE_SIZE)
        if not message:
            self.close()
            raise RuntimeError(f"the fork server exited; its log: {self._log}")
        report: dict[str, Any] = json.loads(message)
        return report

    def release(self) -> None:
        """The run ended: the next one may start."""
        self._busy.release()

    def close(self) -> None:
        """Stop the server (it exits when its socket closes); the next run starts another."""
        channel, process = self._channel, self._process
        self._channel = self._process = None
        if channel is not None:
            channel.close()
        if process is not None:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # still reaping a run: that run is over too
                process.kill()
                process.wait()
            if self._log.exists() and not self._log.stat().st_size:
                self._log.unlink()

    def _connect(self) -> socket.socket:
        if self._channel is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_CENTAUR_")}
            with self._log.open("ab") as log:
                self._process = subprocess.Popen(
                    [sys.executable, str(SERVER_SCRIPT), str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            theirs.close()
            self._channel = ours
            self._python_variables = _python_variables(env)
            if self.receive(timeout=60) is None:  # {"ready": pid} once the tap is imported
                self.close()
                raise RuntimeError(f"the fork server did not start in 60 s; its log: {self._log}")
        return self._channel


def _python_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith("PYTHON")}


SERVER = ForkServer()
atexit.register(SERVER.close)
