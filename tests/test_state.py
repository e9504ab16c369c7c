"""State: partition states in order, never half-written (input states: test_broken_state.py
in tests/reliability/, run on each)."""

from __future__ import annotations

import contextlib
import threading
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


def test_two_threads_coming_first_index_the_state_once(monkeypatch: pytest.MonkeyPatch):
    """The early start's thread and the SDK's may both use the states first; the index is built
    once (Python 3.12's cached_property has no lock: both built it, one's `ensure` was lost)."""
    state = tap_state(101, 102)
    stored = [p["context"] for p in state["bookmarks"]["task_results"]["partitions"]]
    both_in, indexed, key = threading.Barrier(2), [], state_module.partition_key

    def key_meeting_the_other_thread(context: dict[str, Any]) -> Any:
        if any(context is c for c in stored):  # indexing, not looking up
            indexed.append(context["task_id"])
            with contextlib.suppress(threading.BrokenBarrierError):
                both_in.wait(timeout=0.5)  # with a lock, the other thread never comes
        return key(context)

    monkeypatch.setattr(state_module, "partition_key", key_meeting_the_other_thread)
    partitions = PartitionStates(state, "task_results")
    threads = [
        threading.Thread(target=partitions.bookmark, args=({"task_id": 101},)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert indexed == [101, 102]


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
        read_state_text(lambda: '{"bookmarks": {"task_results": []}}', "file 'state.json'")
    assert str(caught.value).startswith("Invalid state file 'state.json': ")
    assert "'bookmarks.task_results' is a JSON list" in str(caught.value)
    assert caught.value.exit_code == 2
