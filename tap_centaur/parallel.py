"""Partitions fetched by worker threads, their pages handed to one consumer as they arrive.

A group's partitions are fetched one after another; a worker requests its next page only while
fewer than `queued_records` of its records wait.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections import deque

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

#: (partition, outcome): a page of it (Sized: its length is its weight in the queue), None once
#: every page is handed over, or the error that ended it (after the pages before it).
Event = tuple[t.Any, t.Any]


class PartitionFetcher:
    """Runs `fetch(partition)` for each partition of the groups in workers; yields events."""

    def __init__(
        self,
        fetch: Callable[[t.Any], Iterable[t.Any]],
        *,
        parallelism: int,
        queued_records: int = 1000,  # one page of the largest size, several small ones
        recoverable: Callable[[BaseException], bool] = lambda _error: False,
    ) -> None:
        """Start no thread yet; after a failure not `recoverable`, no further group starts."""
        self._fetch, self._recoverable, self._parallelism = fetch, recoverable, parallelism
        self._queued_records = max(1, queued_records)
        self._groups: Iterator[Sequence[t.Any]] = iter(())
        self._waiting: list[int] = []  # records each worker has queued
        self._events: deque[tuple[int, int, Event]] = deque()  # worker, records, event
        self._running = 0
        self._halted = self._closed = False
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self, groups: Sequence[Sequence[t.Any]]) -> None:
        """Fetch `groups` in workers (daemon threads: a killed run never waits for them)."""
        workers = max(1, min(self._parallelism, len(groups)))
        with self._changed:  # `close()` joins every thread listed: none may be unstarted
            if self._closed:
                return
            self._groups, self._waiting, self._running = iter(groups), [0] * workers, workers
            for number in range(workers):
                name = f"tap-centaur-fetch-{number}"
                thread = threading.Thread(target=self._work, args=(number,), name=name, daemon=True)
                self._threads.append(thread)
                thread.start()

    def events(self) -> Iterator[Event]:
        """Every partition's pages and its end, as the workers produce them."""
        while True:
            with self._changed:
                while not self._events and self._running and not self._closed:
                    self._changed.wait()
                if self._closed or not self._events:
                    return
                worker, size, event = self._events.popleft()
                self._waiting[worker] -= size
                self._changed.notify_all()
            yield event

    def close(self) -> None:
        """Stop the workers; wait for them at most 5 s in all (a request ends first)."""
        with self._changed:
            self._closed = self._halted = True
            self._events.clear()
            self._changed.notify_all()
        deadline = time.monotonic() + 5.0
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _work(self, worker: int) -> None:
        try:
            while (group := self._claim()) is not None:
                for partition in group:
                    if self._halted or not self._fetch_partition(worker, partition):
                        break
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def _claim(self) -> Sequence[t.Any] | None:
        with self._changed:
            return None if self._halted else next(self._groups, None)

    def _fetch_partition(self, worker: int, partition: t.Any) -> bool:  # noqa: ANN401
        """Queue a partition's events; False when closed."""
        try:
            for page in self._fetch(partition):
                # A page's weight: its records, at least 1 (empty pages take room too).
                if not self._put(worker, (partition, page), max(1, len(page))):
                    return False
            return self._put(worker, (partition, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            if not self._recoverable(error):  # no further partition starts
                with self._changed:
                    self._halted = True
            return self._put(worker, (partition, error))

    def _put(self, worker: int, event: Event, size: int = 0) -> bool:
        """Queue an event; wait until the worker may request another page; False when closed."""
        with self._changed:
            self._events.append((worker, size, event))
            self._waiting[worker] += size
            self._changed.notify_all()
            while not self._closed and self._waiting[worker] >= self._queued_records:
                self._changed.wait()
            return not self._closed
