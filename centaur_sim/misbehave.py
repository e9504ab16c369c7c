"""Per-task page-shape misbehaviours that test a client's pagination guards.

Each kind, applied to list pages of one task:

- ``payload_not_list``: ``payload`` is an object ``{"cases": [...]}``.
- ``has_next_not_bool``: ``has_next`` is ``"yes"`` instead of ``true``.
- ``cursor_backwards``: every page requested with a cursor says ``has_next: true`` with
  ``last_sequence_id`` one below the cursor it was asked for.
- ``cursor_repeat``: every page requested with a cursor returns that same cursor again.
- ``cursor_cycle``: cursors go A → B → A (needs more than one page of matching cases).
- ``has_next_without_cursor``: ``has_next: true`` pages omit ``last_sequence_id``.
- ``missing_case_id``: the first record of the first page has no ``case_id``.
- ``missing_labeling_state``: the first record of the first page has no ``labeling_state``.
- ``wrong_types``: the first record of the first page has ``case_id: "abc"`` and
  ``qualified_reads: "x"`` (v2: ``n_qualified_opinions: "x"``).
- ``odd_labels``: the first record of the first page has labels of shapes the docs do not
  describe: ``correct_label: {"class": "Nodule", "score": 0.9}``, ``majority_label: 3``.
- ``wrong_nested_type``: the first record of the first page has ``read_stats.total_reads: "12"``
  (v2: ``results: [{"content_metadata": "x"}]``).
- ``empty_pages``: before the first page and between data pages, a page with ``payload: []``,
  ``has_next: true`` and a cursor that still moves forward (into a sequence-id gap).
- ``has_next_false_with_cursor``: the last page sends ``has_next: false`` and a cursor.
- ``v2_shape`` (results v2 only): pages are ``{"results": [...], "next": "<opaque>"}`` (``next``
  is null on the last page), without ``payload`` and the v1 paging fields.
"""

from __future__ import annotations

import base64
import json

from centaur_sim.pages import Page, PageQuery, meta, plain_page
from centaur_sim.store import encode


def build_page(kind: str | None, query: PageQuery) -> tuple[Page, bool]:
    """Return the page for `query` under misbehaviour `kind`, and whether it misbehaved."""
    if kind == "empty_pages":
        empty = _empty_page(query)
        if empty is not None:
            return empty, True
    page = plain_page(query)
    if kind is None or kind == "empty_pages":
        return page, False
    return page, _MUTATORS[kind](page, query)


def _empty_page(query: PageQuery) -> Page | None:
    if query.after is None:
        cases, _ = query.fetch(None)
        target = cases[0].seq - 1 if cases else -1
    elif query.is_case_seq(query.after) and query.fetch(query.after)[0]:
        target = query.after + 1
    else:
        return None
    if target < 0 or query.is_case_seq(target):
        return None
    return Page([], meta(True, target, query.limit, query.last_page_style), cursor=target)


def _payload_not_list(page: Page, query: PageQuery) -> bool:
    page.payload_key = "cases"
    return True


def _has_next_not_bool(page: Page, query: PageQuery) -> bool:
    if not page.has_next:
        return False
    page.meta["has_next"] = "yes"
    return True


def _cursor_backwards(page: Page, query: PageQuery) -> bool:
    if query.after is None:
        return False
    page.meta = meta(True, query.after - 1, query.limit, query.last_page_style)
    return True


def _cursor_repeat(page: Page, query: PageQuery) -> bool:
    if query.after is None:
        return False
    page.meta = meta(True, query.after, query.limit, query.last_page_style)
    return True


def _cursor_cycle(page: Page, query: PageQuery) -> bool:
    if query.after is None:
        return False
    first, more = query.fetch(None)
    if not (first and more):
        return False
    cursor_a = first[-1].seq
    if query.after == cursor_a:  # second page: always point on to B
        if page.cursor is None:
            return False
        page.meta = meta(True, page.cursor, query.limit, query.last_page_style)
        return True
    second, _ = query.fetch(cursor_a)
    if second and query.after == second[-1].seq:  # third page: back to A
        page.meta = meta(True, cursor_a, query.limit, query.last_page_style)
        return True
    return False


def _has_next_without_cursor(page: Page, query: PageQuery) -> bool:
    if not page.has_next:
        return False
    page.meta.pop("last_sequence_id", None)
    return True


def _missing_case_id(page: Page, query: PageQuery) -> bool:
    return _edit_first(page, query, {"case_id": None})


def _missing_labeling_state(page: Page, query: PageQuery) -> bool:
    return _edit_first(page, query, {"labeling_state": None})


def _wrong_types(page: Page, query: PageQuery) -> bool:
    count = "n_qualified_opinions" if query.v2 else "qualified_reads"
    return _edit_first(page, query, {"case_id": "abc", count: "x"})


def _odd_labels(page: Page, query: PageQuery) -> bool:
    label = {"class": "Nodule", "score": 0.9}
    return _edit_first(page, query, {"correct_label": label, "majority_label": 3})


def _wrong_nested_type(page: Page, query: PageQuery) -> bool:
    if query.v2:
        return _edit_first(page, query, {"results": [{"content_metadata": "x"}]})
    stats = {"total_reads": "12", "qualified_reads": 9}
    return _edit_first(page, query, {"read_stats": stats})


def _v2_shape(page: Page, query: PageQuery) -> bool:
    if not query.v2:
        return False
    token = f"v2:{page.cursor}".encode() if page.has_next else None
    page.top_key = "results"
    page.meta = {"next": token and base64.urlsafe_b64encode(token).decode()}
    return True


def _edit_first(page: Page, query: PageQuery, changes: dict[str, object]) -> bool:
    """Change (None: delete) fields of the first record of the first page."""
    if query.after is not None or not page.records:
        return False
    record = json.loads(page.records[0])
    for name, value in changes.items():
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    page.records[0] = encode(record)
    return True


def _has_next_false_with_cursor(page: Page, query: PageQuery) -> bool:
    if page.has_next:
        return False
    cursor = page.cursor if page.cursor is not None else query.after
    page.meta = {"has_next": False, "limit": query.limit}
    if cursor is not None:
        page.meta = {"has_next": False, "last_sequence_id": cursor, "limit": query.limit}
    return True


_MUTATORS = {
    "payload_not_list": _payload_not_list,
    "has_next_not_bool": _has_next_not_bool,
    "cursor_backwards": _cursor_backwards,
    "cursor_repeat": _cursor_repeat,
    "cursor_cycle": _cursor_cycle,
    "has_next_without_cursor": _has_next_without_cursor,
    "missing_case_id": _missing_case_id,
    "missing_labeling_state": _missing_labeling_state,
    "wrong_types": _wrong_types,
    "odd_labels": _odd_labels,
    "wrong_nested_type": _wrong_nested_type,
    "has_next_false_with_cursor": _has_next_false_with_cursor,
    "v2_shape": _v2_shape,
}
