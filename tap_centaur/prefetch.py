"""Fetching partitions in background threads, in order, into bounded queues.

The SDK emits partitions one after another. While it emits one, up to `parallelism` worker
threads fetch the pages of it and of the partitions after it, each into a small queue, so
network waits overlap but Singer output and STATE stay sequential. Memory is bounded by
`parallelism x queue_pages` pages. A failure is raised in the main thread when its
partition's turn comes, after the partitions before it have completed.
"""

from __future__ import annotations

import queue
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

P = t.TypeVar("P")

#: Pages a worker may fetch ahead of the consumer, per partition.
DEFAULT_QUEUE_PAGES = 4
_PUT_POLL_SECONDS = 0.2
_JOIN_SECONDS = 5.0


class _Done:
    """Marks the end of a partition's pages."""


_DONE = _Done()

_Item: t.TypeAlias = P | _Done | BaseException


class PartitionPrefetcher(t.Generic[P]):
    """Runs `fetch(index)` for partitions 0..n-1 in worker threads; yields their pages in order."""

    def __init__(
        self,
        fetch: Callable[[int], Iterator[P]],
        partitions: int,
        *,
        parallelism: int,
        queue_pages: int = DEFAULT_QUEUE_PAGES,
    ) -> None:
        """Prepare one bounded queue per partition; start no thread yet."""
        self._fetch = fetch
        self._queues: list[queue.Queue[_Item[P]]] = [
            queue.Queue(maxsize=queue_pages) for _ in range(partitions)
        ]
        self._parallelism = max(1, min(parallelism, partitions))
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
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
        """Partition `index`'s pages, as its worker fetches them.

        Raises:
            BaseException: whatever the worker's fetch raised, in this thread.
        """
        source = self._queues[index]
        while True:
            item = source.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the workers and wait for them (a worker mid-request finishes that request)."""
        self._stop.set()
        for pending in self._queues:  # wake workers blocked on a full queue
            while not pending.empty():
                pending.get_nowait()
        for thread in self._threads:
            thread.join(timeout=_JOIN_SECONDS)
        self._threads.clear()

    def _claim(self) -> int | None:
        with self._lock:
            if self._next >= len(self._queues) or self._stop.is_set():
                return None
            index = self._next
            self._next += 1
            return index

    def _work(self) -> None:
        while (index := self._claim()) is not None:
            target = self._queues[index]
            try:
                for page in self._fetch(index):
                    if not self._put(target, page):
                        return
                self._put(target, _DONE)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                self._put(target, exc)

    def _put(
        self, target: queue.Queue[P | _Done | BaseException], item: P | _Done | BaseException
    ) -> bool:
        """Block until there is room, unless stopped; False when stopped."""
        while not self._stop.is_set():
            try:
                target.put(item, timeout=_PUT_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
