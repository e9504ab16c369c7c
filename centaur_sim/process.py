"""The simulator as a separate process: what the demo and the benchmark run it as."""

from __future__ import annotations

import select
import subprocess
import sys
import typing as t
from contextlib import contextmanager

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path


class SimulatorStartError(RuntimeError):
    """The simulator process did not report its URL."""


@contextmanager
def running(
    options: Sequence[str], log: Path, *, cwd: Path | None = None, start_timeout: float = 300.0
) -> Iterator[str]:
    """Run `python -m centaur_sim --port 0 OPTIONS` (stderr to `log`); yield its base URL.

    The process is stopped on exit: SIGTERM, then SIGKILL after 10 s.
    """
    command = [sys.executable, "-m", "centaur_sim", "--port", "0", *options]
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        try:
            yield _listening_url(process, log, start_timeout)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _listening_url(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    """Wait for the simulator's first stdout line, `listening on URL`."""
    assert process.stdout is not None  # noqa: S101 - stdout is a pipe
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline().decode() if ready else ""  # b"" if it died
    if "listening on " not in line:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        raise SimulatorStartError(f"the simulator did not start (log: {log}): " + " | ".join(tail))
    return line.strip().rsplit(" ", 1)[-1]
