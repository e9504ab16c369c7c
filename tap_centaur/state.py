"""The tap's state: reading an input state strictly, and the per-partition bookmarks in it.

Layout (the SDK's): `state["bookmarks"][stream]["partitions"]` is a list of
`{"context": {"task_id": 1234[, "labeling_state": "Labeled"]}, "replication_key":
"updated_after", "replication_key_value": "<UTC time>"}`. A partition of `task_results_v2`
also records that its task is read through results v2, bookmark or not.
"""

from __future__ import annotations

import json
import typing as t

from tap_centaur.clock import format_bookmark, parse_start_date
from tap_centaur.errors import StateError
from tap_centaur.settings import LABELING_STATES

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from singer_sdk.helpers.types import TapState

#: The key in partition state that holds the bookmark (the Singer SDK's usual name).
BOOKMARK_KEY = "replication_key_value"
#: What the bookmark feeds: the API's `updated_after` filter.
BOOKMARK_FILTER = "updated_after"
#: The streams whose state is per partition (a task, or a task and a labeling state).
PARTITIONED_STREAMS = ("task_results", "task_results_v2")

Context = dict[str, t.Any]
PartitionKey = tuple[tuple[str, t.Any], ...]


def partition_key(context: Mapping[str, t.Any]) -> PartitionKey:
    """A partition context as a hashable key (the same whatever the order of its keys)."""
    return tuple(sorted(context.items()))


def read_state_text(text: str, where: str) -> dict[str, t.Any]:
    """Decode a state file's text (a clear error for an empty or malformed file).

    Raises:
        StateError: naming the file and what is wrong.
    """
    if not text.strip():
        raise StateError(where, "the file is empty (an empty state is {}).", in_an_entry=False)
    try:
        value = json.loads(text)
    except ValueError as error:
        raise StateError(where, f"it is not valid JSON ({error}).", in_an_entry=False) from None
    return normalise_state(value, where)


def normalise_state(state: object, where: str) -> dict[str, t.Any]:
    """Check an input state and return it with every partition in one normalised form.

    Task ids given as numeric strings become integers and bookmarks in any ISO 8601 form
    become the one UTC format; partitions that then coincide are merged, keeping the
    earliest bookmark (re-reading is safe, skipping is not). Anything that cannot be read
    without guessing is an error, never a reason for a silent full re-read.

    Raises:
        StateError: naming the state and the entry at fault.
    """
    if not isinstance(state, dict):
        raise StateError(
            where, f"it is a JSON {_json_type(state)}, not an object.", in_an_entry=False
        )
    bookmarks = state.get("bookmarks", {})
    if bookmarks is None:
        bookmarks = {}
    if not isinstance(bookmarks, dict):
        raise StateError(where, f"'bookmarks' is a JSON {_json_type(bookmarks)}, not an object.")
    result: dict[str, t.Any] = {**state, "bookmarks": {}}
    for stream, stream_state in bookmarks.items():
        entry = f"bookmarks.{stream}"
        if not isinstance(stream_state, dict):
            raise StateError(where, f"'{entry}' is a JSON {_json_type(stream_state)}.")
        result["bookmarks"][stream] = (
            _normalise_stream(stream_state, where, entry)
            if stream in PARTITIONED_STREAMS
            else stream_state
        )
    return result


def _normalise_stream(stream_state: dict[str, t.Any], where: str, entry: str) -> dict[str, t.Any]:
    partitions = stream_state.get("partitions", [])
    if partitions is None:
        partitions = []
    if not isinstance(partitions, list):
        raise StateError(where, f"'{entry}.partitions' is a JSON {_json_type(partitions)}.")
    merged: dict[PartitionKey, dict[str, t.Any]] = {}
    for number, partition in enumerate(partitions):
        normal = _normalise_partition(partition, where, f"{entry}.partitions[{number}]")
        key = partition_key(normal["context"])
        if key in merged:
            normal = _earliest(merged[key], normal)
        merged[key] = normal
    return {**stream_state, "partitions": list(merged.values())}


def _normalise_partition(partition: object, where: str, entry: str) -> dict[str, t.Any]:
    if not isinstance(partition, dict):
        raise StateError(where, f"'{entry}' is a JSON {_json_type(partition)}, not an object.")
    context = partition.get("context")
    if not isinstance(context, dict):
        raise StateError(where, f"'{entry}' has no 'context' object (it is {_json_type(context)}).")
    normal = {**partition, "context": _normalise_context(context, where, entry)}
    value = partition.get(BOOKMARK_KEY)
    if value is None:
        normal.pop(BOOKMARK_KEY, None)
        return normal
    if not isinstance(value, str):
        raise StateError(where, f"'{entry}' has a bookmark {value!r} that is not a time.")
    try:
        moment = parse_start_date(value)
    except ValueError:
        raise StateError(
            where, f"'{entry}' has a bookmark {value!r} that is not an ISO 8601 time."
        ) from None
    normal[BOOKMARK_KEY] = format_bookmark(moment)
    normal["replication_key"] = BOOKMARK_FILTER
    return normal


def _normalise_context(context: dict[str, t.Any], where: str, entry: str) -> Context:
    task_id = context.get("task_id")
    if isinstance(task_id, str) and task_id.strip().isdigit():
        task_id = int(task_id.strip())
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        raise StateError(where, f"'{entry}.context' has task_id {task_id!r}, not a task id.")
    normal: Context = {"task_id": task_id}
    if "labeling_state" in context:
        state = context["labeling_state"]
        if state not in LABELING_STATES:
            raise StateError(
                where, f"'{entry}.context' has labeling_state {state!r}, not a labeling state."
            )
        normal["labeling_state"] = state
    unknown = sorted(set(context) - {"task_id", "labeling_state"})
    if unknown:
        raise StateError(where, f"'{entry}.context' has unknown keys {unknown}.")
    return normal


def _earliest(first: dict[str, t.Any], second: dict[str, t.Any]) -> dict[str, t.Any]:
    """Of two states of one partition, the one that re-reads the most (no bookmark wins)."""
    if BOOKMARK_KEY not in first:
        return first
    if BOOKMARK_KEY not in second:
        return second
    earlier = parse_start_date(first[BOOKMARK_KEY]) <= parse_start_date(second[BOOKMARK_KEY])
    return first if earlier else second


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean"}.get(type(value), "number")


class PartitionStates:
    """The partition states of one stream, indexed by context (no scan per lookup).

    It edits the tap's state in place, so the SDK's STATE messages carry what it writes.
    """

    def __init__(self, tap_state: TapState, stream: str) -> None:
        """The partitions of `stream` in `tap_state`, indexed on first use.

        First use comes after the input state is loaded: the SDK builds streams before.
        """
        self._tap_state = tap_state
        self._stream = stream
        self._indexed: dict[PartitionKey, dict[str, t.Any]] | None = None

    @property
    def _index(self) -> dict[PartitionKey, dict[str, t.Any]]:
        if self._indexed is None:
            stream_state = self._tap_state.get("bookmarks", {}).get(self._stream, {})
            partitions = stream_state.get("partitions", [])
            self._indexed = {partition_key(p["context"]): p for p in partitions}
        return self._indexed

    @property
    def _partitions(self) -> list[dict[str, t.Any]]:
        """The stream's list of partition states in the tap's state (created on first write)."""
        stream_state = self._tap_state.setdefault("bookmarks", {}).setdefault(self._stream, {})
        partitions: list[dict[str, t.Any]] = stream_state.setdefault("partitions", [])
        return partitions

    def bookmark(self, context: Mapping[str, t.Any]) -> datetime | None:
        """The partition's bookmark as an aware UTC datetime, or None."""
        value = self._index.get(partition_key(context), {}).get(BOOKMARK_KEY)
        return parse_start_date(value) if value else None

    def contexts(self) -> list[Context]:
        """The contexts of every partition in the state (this run's and earlier runs')."""
        return [dict(p["context"]) for p in self._index.values()]

    def ensure(self, context: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The partition's state, created (without a bookmark) if absent."""
        key = partition_key(context)
        partition = self._index.get(key)
        if partition is None:
            partition = self._index[key] = {"context": dict(context)}
            self._partitions.append(partition)  # one step: signal-safe
        return partition

    def set_bookmark(self, context: Mapping[str, t.Any], moment: datetime) -> None:
        """Store a bookmark in the one normalised format (UTC, whole seconds)."""
        partition = self.ensure(context)
        partition["replication_key"] = BOOKMARK_FILTER
        partition[BOOKMARK_KEY] = format_bookmark(moment)

    def order(self, contexts: Sequence[Mapping[str, t.Any]]) -> None:
        """Put the partitions in the order of `contexts`, others (earlier runs) after them.

        So STATE is the same whatever order partitions finish in. The list is replaced in
        one step: a signal's STATE never sees it half sorted.
        """
        if not self._index:
            return
        rank = {partition_key(context): number for number, context in enumerate(contexts)}
        self._tap_state["bookmarks"][self._stream]["partitions"] = sorted(
            self._index.values(),
            key=lambda p: rank.get(partition_key(p["context"]), len(rank)),
        )
