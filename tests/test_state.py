"""State: an input state read strictly, partition states in order and never half-written."""

from __future__ import annotations

import typing as t
from typing import Any

import pytest

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState

from tap_centaur import state as state_module
from tap_centaur.errors import StateError
from tap_centaur.state import PartitionStates, normalise_state, read_state_text


def states(*task_ids: int) -> list[dict[str, Any]]:
    return [
        {
            "context": {"task_id": task},
            "replication_key": "updated_after",
            "replication_key_value": f"2026-01-0{task % 9 + 1}T00:00:00+00:00",
        }
        for task in task_ids
    ]


def tap_state(*task_ids: int) -> dict[str, Any]:
    return {"bookmarks": {"task_results": {"partitions": states(*task_ids)}}}


def test_partition_states_follow_the_configured_order_and_keep_others_after():
    state = tap_state(103, 999, 101, 102)
    contexts = [{"task_id": 101}, {"task_id": 102}, {"task_id": 103}]
    PartitionStates(t.cast("TapState", state), "task_results").order(contexts)
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

    partitions = PartitionStates(t.cast("TapState", state), "task_results")
    monkeypatch.setattr(state_module, "partition_key", key_while_a_signal_lands)
    partitions.order([{"task_id": 101}, {"task_id": 102}])
    assert seen_by_handler and set(seen_by_handler) == {2}


def test_an_empty_stream_gets_no_entry_until_a_bookmark_is_written():
    state: dict[str, Any] = {}
    partitions = PartitionStates(t.cast("TapState", state), "task_results_v2")
    partitions.order([{"task_id": 1}])
    assert state == {}
    partitions.ensure({"task_id": 1})
    assert state == {
        "bookmarks": {"task_results_v2": {"partitions": [{"context": {"task_id": 1}}]}}
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ('{"bookmarks": {', "not valid JSON"),
        ("[1, 2]", "it is a JSON list, not an object"),
        ('{"bookmarks": []}', "'bookmarks' is a JSON list, not an object"),
        ('{"bookmarks": {"task_results": []}}', "'bookmarks.task_results' is a JSON list"),
        (
            '{"bookmarks": {"task_results": {"partitions": {}}}}',
            "'bookmarks.task_results.partitions' is a JSON object",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"replication_key_value": "x"}]}}}',
            "'bookmarks.task_results.partitions[0]' has no 'context' object (it is null)",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"context": null}]}}}',
            "'bookmarks.task_results.partitions[0]' has no 'context' object (it is null)",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"context": {"task_id": "abc"}}]}}}',
            "has task_id 'abc', not a task id",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"context": {"task_id": 1}}, '
            '{"context": {"task_id": 2}, "replication_key_value": "last tuesday"}]}}}',
            "'bookmarks.task_results.partitions[1]' has a bookmark 'last tuesday' that is not",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"context": {"task_id": 1}, '
            '"replication_key_value": 1700000000}]}}}',
            "has a bookmark 1700000000 that is not a time",
        ),
        (
            '{"bookmarks": {"task_results": {"partitions": [{"context": {"task_id": 1, '
            '"labeling_state": "Done"}}]}}}',
            "has labeling_state 'Done', not a labeling state",
        ),
    ],
)
def test_a_state_that_cannot_be_read_is_an_error_naming_the_entry(text, fragment):
    with pytest.raises(StateError) as caught:
        read_state_text(text, "file 'state.json'")
    message = str(caught.value)
    assert message.startswith("Invalid state file 'state.json': ")
    assert fragment in message
    assert caught.value.exit_code == 2


def normalised(*partitions: dict[str, Any]) -> list[dict[str, Any]]:
    state = {"bookmarks": {"task_results": {"partitions": list(partitions)}, "projects": {}}}
    result = normalise_state({**state, "currently_syncing": None}, "given")
    assert result["bookmarks"]["projects"] == {}
    assert result["currently_syncing"] is None
    normal: list[dict[str, Any]] = result["bookmarks"]["task_results"]["partitions"]
    return normal


def test_readable_shapes_are_normalised_and_merged_keeping_the_earliest_bookmark():
    def bookmarked(task: int, time: str) -> dict[str, Any]:
        key = {"replication_key": "updated_after", "replication_key_value": time}
        return {"context": {"task_id": task}, **key}

    assert normalised(
        {"context": {"task_id": "101"}, "replication_key_value": "2026-01-05T10:00:00Z"},
        {"context": {"task_id": 101}, "replication_key_value": "2026-01-03 09:30:00"},
        {"context": {"task_id": 102}, "replication_key_value": "2026-01-04T12:00:00.123+02:00"},
        {"context": {"task_id": 103}, "replication_key_value": None},
    ) == [
        bookmarked(101, "2026-01-03T09:30:00+00:00"),
        bookmarked(102, "2026-01-04T10:00:00+00:00"),
        {"context": {"task_id": 103}},
    ]
    # A partition without a bookmark wins a merge (re-reading is safe, skipping is not).
    assert normalised(
        {"context": {"task_id": 7}, "replication_key_value": "2026-01-05T10:00:00Z"},
        {"context": {"task_id": "7"}},
    ) == [{"context": {"task_id": 7}}]
