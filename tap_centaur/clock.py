"""Time: the formats of bookmarks and of the API, HTTP dates, and when a request really ran.

Case results carry no update time, so bookmarks come from clocks: the API's `Date` header and
this machine's clock. Neither is trusted alone (a load balancer stamps `Date`, a laptop's
clock drifts): a new bookmark is the earlier of the two, moved back by `lookback_seconds`.
"""

from __future__ import annotations

import logging
import math
import threading
import typing as t
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

if t.TYPE_CHECKING:
    import requests

UTC = timezone.utc
#: Clocks further apart than this get one warning per run.
SKEW_WARNING = timedelta(seconds=60)

logger = logging.getLogger("tap-centaur")


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


def format_updated_after(moment: datetime) -> str:
    """The API's `updated_after` format, as in its docs: UTC `YYYY-MM-DDTHH:MM:SS`.

    Fractions of a second are dropped (rounded down), so no case is skipped.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_http_date(value: str | None) -> datetime | None:
    """Parse an HTTP date header (RFC 9110) into an aware UTC datetime; None if unusable.

    Unusable: missing, malformed, or beyond what a datetime holds once in UTC (`Fri, 31 Dec
    9999 23:59:59 -0100`): the bookmark then stays, and a Retry-After falls back to backoff.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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


@dataclass(frozen=True)
class RequestTime:
    """When one request ran, by the API's clock and by this machine's.

    `server_before` is the `Date` header (stamped when the answer was written, whole seconds)
    moved back by the round trip rounded up: a time at or before the server ran the query.
    `local_before` is this machine's clock moved back by the round trip from when the
    answer's headers arrived (the send time plus `elapsed`; the body may take much longer):
    at or before the request left. `server_before` is None when the API sent no usable `Date`.
    """

    server_now: datetime | None
    local_now: datetime
    round_trip: timedelta

    @classmethod
    def of(cls, response: requests.Response, local_now: datetime) -> RequestTime:
        """The times of an answer whose headers arrived at `local_now` by this machine's clock."""
        return cls(
            server_now=parse_http_date(response.headers.get("Date")),
            local_now=local_now,
            round_trip=timedelta(seconds=math.ceil(response.elapsed.total_seconds())),
        )

    @property
    def server_before(self) -> datetime | None:
        """The API's time at or before the query ran (None without a `Date`)."""
        return None if self.server_now is None else self.server_now - self.round_trip

    @property
    def local_before(self) -> datetime:
        """This machine's time at or before the request was sent."""
        return self.local_now - self.round_trip

    def bookmark(self, lookback: timedelta) -> datetime | None:
        """The bookmark a partition read from this request may take (None without a `Date`).

        The earlier clock wins, so neither a `Date` from the future nor a fast local clock
        can move a bookmark past cases not yet read; `lookback` absorbs the clock that stamps
        case updates lagging both.
        """
        server = self.server_before
        if server is None:
            return None
        return (min(server, self.local_before) - lookback).replace(microsecond=0)

    def is_future(self, moment: datetime) -> bool:
        """Whether `moment` is later than both clocks (a bookmark no run could have taken)."""
        latest = max(self.local_now, self.server_now or self.local_now)
        return moment > latest


class SkewWatch:
    """Warns once per run when the API's `Date` and this machine's clock disagree."""

    def __init__(self) -> None:
        """Nothing seen yet."""
        self._warned = False
        self._lock = threading.Lock()

    def observe(self, moment: RequestTime) -> None:
        """Compare the clocks of one answer; warn the first time they differ by over 60 s."""
        if moment.server_now is None or self._warned:
            return
        # The Date header is whole seconds and stamped before the body was sent.
        local_at_answer = moment.local_now - moment.round_trip / 2
        skew = moment.server_now - local_at_answer
        if abs(skew) <= SKEW_WARNING:
            return
        with self._lock:
            if self._warned:
                return
            self._warned = True
        logger.warning(
            "The API's clock (Date: %s) and this machine's clock (%s) differ by %.0f s; "
            "bookmarks use the earlier of the two, minus lookback_seconds. Check this "
            "machine's time synchronisation (NTP).",
            format_bookmark(moment.server_now),
            format_bookmark(local_at_answer),
            skew.total_seconds(),
        )
