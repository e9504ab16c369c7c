"""Writing Singer messages: msgspec encoding, in 64 KiB writes, flushed at every non-RECORD."""

from __future__ import annotations

import contextlib
import sys
import typing as t
import weakref

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import SingerMessageType

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib.messages import Message

BUFFER_BYTES = 64 * 1024

_writers: weakref.WeakSet[BufferedMsgSpecWriter] = weakref.WeakSet()


def flush_pending_output() -> None:
    """Write records still buffered (the CLI calls this when the process ends, e.g. on error)."""
    for writer in list(_writers):
        with contextlib.suppress(OSError, ValueError):  # stdout already closed or broken
            writer.flush()


class BufferedMsgSpecWriter(MsgSpecWriter):
    """The SDK's msgspec writer, without a write and a flush (system calls) per record.

    RECORD lines collect in a buffer of its own (stdout may be unbuffered, e.g. under
    PYTHONUNBUFFERED=1, which Meltano and many schedulers set) and go out in 64 KiB writes.
    Any other message (SCHEMA, STATE, BATCH, ...) writes the buffer and flushes, so a STATE
    never reaches the target before the records it covers, and only records written after
    the last STATE can be lost by a crash.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Start with an empty buffer."""
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        self._busy = False
        self._deferred: Callable[[], None] | None = None
        _writers.add(self)

    def write_message(self, message: Message) -> None:
        """Buffer a RECORD; write everything now for any other message."""
        self._busy = True
        try:
            self._pending += self.format_message(message)
            if message.type != SingerMessageType.RECORD or len(self._pending) >= BUFFER_BYTES:
                self.flush()
        finally:
            self._busy = False
        if self._deferred is not None:
            deferred, self._deferred = self._deferred, None
            deferred()

    def flush(self) -> None:
        """Write what is buffered, all of it, and flush stdout.

        Unbuffered stdout is a raw file whose `write` may write only part of the data (a
        pipe interrupted by a signal): the rest is written until nothing is left.
        """
        out = sys.stdout.buffer
        remaining = memoryview(self._pending)
        while remaining:
            written = out.write(remaining)
            remaining = remaining[written if written is not None else 0 :]
        remaining.release()
        self._pending.clear()
        sys.stdout.flush()

    def run_when_idle(self, action: Callable[[], None]) -> None:
        """Run `action` now, or right after the message being written, never in the middle.

        For signal handlers: a handler that wrote while a message was half written would
        corrupt the output line.
        """
        if self._busy:
            self._deferred = action
        else:
            action()
