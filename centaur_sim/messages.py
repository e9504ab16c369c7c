"""Transport-neutral request and reply values, and the canned replies the API sends."""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
UNSUPPORTED_TEXT = "Task type not supported by this API version, please use /results/public/v2/"


@dataclass
class Request:
    """A parsed HTTP request; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""

    def param(self, name: str) -> str | None:
        """Return the first value of query parameter `name`, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What to answer; `action`: "reset" (abort), "truncate" (half the body), "stall" (drip it).

    `date_shift` moves the `Date` header further than the configured offset (None: no header).
    """

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None
    delay: float = 0.0
    records: int = 0
    date_shift: float | None = 0.0


def json_reply(status: int, data: object) -> Reply:
    """Reply with `data` as JSON."""
    return Reply(status, json.dumps(data, separators=(",", ":")).encode())


def message(status: int, text: str, **extra: object) -> Reply:
    """Reply `{"message": text, ...}`."""
    return json_reply(status, {"message": text, **extra})


def unauthorized() -> Reply:
    """The 401 for a missing or wrong API key or bearer token."""
    return message(401, "Unauthorized")


def not_found() -> Reply:
    """The 404 for unknown paths, tasks and cases."""
    return message(404, "Not Found")


def invalid_parameter() -> Reply:
    """The 400 for any bad query parameter."""
    return message(400, "Invalid parameter")


def restricted_country() -> Reply:
    """The documented 403 for requests from a restricted country."""
    return message(403, "Access from your country is restricted", code="restricted_country")


def unsupported_task_type(endpoint: str) -> Reply:
    """The documented 426 for task types v1 does not serve, naming v2's `endpoint` (list, get)."""
    return Reply(426, f"{UNSUPPORTED_TEXT}{endpoint}.".encode(), TEXT)


def internal_error() -> Reply:
    """The documented 500 text reply."""
    return Reply(500, b"Internal Server Error.", TEXT)


def too_many_requests(retry_after: int, style: str, date_offset: float) -> Reply:
    """A 429 whose Retry-After is delta-seconds or an HTTP-date (on the server's clock)."""
    if style == "http-date":
        value = email.utils.formatdate(time.time() + date_offset + retry_after, usegmt=True)
    else:
        value = str(retry_after)
    reply = message(429, "Too Many Requests")
    reply.headers.append(("Retry-After", value))
    return reply


def redirect(status: int, location: str) -> Reply:
    """A redirect to `location`."""
    reply = message(status, "Moved", location=location)
    reply.headers.append(("Location", location))
    return reply


def bad_gateway() -> Reply:
    """A gateway's 502 HTML page."""
    return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", HTML)


def service_unavailable() -> Reply:
    """A 503 JSON reply."""
    return message(503, "Service Unavailable")


def maintenance_page() -> Reply:
    """A 200 that is HTML rather than JSON."""
    return Reply(200, b"<html><body>Gateway maintenance</body></html>", HTML)


def empty_ok() -> Reply:
    """A 200 JSON reply with no body."""
    return Reply(200, b"")


def bad_utf8() -> Reply:
    """A 200 JSON reply containing bytes that are not UTF-8."""
    return Reply(200, b'{"payload":[{"task_name":"\xff\xfe\xfa broken"}],"limit":100}')
