"""A STATE line is the one the SDK's writer would write, byte for byte, without its deep copy."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import StateMessage

from tap_centaur.output import BufferedMsgSpecWriter

STATE = {
    "bookmarks": {
        "projects": {},
        "task_results": {
            "partitions": [
                {
                    "context": {"task_id": 101, "labeling_state": "Labeled"},
                    "replication_key": "updated_after",
                    "replication_key_value": "2026-12-01T21:54:31+00:00",
                },
                {"context": {"task_id": 102}, "note": None, "nested": [1, 2.5, True, "é"]},
            ]
        },
    },
    "extra": None,
}


def test_state_line_equals_the_sdk_writers():
    message = StateMessage(value=STATE)
    # Copies: the SDK's encoder writes every line into one shared buffer.
    expected = bytes(MsgSpecWriter().format_message(message))
    assert bytes(BufferedMsgSpecWriter().format_message(message)) == expected
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out):
        BufferedMsgSpecWriter().write_message(message)
        out.flush()
        assert out.buffer.getvalue() == expected
