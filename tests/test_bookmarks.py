"""Partition states: kept in the configured order, and never half-written."""

from __future__ import annotations

from typing import Any

import pytest

from tap_centaur import bookmarks


def states(*task_ids: int) -> list[dict[str, Any]]:
    return [
        {"context": {"task_id": task}, "replication_key_value": f"t{task}"} for task in task_ids
    ]


def test_partition_states_follow_the_configured_order_and_keep_others_after():
    stream_state = {"partitions": states(103, 999, 101, 102)}
    contexts = [{"task_id": 101}, {"task_id": 102}, {"task_id": 103}]
    bookmarks.sort_partition_states(stream_state, contexts)
    assert [p["context"]["task_id"] for p in stream_state["partitions"]] == [101, 102, 103, 999]


def test_a_signal_during_the_sort_sees_every_partition(monkeypatch: pytest.MonkeyPatch):
    """A STATE written by a signal handler while the partitions are being ordered (the key
    function is Python code, so a handler can run there) must still hold every bookmark."""
    stream_state = {"partitions": states(102, 101)}
    seen_by_handler: list[int] = []
    key = bookmarks.partition_key

    def key_while_a_signal_lands(context: dict[str, Any]) -> Any:
        seen_by_handler.append(len(stream_state["partitions"]))
        return key(context)

    monkeypatch.setattr(bookmarks, "partition_key", key_while_a_signal_lands)
    bookmarks.sort_partition_states(stream_state, [{"task_id": 101}, {"task_id": 102}])
    assert seen_by_handler and set(seen_by_handler) == {2}
