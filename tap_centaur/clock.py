"""Time: bookmark and API formats, HTTP dates, when a request ran (DESIGN.md: the bookmark rule)."""

from __future__ import annotations

import logging
import math
import threading
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

UTC = timezone.utc

logger = logging.getLogger("tap-centaur")


def parse_start_date(value: str) -> datetime:
    """Parse an ISO date or date-time (ValueError otherwise); a value without offset is UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return _utc(datetime.fromisoformat(text))
    except OverflowError:  # before year 1 or after 9999 once in UTC
        raise ValueError(value) from None


def _utc(parsed: datetime) -> datetime:
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_bookmark(moment: datetime) -> str:
    """The one format bookmarks are stored in: UTC, whole seconds, explicit offset."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def format_updated_after(moment: datetime) -> str:
    """The API's `updated_after`: UTC `YYYY-MM-DDTHH:MM:SS`, rounded down (no case skipped)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110) in UTC; None if missing, malformed or beyond a datetime's range."""
    try:
        return _utc(parsedate_to_datetime(value or ""))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds a `Retry-After` asks for (delta-seconds, or an HTTP date against `Date`)."""
    text = (headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        until = parse_http_date(text)
    if until is None:
        return None
    now = parse_http_date(headers.get("Date")) or datetime.now(UTC)
    return max(0.0, (until - now).total_seconds())


@dataclass(frozen=True)
class RequestTime:
    """When one request ran: the API's `Date` (or None), and when its headers arrived here."""

    server_now: datetime | None
    local_now: datetime
    round_trip: timedelta  # `elapsed`, rounded up to whole seconds

    @classmethod
    def of(cls, response: requests.Response, local_now: datetime) -> RequestTime:
        """The times of an answer whose headers arrived at `local_now` by this machine's clock."""
        return cls(
            parse_http_date(response.headers.get("Date")),
            local_now,
            timedelta(seconds=math.ceil(response.elapsed.total_seconds())),
        )

    @property
    def server_before(self) -> datetime | None:
        """The API's time at or before the query ran (None without a `Date`)."""
        return None if self.server_now is None else self.server_now - self.round_trip

    def bookmark(self, lookback: timedelta) -> datetime | None:
        """The earlier clock, at or before the request, minus `lookback` (None without `Date`)."""
        if (server := self.server_before) is None:
            return None
        return (min(server, self.local_now - self.round_trip) - lookback).replace(microsecond=0)

    def is_future(self, moment: datetime) -> bool:
        """Whether `moment` is later than both clocks (a bookmark no run could have taken)."""
        return moment > max(self.local_now, self.server_now or self.local_now)


class SkewWatch:
    """Warns once per run when the API's `Date` and this machine's clock disagree."""

    def __init__(self) -> None:
        self._unwarned = threading.Lock()  # taken by the one warning, never released

    def observe(self, moment: RequestTime) -> None:
        """Compare the clocks of one answer; warn the first time they differ by over 60 s."""
        if moment.server_now is None or self._unwarned.locked():
            return
        # The Date header is whole seconds and stamped before the body was sent.
        local_at_answer = moment.local_now - moment.round_trip / 2
        skew = moment.server_now - local_at_answer
        if abs(skew) <= timedelta(seconds=60) or not self._unwarned.acquire(blocking=False):
            return
        logger.warning(
            "The API's clock (Date: %s) and this machine's clock (%s) differ by %.0f s; "
            "bookmarks use the earlier of the two, minus lookback_seconds. Check this "
            "machine's time synchronisation (NTP).",
            format_bookmark(moment.server_now),
            format_bookmark(local_at_answer),
            skew.total_seconds(),
        )
