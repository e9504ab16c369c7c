"""The message writer: a signal's STATE never lands inside another write, at any flush."""

from __future__ import annotations

import io
import sys
import typing as t
from collections.abc import Callable
from typing import Any

import pytest
from singer_sdk import singerlib as singer

from tap_centaur.errors import OutputError
from tap_centaur.output import BufferedMsgSpecWriter


class SignalMidWrite(io.RawIOBase):
    """A stdout whose first write is interrupted by `handler`, as a signal would."""

    def __init__(self, handler: Callable[[], None]) -> None:
        self.written = bytearray()
        self._handler: Callable[[], None] | None = handler

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        handler, self._handler = self._handler, None
        if handler is not None:
            handler()  # the signal lands while this write is in progress
        self.written += bytes(data)
        return len(data)


@pytest.fixture
def stdout(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], None]], SignalMidWrite]:
    def install(handler: Callable[[], None]) -> SignalMidWrite:
        raw = SignalMidWrite(handler)
        monkeypatch.setattr(
            sys, "stdout", io.TextIOWrapper(t.cast("t.Any", raw), write_through=True)
        )
        return raw

    return install


def record(number: int) -> singer.RecordMessage:
    return singer.RecordMessage(stream="task_results", record={"case_id": number})


@pytest.mark.parametrize("flush_by", ["flush", "state_message"])
def test_a_signal_during_a_flush_writes_its_state_after_it(stdout, flush_by):
    """Flushing outside write_message (at stream end, at exit) used to let the handler grow
    the buffer being written: BufferError, the final STATE lost."""
    writer = BufferedMsgSpecWriter()
    signal_state = singer.StateMessage(value={"bookmarks": {"signal": {}}})
    raw = stdout(lambda: writer.run_when_idle(lambda: writer.write_message(signal_state)))
    writer.write_message(record(1))
    writer.write_message(record(2))
    if flush_by == "flush":
        writer.flush()
    else:
        writer.write_message(singer.StateMessage(value={"bookmarks": {}}))
    lines = raw.written.decode().splitlines()
    assert [line[:26] for line in lines[:2]] == ['{"type":"RECORD","stream":'] * 2
    assert '"signal"' in lines[-1]  # the signal's STATE came last, whole, on its own line


def test_a_closed_output_is_one_clear_error(monkeypatch: pytest.MonkeyPatch):
    class Closed(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise OSError("no descriptor")

    monkeypatch.setattr(
        sys, "stdout", io.TextIOWrapper(t.cast("t.Any", Closed()), write_through=True)
    )
    writer = BufferedMsgSpecWriter()
    writer.write_message(record(1))
    with pytest.raises(OutputError, match="the target stopped reading"):
        writer.flush()
