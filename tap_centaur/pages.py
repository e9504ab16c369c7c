"""Decoding API responses once, and checking they have the documented shape."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import msgspec

from tap_centaur.errors import CentaurAPIError, TransientResponseError
from tap_centaur.schemas import CASE_RESULT, UNDOCUMENTED_FIELDS, RecordShape

if t.TYPE_CHECKING:
    import requests

Record = dict[str, t.Any]

_DECODED_ATTRIBUTE = "_tap_centaur_decoded"

#: msgspec decodes JSON into the same Python values as `json` (dict, list, str, int, float,
#: bool, None), about twice as fast; the SDK already depends on it.
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: its records and where the next page starts."""

    records: list[Record]
    has_next: bool
    cursor: int | None


def request_label(request: requests.PreparedRequest | None) -> str:
    """Name what a request was for: 'task 101 (labeling_state=Labeled)', 'GET /tasks/...'."""
    if request is None or not request.url:
        return "request"
    url = urlsplit(request.url)
    params = dict(parse_qsl(url.query))
    task = params.pop("task_id", None)
    subject = f"task {task}" if task is not None else f"{request.method} {url.path}"
    details = ", ".join(f"{key}={value}" for key, value in params.items() if key != "limit")
    return f"{subject} ({details})" if details else subject


def body_excerpt(response: requests.Response, limit: int = 80) -> str:
    """The start of a response body, printable on one line."""
    text = response.content[:limit].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return repr(text) if text else "an empty body"


def decode_json(response: requests.Response) -> object:
    """Decode a JSON body; a body that is not JSON is transient (truncated, proxy page).

    Raises:
        TransientResponseError: if the body is empty, not UTF-8 or not JSON.
    """
    try:
        return _decode(response.content)
    except ValueError:  # msgspec.DecodeError and UnicodeDecodeError
        content_type = response.headers.get("Content-Type", "no content type")
        raise TransientResponseError(
            f"{request_label(response.request)}: HTTP {response.status_code} answer is not JSON "
            f"({content_type}, {len(response.content)} bytes: {body_excerpt(response)})",
            status=response.status_code,
        ) from None


def page_of(response: requests.Response, shape: RecordShape = CASE_RESULT) -> Page:
    """The page in a `list` response, decoded and checked once, then cached on the response.

    Raises:
        CentaurAPIError: if the body is JSON but not the documented page shape.
    """
    cached = response.__dict__.get(_DECODED_ATTRIBUTE)
    if not isinstance(cached, Page):
        cached = _parse_page(decode_json(response), request_label(response.request), shape)
        response.__dict__[_DECODED_ATTRIBUTE] = cached
    return cached


def case_of(response: requests.Response) -> Record:
    """The case result in a `get` response, decoded and checked once, then cached.

    Raises:
        CentaurAPIError: if the body is JSON but not a case result.
    """
    cached = response.__dict__.get(_DECODED_ATTRIBUTE)
    if not isinstance(cached, dict):
        cached = check_record(decode_json(response), request_label(response.request), CASE_RESULT)
        response.__dict__[_DECODED_ATTRIBUTE] = cached
    return cached


def _parse_page(body: object, where: str, shape: RecordShape) -> Page:
    if not isinstance(body, dict):
        raise _shape_error(where, f"the body is a JSON {type(body).__name__}, not an object")
    payload = body.get("payload")
    if not isinstance(payload, list):
        raise _shape_error(where, f"'payload' is {_describe(payload)}, not a list")
    has_next = body.get("has_next", False)
    if has_next is None:
        has_next = False
    if not isinstance(has_next, bool):
        raise _shape_error(where, f"'has_next' is {_describe(has_next)}, not true or false")
    cursor = body.get("last_sequence_id")
    if cursor is not None and type(cursor) is not int:
        raise _shape_error(where, f"'last_sequence_id' is {_describe(cursor)}, not an integer")
    for record in payload:
        check_record(record, where, shape)
    return Page(records=payload, has_next=has_next, cursor=cursor)


def check_record(record: object, where: str, shape: RecordShape) -> Record:
    """Check a record against its schema's types; fold undocumented fields away.

    Raises:
        CentaurAPIError: naming the record and the field whose value has the wrong type.
    """
    if not isinstance(record, dict):
        raise _shape_error(where, f"a {shape.name} is {_describe(record)}, not an object")
    key = record.get(shape.key)
    if type(key) is not int:
        raise _shape_error(where, f"a {shape.name} has '{shape.key}' {_describe(key)}")
    for field, types in shape.field_types:
        value = record.get(field)
        if type(value) not in types:
            raise _shape_error(
                where,
                f"{shape.name} {key} has '{field}' {_describe(value)}, which the schema forbids",
            )
    if not record.keys() <= shape.documented:
        extra = {name: record.pop(name) for name in list(record) if name not in shape.documented}
        record[UNDOCUMENTED_FIELDS] = extra
    return record


def _describe(value: object) -> str:
    if value is None:
        return "missing or null"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{type(value).__name__} {shown}"


def _shape_error(where: str, problem: str) -> CentaurAPIError:
    return CentaurAPIError(
        f"{where}: the API answered 200 but {problem}. The response does not have the "
        "documented shape; no data past the last complete task was bookmarked. Report it to "
        "Centaur Labs support if it persists."
    )
