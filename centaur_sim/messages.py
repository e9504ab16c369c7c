"""Transport-neutral request and reply values, and the canned replies the API sends."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

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

    `date_shift` moves the `Date` header further than the configured offset (None: no header);
    `reason` replaces the status line's standard reason phrase.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None
    delay: float = 0.0
    records: int = 0
    date_shift: float | None = 0.0
    reason: str | None = None


def json_reply(status: int, data: object) -> Reply:
    """Reply with `data` as JSON."""
    return Reply(status, json.dumps(data, separators=(",", ":")).encode())


def message(status: int, text: str, **extra: object) -> Reply:
    """Reply `{"message": text, ...}`."""
    return json_reply(status, {"message": text, **extra})


def restricted_country() -> Reply:
    """The documented 403 for requests from a restricted country."""
    return message(403, "Access from your country is restricted", code="restricted_country")


#: Replies without parameters: the documented errors and the canned faults (by kind).
CANNED: dict[str, Callable[[], Reply]] = {
    "400": lambda: message(400, "Invalid parameter"),
    "401": lambda: message(401, "Unauthorized"),
    "403": restricted_country,
    "404": lambda: message(404, "Not Found"),
    "405": lambda: message(405, "Method Not Allowed"),
    "500": lambda: Reply(500, b"Internal Server Error.", TEXT),
    "502": lambda: Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", HTML),
    "503": lambda: message(503, "Service Unavailable"),
    "html200": lambda: Reply(200, b"<html><body>Gateway maintenance</body></html>", HTML),
    "empty200": lambda: Reply(200, b""),
    "bad_utf8": lambda: Reply(
        200, b'{"payload":[{"task_name":"\xff\xfe\xfa broken"}],"limit":100}'
    ),
}


def unsupported_task_type(endpoint: str) -> Reply:
    """The documented 426 for task types v1 does not serve, naming v2's `endpoint` (list, get)."""
    return Reply(426, f"{UNSUPPORTED_TEXT}{endpoint}.".encode(), TEXT)


def too_many_requests(retry_after: int, style: str, date_offset: float) -> Reply:
    """A 429 whose Retry-After is delta-seconds or an HTTP-date (on the server's clock)."""
    if style == "http-date":
        value = email.utils.formatdate(time.time() + date_offset + retry_after, usegmt=True)
    else:
        value = str(retry_after)
    return Reply(429, b'{"message":"Too Many Requests"}', headers=[("Retry-After", value)])


def redirect(status: int, location: str) -> Reply:
    """A redirect to `location`."""
    reply = message(status, "Moved", location=location)
    reply.headers.append(("Location", location))
    return reply


def invalid_parameter(status: int, name: str) -> Reply:
    """A bad query parameter: the documented 400, or a FastAPI-style 422 validation body."""
    if status == 422:
        detail = {"loc": ["query", name], "msg": "value is not valid", "type": "value_error"}
        return json_reply(422, {"detail": [detail]})
    return CANNED["400"]()


def echoing(status: int, reason: str | None, body: str, api_key: str) -> Reply:
    r"""A reply whose body echoes the request's API key, as a server echoing its request would.

    In `body`, `{api_key}` becomes the key as sent, `{api_key_json}` the key JSON-escaped (`/`
    as `\/`) and `{api_key_url}` the key URL-encoded. JSON when the result parses, else text.
    """
    forms = {
        "{api_key}": api_key,
        "{api_key_json}": json.dumps(api_key)[1:-1].replace("/", "\\/"),
        "{api_key_url}": quote(api_key, safe=""),
    }
    for placeholder, form in forms.items():
        body = body.replace(placeholder, form)
    try:
        json.loads(body)
    except ValueError:
        return Reply(status, body.encode(), TEXT, reason=reason)
    return Reply(status, body.encode(), reason=reason)
