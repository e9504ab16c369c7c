"""List pages: choosing a page's cases (or tasks, projects) and joining their JSON bytes."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from centaur_sim.store import Case, Project, Task, encode

Fetch = Callable[[int | None], tuple[list[Case], bool]]


@dataclass
class PageQuery:
    """One list request, resolved: `fetch(after)` returns a page's cases and whether more match."""

    after: int | None
    limit: int
    fetch: Fetch
    is_case_seq: Callable[[int], bool]
    last_page_style: str
    encode: Callable[[Case], bytes]
    v2: bool = False


@dataclass
class Page:
    """A page about to be sent: record bytes under `top_key`, then the fields of `meta`."""

    records: list[bytes]
    meta: dict[str, Any]
    cursor: int | None = None
    payload_key: str | None = None
    top_key: str = "payload"

    @property
    def has_next(self) -> bool:
        """Tell whether the page says more pages follow."""
        return bool(self.meta.get("has_next"))


def meta(has_next: object, cursor: int | None, limit: int, last_page_style: str) -> dict[str, Any]:
    """Return the page fields: cursor fields while `has_next`, else as `last_page_style` says."""
    if has_next:
        fields: dict[str, Any] = {"has_next": has_next}
        if cursor is not None:
            fields["last_sequence_id"] = cursor
        fields["limit"] = limit
        return fields
    if last_page_style == "false":
        return {"has_next": False, "limit": limit}
    return {"limit": limit}


def plain_page(query: PageQuery) -> Page:
    """Build the page a well-behaved server returns."""
    cases, more = query.fetch(query.after)
    cursor = cases[-1].seq if cases else None
    return Page(
        records=[query.encode(case) for case in cases],
        meta=meta(more, cursor, query.limit, query.last_page_style),
        cursor=cursor,
    )


def catalog_page(
    rows: Sequence[Task] | Sequence[Project], after: int | None, limit: int, last_page_style: str
) -> Page:
    """Build a page of the task or project list: the rows with sequence id > `after`.

    `rows` are the matching rows in ascending sequence-id order; paging follows the results
    list exactly (cursor = last row's sequence id, `last_page_style`).
    """
    start = 0 if after is None else bisect_right(rows, after, key=attrgetter("seq"))
    chosen = rows[start : start + limit]
    cursor = chosen[-1].seq if chosen else None
    return Page(
        records=[encode(row.item()) for row in chosen],
        meta=meta(start + limit < len(rows), cursor, limit, last_page_style),
        cursor=cursor,
    )


def render(page: Page) -> bytes:
    """Serialize a page, joining the pre-serialized records."""
    payload = b"[" + b",".join(page.records) + b"]"
    if page.payload_key is not None:
        payload = b'{"' + page.payload_key.encode() + b'":' + payload + b"}"
    head = b'{"' + page.top_key.encode() + b'":' + payload
    tail = json.dumps(page.meta, separators=(",", ":")).encode()
    return head + b"}" if tail == b"{}" else head + b"," + tail[1:]
