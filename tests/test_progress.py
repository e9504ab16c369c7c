"""A results stream's progress log: the start, a line per interval at most, then the totals."""

from __future__ import annotations

import re

import pytest

from tap_centaur import engine
from tests.harness import THREE_TASKS, login_config


@pytest.mark.parametrize("interval", [0, 3600])
def test_progress_is_logged_at_most_once_per_interval_across_partitions(
    make_sim, tap, monkeypatch, interval
):
    """One worker, so the counts at each page are known (rates and times are not)."""
    monkeypatch.setattr(engine, "PROGRESS_SECONDS", interval)
    config = login_config(make_sim(**THREE_TASKS).url, [101, 102, 103, 999], max_parallel_tasks=1)
    lines = [
        re.sub(r"[\d.,]+ (s|records/s)\b", r"N \1", line.split("| task_results: ")[1])
        for line in tap.run(config).stderr.splitlines()
        if "| task_results: " in line
    ]
    pages = [(0, 100, 1), (0, 200, 2), (0, 250, 3), (1, 350, 4), (1, 370, 5), (2, 370, 6)]
    so_far = [
        f"{done} of 4 partitions done, {records} records in {n} pages (N records/s) so far"
        for done, records, n in pages
    ]
    assert lines == [
        "4 partitions to read (1 at a time): 4 from the start.",
        *(so_far if interval == 0 else []),
        "finished in N s: 3 of 4 partitions done, 370 records in 6 pages (N records/s), 1 failed",
    ]
