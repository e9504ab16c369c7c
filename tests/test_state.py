"""State: partition states in order, never half-written (input states: test_broken_state.py
in tests/reliability/, run on each)."""

from __future__ import annotations

from typing import Any

import pytest

from tap_centaur import state as state_module
from tap_centaur.errors import StateError
from tap_centaur.state import PartitionStates, normalise_state, read_state_text


def tap_state(*task_ids: int) -> Any:
    bookmark = {"replication_key_value": "2026-01-01T00:00:00+00:00"}
    partitions = [{"context": {"task_id": task}, **bookmark} for task in task_ids]
    return {"bookmarks": {"task_results": {"partitions": partitions}}}


def test_partition_states_follow_the_configured_order_and_keep_others_after():
    state = tap_state(103, 999, 101, 102)
    contexts = [{"task_id": 101}, {"task_id": 102}, {"task_id": 103}]
    PartitionStates(state, "task_results").order(contexts)
    partitions = state["bookmarks"]["task_results"]["partitions"]
    assert [p["context"]["task_id"] for p in partitions] == [101, 102, 103, 999]


def test_a_signal_during_the_sort_sees_every_partition(monkeypatch: pytest.MonkeyPatch):
    """A STATE written by a signal handler while the partitions are being ordered (the key
    function is Python code, so a handler can run there) must still hold every bookmark."""
    state = tap_state(102, 101)
    seen_by_handler: list[int] = []
    key = state_module.partition_key

    def key_while_a_signal_lands(context: dict[str, Any]) -> Any:
        seen_by_handler.append(len(state["bookmarks"]["task_results"]["partitions"]))
        return key(context)

    partitions = PartitionStates(state, "task_results")
    monkeypatch.setattr(state_module, "partition_key", key_while_a_signal_lands)
    partitions.order([{"task_id": 101}, {"task_id": 102}])
    assert seen_by_handler and set(seen_by_handler) == {2}


def test_an_empty_stream_gets_no_entry_until_a_bookmark_is_written():
    state: Any = {}
    partitions = PartitionStates(state, "task_results_v2")
    partitions.order([{"task_id": 1}])
    assert state == {}
    partitions.ensure({"task_id": 1})
    assert state == {
        "bookmarks": {"task_results_v2": {"partitions": [{"context": {"task_id": 1}}]}}
    }


def test_a_partition_without_a_bookmark_is_kept_and_wins_a_merge():
    """Re-reading is safe, skipping is not (the other shapes and merges, through a run:
    tests/reliability/test_broken_state.py)."""
    partitions = [
        {"context": {"task_id": 7}, "replication_key_value": "2026-01-05T10:00:00Z"},
        {"context": {"task_id": "7"}},
        {"context": {"task_id": 8}, "replication_key_value": None},
    ]
    state = {"bookmarks": {"task_results": {"partitions": partitions}, "projects": {}}}
    expected = [{"context": {"task_id": 7}}, {"context": {"task_id": 8}}]
    assert normalise_state({**state, "currently_syncing": None}, "given") == {
        "bookmarks": {"task_results": {"partitions": expected}, "projects": {}},
        "currently_syncing": None,
    }


def test_a_stream_state_that_is_a_list_is_an_error_naming_it():
    """The one broken shape tests/reliability/test_broken_state.py does not try."""
    with pytest.raises(StateError) as caught:
        read_state_text('{"bookmarks": {"task_results": []}}', "file 'state.json'")
    assert str(caught.value).startswith("Invalid state file 'state.json': ")
    assert "'bookmarks.task_results' is a JSON list" in str(caught.value)
    assert caught.value.exit_code == 2
