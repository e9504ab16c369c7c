"""Time: bookmark formats, Retry-After, and when a request ran by the API's and the local clock
(a bookmark from the earlier clock, the skew warning: runs in reliability/test_clocks.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tap_centaur.clock import (
    RequestTime,
    format_bookmark,
    format_updated_after,
    parse_start_date,
    retry_after_seconds,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 14, 52, 2, tzinfo=UTC)


def answer(date: str | None, elapsed: float) -> requests.Response:
    response = requests.Response()
    if date is not None:
        response.headers["Date"] = date
    response.elapsed = timedelta(seconds=elapsed)
    return response


def test_bookmarks_have_one_utc_format_and_updated_after_rounds_down():
    moment = datetime(2024, 5, 1, 14, 30, 15, 900_000, tzinfo=timezone(timedelta(hours=2)))
    assert format_bookmark(moment) == "2024-05-01T12:30:15+00:00"
    assert format_updated_after(moment) == "2024-05-01T12:30:15"
    assert parse_start_date("2024-05-01T12:30:15Z") == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    assert parse_start_date("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="garbage"):
        parse_start_date("garbage")


def test_retry_after_in_seconds_or_as_an_http_date_against_the_server_clock():
    def wait(value):
        return retry_after_seconds({"Retry-After": value, "Date": "Fri, 02 Jan 2026 03:04:05 GMT"})

    assert wait("7") == 7.0
    assert wait("Fri, 02 Jan 2026 03:04:35 GMT") == 30.0
    assert wait("Fri, 02 Jan 2026 03:00:00 GMT") == 0.0
    assert wait("soon") is None
    assert retry_after_seconds({}) is None


def test_server_time_is_the_date_header_minus_the_round_trip_rounded_up():
    slow = RequestTime.of(answer("Sat, 28 Nov 2026 14:52:02 GMT", 1.2), local_now=NOW)
    assert slow.server_before == datetime(2026, 11, 28, 14, 52, 0, tzinfo=UTC)
    fast = RequestTime.of(answer("Sat, 28 Nov 2026 14:52:02 GMT", 0.004), local_now=NOW)
    assert fast.server_before == datetime(2026, 11, 28, 14, 52, 1, tzinfo=UTC)
    no_date = RequestTime.of(answer(None, 0.004), local_now=NOW)
    assert (no_date.server_before, no_date.bookmark(timedelta(0))) == (None, None)


def test_a_bookmark_later_than_both_clocks_is_in_the_future():
    moment = RequestTime.of(answer("Sat, 28 Nov 2026 14:52:32 GMT", 0.2), local_now=NOW)
    assert moment.is_future(datetime(2099, 1, 1, tzinfo=UTC))
    assert moment.is_future(NOW + timedelta(seconds=31))
    # Later than the local clock but not than the API's: some run could have taken it.
    assert not moment.is_future(NOW + timedelta(seconds=20))
    assert not moment.is_future(NOW)
