"""Singer messages written in 64 KiB writes; on a signal, the final STATE between two, the exit."""

from __future__ import annotations

import _thread
import contextlib
import errno
import faulthandler
import functools
import logging
import os
import select
import signal
import stat
import sys
import threading
import time
import typing as t
from concurrent.futures import Future
from dataclasses import dataclass, field

from singer_sdk import singerlib as singer
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib.messages import SingerMessageType, StateMessage

from tap_centaur.errors import OutputError

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from singer_sdk.singerlib.messages import Message

T = t.TypeVar("T")
BUFFER_BYTES = 64 * 1024
#: A write to a pipe of at most this many bytes is atomic: all of it reaches the pipe, or none.
PIPE_BUF = getattr(select, "PIPE_BUF", 512)


class BufferedMsgSpecWriter(MsgSpecWriter):
    """The SDK's msgspec writer, with a buffer of its own (Meltano sets PYTHONUNBUFFERED=1)."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        self._busy = False
        self._deferred: Callable[[], None] | None = None
        #: Whether part of a line (one longer than `PIPE_BUF`) is written and the rest not yet.
        self.mid_line = False
        #: Whether writing failed for good (`OutputError`): what follows goes to /dev/null.
        self.failed = False

    def write_message(self, message: Message) -> None:
        """Buffer a RECORD; write everything now for any other message."""
        self._write(self.format_message(message), now=message.type != SingerMessageType.RECORD)

    def format_message(self, message: Message) -> bytearray:
        """The JSON line; a STATE's without the SDK's deep copy (83 ms for 10,000 partitions)."""
        if isinstance(message, StateMessage) and message.value is not None:
            return serialize_jsonl({"type": message.type, "value": message.value})
        return super().format_message(message)

    def flush(self) -> None:
        """Write what is buffered, all of it, and flush stdout."""
        self._write(b"", now=True)

    def run_when_idle(self, action: Callable[[], None]) -> None:
        """Run `action` now, or right after the write in progress (never in a half-written line)."""
        if self._busy:
            self._deferred = action
        else:
            action()

    def _write(self, line: bytes | bytearray, *, now: bool) -> None:
        """Exclusive: then the action deferred meanwhile (`run_when_idle`), even on a failure."""
        self._busy = True
        try:
            self._pending += line
            if now or len(self._pending) >= BUFFER_BYTES:
                self._write_pending()
        finally:
            self._busy = False
            if self._deferred is not None:
                deferred, self._deferred = self._deferred, None
                deferred()

    def _write_pending(self) -> None:
        """Write the buffer to stdout, all of it; to a pipe, in atomic writes (`PIPE_BUF`)."""
        data = bytes(self._pending)
        self._pending.clear()
        try:
            fd = _pipe_fd()
            sys.stdout.flush()  # what was written to stdout otherwise goes first
            if fd is None:
                self._write_lines(sys.stdout.buffer.write, data, len(data))
                sys.stdout.flush()
            else:
                self._write_lines(functools.partial(os.write, fd), data, PIPE_BUF)
        except OSError as error:
            message = output_failure(error)
            if message is None:
                raise
            with contextlib.suppress(OSError, ValueError):  # exiting must not fail on it again
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.failed = True
            raise OutputError(message) from error

    def _write_lines(self, write: Callable[[memoryview], int], data: bytes, most: int) -> None:
        """Write whole lines, at most `most` bytes a write (a write may take only part)."""
        view, start = memoryview(data), 0
        while start < len(data):
            end = data.rfind(b"\n", start, start + most) + 1
            if end <= start:  # a line longer than `most`: whole, in several writes
                end = data.find(b"\n", start) + 1 or len(data)
            while start < end:  # a write returns early when a signal interrupts it
                start += write(view[start:end])
                self.mid_line = start < end


def _pipe_fd() -> int | None:
    try:
        fd = sys.stdout.fileno()
        return fd if stat.S_ISFIFO(os.fstat(fd).st_mode) else None
    except (OSError, ValueError):  # no descriptor (a test's capture), or a closed one
        return None


def output_failure(error: BaseException) -> str | None:
    """One line for a failure to write the output (the target went away, the disk is full)."""
    if isinstance(error, BrokenPipeError):
        return (
            "The output was closed before the run ended: the target stopped reading (it exited "
            "or failed; see its own log). The last STATE it received is safe to resume from."
        )
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            "Writing the output failed: no space left on the device (or over the disk quota). "
            "Free space where the output goes and run again: the last STATE is safe to resume from."
        )
    return None


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


def start_thread(work: Callable[[], T], name: str) -> Future[T]:
    """`work()` in a daemon thread that leaves signals to the main thread, as its threads do."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # noqa: BLE001 - the future's owner sees it
            future.set_exception(error)

    # Inherited: a signal given to another thread goes unseen while the main thread waits.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        threading.Thread(target=run, name=name, daemon=True).start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return future


def _write(lines: list[tuple[int, bytes]]) -> None:
    """Write log lines to their descriptors, not through handlers (their locks may be held)."""
    for fd, line in lines:
        with contextlib.suppress(OSError, ValueError):
            if select.select([], [fd], [], 1.0)[1]:  # writable within a second
                os.write(fd, line)
