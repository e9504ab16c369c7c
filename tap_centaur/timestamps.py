"""Timestamps: one UTC format for bookmarks, the API's query format, and HTTP dates."""

from __future__ import annotations

import math
import typing as t
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

if t.TYPE_CHECKING:
    import requests

UTC = timezone.utc


def parse_start_date(value: str) -> datetime:
    """Parse an ISO date or date-time; a value without an offset is UTC.

    Raises:
        ValueError: if the value is not ISO 8601.
    """
    text = value.strip()
    if len(text) == 10:  # a bare date: midnight UTC
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_bookmark(moment: datetime) -> str:
    """The one format bookmarks are stored in: UTC, whole seconds, explicit offset."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_bookmark(value: object) -> datetime | None:
    """Read a bookmark written by this tap (or by hand, in any ISO form); None if unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_start_date(value)
    except ValueError:
        return None


def format_updated_after(moment: datetime) -> str:
    """The API's `updated_after` format, as in its docs: UTC `YYYY-MM-DDTHH:MM:SS`.

    Fractions of a second are dropped (rounded down), so no case is skipped.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_http_date(value: str | None) -> datetime | None:
    """Parse an HTTP date header (RFC 9110) into an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def server_time_before_request(response: requests.Response) -> datetime | None:
    """A server-clock time no later than the moment the server began handling the request.

    The `Date` header is stamped when the answer was written (whole seconds, rounded down);
    the query behind it ran after the request left the client. Going back by the request's
    whole round trip, rounded up, gives a time at or before that query, so a case the query
    did not see was updated after it. None when the server sent no usable `Date`.
    """
    answered_at = parse_http_date(response.headers.get("Date"))
    if answered_at is None:
        return None
    round_trip = math.ceil(response.elapsed.total_seconds())
    return answered_at - timedelta(seconds=round_trip)


def retry_after_seconds(value: str | None, server_now: datetime | None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    until = parse_http_date(text)
    if until is None:
        return None
    now = server_now or datetime.now(UTC)
    return max(0.0, (until - now).total_seconds())
