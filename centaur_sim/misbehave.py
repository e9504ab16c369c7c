"""Per-task page-shape misbehaviours that test a client's pagination guards (see the README)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping

from centaur_sim.pages import Page, PageQuery, meta, plain_page
from centaur_sim.store import encode

Mutator = Callable[[Page, PageQuery], bool]
#: Each misbehaviour but `empty_pages`: it changes a plain page, and tells whether it did.
MUTATORS: dict[str, Mutator] = {}
#: Changes (None: delete) to the first record of a task's first page: v1's, then v2's.
FIRST_RECORD_EDITS: dict[str, tuple[Mapping[str, object], ...]] = {
    "missing_case_id": ({"case_id": None},) * 2,
    "missing_labeling_state": ({"labeling_state": None},) * 2,
    "wrong_types": (
        {"case_id": "abc", "qualified_reads": "x"},
        {"case_id": "abc", "n_qualified_opinions": "x"},
    ),
    "odd_labels": ({"correct_label": {"class": "Nodule", "score": 0.9}, "majority_label": 3},) * 2,
    "wrong_nested_type": (
        {"read_stats": {"total_reads": "12", "qualified_reads": 9}},
        {"results": [{"content_metadata": "x"}]},
    ),
}


def build_page(kind: str | None, query: PageQuery) -> tuple[Page, bool]:
    """Return the page for `query` under misbehaviour `kind`, and whether it misbehaved."""
    if kind == "empty_pages":
        empty = _empty_page(query)
        return (plain_page(query), False) if empty is None else (empty, True)
    page = plain_page(query)
    return page, kind is not None and MUTATORS[kind](page, query)


def _empty_page(query: PageQuery) -> Page | None:
    """An empty page saying more follow, its cursor in the gap before the next case."""
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


def _mutator(function: Mutator) -> Mutator:
    MUTATORS[function.__name__.removeprefix("_")] = function
    return function


def _next_page(page: Page, query: PageQuery, cursor: int | None) -> bool:
    """Say more pages follow from `cursor` (False, unchanged, without one)."""
    if cursor is None:
        return False
    page.meta = meta(True, cursor, query.limit, query.last_page_style)
    return True


@_mutator
def _payload_not_list(page: Page, query: PageQuery) -> bool:
    page.payload_key = "cases"
    return True


@_mutator
def _has_next_not_bool(page: Page, query: PageQuery) -> bool:
    if page.has_next:
        page.meta["has_next"] = "yes"
    return page.has_next


@_mutator
def _cursor_backwards(page: Page, query: PageQuery) -> bool:
    return _next_page(page, query, None if query.after is None else query.after - 1)


@_mutator
def _cursor_repeat(page: Page, query: PageQuery) -> bool:
    return _next_page(page, query, query.after)


@_mutator
def _cursor_cycle(page: Page, query: PageQuery) -> bool:
    """Cursors go A → B → A: the second page points on to B, the third back to A."""
    if query.after is None:
        return False
    first, more = query.fetch(None)
    if not (first and more):
        return False
    cursor_a = first[-1].seq
    if query.after == cursor_a:
        return _next_page(page, query, page.cursor)
    second, _ = query.fetch(cursor_a)
    return bool(second) and query.after == second[-1].seq and _next_page(page, query, cursor_a)


@_mutator
def _has_next_without_cursor(page: Page, query: PageQuery) -> bool:
    if page.has_next:
        page.meta.pop("last_sequence_id", None)
    return page.has_next


@_mutator
def _has_next_false_with_cursor(page: Page, query: PageQuery) -> bool:
    if page.has_next:
        return False
    cursor = page.cursor if page.cursor is not None else query.after
    page.meta = {"has_next": False, "limit": query.limit}
    if cursor is not None:
        page.meta = {"has_next": False, "last_sequence_id": cursor, "limit": query.limit}
    return True


@_mutator
def _v2_shape(page: Page, query: PageQuery) -> bool:
    if not query.v2:
        return False
    token = f"v2:{page.cursor}".encode() if page.has_next else None
    page.top_key = "results"
    page.meta = {"next": token and base64.urlsafe_b64encode(token).decode()}
    return True


def _edit_first(kind: str) -> Mutator:
    def edit(page: Page, query: PageQuery) -> bool:
        if query.after is not None or not page.records:
            return False
        record = json.loads(page.records[0])
        for name, value in FIRST_RECORD_EDITS[kind][query.v2].items():
            if value is None:
                record.pop(name, None)
            else:
                record[name] = value
        page.records[0] = encode(record)
        return True

    return edit


MUTATORS.update({kind: _edit_first(kind) for kind in FIRST_RECORD_EDITS})
MISBEHAVIOURS = (*MUTATORS, "empty_pages")
