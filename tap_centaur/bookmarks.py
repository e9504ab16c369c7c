"""Per-partition bookmarks: where the next incremental sync of a task starts.

A bookmark is a server-clock time taken before the partition's first page was queried
(`timestamps.server_time_before_request`), written only once every page of the partition
has been read. So a resumed run asks for every case updated since a moment this run had
not yet seen, and a failed partition keeps its previous bookmark.
"""

from __future__ import annotations

import typing as t

from tap_centaur.timestamps import format_bookmark, parse_bookmark

if t.TYPE_CHECKING:
    from datetime import datetime

#: The key in partition state that holds the bookmark (the Singer SDK's usual name).
BOOKMARK_KEY = "replication_key_value"
#: What the bookmark feeds: the API's `updated_after` filter.
BOOKMARK_FILTER = "updated_after"


def read_bookmark(partition_state: t.Mapping[str, t.Any]) -> datetime | None:
    """The partition's bookmark as an aware UTC datetime, or None."""
    return parse_bookmark(partition_state.get(BOOKMARK_KEY))


def write_bookmark(partition_state: dict[str, t.Any], moment: datetime) -> None:
    """Store a bookmark in the one normalised format (UTC, whole seconds)."""
    partition_state["replication_key"] = BOOKMARK_FILTER
    partition_state[BOOKMARK_KEY] = format_bookmark(moment)


def find_partition_state(
    tap_state: t.Mapping[str, t.Any], stream_name: str, context: t.Mapping[str, t.Any]
) -> t.Mapping[str, t.Any]:
    """A partition's saved state, read without creating entries (empty if none)."""
    stream_state = tap_state.get("bookmarks", {}).get(stream_name, {})
    for partition_state in stream_state.get("partitions", []):
        if partition_state.get("context") == context:
            return t.cast("t.Mapping[str, t.Any]", partition_state)
    return {}


def sort_partition_states(
    stream_state: dict[str, t.Any], contexts: t.Sequence[t.Mapping[str, t.Any]]
) -> None:
    """Keep the partition states in the order of `contexts`, whatever order they finish in.

    Partitions that are not in `contexts` (tasks synced by earlier runs) keep their relative
    order after them, so STATE is the same for every `max_parallel_tasks`.
    """
    rank = {partition_key(context): number for number, context in enumerate(contexts)}
    # A new list, assigned at once: a signal handler writing STATE never sees a list that is
    # being sorted in place (empty until the sort ends).
    stream_state["partitions"] = sorted(
        stream_state.get("partitions", []),
        key=lambda partition_state: rank.get(
            partition_key(partition_state.get("context", {})), len(rank)
        ),
    )


def partition_key(context: t.Mapping[str, t.Any]) -> tuple[tuple[str, t.Any], ...]:
    """A partition context as a hashable key (the same whatever the order of its keys)."""
    return tuple(sorted(context.items()))
