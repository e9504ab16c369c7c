"""Partitions fetched by worker threads, their pages handed to one consumer as they arrive.

Up to `parallelism` worker threads each take the next group of partitions and fetch its pages;
the consumer (the SDK's thread, which alone writes Singer messages) receives every page as
soon as it is fetched, whichever partition it belongs to. So the consumer emits while the
network is busy, and the run ends soon after the slowest partition's last page.

Order: a group's events reach the consumer in the order its worker produced them (its
partitions one after another, each partition's pages in order); groups interleave. Memory is
bounded: a worker requests its next page only while fewer than `queued_records` of its records
(`len(page)`) wait for the consumer.
A partition that fails ends with a `PartitionFailed` event; unless the failure is
`recoverable`, no partition starts after it, and the events end once the partitions in
progress have finished.
"""

from __future__ import annotations

import itertools
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence, Sized

P = t.TypeVar("P", bound="Sized")

#: Records of one group's pages that may wait for the consumer before its worker stops
#: requesting: one page at the API's largest page size (1,000), several small ones. More cost
#: CPU and memory at large pages, fewer let requests wait at small ones (docs/PERFORMANCE.md).
DEFAULT_QUEUED_RECORDS = 1000
_JOIN_SECONDS = 5.0


@dataclass(frozen=True)
class Fetched(t.Generic[P]):
    """A page of partition `partition`, as its worker fetched it."""

    partition: int
    page: P


@dataclass(frozen=True)
class PartitionDone:
    """Every page of `partition` has been handed over."""

    partition: int


@dataclass(frozen=True)
class PartitionFailed:
    """Fetching `partition` raised `error`; the pages before it have been handed over."""

    partition: int
    error: BaseException


class _GroupEnd:
    """Marks the end of a group's events (internal to the fetcher)."""


_GROUP_END = _GroupEnd()
_END = object()


class PartitionFetcher(t.Generic[P]):
    """Runs `fetch(index)` for partitions 0..n-1 in worker threads; yields events as they come."""

    def __init__(
        self,
        fetch: Callable[[int], Iterator[P]],
        partitions: int,
        *,
        parallelism: int,
        queued_records: int = DEFAULT_QUEUED_RECORDS,
        group_sizes: Sequence[int] | None = None,
        recoverable: Callable[[BaseException], bool] = lambda _error: False,
    ) -> None:
        """Prepare the groups; start no thread yet.

        `group_sizes` splits the partitions, in order, into groups that one worker fetches one
        after another (default: every partition on its own). A failure for which
        `recoverable(error)` is true does not stop other partitions from starting.
        """
        sizes = list(group_sizes) if group_sizes is not None else [1] * partitions
        ends = itertools.accumulate(sizes)  # a running sum: linear in the number of groups
        self._groups = [range(end - size, end) for end, size in zip(ends, sizes, strict=True)]
        self._fetch = fetch
        self._recoverable = recoverable
        self._parallelism = max(1, min(parallelism, len(self._groups)))
        self._queued_records = max(1, queued_records)
        #: Records waiting in each group's queue (an empty page counts as one).
        self._waiting: dict[int, int] = {}
        #: The event queues of the groups claimed and not yet fully consumed, by group number.
        self._queues: dict[
            int, deque[Fetched[P] | PartitionDone | PartitionFailed | _GroupEnd]
        ] = {}
        self._next_group = 0
        self._halted = False
        self._closed = False
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers (daemon threads: a killed run never waits for them)."""
        for number in range(self._parallelism):
            thread = threading.Thread(
                target=self._work, name=f"tap-centaur-fetch-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def events(self) -> Iterator[Fetched[P] | PartitionDone | PartitionFailed]:
        """Every partition's pages and its end (done or failed), as the workers produce them.

        When several groups have events waiting, the earliest group's come first.
        """
        while True:
            with self._changed:
                while (event := self._take()) is None:
                    if self._finished():
                        return
                    self._changed.wait()
                self._changed.notify_all()
            if not isinstance(event, _GroupEnd):
                yield event

    def halt(self) -> None:
        """Start no further group; those in progress finish (the run is being stopped)."""
        with self._changed:
            self._halted = True
            self._changed.notify_all()

    def close(self) -> None:
        """Stop the workers and wait for them, at most `_JOIN_SECONDS` in all.

        A worker in the middle of a request finishes it first; one that takes longer is left
        behind (a daemon thread: it never delays the exit of the process).
        """
        with self._changed:
            self._closed = self._halted = True
            self._queues.clear()
            self._waiting.clear()
            self._changed.notify_all()
        deadline = time.monotonic() + _JOIN_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _take(self) -> Fetched[P] | PartitionDone | PartitionFailed | _GroupEnd | None:
        """The next waiting event (lock held); a group's end removes its queue."""
        for group, queue in self._queues.items():
            if queue:
                event = queue.popleft()
                if isinstance(event, Fetched):
                    self._waiting[group] -= _size(event)
                elif isinstance(event, _GroupEnd):
                    del self._queues[group], self._waiting[group]
                return event
        return None

    def _finished(self) -> bool:
        """No group is in progress and none will start (lock held)."""
        return self._closed or (
            not self._queues and (self._halted or self._next_group >= len(self._groups))
        )

    def _claim(self) -> int | None:
        with self._changed:
            if self._halted or self._next_group >= len(self._groups):
                return None
            group = self._next_group
            self._next_group += 1
            self._queues[group] = deque()
            self._waiting[group] = 0
            return group

    def _work(self) -> None:
        while (group := self._claim()) is not None:
            try:
                for index in self._groups[group]:
                    if self._halted or not self._fetch_partition(group, index):
                        break
            finally:  # whatever happens, the consumer learns that the group has ended
                self._put(group, _GROUP_END)

    def _fetch_partition(self, group: int, index: int) -> bool:
        """Fetch one partition into its group's queue; False when closed.

        The next page is only requested while the queue has room, so a waiting worker holds
        no page.
        """
        try:
            pages = self._fetch(index)
            while self._wait_for_room(group):
                page = next(pages, _END)
                if page is _END:
                    return self._put(group, PartitionDone(index))
                self._put(group, Fetched(index, t.cast("P", page)))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            if not self._recoverable(error):
                with self._changed:
                    self._halted = True
            return self._put(group, PartitionFailed(index, error))
        return False

    def _wait_for_room(self, group: int) -> bool:
        """Wait until the group's queue has room for a page; False when closed."""
        with self._changed:
            while not self._closed and self._waiting[group] >= self._queued_records:
                self._changed.wait()
            return not self._closed

    def _put(
        self, group: int, event: Fetched[P] | PartitionDone | PartitionFailed | _GroupEnd
    ) -> bool:
        """Queue an event; False when closed."""
        with self._changed:
            if self._closed:
                return False
            self._queues[group].append(event)
            if isinstance(event, Fetched):
                self._waiting[group] += _size(event)
            self._changed.notify_all()
            return True


def _size(event: Fetched[t.Any]) -> int:
    """A page's weight in the queue: its records, at least 1 (empty pages take room too)."""
    return max(1, len(event.page))
