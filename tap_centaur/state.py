"""The tap's state: the input state read strictly, and each partition's bookmark in it.

A partition of a results stream is `{"context": {"task_id": 1234[, "labeling_state": "Labeled"]},
"replication_key": "updated_after", "replication_key_value": "<UTC time>"}`.
"""

from __future__ import annotations

import json
import threading
import typing as t

from tap_centaur.clock import format_bookmark, parse_start_date
from tap_centaur.errors import StateError
from tap_centaur.settings import LABELING_STATES

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from singer_sdk.helpers.types import TapState

BOOKMARK_KEY = "replication_key_value"
#: The streams whose state is per partition (a task, or a task and a labeling state).
PARTITIONED_STREAMS = ("task_results", "task_results_v2")

Context = dict[str, t.Any]
PartitionKey = tuple[tuple[str, t.Any], ...]
_T = t.TypeVar("_T", dict[str, t.Any], list[t.Any])


def partition_key(context: Mapping[str, t.Any]) -> PartitionKey:
    """A partition context as a hashable key (the same whatever the order of its keys)."""
    return tuple(sorted(context.items()))


def read_state_text(read: Callable[[], str], where: str) -> dict[str, t.Any]:
    """Read a state file's text and check it (`normalise_state`); else a `StateError`."""
    try:
        text = read().removeprefix("\ufeff")  # a UTF-8 BOM, which the SDK's reading skips too
        value = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, too deep
        raise StateError(where, f"it is not valid JSON ({error}).", in_an_entry=False) from None
    if not text.strip():
        raise StateError(where, "the file is empty (an empty state is {}).", in_an_entry=False)
    return normalise_state(value, where)


def normalise_state(given: object, where: str) -> dict[str, t.Any]:
    """The input state, each partition in one form (merged: earliest bookmark); or a StateError."""
    state = _expect(given, dict, where)
    bookmarks = _expect(state.get("bookmarks"), dict, where, "bookmarks", empty={})
    result: dict[str, t.Any] = {**state, "bookmarks": {}}
    for stream, value in bookmarks.items():
        entry = f"bookmarks.{stream}"
        stream_state = result["bookmarks"][stream] = _expect(value, dict, where, entry)
        if stream not in PARTITIONED_STREAMS:
            continue
        partitions = _expect(stream_state.get("partitions"), list, where, f"{entry}.partitions", [])
        merged: dict[PartitionKey, dict[str, t.Any]] = {}
        for number, partition in enumerate(partitions):
            normal = _normalise_partition(partition, where, f"{entry}.partitions[{number}]")
            key = partition_key(normal["context"])
            # The earliest bookmark wins, no bookmark first (bookmarks in one format sort as text).
            earlier = merged.get(key, normal)
            merged[key] = min(earlier, normal, key=lambda p: p.get(BOOKMARK_KEY, ""))
        result["bookmarks"][stream] = {**stream_state, "partitions": list(merged.values())}
    return result


def _expect(
    value: object, kind: type[_T], where: str, entry: str = "", empty: _T | None = None
) -> _T:
    """`value`, when it is a JSON `kind` (`empty` for a null, when given); no `entry`: the file."""
    if value is None and empty is not None:
        return empty
    if not isinstance(value, kind):
        names = {dict: "object", list: "list", str: "string", bool: "boolean"}
        found = "null" if value is None else f"a JSON {names.get(type(value), 'number')}"
        subject = f"'{entry}'" if entry else "it"
        wanted = "an object" if kind is dict else "a list"
        raise StateError(where, f"{subject} is {found}, not {wanted}.", in_an_entry=bool(entry))
    return value


def _normalise_partition(partition: object, where: str, entry: str) -> dict[str, t.Any]:
    partition = _expect(partition, dict, where, entry)
    context = _expect(partition.get("context"), dict, where, f"{entry}.context")
    task_id = context.get("task_id")
    if isinstance(task_id, str) and task_id.strip().isdecimal():
        task_id = int(task_id)
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        raise StateError(where, f"'{entry}.context' has task_id {task_id!r}, not a task id.")
    if unknown := sorted(set(context) - {"task_id", "labeling_state"}):
        raise StateError(where, f"'{entry}.context' has unknown keys {unknown}.")
    if context.get("labeling_state", LABELING_STATES[0]) not in LABELING_STATES:
        state = f"labeling_state {context['labeling_state']!r}"
        raise StateError(where, f"'{entry}.context' has {state}, not a labeling state.")
    normal = {**partition, "context": {**context, "task_id": task_id}}
    value = normal.pop(BOOKMARK_KEY, None)
    if value is None:
        return normal
    try:
        moment = parse_start_date(value)
    except (ValueError, AttributeError):  # AttributeError: not a string
        kind = "an ISO 8601 time" if isinstance(value, str) else "a time"
        raise StateError(where, f"'{entry}' has a bookmark {value!r} that is not {kind}.") from None
    return {**normal, "replication_key": "updated_after", BOOKMARK_KEY: format_bookmark(moment)}


class PartitionStates:
    """One stream's partition states, indexed by context, edited in the tap's state in place."""

    def __init__(self, tap_state: TapState, stream: str) -> None:
        self._tap_state, self._stream = tap_state, stream
        self._index: dict[PartitionKey, dict[str, t.Any]] | None = None
        self._tasks: set[int] = set()
        self._lock = threading.Lock()

    def _partitions(self) -> dict[PartitionKey, dict[str, t.Any]]:
        """Indexed on first use (after the SDK loaded the input state), once: two threads may."""
        with self._lock:
            if self._index is None:
                stream_state = self._tap_state.get("bookmarks", {}).get(self._stream, {})
                partitions = stream_state.get("partitions", [])
                self._index = {partition_key(p["context"]): p for p in partitions}
                self._tasks.update(p["context"]["task_id"] for p in partitions)
            return self._index

    def bookmark(self, context: Mapping[str, t.Any]) -> datetime | None:
        """The partition's bookmark, or None."""
        value = self._partitions().get(partition_key(context), {}).get(BOOKMARK_KEY)
        return parse_start_date(value) if value else None

    def has_task(self, task_id: int) -> bool:
        """Whether a partition of the task is in the state (of this run or an earlier one)."""
        self._partitions()
        return task_id in self._tasks

    def ensure(self, context: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The partition's state, created (without a bookmark) if absent."""
        index, key = self._partitions(), partition_key(context)
        if key not in index:
            index[key] = {"context": dict(context)}
            self._tasks.add(context["task_id"])
            stream_state = self._tap_state.setdefault("bookmarks", {}).setdefault(self._stream, {})
            stream_state.setdefault("partitions", []).append(index[key])  # signal-safe
        return index[key]

    def set_bookmark(self, context: Mapping[str, t.Any], moment: datetime) -> None:
        """Store a bookmark in the one format (UTC, whole seconds)."""
        partition = self.ensure(context)
        partition["replication_key"] = "updated_after"
        partition[BOOKMARK_KEY] = format_bookmark(moment)

    def order(self, contexts: Sequence[Mapping[str, t.Any]]) -> None:
        """Partitions in the order of `contexts`, earlier runs' after; replaced in one step."""
        if not (index := self._partitions()):
            return
        rank = {partition_key(context): number for number, context in enumerate(contexts)}
        self._tap_state["bookmarks"][self._stream]["partitions"] = sorted(
            index.values(), key=lambda p: rank.get(partition_key(p["context"]), len(rank))
        )
