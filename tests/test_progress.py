"""A results stream's progress log: the start, a line per interval at most, then the totals."""

from __future__ import annotations

from types import SimpleNamespace

from tap_centaur import engine
from tests.harness import THREE_TASKS, login_config


def test_progress_is_logged_at_most_once_per_interval_across_partitions(make_sim, tap, monkeypatch):
    """One worker, so the counts at each page are known; each page takes 2 s of the stream's
    clock, so a 5 s interval passes at the 3rd and the 6th of the six pages."""
    now = [0.0]
    take = engine.ResultsSync._take

    def two_seconds_a_page(self, partition, page):
        now[0] += 2.0
        return take(self, partition, page)

    monkeypatch.setattr(engine, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(engine.ResultsSync, "_take", two_seconds_a_page)
    config = login_config(make_sim(**THREE_TASKS).url, [101, 102, 103, 999], max_parallel_tasks=1)
    lines = tap.run(config).stderr.splitlines()
    assert [line.split("| task_results: ")[1] for line in lines if "| task_results: " in line] == [
        "4 partitions to read (1 at a time): 4 from the start.",
        "0 of 4 partitions done, 250 records in 3 pages (42 records/s) so far",
        "2 of 4 partitions done, 370 records in 6 pages (31 records/s) so far",
        "finished in 12.0 s: 3 of 4 partitions done, 370 records in 6 pages (31 records/s), "
        "1 failed",
    ]
