"""Pages: each answer decoded once, checked against its documented shape, then read as a Page."""

from __future__ import annotations

import typing as t
import weakref
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import msgspec

from tap_centaur.clock import RequestTime
from tap_centaur.errors import CentaurAPIError, UndecodableBodyError
from tap_centaur.schemas import UNDOCUMENTED_FIELDS, route_labels

if t.TYPE_CHECKING:
    import requests

    from tap_centaur.schemas import RecordShape

Record = dict[str, t.Any]

#: msgspec decodes JSON into the same Python values as `json` (dict, list, str, int, float,
#: bool, None), about twice as fast; the SDK already depends on it.
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class Page:
    """One checked answer: its records, whether another page follows, and when it was read."""

    records: list[Record]
    has_next: bool
    cursor: int | None
    time: RequestTime

    @classmethod
    def read(cls, response: requests.Response, shape: RecordShape, *, listed: bool) -> Page:
        """Decode and check an answer once (a `list` page, or one `get` record).

        Raises:
            UndecodableBodyError: the body is not UTF-8 JSON (retried).
            CentaurAPIError: the body is JSON but not the documented shape.
        """
        body = decode_json(response)
        moment = RequestTime.of(response)
        if listed:
            page = _parse_page(body, response, shape, moment)
        else:
            page = cls([check_record(body, response, shape)], False, None, moment)
        _READ[response] = page
        return page

    def __len__(self) -> int:
        """The page's size in records (the workers' queues are bounded in records)."""
        return len(self.records)

    @staticmethod
    def of(response: requests.Response) -> Page:
        """The page `read` from this answer (when the stream validated it)."""
        return _READ[response]


#: The page of each answer, for the paginator and the parser (entries go with the answer).
_READ: weakref.WeakKeyDictionary[requests.Response, Page] = weakref.WeakKeyDictionary()


def request_label(request: requests.PreparedRequest | None) -> str:
    """Name what a request was for: 'task 101 (labeling_state=Labeled)', 'GET /tasks/...'."""
    if request is None or not request.url:
        return "request"
    url = urlsplit(request.url)
    params = dict(parse_qsl(url.query))
    task = params.pop("task_id", None)
    subject = f"task {task}" if task is not None else f"{request.method} {url.path}"
    details = [f"{key}={value}" for key, value in params.items() if key != "limit"]
    if task is not None and url.path.endswith("/list") and "last_sequence_id" not in params:
        details.insert(0, "first page")
    if task is not None and "/v2/" in url.path:
        details.insert(0, "results v2")
    return f"{subject} ({', '.join(details)})" if details else subject


def body_excerpt(response: requests.Response, limit: int = 80) -> str:
    """The start of a response body, printable on one line."""
    text = response.content[:limit].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return repr(text) if text else "an empty body"


def decode_json(response: requests.Response) -> object:
    """Decode a JSON body; a body that is not JSON is transient (truncated, proxy page).

    Raises:
        UndecodableBodyError: if the body is empty, not UTF-8 or not JSON.
    """
    try:
        return _decode(response.content)
    except ValueError:  # msgspec.DecodeError and UnicodeDecodeError
        content_type = response.headers.get("Content-Type", "no content type")
        raise UndecodableBodyError(
            f"{request_label(response.request)}: HTTP {response.status_code} answer is not JSON "
            f"(or not UTF-8): {content_type}, {len(response.content)} bytes: "
            f"{body_excerpt(response)}",
            status=response.status_code,
        ) from None


def _parse_page(
    body: object, response: requests.Response, shape: RecordShape, moment: RequestTime
) -> Page:
    if not isinstance(body, dict):
        raise _shape_error(
            response, shape, f"the body is a JSON {type(body).__name__}, not an object"
        )
    payload = body.get("payload")
    if not isinstance(payload, list):
        keys = ", ".join(repr(key) for key in list(body)[:8])
        raise _shape_error(
            response, shape, f"'payload' is {_describe(payload)}, not a list (keys: {keys})"
        )
    has_next = body.get("has_next", False)
    if has_next is None:
        has_next = False
    if not isinstance(has_next, bool):
        raise _shape_error(
            response, shape, f"'has_next' is {_describe(has_next)}, not true or false"
        )
    cursor = body.get("last_sequence_id")
    if cursor is not None and type(cursor) is not int:
        raise _shape_error(
            response, shape, f"'last_sequence_id' is {_describe(cursor)}, not an integer"
        )
    for record in payload:
        check_record(record, response, shape)
    return Page(payload, has_next, cursor, moment)


def check_record(record: object, response: requests.Response, shape: RecordShape) -> Record:
    """Check a record against its schema's types; fold undocumented fields away.

    A label goes to the field of its shape first, or to `undocumented_fields` when it has
    none (see `route_labels`); every other field of the wrong type fails the record.

    Raises:
        CentaurAPIError: naming the record and the field whose value has the wrong type.
    """
    if not isinstance(record, dict):
        raise _shape_error(response, shape, f"a {shape.name} is {_describe(record)}, not an object")
    for field in shape.keys:
        if type(record.get(field)) is not int:
            raise _shape_error(
                response, shape, f"a {shape.name} has '{field}' {_describe(record.get(field))}"
            )
    undescribed = route_labels(record, shape.labels)
    for field, check in shape.field_checks:
        found = check.mismatch(record.get(field), field)
        if found:
            path, value = found
            key = record[shape.keys[-1]]
            raise _shape_error(
                response,
                shape,
                f"{shape.name} {key} has '{path}' {_describe(value)}, which the schema forbids",
            )
    if undescribed or not record.keys() <= shape.documented:
        extra = {name: record.pop(name) for name in list(record) if name not in shape.documented}
        record[UNDOCUMENTED_FIELDS] = {**extra, **undescribed}
    return record


def _describe(value: object) -> str:
    if value is None:
        return "missing or null"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{type(value).__name__} {shown}"


def _shape_error(response: requests.Response, shape: RecordShape, problem: str) -> CentaurAPIError:
    expected = f" Expected: {shape.expected}." if shape.expected else ""
    return CentaurAPIError(
        f"{request_label(response.request)}: {shape.source} answered 200 but {problem}."
        f"{expected} The response does not have the documented shape; this task keeps its "
        "bookmark. Report it to Centaur Labs support if it persists."
    )
