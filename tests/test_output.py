"""The message writer: a STATE line as the SDK writes it; a signal's STATE never mid-write."""

from __future__ import annotations

import io
import sys
import typing as t
from collections.abc import Callable
from contextlib import redirect_stdout

import pytest
from singer_sdk import singerlib as singer
from singer_sdk.contrib.msgspec import MsgSpecWriter

from tap_centaur.output import BufferedMsgSpecWriter


class SignalMidWrite(io.RawIOBase):
    """A stdout whose first write is interrupted by `handler`, as a signal would."""

    def __init__(self, handler: Callable[[], None]) -> None:
        self.written = bytearray()
        self._handler: Callable[[], None] | None = handler

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        handler, self._handler = self._handler, None
        if handler is not None:
            handler()  # the signal lands while this write is in progress
        self.written += bytes(data)
        return len(data)


@pytest.mark.parametrize("flush_by", ["flush", "state_message"])
def test_a_signal_during_a_flush_writes_its_state_after_it(monkeypatch, flush_by):
    """Flushing outside write_message (at stream end, at exit) used to let the handler grow
    the buffer being written: BufferError, the final STATE lost."""
    writer = BufferedMsgSpecWriter()
    signal_state = singer.StateMessage(value={"bookmarks": {"signal": {}}})
    raw = SignalMidWrite(lambda: writer.run_when_idle(lambda: writer.write_message(signal_state)))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(t.cast("t.Any", raw), write_through=True))
    for number in (1, 2):
        writer.write_message(
            singer.RecordMessage(stream="task_results", record={"case_id": number})
        )
    if flush_by == "flush":
        writer.flush()
    else:
        writer.write_message(singer.StateMessage(value={"bookmarks": {}}))
    lines = raw.written.decode().splitlines()
    assert [line[:26] for line in lines[:2]] == ['{"type":"RECORD","stream":'] * 2
    assert '"signal"' in lines[-1]  # the signal's STATE came last, whole, on its own line


def test_state_line_equals_the_sdk_writers():
    """Written without the SDK's deep copy of the state, byte for byte the same line."""
    partition = {"context": {"task_id": 101}, "replication_key_value": "2026-12-01T21:54:31+00:00"}
    state = {"bookmarks": {"task_results": {"partitions": [partition]}}, "x": [None, 2.5, "é"]}
    message = singer.StateMessage(value=state)
    expected = bytes(MsgSpecWriter().format_message(message))  # a copy: the buffer is shared
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out):
        BufferedMsgSpecWriter().write_message(message)
        out.flush()
        assert out.buffer.getvalue() == expected
