"""The progress log: one line per interval across every task, then the totals."""

from __future__ import annotations

import logging

from tap_centaur.engine import ProgressLog


def test_progress_is_logged_at_most_once_per_interval_across_partitions(caplog):
    now = [0.0]
    progress = ProgressLog(logging.getLogger("progress-test"), "task_results", clock=lambda: now[0])
    progress.total = 2000
    with caplog.at_level(logging.DEBUG, logger="progress-test"):
        for _ in range(10):  # ten pages in 4 s: no line yet
            now[0] += 0.4
            progress.page(100)
            progress.done += 1
        now[0] += 1.5
        progress.page(100)  # 5.5 s: one line
        now[0] += 1.0
        progress.page(100)  # 6.5 s: too soon for another
        progress.failed += 1
        progress.finish()
    assert [r.getMessage() for r in caplog.records] == [
        "task_results: 10 of 2,000 partitions done, 1,100 records in 11 pages (200 records/s) "
        "so far",
        "task_results: finished in 6.5 s: 10 of 2,000 partitions done, 1,200 records in 12 "
        "pages (185 records/s), 1 failed",
    ]
