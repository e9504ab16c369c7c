"""The fork server: imports the tap once, then forks one `python -m tap_centaur` run per request.

Run as a script (`python tests/harness/fork_server.py FD`, by `forked.py`), so that nothing
of the test suite is imported here: a forked run has imported what a fresh interpreter running
the command would have, the tap and the SDK, and nothing else. FD is a SOCK_SEQPACKET socket:

- the server sends `{"ready": pid}` once the tap is imported;
- each request is `{"argv", "env", "cwd"}` with the run's stdout and stderr as two fds; the
  server forks, sends `{"pid"}` with a pidfd of the run (signals reach that process or none),
  reaps it and sends `{"pid", "exit_code"}` (negative: the signal that ended it);
- the server exits when the socket closes.

The forked process becomes the run (stdio, directory, environment, argv, `sys.path[0]` as
`python -m` sets it), then runs `tap_centaur/__main__.py` and leaves through the
interpreter's normal exit, atexit handlers included.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import socket
import sys
from typing import Any

MESSAGE_SIZE = 1 << 20


def serve(channel: socket.socket) -> dict[str, Any] | None:
    """Fork a process per request; return its request in that process, None at the end."""
    channel.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(channel, MESSAGE_SIZE, 2)
        except ConnectionResetError:  # the test worker exited
            return None
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
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(channel, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        report = {"pid": pid, "exit_code": os.waitstatus_to_exitcode(status)}
        try:
            channel.send(json.dumps(report).encode())
        except (BrokenPipeError, ConnectionResetError):
            return None


def become(request: dict[str, Any]) -> None:
    """Turn this forked process into the run: its stdio, directory, environment, argv."""
    stdout, stderr = request["fds"]
    stdin = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = os.getcwd()  # as `python -m` starts: the current directory first
    sys.argv = ["-m", *request["argv"]]


def main() -> None:
    """Import the tap, then serve forks; in a forked process, run the command."""
    del sys.path[0]  # this script's folder, whose modules would shadow the SDK's imports
    import tap_centaur.cli  # noqa: F401 - what every run would import

    gc.freeze()  # as the command does after its imports: forked runs keep it shared
    request = serve(socket.socket(fileno=int(sys.argv[1])))
    if request is not None:
        become(request)
        runpy.run_module("tap_centaur", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
