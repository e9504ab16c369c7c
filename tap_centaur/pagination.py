"""Paging through list endpoints: `last_sequence_id` and `has_next`, and the cursor rules."""

from __future__ import annotations

import typing as t

from tap_centaur.errors import PaginationError

if t.TYPE_CHECKING:
    from tap_centaur.pages import Page


class SequenceIdPaginator:
    """Turns a page into the next page's `last_sequence_id`; refuses cursors that do not advance.

    A cursor of 0 is a cursor, an empty page with `has_next` true is followed, and a cursor
    that does not move forward (a repeat, a step back, A→B→A), a missing cursor or
    `max_empty_pages` pages in a row without a record end the task with an error instead of
    looping or stopping silently.
    """

    def __init__(self, max_empty_pages: int) -> None:
        """Start on the first page (no cursor)."""
        self.max_empty_pages = max_empty_pages
        self.cursor: int | None = None
        self._empty_pages = 0  # in a row, up to this page

    def get_next(self, page: Page) -> int | None:
        """The cursor of the page after `page`, None when it is the last one.

        Raises:
            PaginationError: when the cursor is missing or does not advance, or after
                `max_empty_pages` pages in a row without a record.
        """
        if not page.has_next:
            return None
        cursor, where = page.cursor, page.where
        if cursor is None:
            raise PaginationError(
                f"{where}: the API said has_next=true but sent no last_sequence_id, so the "
                "next page cannot be requested. Stopping rather than skipping the rest of the "
                "task; its bookmark stays where it was."
            )
        if self.cursor is not None and cursor <= self.cursor:
            raise PaginationError(
                f"{where}: the API's cursor went from last_sequence_id={self.cursor} to "
                f"{cursor} instead of moving forward; following it would loop or repeat pages. "
                "Stopping; this task's bookmark stays where it was."
            )
        self._empty_pages = 0 if page.records else self._empty_pages + 1
        if self._empty_pages >= self.max_empty_pages:
            raise PaginationError(
                f"{where}: {self._empty_pages:,} pages in a row brought no record while the API "
                f"said has_next=true; stopping there (max_empty_pages={self.max_empty_pages:,}) "
                "rather than paging forever (a task keeps its bookmark). If a "
                "labeling_state filter over a task of millions of cases needs more, raise "
                "max_empty_pages."
            )
        self.cursor = cursor
        return cursor
