"""PartitionFetcher: whole partitions in order, bounded queues, no head-of-line blocking."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from tap_centaur.parallel import Fetched, PartitionDone, PartitionFailed, PartitionFetcher

WAIT = 10.0  # seconds before a test that would otherwise hang fails instead


def run_all(fetcher, on_event=lambda event: None):
    """Start `fetcher`, consume every event (`on_event` sees each as it comes), close it."""
    events = []
    fetcher.start()
    try:
        for event in fetcher.events():
            events.append(event)
            on_event(event)
    finally:
        fetcher.close()
    return events


def pages_of(index):
    return iter([(index, page) for page in range(4)])


def each_alone(count):
    return [[index] for index in range(count)]


@pytest.mark.parametrize("parallelism", [1, 2, 5])
@pytest.mark.parametrize("queued_records", [0, 1, 5])
@pytest.mark.parametrize("groups", [each_alone(5), [[0, 1], [2], [3, 4]]])
def test_every_partition_arrives_whole_and_in_order(parallelism, queued_records, groups):
    fetcher = PartitionFetcher(
        pages_of, groups, parallelism=parallelism, queued_records=queued_records
    )
    events = run_all(fetcher)
    for index in range(5):
        mine = [e for e in events if e.partition == index]
        assert mine == [*(Fetched(index, (index, n)) for n in range(4)), PartitionDone(index)]
    if len(groups) == 3:  # a group's partitions never interleave: 0 then 1, 3 then 4
        order = [e.partition for e in events]
        for first, second in ((0, 1), (3, 4)):
            assert max(i for i, p in enumerate(order) if p == first) < order.index(second)
    if parallelism == 1:  # one worker: the configured order exactly
        assert [e.partition for e in events] == sorted(e.partition for e in events)


def test_queues_stay_bounded_while_the_consumer_is_slow():
    produced: dict[int, int] = defaultdict(int)
    consumed: dict[int, int] = defaultdict(int)
    ahead: list[int] = []

    def fetch(index):
        for page in range(20):
            produced[index] += 1
            yield [page] * 10  # 10 records

    def consume_slowly(event):
        if isinstance(event, Fetched):
            consumed[event.partition] += 1
            threading.Event().wait(0.001)  # let the workers run ahead as far as they can
            ahead.append(max(produced[i] - consumed[i] for i in range(4)))

    run_all(
        PartitionFetcher(fetch, each_alone(4), parallelism=4, queued_records=20), consume_slowly
    )
    assert sum(consumed.values()) == 80
    # A worker asks for its next page only while fewer than 20 of its records wait.
    assert max(ahead) <= 2


def test_a_slow_partition_does_not_hold_back_the_others():
    """Partition 0 waits until partition 1 has been consumed entirely: possible only if the
    consumer takes partition 1's pages while partition 0 is still being fetched."""
    partition_1_done = threading.Event()

    def fetch(index):
        yield "first"
        if index == 0 and not partition_1_done.wait(WAIT):
            raise AssertionError("partition 1 was held back behind partition 0")
        yield "last"

    def on_event(event):
        if event == PartitionDone(1):
            partition_1_done.set()

    events = run_all(PartitionFetcher(fetch, each_alone(2), parallelism=2), on_event)
    assert events.index(PartitionDone(1)) < events.index(PartitionDone(0))


def test_a_failure_starts_nothing_new_and_lets_started_partitions_finish():
    started: list[int] = []
    release = threading.Event()

    def fetch(index):
        started.append(index)
        if index == 1:
            raise ValueError("page 1 of partition 1 is broken")
        yield "a page"
        if index == 0 and not release.wait(WAIT):  # still in progress when 1 fails
            raise AssertionError("partition 1's failure never arrived")
        yield "another page"

    def on_event(event):
        if isinstance(event, PartitionFailed):
            release.set()

    events = run_all(PartitionFetcher(fetch, each_alone(6), parallelism=2), on_event)
    failed = [e for e in events if isinstance(e, PartitionFailed)]
    assert [(e.partition, str(e.error)) for e in failed] == [(1, "page 1 of partition 1 is broken")]
    assert PartitionDone(0) in events  # in progress at the failure: finished
    assert sorted(started) == [0, 1]  # nothing started after the failure


def test_a_recoverable_failure_does_not_stop_the_others():
    def fetch(index):
        if index == 1:
            raise LookupError("no generator at all")
        return iter([[index]])

    fetcher = PartitionFetcher(
        fetch, each_alone(4), parallelism=1, recoverable=lambda e: isinstance(e, LookupError)
    )
    events = run_all(fetcher)
    assert [type(e).__name__ for e in events] == [
        "Fetched", "PartitionDone", "PartitionFailed",
        "Fetched", "PartitionDone", "Fetched", "PartitionDone",
    ]  # fmt: skip


def test_close_ends_workers_blocked_on_a_full_queue():
    def endless(index):
        while True:
            yield [index]

    fetcher = PartitionFetcher(endless, each_alone(3), parallelism=3, queued_records=1)
    fetcher.start()
    workers = list(fetcher._threads)
    events = fetcher.events()
    next(events)  # workers are now blocked, waiting for room
    fetcher.close()
    assert not [worker for worker in workers if worker.is_alive()]
    assert list(events) == []
