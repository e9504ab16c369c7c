"""Transport-neutral request and reply values, and the canned replies the API sends."""

from __future__ import annotations

import email.utils
import functools
import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
UNSUPPORTED_TEXT = "Task type not supported by this API version, please use /results/public/v2/"
#: A `Date` (or `Retry-After`) that its offset moves past the year 9999 in UTC.
DATE_9999 = "Fri, 31 Dec 9999 23:59:59 -0100"
#: What a bomb or a flood sends: an empty last page, padded with spaces (valid JSON).
_PAD_HEAD, _PAD_TAIL = b'{"payload":[', b'],"limit":100}'


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
    `date_text` replaces it. `reason` replaces the status line's standard reason phrase.
    `chunks`, instead of `body`, are sent as they come, without `Content-Length`: the
    connection then closes after the last one.
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
    date_text: str | None = None
    chunks: Iterator[bytes] | None = None


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


def padded_page(size: int, block: int = 1 << 20, *, objects: bool = False) -> Iterator[bytes]:
    """`size` bytes (at least the head and tail) of a last page, padded.

    Empty and padded with spaces, or with `objects` a payload of empty records (`{},{},...`:
    cheap on the wire, dear once decoded into objects).
    """
    yield _PAD_HEAD + (b"{}" if objects else b"")
    spaces = max(0, size - len(_PAD_HEAD) - len(_PAD_TAIL) - (2 if objects else 0))
    pad = (b",{}" if objects else b" ") * (min(block, spaces) // (3 if objects else 1))
    while spaces > 0 and pad:
        yield pad[:spaces] if not objects or spaces >= len(pad) else pad[: spaces - spaces % 3]
        spaces -= len(pad)
    yield _PAD_TAIL


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int, *, objects: bool = False) -> bytes:
    """A gzip body of about size/1000 bytes that inflates to `size` bytes (`padded_page`)."""
    return b"".join(gzipped(padded_page(size, objects=objects)))


def gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` as one gzip member, compressed as they come."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip member
    for chunk in chunks:
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()


def with_field(body: bytes, field: bytes) -> bytes:
    """`body` with `field` (`"name":value`) first in its first record (else in the body)."""
    at = body.find(b'"payload":[{')
    at = 0 if at < 0 else at + len(b'"payload":[')
    return body[: at + 1] + field + b"," + body[at + 1 :]


def unsupported_task_type(endpoint: str) -> Reply:
    """The documented 426 for task types v1 does not serve, naming v2's `endpoint` (list, get)."""
    return Reply(426, f"{UNSUPPORTED_TEXT}{endpoint}.".encode(), TEXT)


def too_many_requests(retry_after: int, style: str, date_offset: float) -> Reply:
    """A 429 whose Retry-After is delta-seconds or an HTTP-date (on the server's clock)."""
    if style == "http-date":
        value = email.utils.formatdate(time.time() + date_offset + retry_after, usegmt=True)
    elif style == "year-9999":
        value = DATE_9999
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
    """`body` echoing the request's API key in three forms (see the README); JSON if it parses."""
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
