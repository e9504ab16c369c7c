"""PartitionFetcher: whole partitions in order, bounded queues, workers that end (through runs:
no head-of-line blocking in test_full_sync.py, failures in test_parallel.py and
test_task_failures.py)."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from tap_centaur.parallel import PartitionFetcher


def run_all(fetcher, groups, on_event=lambda event: None):
    """Start `fetcher` on `groups`, consume every event (`on_event` sees each), close it."""
    events = []
    fetcher.start(groups)
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
    fetcher = PartitionFetcher(pages_of, parallelism=parallelism, queued_records=queued_records)
    events = run_all(fetcher, groups)
    for index in range(5):
        mine = [e for e in events if e[0] == index]
        assert mine == [*((index, (index, n)) for n in range(4)), (index, None)]
    order = [partition for partition, _ in events]
    if len(groups) == 3:  # a group's partitions never interleave: 0 then 1, 3 then 4
        for first, second in ((0, 1), (3, 4)):
            assert max(i for i, p in enumerate(order) if p == first) < order.index(second)
    if parallelism == 1:  # one worker: the configured order exactly
        assert order == sorted(order)


def test_queues_stay_bounded_while_the_consumer_is_slow():
    produced: dict[int, int] = defaultdict(int)
    consumed: dict[int, int] = defaultdict(int)
    ahead: list[int] = []

    def fetch(index):
        for page in range(20):
            produced[index] += 1
            yield [page] * 10  # 10 records

    def consume_slowly(event):
        if event[1] is not None:  # a page
            consumed[event[0]] += 1
            threading.Event().wait(0.001)  # let the workers run ahead as far as they can
            ahead.append(max(produced[i] - consumed[i] for i in range(4)))

    run_all(
        PartitionFetcher(fetch, parallelism=4, queued_records=20), each_alone(4), consume_slowly
    )
    assert sum(consumed.values()) == 80
    # A worker asks for its next page only while fewer than 20 of its records wait.
    assert max(ahead) <= 2


def test_close_ends_workers_blocked_on_a_full_queue():
    def endless(index):
        while True:
            yield [index]

    fetcher = PartitionFetcher(endless, parallelism=3, queued_records=1)
    fetcher.start(each_alone(3))
    workers = list(fetcher._threads)
    events = fetcher.events()
    next(events)  # workers are now blocked, waiting for room
    fetcher.close()
    assert not [worker for worker in workers if worker.is_alive()]
    assert list(events) == []


def test_closing_while_the_workers_start_joins_only_started_ones(monkeypatch):
    """A run that fails during the early start closes the fetcher from the main thread."""
    fetcher = PartitionFetcher(lambda partition: [], parallelism=2)
    errors: list[RuntimeError] = []

    def close() -> None:
        try:
            fetcher.close()
        except RuntimeError as error:  # "cannot join thread before it is started"
            errors.append(error)

    closer, start = threading.Thread(target=close), threading.Thread.start

    def close_first(thread: threading.Thread) -> None:
        if closer.ident is None:
            start(closer)
            closer.join(0.5)  # the close runs now, unless the fetcher makes it wait
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", close_first)
    fetcher.start(each_alone(2))
    closer.join()
    assert errors == []
