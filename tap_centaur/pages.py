"""Pages: each answer decoded once, checked against its documented shape, then read as a Page."""

from __future__ import annotations

import codecs
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import msgspec

from tap_centaur.clock import RequestTime, retry_after_seconds
from tap_centaur.errors import (
    AccessRefusedError,
    CentaurAPIError,
    TransientResponseError,
    UnauthorizedError,
    UnsupportedTaskError,
)
from tap_centaur.redaction import EXCERPT_CHARS, excerpt
from tap_centaur.schemas import UNDOCUMENTED_FIELDS, mismatch, route_labels

if t.TYPE_CHECKING:
    import requests

    from tap_centaur.schemas import RecordShape

Record = dict[str, t.Any]

_decode = msgspec.json.Decoder().decode
#: Bytes of a body read for an excerpt: more than enough for EXCERPT_CHARS, escaped or masked.
_BODY_WINDOW = 16 * EXCERPT_CHARS
#: Objects and lists within each other, at most, in an answer (real records nest about 5),
#: the same on every Python and for every target (msgspec's follows the recursion limit).
MAX_NESTING = 100
_TOO_DEEP = f"it nests objects and lists more than {MAX_NESTING} levels deep"


@dataclass(frozen=True)
class Page:
    """One checked answer: its records, the cursor and `has_next`, when and where it was read."""

    records: list[Record]
    has_next: bool
    cursor: int | None
    time: RequestTime
    where: str

    @classmethod
    def read(
        cls, response: requests.Response, shape: RecordShape, time: RequestTime, *, listed: bool
    ) -> Page:
        """Decode and check an answer once: a `list` page, or the one record of a `get`."""
        body = decode_json(response)
        where = request_label(response.request)
        try:
            if not listed:
                return cls([_record(body, response, shape, MAX_NESTING)], False, None, time, where)
            return cls(*_parse_page(body, response, shape), time, where)
        except RecursionError:  # `mismatch`'s past MAX_NESTING
            raise _unreadable(response, _TOO_DEEP) from None

    def __len__(self) -> int:  # the workers' queues are bounded in records
        return len(self.records)


def request_label(request: requests.PreparedRequest | None) -> str:
    """Name what a request was for: 'task 101 (labeling_state=Labeled)', 'GET /tasks/...'."""
    if request is None or not request.url:
        return "request"
    url = urlsplit(request.url)
    params = dict(parse_qsl(url.query))
    task = params.pop("task_id", None)
    details = [f"{key}={value}" for key, value in params.items() if key != "limit"]
    if task is not None and url.path.endswith("/list") and "last_sequence_id" not in params:
        details.insert(0, "first page")
    if task is not None and "/v2/" in url.path:
        details.insert(0, "results v2")
    subject = f"task {task}" if task is not None else f"{request.method} {url.path}"
    return f"{subject} ({', '.join(details)})" if details else subject


def body_excerpt(response: requests.Response) -> str:
    """The start of a response body, on one line, masked and cut (`redaction.excerpt`)."""
    content = response.content
    text = " ".join(content[:_BODY_WINDOW].decode("utf-8", errors="replace").split())
    return f"'{excerpt(text, total=len(content))}'" if text else "an empty body"


def server_message(response: requests.Response) -> str:
    """What an error answer says: its `message` (and `code`), FastAPI's `detail`, or its start."""
    body = error_body(response)
    message, code, detail = (body.get(key) for key in ("message", "code", "detail"))
    if isinstance(message, str):
        return excerpt(f"{message} [{code}]" if isinstance(code, str) else message)
    if isinstance(detail, list) and detail:
        return excerpt("; ".join(map(_validation_error, detail)))
    if isinstance(detail, str):
        return excerpt(detail)
    return body_excerpt(response)


def check_status(response: requests.Response, where: str) -> None:
    """Raise the error a non-200 answer means (429 and 5xx: transient), saying what to do."""
    status = response.status_code
    if status == 200:
        return
    if status == 429 or status >= 500:  # the one rule of what is transient in an answer
        raise TransientResponseError(
            f"{where}: HTTP {status} {excerpt(response.reason or '', 80)}".rstrip()
            + f" ({body_excerpt(response)})",
            status=status,
            retry_after=retry_after_seconds(response.headers) if status == 429 else None,
        )
    if status == 401:
        raise UnauthorizedError(f"{where}: HTTP 401 Unauthorized")
    url = urlsplit(response.request.url or "")
    results = "/results/public/" in url.path  # api_url may carry a path of its own
    if status == 404 and results and url.path.endswith("/list"):
        raise CentaurAPIError(
            f"{where.split(' (', maxsplit=1)[0]} not found or not visible to this API key "
            "(HTTP 404). Check task_ids (the number in go.centaurlabs.com/task/<id>) and that "
            "the API key belongs to the organisation that owns the task."
        )
    if status == 404 and results:
        raise CentaurAPIError(
            f"{where}: case not found or not visible to this API key (HTTP 404). Check "
            "case_ids (case_id is the number in go.centaurlabs.com/problem/<id>)."
        )
    said = server_message(response)
    if status in (400, 422):
        raise AccessRefusedError(
            f"{where}: the API rejected the request (HTTP {status}: {said}). Parameters sent: "
            f"{dict(parse_qsl(url.query))}. Check task_ids, labeling_state, start_date and "
            "page_size."
        )
    if status == 403 and error_body(response).get("code") == "restricted_country":
        raise AccessRefusedError(
            f"{where}: the API refused access (HTTP 403: {said}). Centaur restricts API access by "
            "country: run the tap from an allowed location."
        )
    if status == 403:
        raise CentaurAPIError(
            f"{where}: the API refused access (HTTP 403: {said}). Centaur restricts API access by "
            "country and by account permissions; check the account's access to the task."
        )
    if status == 426 and results:
        raise UnsupportedTaskError(
            f"{where}: this version of the results API does not serve this task's type (HTTP 426: "
            f"{said})."
        )
    raise CentaurAPIError(f"{where}: the API answered HTTP {status}: {said}.")


def error_body(response: requests.Response) -> dict[str, object]:
    """An error answer's JSON object (empty when the body is something else)."""
    try:
        body = _decode(response.content)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read
        return {}
    return body if isinstance(body, dict) else {}


def _validation_error(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc")
    where = ".".join(map(str, loc)) if isinstance(loc, list) else str(loc or "")
    return f"{where}: {item.get('msg')}" if where else str(item.get("msg"))


def decode_json(response: requests.Response) -> object:
    """Decode a JSON body (a BOM skipped); not UTF-8 JSON is transient, too deep or NaN is not."""
    content = response.content.removeprefix(codecs.BOM_UTF8)
    try:
        return _decode(content)
    except RecursionError:
        problem: str | None = _TOO_DEEP
    except ValueError as error:  # msgspec.DecodeError and UnicodeDecodeError
        problem = _json_problem(content, error)
    if problem is not None:
        raise _unreadable(response, problem)
    content_type = excerpt(response.headers.get("Content-Type", "no content type"), 80)
    raise TransientResponseError(
        f"{request_label(response.request)}: HTTP {response.status_code} answer is not JSON "
        f"(or not UTF-8): {content_type}, {len(response.content)} bytes: "
        f"{body_excerpt(response)}",
        status=response.status_code,
    )


def _json_problem(content: bytes, error: ValueError) -> str | None:
    text = str(error)
    if "out of range" in text:
        return "it holds a number beyond the range of JSON numbers (64-bit floats, e.g. 1e400)"
    at = re.search(r"\(byte (\d+)\)", text)
    if at is not None and content[int(at.group(1)) :].startswith((b"NaN", b"Infinity")):
        return f"it holds NaN or Infinity (at byte {at.group(1)}), which JSON does not allow"
    return None


def _parse_page(
    body: object, response: requests.Response, shape: RecordShape
) -> tuple[list[Record], bool, int | None]:
    if not isinstance(body, dict):
        mismatch(body, None, MAX_NESTING)  # too deep first: `RecursionError`
        raise _unreadable(
            response, f"the body is a JSON {type(body).__name__}, not an object", shape
        )
    payload = body.get("payload")
    for value in body.values():
        if value is not payload or not isinstance(payload, list):
            mismatch(value, None, MAX_NESTING - 1)
    if not isinstance(payload, list):
        keys = ", ".join(excerpt(repr(key), 40) for key in list(body)[:8])
        raise _unreadable(
            response, f"'payload' is {_describe(payload)}, not a list (keys: {keys})", shape
        )
    has_next = False if body.get("has_next") is None else body["has_next"]
    cursor = body.get("last_sequence_id")
    for name, value, expected, valid in (
        ("has_next", has_next, "true or false", isinstance(has_next, bool)),
        ("last_sequence_id", cursor, "an integer", cursor is None or type(cursor) is int),
    ):
        if not valid:
            raise _unreadable(response, f"'{name}' is {_describe(value)}, not {expected}", shape)
    for record in payload:
        _record(record, response, shape, MAX_NESTING - 2)
    return payload, has_next, cursor


def _record(record: object, response: requests.Response, shape: RecordShape, levels: int) -> Record:
    """Check a record's types and depth (`levels`) in one walk; fold undocumented fields away."""
    if not isinstance(record, dict):
        mismatch(record, None, levels)
        raise _unreadable(response, f"a {shape.name} is {_describe(record)}, not an object", shape)
    for field in shape.keys:
        if type(record.get(field)) is not int:
            problem = f"a {shape.name} has '{field}' {_describe(record.get(field))}"
            raise _unreadable(response, problem, shape)
    undescribed = route_labels(record, shape.labels)
    found = mismatch(record, shape.check, levels)
    mismatch(undescribed, None, levels)
    if found:
        path, value = found
        problem = f"{shape.name} {record[shape.keys[-1]]} has '{path[1:]}' {_describe(value)}"
        raise _unreadable(response, f"{problem}, which the schema forbids", shape)
    if undescribed or not record.keys() <= shape.documented:
        extra = {name: record.pop(name) for name in list(record) if name not in shape.documented}
        record[UNDOCUMENTED_FIELDS] = {**extra, **(undescribed or {})}
    return record


def _describe(value: object) -> str:
    if value is None:
        return "missing or null"
    return f"{type(value).__name__} {excerpt(repr(value), 40)}"


def _unreadable(
    response: requests.Response, problem: str, shape: RecordShape | None = None
) -> CentaurAPIError:
    source = shape.source if shape else "the API"
    expected = f" Expected: {shape.expected}." if shape and shape.expected else ""
    return CentaurAPIError(
        f"{request_label(response.request)}: {source} answered 200 but "  # only 200s are read
        f"{problem}.{expected} This task keeps its bookmark; report it to Centaur Labs support "
        "if it persists."
    )
