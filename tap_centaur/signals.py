"""Signals (TERM, INT, HUP, QUIT): the final STATE, then exit 128 + the signal (DESIGN.md)."""

from __future__ import annotations

import _thread
import contextlib
import faulthandler
import logging
import os
import select
import signal
import threading
import time
import typing as t
from dataclasses import dataclass, field

from singer_sdk import singerlib as singer

from tap_centaur.errors import OutputError

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from tap_centaur.output import BufferedMsgSpecWriter

#: Seconds from the signal to the exit, at most, when the output does not take the final STATE.
STOP_SECONDS = 5.0
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_OUTPUT_FAILED = (
    "Stopped by %s; the output could not be written (the target stopped reading, or the disk "
    "is full), so the final STATE was not written: the last STATE the target received stands."
)


@dataclass(eq=False, repr=False)
class Stopper:
    """Stops the run on a signal: the final STATE (`state()`) when the output takes it, the exit."""

    _writer: BufferedMsgSpecWriter
    _state: Callable[[], dict[str, t.Any]]
    _logger: logging.Logger
    _signum: int = 0
    _exiting: _thread.LockType = field(default_factory=_thread.allocate_lock)

    def install(self) -> None:
        """Handle the signals (only the main thread may)."""
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._signum:
            return  # already stopping, within the first signal's bound
        self._signum = signum
        # The main thread may hold a lock of `threading` or `logging` here: the watchdog is a
        # bare thread, started first; the handler formats its line (a filter could block).
        late: dict[bool, list[tuple[int, bytes]]] = {}  # the watchdog's line, by whether cut
        _thread.start_new_thread(self._watchdog, (late,))
        for cut in (False, True):
            late[cut] = self._lines(
                logging.WARNING,
                f"Stopped by %s; the output was not read for {STOP_SECONDS:g} s, so the final "
                f"STATE was not written{'; its last line (over 4 KiB) is cut' if cut else ''}: "
                "the last STATE in the output stands, and the next run resumes from it.",
            )
        if signum == signal.SIGQUIT:
            _write(self._lines(logging.INFO, "%s: where each thread is (then the run stops):"))
            faulthandler.dump_traceback(all_threads=True)
        self._writer.run_when_idle(self._stop)

    def _stop(self) -> None:
        """Between two messages (main thread): the final STATE, then the exit."""
        if not self._writer.failed:
            with contextlib.suppress(OutputError):  # the writer is then `failed`
                self._writer.write_message(singer.StateMessage(value=self._state()))
        if self._writer.failed:
            self._exit(self._lines(logging.WARNING, _OUTPUT_FAILED))
        done = "Stopped by %s; the last STATE holds the tasks completed so far."
        self._exit(self._lines(logging.INFO, done))

    def _watchdog(self, late: dict[bool, list[tuple[int, bytes]]]) -> None:
        time.sleep(STOP_SECONDS)
        self._exit(late.get(self._writer.mid_line, []))  # none if formatting never returned

    def _exit(self, lines: list[tuple[int, bytes]]) -> t.NoReturn:
        """Write the log line, then exit 128 + the signal (the first thread to come ends it)."""
        with self._exiting:  # never released: the process ends inside
            _write(lines)
            os._exit(128 + self._signum)

    def _lines(self, level: int, message: str) -> list[tuple[int, bytes]]:
        """The log line of `message` (%s: the signal's name), as each log handler writes it."""
        if not self._logger.isEnabledFor(level):
            return []
        text = message % signal.Signals(self._signum).name
        record = self._logger.makeRecord(self._logger.name, level, __file__, 0, text, (), None)
        lines = []
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if level < handler.level or stream is None or not handler.filter(record):
                continue
            with contextlib.suppress(OSError, ValueError):  # no descriptor: nowhere to write
                lines.append((stream.fileno(), (handler.format(record) + "\n").encode()))
        return lines


def _write(lines: list[tuple[int, bytes]]) -> None:
    """Write log lines to their descriptors, not through handlers (their locks may be held)."""
    for fd, line in lines:
        with contextlib.suppress(OSError, ValueError):
            if select.select([], [fd], [], 1.0)[1]:  # writable within a second
                os.write(fd, line)
