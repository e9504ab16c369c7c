"""Paging through list endpoints with `last_sequence_id` and `has_next`."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk.pagination import BaseAPIPaginator

from tap_centaur.errors import PaginationError
from tap_centaur.pages import Page, request_label

if t.TYPE_CHECKING:
    import requests


@dataclass(frozen=True)
class Cursor:
    """The `last_sequence_id` of the page before: always truthy, even at 0.

    The SDK's paginator ends pagination on a falsy token (SDK notes, pitfall 4); a cursor of
    0 is a real cursor, so it travels wrapped.
    """

    value: int


class SequenceIdPaginator(BaseAPIPaginator["Cursor | None"]):
    """Follows `last_sequence_id` while `has_next` is true; refuses cursors that do not advance.

    Unlike the SDK's defaults: a cursor of 0 is a cursor, an empty page with `has_next` true
    is followed, and a cursor that does not move forward (a repeat, a step back, A→B→A), a
    missing cursor or `max_empty_pages` pages in a row without a record (pagination that
    never ends) ends the task with an error instead of looping or stopping silently.
    """

    def __init__(self, max_empty_pages: int) -> None:
        """Start on the first page (no cursor)."""
        super().__init__(None)
        self._max_empty_pages = max_empty_pages
        self._empty_pages = 0  # in a row, up to this page

    def has_more(self, response: requests.Response) -> bool:
        """Whether the API says another page follows."""
        return Page.of(response).has_next

    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty page is not the end while `has_next` is true."""
        return self.has_more(response)

    def get_next(self, response: requests.Response) -> Cursor:
        """The cursor of the next page, checked to move strictly forward.

        Raises:
            PaginationError: when the cursor is missing or does not advance, or after
                `max_empty_pages` pages in a row without a record.
        """
        page = Page.of(response)
        cursor = page.cursor
        where = request_label(response.request)
        if cursor is None:
            raise PaginationError(
                f"{where}: the API said has_next=true but sent no last_sequence_id, so the "
                "next page cannot be requested. Stopping rather than skipping the rest of the "
                "task; its bookmark stays where it was."
            )
        previous = self.current_value
        if previous is not None and cursor <= previous.value:
            raise PaginationError(
                f"{where}: the API's cursor went from last_sequence_id={previous.value} to "
                f"{cursor} instead of moving forward; following it would loop or repeat pages. "
                "Stopping; this task's bookmark stays where it was."
            )
        self._empty_pages = 0 if page.records else self._empty_pages + 1
        if self._empty_pages >= self._max_empty_pages:
            raise PaginationError(
                f"{where}: {self._empty_pages:,} pages in a row brought no record while the API "
                f"said has_next=true; stopping there (max_empty_pages={self._max_empty_pages:,}) "
                "rather than paging forever (a task keeps its bookmark). If a "
                "labeling_state filter over a task of millions of cases needs more, raise "
                "max_empty_pages."
            )
        return Cursor(cursor)
