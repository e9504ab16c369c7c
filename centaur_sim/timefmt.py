"""Timestamps: integer microseconds since the epoch, parsed from and printed as ISO 8601."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)


def parse_updated_after(text: str) -> int:
    """Parse `YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]` (naive = UTC) to epoch microseconds.

    Digits past the sixth fractional one are dropped, which keeps a strict `>` comparison
    against whole-microsecond values exact.

    Raises:
        ValueError: when the text is not such a timestamp.
    """
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad offset: {offset!r}")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return (moment - EPOCH) // _MICRO + micros


def iso_micros(micros: int) -> str:
    """Format epoch microseconds as `2024-03-01T12:00:00.123456+00:00`."""
    return (EPOCH + micros * _MICRO).isoformat(timespec="microseconds")


def iso_seconds(seconds: int) -> str:
    """Format epoch seconds as `2024-03-01T12:00:00+00:00`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))
