"""PartitionFetcher: whole partitions in order, bounded queues, workers that end (through runs:
no head-of-line blocking in test_full_sync.py, failures in test_parallel.py and
test_task_failures.py)."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from tap_centaur.parallel import Fetched, PartitionDone, PartitionFetcher


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
