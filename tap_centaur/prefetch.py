"""Fetching partitions in background threads, in order, into a bounded buffer.

The SDK emits partitions one after another. While it emits one, up to `parallelism` worker
threads fetch the pages of it and of the partitions after it, so network waits overlap but
Singer output and STATE stay sequential. Memory is bounded: pages of partitions ahead of the
one being emitted share a budget counted in records (`ahead_records`), and the partition being
emitted may only run `current_pages` pages ahead of its consumer. A failure is raised in the
main thread when its partition's turn comes, after the partitions before it have completed.
"""

from __future__ import annotations

import threading
import typing as t
from collections import deque

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence, Sized

P = t.TypeVar("P", bound="Sized")

#: Records buffered for partitions ahead of the one being emitted (packed: about 0.1-0.3 KiB
#: each, so a few MiB in all).
DEFAULT_AHEAD_RECORDS = 20_000
#: Pages the worker of the partition being emitted may fetch ahead of it.
DEFAULT_CURRENT_PAGES = 2
_JOIN_SECONDS = 5.0


class _Done:
    """Marks the end of a partition's pages."""


_DONE = _Done()


class PartitionPrefetcher(t.Generic[P]):
    """Runs `fetch(index)` for partitions 0..n-1 in worker threads; yields their pages in order.

    A page's size (`len(page)`) is its number of records.
    """

    def __init__(
        self,
        fetch: Callable[[int], Iterator[P]],
        partitions: int,
        *,
        parallelism: int,
        ahead_records: int = DEFAULT_AHEAD_RECORDS,
        current_pages: int = DEFAULT_CURRENT_PAGES,
        pack: Callable[[P], P] | None = None,
        group_sizes: Sequence[int] | None = None,
    ) -> None:
        """Prepare one buffer per partition; start no thread yet.

        `pack`, if given, compacts a page that must wait for its partition's turn.
        `group_sizes` splits the partitions, in order, into groups that one worker fetches one
        after another (default: every partition on its own).
        """
        self._fetch = fetch
        self._pack = pack
        sizes = list(group_sizes) if group_sizes is not None else [1] * partitions
        if sum(sizes) != partitions or min(sizes, default=1) < 1:
            raise ValueError(f"group sizes {sizes} do not split {partitions} partitions")
        starts = [sum(sizes[:number]) for number in range(len(sizes))]
        self._groups = [
            range(start, start + size) for start, size in zip(starts, sizes, strict=True)
        ]
        self._buffers: list[deque[P | _Done | BaseException]] = [deque() for _ in range(partitions)]
        self._parallelism = max(1, min(parallelism, len(self._groups)))
        self._ahead_records = ahead_records
        self._current_pages = current_pages
        self._buffered_records = 0
        self._current = 0
        self._next_claim = 0
        self._changed = threading.Condition()
        self._stopped = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers (daemon threads: a killed run never waits for them)."""
        for number in range(self._parallelism):
            thread = threading.Thread(
                target=self._work, name=f"tap-centaur-fetch-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def pages(self, index: int) -> Iterator[P]:
        """Partition `index`'s pages, as its worker fetches them; partitions go in order.

        Raises:
            BaseException: whatever the worker's fetch raised, in this thread.
        """
        with self._changed:
            self._current = index
            self._changed.notify_all()
        buffer = self._buffers[index]
        while True:
            with self._changed:
                while not buffer:
                    self._changed.wait()
                item = buffer.popleft()
                if not isinstance(item, (_Done, BaseException)):
                    self._buffered_records -= len(item)
                self._changed.notify_all()
            if isinstance(item, _Done):
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the workers and wait for them (a worker mid-request finishes that request)."""
        with self._changed:
            self._stopped = True
            for buffer in self._buffers:
                buffer.clear()
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=_JOIN_SECONDS)
        self._threads.clear()

    def _claim(self) -> range | None:
        with self._changed:
            if self._stopped or self._next_claim >= len(self._groups):
                return None
            group = self._groups[self._next_claim]
            self._next_claim += 1
            return group

    def _work(self) -> None:
        while (group := self._claim()) is not None:
            for index in group:
                if not self._fetch_partition(index):
                    return

    def _fetch_partition(self, index: int) -> bool:
        """Fetch one partition into its buffer; False when stopped."""
        try:
            for fetched in self._fetch(index):
                # Rebinding drops the unpacked page while this worker waits for room.
                page = self._pack(fetched) if self._pack and index != self._current else fetched
                del fetched
                if not self._put(index, page):
                    return False
            return self._put(index, _DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            return self._put(index, exc)

    def _put(self, index: int, item: P | _Done | BaseException) -> bool:
        """Buffer an item once there is room; False when stopped."""
        size = len(item) if not isinstance(item, (_Done, BaseException)) else 0
        with self._changed:
            while not self._stopped and not self._has_room(index, size):
                self._changed.wait()
            if self._stopped:
                return False
            self._buffers[index].append(item)
            self._buffered_records += size
            self._changed.notify_all()
            return True

    def _has_room(self, index: int, size: int) -> bool:
        if size == 0:  # end markers and errors take no room
            return True
        if index == self._current:  # never blocked by the others' budget: no deadlock
            return len(self._buffers[index]) < self._current_pages
        budget_left = self._ahead_records - self._buffered_records
        return size <= budget_left or self._buffered_records == 0
