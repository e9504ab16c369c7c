"""Timestamp parsing (bookmarks, Retry-After, Date) and the progress log's pacing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import requests

from tap_centaur.progress import ProgressLog
from tap_centaur.timestamps import (
    format_bookmark,
    format_updated_after,
    parse_bookmark,
    retry_after_seconds,
    server_time_before_request,
)

UTC = timezone.utc


def test_bookmarks_have_one_utc_format_and_updated_after_rounds_down():
    moment = datetime(2024, 5, 1, 14, 30, 15, 900_000, tzinfo=timezone(timedelta(hours=2)))
    assert format_bookmark(moment) == "2024-05-01T12:30:15+00:00"
    assert format_updated_after(moment) == "2024-05-01T12:30:15"
    assert parse_bookmark("2024-05-01T12:30:15Z") == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    assert parse_bookmark("garbage") is None
    assert parse_bookmark(None) is None


def test_retry_after_in_seconds_or_as_an_http_date_against_the_server_clock():
    server_now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert retry_after_seconds("7", server_now) == 7.0
    assert retry_after_seconds("Fri, 02 Jan 2026 03:04:35 GMT", server_now) == 30.0
    assert retry_after_seconds("Fri, 02 Jan 2026 03:00:00 GMT", server_now) == 0.0
    assert retry_after_seconds("soon", server_now) is None
    assert retry_after_seconds(None, server_now) is None


def test_server_time_is_the_date_header_minus_the_round_trip_rounded_up():
    response = requests.Response()
    response.headers["Date"] = "Sat, 28 Nov 2026 14:52:02 GMT"
    response.elapsed = timedelta(seconds=1.2)
    assert server_time_before_request(response) == datetime(2026, 11, 28, 14, 52, 0, tzinfo=UTC)
    response.elapsed = timedelta(seconds=0.004)
    assert server_time_before_request(response) == datetime(2026, 11, 28, 14, 52, 1, tzinfo=UTC)
    del response.headers["Date"]
    assert server_time_before_request(response) is None


def test_progress_is_logged_at_most_once_per_interval(caplog):
    now = [0.0]
    progress = ProgressLog(logging.getLogger("progress-test"), "task 7", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="progress-test"):
        for _ in range(10):  # ten pages in 4 s: no line yet
            now[0] += 0.4
            progress.page(100)
        now[0] += 1.5
        progress.page(100)  # 5.5 s: one line
        now[0] += 1.0
        progress.page(100)  # 6.5 s: too soon for another
        progress.finish()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "task 7: 11 pages, 1100 records so far (200 records/s)"
    assert lines[1].startswith("task 7: done, 1200 records in 12 pages (6.5 s")
    assert len(lines) == 2
